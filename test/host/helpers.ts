// Helpers for extension-host suites: get the activated Hindsight API, wait for a state (never a
// fixed sleep), enable the workspace with the consent dialog answered by the test.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { Decision } from '../../src/common/suggestionLifecycle';
import type { HindsightApi } from '../../src/extension';

export const EXTENSION_ID = 'hindsight-dev.hindsight';

export async function hindsight(): Promise<HindsightApi> {
  const ext = vscode.extensions.getExtension<HindsightApi>(EXTENSION_ID);
  if (!ext) throw new Error(`extension ${EXTENSION_ID} is not installed in this host`);
  return ext.activate();
}

/** Resolves once `check` holds, re-checking on every state change (and every 100 ms). */
export async function until<T>(api: HindsightApi, check: () => T | undefined | false, timeoutMs: number, what: string): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; state: ${JSON.stringify(api.state())}`);
    await new Promise<void>((resolve) => {
      const sub = api.onDidChangeState(() => done());
      const t = setTimeout(() => done(), 100);
      function done() {
        sub.dispose();
        clearTimeout(t);
        resolve();
      }
    });
  }
}

/** Enables the workspace, answering the consent dialog with `accept`. */
export async function enableWith(api: HindsightApi, accept: boolean) {
  const shown: string[] = [];
  api.testing.setConsentPrompt(async (text) => {
    shown.push(text.detail);
    return accept;
  });
  const outcome = await vscode.commands.executeCommand<{ enabled: boolean; reason?: string; message?: string }>('hindsight.enableWorkspace');
  return { outcome, shown };
}

export function isAlive(pid: number) {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Points Hindsight at the generated model in <run dir>/model (see `demoWithTinyModel` in runs.ts),
 * enables the workspace and waits for the trainer; `decisions` collects accept/reject decisions.
 */
export async function withGeneratedModel() {
  delete process.env.HINDSIGHT_TEST_COMPLETION_FIXTURE;
  const ws = vscode.workspace.workspaceFolders![0].uri.fsPath;
  const model = path.join(path.dirname(ws), 'model');
  if (!fs.existsSync(path.join(model, 'model.safetensors'))) throw new Error(`no generated model at ${model}`);
  await vscode.workspace.getConfiguration('hindsight').update('model.path', model, vscode.ConfigurationTarget.Global);
  const api = await hindsight();
  const decisions: Decision[] = [];
  api.signals.tracker.onDecision((d) => decisions.push(d));
  const { outcome } = await enableWith(api, true);
  if (!outcome.enabled) throw new Error(`could not enable the workspace: ${JSON.stringify(outcome)}`);
  await until(api, () => api.state().trainer.state === 'ready', 60_000, 'the trainer');
  return { api, decisions, ws, model };
}

/** Opens `rel` in the workspace with `text` and puts the cursor at its end. */
export async function openAtEnd(ws: string, rel: string, text: string) {
  const file = path.join(ws, rel);
  fs.writeFileSync(file, text);
  const doc = await vscode.workspace.openTextDocument(file);
  const editor = await vscode.window.showTextDocument(doc);
  const end = doc.lineAt(doc.lineCount - 1).range.end;
  editor.selection = new vscode.Selection(end, end);
  return { doc, editor };
}

/**
 * Types one character at a time until a model suggestion is shown; returns its episode id.
 * Random weights sometimes sample a stop token first (an empty answer), and the first request may
 * arrive while the model is still loading, so one more keystroke asks again.
 */
export async function typeUntilSuggestion(api: HindsightApi, attempts = 12): Promise<string> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    const before = api.signals.tracker.lastShown?.id;
    await vscode.commands.executeCommand('type', { text: 'abcdefghijkl'[attempt % 12] });
    const deadline = Date.now() + 6000;
    while (Date.now() < deadline && api.signals.tracker.lastShown?.id === before) await new Promise((r) => setTimeout(r, 100));
    const id = api.signals.tracker.lastShown?.id;
    if (id && id !== before) return id;
  }
  throw new Error(`no suggestion from the model after ${attempts} keystrokes: ${JSON.stringify(api.signals.provider.stats)}`);
}
