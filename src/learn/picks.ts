// What "Hindsight: Roll back adapter" offers and says, from the loop's status. Pure (no 'vscode'):
// src/learn/register.ts shows it.
import type { learn } from '../../protocol';

export interface VersionPick {
  version: number;
  label: string;
  description: string;
  detail?: string;
}

const name = (v: number) => (v === 0 ? 'base model' : `adapter v${v}`);

/** Newest first, the base model last; the serving version is marked; invalid folders are left out. */
export function versionPicks(s: Pick<learn.StatusResult, 'serving' | 'versions'>): VersionPick[] {
  return [...s.versions]
    .filter((v) => v.valid)
    .sort((a, b) => b.version - a.version)
    .map((v) => {
      const facts = [
        v.createdAt ? new Date(v.createdAt).toLocaleString() : undefined,
        v.episodes !== undefined ? `${v.episodes} episodes` : undefined,
        v.loss !== undefined ? `loss ${v.loss.toFixed(3)}` : undefined,
        v.drift !== undefined ? `drift ${v.drift.toFixed(3)}` : undefined,
        v.parent !== undefined ? `from ${name(v.parent)}` : undefined,
      ].filter(Boolean);
      return {
        version: v.version,
        label: v.version === 0 ? 'Base model (no adapter)' : `Adapter v${v.version}`,
        description: v.version === s.serving ? 'serving now' : '',
        ...(facts.length ? { detail: facts.join(' · ') } : {}),
      };
    });
}

/** The message after a rollback. */
export function rollbackMessage(r: learn.RollbackResult): string {
  if (r.from === r.to) return `Hindsight: already serving the ${name(r.to)}.`;
  return `Hindsight: now serving the ${name(r.to)} (was the ${name(r.from)}). New suggestions use it; training continues from it.`;
}

/** One line for "Train now". */
export function trainNowMessage(r: learn.TrainNowResult): string {
  if (!r.started || !r.report) return `Hindsight: no training round started: ${r.reason ?? 'nothing to train on'}.`;
  const rep = r.report;
  if (rep.outcome === 'promoted') return `Hindsight: adapter v${rep.version} trained on ${rep.episodes} episodes and now serving (loss ${rep.lossBefore?.toFixed(3)} → ${rep.lossAfter?.toFixed(3)}).`;
  return `Hindsight: the round on ${rep.episodes} episodes was ${rep.outcome}: ${rep.reason}. The previous adapter stays.`;
}
