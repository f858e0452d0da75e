// Folds an episode's event log into its view: outcome (accepted / partial / rejected / notShown /
// pending), status (open while the next state is still observed, complete once settled), latest
// survival, and aggregate counts for the status view. Pure; the store calls it on every event.
import type { episodes } from '../../protocol';

type Episode = episodes.Episode;
type EpisodeEvent = episodes.EpisodeEvent;
type EpisodeView = episodes.EpisodeView;

export function newView(ep: Episode): EpisodeView {
  return { ...ep, outcome: 'pending', status: 'open', updatedAt: ep.createdAt, events: [] };
}

/** Applies one event to the view in place. */
export function applyEvent(view: EpisodeView, ev: EpisodeEvent): void {
  view.events.push(ev);
  view.updatedAt = Math.max(view.updatedAt, ev.at);
  switch (ev.type) {
    case 'accepted':
      // A full accept after an earlier partial one wins; never downgrade an accept.
      if (view.outcome !== 'accepted') view.outcome = ev.how === 'partial' ? 'partial' : 'accepted';
      break;
    case 'rejected':
      if (view.outcome === 'pending') view.outcome = 'rejected';
      break;
    case 'notShown':
      if (view.outcome === 'pending') view.outcome = 'notShown';
      break;
    case 'survival':
      // Only the documented statuses: a record with another value must not add a key to the counts.
      if (ev.status === 'unchanged' || ev.status === 'edited' || ev.status === 'deleted') view.survival = ev.status;
      break;
    default:
      break;
  }
  view.status = settled(view) ? 'complete' : 'open';
}

function settled(v: EpisodeView): boolean {
  const has = (t: EpisodeEvent['type']) => v.events.some((e) => e.type === t);
  switch (v.outcome) {
    case 'notShown':
      return true;
    case 'rejected':
      return has('typedInstead') || has('closed');
    case 'accepted':
    case 'partial':
      return v.events.some((e) => e.type === 'survival' && e.final) || has('closed');
    default:
      return has('closed');
  }
}

export function emptyCounts(): episodes.Counts {
  return {
    total: 0,
    open: 0,
    complete: 0,
    byOutcome: { pending: 0, accepted: 0, partial: 0, rejected: 0, notShown: 0 },
    bySurvival: { unchanged: 0, edited: 0, deleted: 0, unknown: 0 },
    withDiagnostics: 0,
    testPass: 0,
    testFail: 0,
    committed: 0,
    corrected: 0,
  };
}

export function countViews(views: Iterable<EpisodeView>): episodes.Counts {
  const c = emptyCounts();
  for (const v of views) {
    c.total++;
    c[v.status]++;
    c.byOutcome[v.outcome]++;
    if (v.outcome === 'accepted' || v.outcome === 'partial') c.bySurvival[v.survival ?? 'unknown']++;
    if (v.events.some((e) => e.type === 'diagnostic')) c.withDiagnostics++;
    if (v.events.some((e) => e.type === 'testOutcome' && e.outcome === 'pass')) c.testPass++;
    if (v.events.some((e) => e.type === 'testOutcome' && e.outcome === 'fail')) c.testFail++;
    if (v.events.some((e) => e.type === 'commit' && e.survived)) c.committed++;
    if (v.events.some((e) => e.type === 'correction')) c.corrected++;
  }
  return c;
}
