// Helpers for extension-host suites: get the activated Hindsight API, wait for a state (never a
// fixed sleep), enable the workspace with the consent dialog answered by the test.
import * as vscode from 'vscode';
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
