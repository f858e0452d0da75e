// "Hindsight: Forget this workspace's data": deletes everything derived from the workspace — the
// recorded episodes, the adapters trained on them and the learning state (through the trainer,
// which holds them open and serves the adapter), then anything else left in the workspace's
// storage folder — and says what it deleted (forgetText.ts). First the editor stops following the
// suggestions it has shown, so no event is sent afterwards for an episode that no longer exists.
import * as fs from 'node:fs/promises';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { episodes, learn } from '../../protocol';
import type { TrainerClient } from '../trainer/client';
import { forgetMessage, forgetQuestion, type ForgetTally } from './forgetText';

export interface ForgetOutcome {
  deleted: boolean;
  message: string;
  tally?: ForgetTally;
}

export interface ForgetHooks {
  /** Stop following shown suggestions and wait for what was sent (src/signals: dropInFlight). */
  dropInFlight(): Promise<void>;
  /** Refresh the counts and the learning status shown. */
  refresh(): void;
}

/** `confirmed` skips the modal question (tests; the status view's button still asks). */
export async function forgetWorkspaceData(storage: vscode.Uri | undefined, client: TrainerClient, hooks: ForgetHooks, log: vscode.LogOutputChannel, confirmed = false): Promise<ForgetOutcome> {
  if (!storage) {
    const message = 'Hindsight: no folder is open, so there is no workspace data to forget.';
    void vscode.window.showInformationMessage(message);
    return { deleted: false, message };
  }
  const folder = storage.fsPath;
  if (!confirmed) {
    const q = forgetQuestion(folder);
    if ((await vscode.window.showWarningMessage(q.message, { modal: true, detail: q.detail }, q.accept)) !== q.accept) return { deleted: false, message: 'Cancelled; nothing was deleted.' };
  }

  await hooks.dropInFlight();
  const tally: ForgetTally = { folder, episodes: 0, versions: [], state: false, other: [], bytes: 0 };
  // The episode store's fresh (empty) log stays when the trainer runs: it reopened it.
  const keep = new Set<string>();
  try {
    if (client.isReady) {
      // Episodes first: the learning loop restarted by learn/forget must find the store empty.
      const e = await client.sendRequest(episodes.forget);
      tally.episodes = e.deletedEpisodes;
      tally.bytes += e.deletedBytes;
      keep.add('episodes');
      const l = await client.sendRequest(learn.forget);
      tally.versions = l.versions;
      tally.state = l.state;
      tally.bytes += l.bytes;
    }
    // Whatever else is there; everything when the trainer is not running (nothing holds it open).
    for (const name of await fs.readdir(folder).catch(() => [] as string[])) {
      if (keep.has(name)) continue;
      const p = path.join(folder, name);
      tally.bytes += await sizeOf(p);
      if (name === 'episodes') tally.episodes = undefined;
      else if (name === 'adapters') tally.versions = await versionsIn(p);
      else if (name === 'learn') tally.state = true;
      else tally.other.push(name);
      await fs.rm(p, { recursive: true, force: true });
    }
  } catch (err) {
    const message = `Hindsight: forgetting this workspace's data stopped part way: ${err instanceof Error ? err.message : String(err)}. Run the command again; the log has details.`;
    log.error(message);
    void vscode.window.showErrorMessage(message);
    hooks.refresh();
    return { deleted: false, message, tally };
  }
  hooks.refresh();
  const message = forgetMessage(tally);
  log.info(message);
  void vscode.window.showInformationMessage(message);
  return { deleted: true, message, tally };
}

async function versionsIn(dir: string): Promise<number[]> {
  return (await fs.readdir(dir).catch(() => [] as string[]))
    .map((n) => /^v(\d+)$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

async function sizeOf(p: string): Promise<number> {
  const st = await fs.lstat(p).catch(() => undefined);
  if (!st) return 0;
  if (!st.isDirectory()) return st.size;
  let total = 0;
  for (const e of await fs.readdir(p)) total += await sizeOf(path.join(p, e));
  return total;
}
