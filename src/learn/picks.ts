// What "Hindsight: Roll back adapter" offers and says, and what "Train now" says, from the loop's
// status. Every message is true in every state (an adapter serving or the base model, invalid
// versions listed in the status view too). Pure (no 'vscode'): src/learn/register.ts shows them.
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

/**
 * Why there is nothing to roll back to (only the serving choice is valid), consistent with the
 * status view's versions list, which shows invalid versions with their problem.
 */
export function nothingToRollBackMessage(s: Pick<learn.StatusResult, 'serving' | 'versions'>): string {
  const invalid = s.versions.filter((v) => v.version > 0 && !v.valid).sort((a, b) => a.version - b.version);
  const serving = `the ${name(s.serving)} is serving`;
  if (!invalid.length) return `Hindsight: no adapter has been trained yet; ${serving}.`;
  const which = invalid.map((v) => `v${v.version}${v.problem ? ` (${v.problem})` : ''}`).join('; ');
  return `Hindsight: there is nothing else to serve: ${invalid.length === 1 ? 'the stored adapter' : 'the stored adapters'} ${which} cannot be loaded; ${serving}.`;
}

/** The message after a rollback. */
export function rollbackMessage(r: learn.RollbackResult): string {
  if (r.from === r.to) return `Hindsight: already serving the ${name(r.to)}.`;
  return `Hindsight: now serving the ${name(r.to)} (was the ${name(r.from)}). New suggestions use it; training continues from it.`;
}

/** One line for "Train now"; `serving` is the version serving when the round ended (0 = base). */
export function trainNowMessage(r: learn.TrainNowResult, serving: number): string {
  if (!r.started || !r.report) return `Hindsight: no training round started: ${r.reason ?? 'nothing to train on'}.`;
  const rep = r.report;
  const on = `${rep.episodes} episode${rep.episodes === 1 ? '' : 's'}`;
  if (rep.outcome === 'promoted') {
    const loss = rep.lossBefore !== undefined && rep.lossAfter !== undefined ? ` (loss ${rep.lossBefore.toFixed(3)} → ${rep.lossAfter.toFixed(3)})` : '';
    return `Hindsight: adapter v${rep.version} trained on ${on} and now serving${loss}.`;
  }
  const stays = serving ? `Adapter v${serving} keeps serving.` : 'Suggestions still come from the base model.';
  if (rep.outcome === 'cancelled') return `Hindsight: the training round on ${on} was cancelled; nothing changed. ${stays} Its episodes wait for the next round.`;
  return `Hindsight: the round on ${on} ${rep.outcome === 'failed' ? 'failed' : 'was rejected'}${rep.reason ? `: ${rep.reason}` : ''}. Nothing changed. ${stays}`;
}
