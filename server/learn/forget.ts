// Deletes what training derived from a workspace: every adapter version (<storage>/adapters, trained
// on the developer's code) and the loop's memory (<storage>/learn: state.json and its temp files).
// Says what it deleted. The caller stops the loop first, so nothing writes them back.
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { learn } from '../../protocol';

export async function forgetLearningData(storageDir: string): Promise<learn.ForgetResult> {
  if (!storageDir) return { versions: [], state: false, bytes: 0 };
  const adapters = path.join(storageDir, 'adapters');
  const learnDir = path.join(storageDir, 'learn');
  const names = await fsp.readdir(adapters).catch(() => [] as string[]);
  const versions = names
    .map((n) => /^v(\d+)$/.exec(n))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  const state = await fsp.stat(path.join(learnDir, 'state.json')).then(() => true, () => false);
  const bytes = (await sizeOf(adapters)) + (await sizeOf(learnDir));
  await fsp.rm(adapters, { recursive: true, force: true });
  await fsp.rm(learnDir, { recursive: true, force: true });
  return { versions, state, bytes };
}

/** Bytes of the files under `p` (0 when it does not exist). */
export async function sizeOf(p: string): Promise<number> {
  const st = await fsp.lstat(p).catch(() => undefined);
  if (!st) return 0;
  if (!st.isDirectory()) return st.size;
  let total = 0;
  for (const e of await fsp.readdir(p)) total += await sizeOf(path.join(p, e));
  return total;
}
