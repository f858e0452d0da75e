// The loop's memory across restarts, in <storageDir>/learn/state.json (temp file + rename): the
// version serving (so a rollback survives a restart), the episodes already used or skipped (so
// none is trained twice or counted twice), skip counts by reason, and per-version round facts.
// Leaves out the adapters themselves (AdapterStore folders next to it).
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { learn } from '../../protocol';

export interface LearnState {
  /** Version serving (0 = base); undefined = never chosen (serve the newest). */
  serving?: number;
  /** Episode ids already trained on or skipped, oldest first (bounded). */
  consumed: string[];
  skipped: Record<string, number>;
  trained: number;
  /** Round facts of each promoted version. */
  versions: Record<string, Omit<learn.VersionInfo, 'valid' | 'version'>>;
  lastRound?: learn.RoundReport;
  lastPromotion?: learn.RoundReport;
  /** Measured cost of one pass over one episode in the last finished round (ms), for the next round's ETA. */
  msPerEpisodePass?: number;
  /** Rejected rounds each waiting episode was in (it is dropped after loop.ts MAX_ATTEMPTS). */
  attempts?: Record<string, number>;
}

/** Older ids beyond this are forgotten (the episode store's own budget drops them long before). */
export const MAX_CONSUMED = 20000;

export const emptyState = (): LearnState => ({ consumed: [], skipped: {}, trained: 0, versions: {} });

export function stateFile(storageDir: string): string {
  return path.join(storageDir, 'learn', 'state.json');
}

/** Reads the state; a missing file is a fresh start, a corrupt one is reported and replaced. */
export function loadState(file: string, warn: (m: string) => void): LearnState {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch {
    return emptyState();
  }
  try {
    const raw = JSON.parse(text) as Partial<LearnState>;
    return {
      ...emptyState(),
      ...raw,
      consumed: Array.isArray(raw.consumed) ? raw.consumed.filter((x) => typeof x === 'string') : [],
      serving: typeof raw.serving === 'number' && raw.serving >= 0 ? raw.serving : undefined,
    };
  } catch (e) {
    warn(`learn state ${file} is not valid JSON (${(e as Error).message}); starting from the newest adapter with no history`);
    return emptyState();
  }
}

export async function saveState(file: string, s: LearnState): Promise<void> {
  if (s.consumed.length > MAX_CONSUMED) s.consumed.splice(0, s.consumed.length - MAX_CONSUMED);
  await fsp.mkdir(path.dirname(file), { recursive: true });
  const tmp = `${file}.tmp-${process.pid}`;
  await fsp.writeFile(tmp, JSON.stringify(s), 'utf8');
  await fsp.rename(tmp, file);
}
