// What the status view shows, as plain rows: StatusModel → State, Episodes and Learning sections.
// Pure (no DOM), so it is unit-tested; main.ts turns the rows into vscode-elements markup.
import type { model, webview } from '../protocol';
// The same words as the status bar's tooltip (pure; bundled into the page).
import { deviceText, modelSize, precisionText, seconds } from '../src/common/modelText';
import { etaWords } from '../src/common/progressText';
import { skipText } from '../src/common/skipText';

type Learning = NonNullable<webview.StatusModel['learning']>;
type Round = NonNullable<Learning['lastRound']>;

/** One labelled value; `items` render as a wrapping list of label + badge (counts, versions). */
export interface Row {
  name: string;
  value?: string;
  items?: Item[];
  /** Drawn in the theme's warning colour (repairs, errors, rejected rounds). */
  warn?: boolean;
}
export interface Item {
  text: string;
  badge?: string;
  /** Marks the serving version. */
  current?: boolean;
}

export const version = (v: number) => (v === 0 ? 'base model' : `v${v}`);
const mb = (bytes: number) => bytes / 1048576;
const num = (x: number, digits = 4) => (Number.isFinite(x) ? x.toFixed(digits) : String(x));

export function stateRows(s: webview.StatusModel): Row[] {
  const rows: Row[] = [
    { name: 'Workspace', value: s.enabled ? 'enabled' : s.trusted ? 'off' : 'off (untrusted workspace)', warn: !s.trusted },
    { name: 'Trainer process', value: s.trainerPid ? `pid ${s.trainerPid}` : 'not running' },
    { name: 'Restarts after a crash', value: String(s.restarts), warn: s.restarts > 0 },
    ...(s.model ? modelRows(s.model) : [{ name: 'Model folder', value: s.modelPath || 'none configured (hindsight.model.path)' }]),
    { name: 'Adapter serving', value: version(s.adapterVersion) },
    { name: 'Data folder', value: s.storagePath || '(no folder open)' },
  ];
  if (s.detail) rows.push({ name: 'Detail', value: s.detail, warn: s.label === 'error' });
  return rows;
}

/** The model's state as rows: what it is and how it runs, or why there is none. */
export function modelRows(m: model.ModelState): Row[] {
  switch (m.kind) {
    case 'none':
      return [{ name: 'Model', value: 'none — no suggestions until one is set (hindsight.model.path)', warn: true }];
    case 'loading':
      return [
        { name: 'Model', value: `loading ${m.name}: ${m.step}${m.fraction !== undefined ? ` (${Math.round(m.fraction * 100)}%)` : ''}` },
        { name: 'Model folder', value: m.path },
      ];
    case 'failed':
      return [
        { name: 'Model', value: `${m.name} could not be loaded: ${m.reason}`, warn: true },
        { name: 'Model folder', value: m.path },
      ];
    case 'ready':
      return [
        { name: 'Model', value: `${m.facts.name} — ${modelSize(m.facts)}` },
        { name: 'Runs on', value: `${deviceText(m.device)}, ${precisionText(m)}; loaded in ${seconds(m.loadMs)}` },
        { name: 'Model folder', value: m.path },
      ];
  }
}

/** True while the model loads: the page shows a progress ring on the State section. */
export const isLoadingModel = (s: webview.StatusModel) => s.model?.kind === 'loading';

/** Labelled counts shown as badges. */
const badges = (pairs: [string, number][]) => pairs.map(([text, n]) => ({ text, badge: String(n) }));

export function episodeRows(e: NonNullable<webview.StatusModel['episodes']>): Row[] {
  const c = e.counts;
  const o = c.byOutcome;
  const used = mb(e.bytes);
  const budget = mb(e.maxBytes);
  const share = e.maxBytes > 0 ? Math.round((100 * e.bytes) / e.maxBytes) : 0;
  const rows: Row[] = [
    { name: 'Recorded', value: `${c.total} (${c.open} open, ${c.complete} settled)${e.recordingEnabled ? '' : ' — recording is off'}` },
    { name: 'By outcome', items: badges([['accepted', o.accepted], ['partly accepted', o.partial], ['rejected', o.rejected], ['not shown', o.notShown], ['pending', o.pending]]) },
    { name: 'After acceptance', items: badges([['kept', c.bySurvival.unchanged], ['edited', c.bySurvival.edited], ['deleted', c.bySurvival.deleted]]) },
    {
      name: 'Next signals',
      items: badges([['with diagnostics', c.withDiagnostics], ['tests passed', c.testPass], ['tests failed', c.testFail], ['committed', c.committed], ['corrected', c.corrected]]),
    },
    { name: 'Storage', value: `${used.toFixed(1)} of ${budget.toFixed(0)} MB (${share}%)`, warn: share >= 90 },
  ];
  if (e.replayIssues.length) rows.push({ name: 'Log repairs', value: e.replayIssues.join('; '), warn: true });
  return rows;
}

/** What suggestion requests came to, empty and failed ones included; failures are flagged. */
export function suggestionRow(c: webview.SuggestionCounts): Row {
  return {
    name: 'Suggestions',
    items: badges([['requested', c.requested], ['shown', c.shown], ['empty', c.empty], ['failed', c.failed], ['no model', c.unavailable], ['superseded', c.cancelled]]),
    warn: c.failed > 0,
  };
}

/** True while a round runs: the page shows a progress ring. */
export const isTraining = (l: Learning) => l.state === 'training' || l.state === 'evaluating';

export function loopText(l: Learning) {
  const progress = l.step !== undefined && l.steps ? `step ${l.step} of ${l.steps}${l.loss !== undefined ? `, loss ${num(l.loss)}` : ''}` : '';
  const time = l.cancelling ? 'cancelling…' : l.etaMs !== undefined && isTraining(l) ? etaText(l.etaMs) : '';
  return [l.state, progress, time, l.detail].filter(Boolean).join(' — ');
}

/** "about 40 s left", "about 7 min left". */
export const etaText = (ms: number) => `about ${etaWords(ms)} left`;

export function roundText(r: Round) {
  return (
    `${r.outcome}${r.version ? ` as ${version(r.version)}` : ''} on ${r.episodes} episode${r.episodes === 1 ? '' : 's'}` +
    `${r.maxStaleness ? ` (up to ${r.maxStaleness} versions old)` : ''}, ${r.steps} steps, ${new Date(r.at).toLocaleString()}` +
    (r.lossBefore !== undefined && r.lossAfter !== undefined ? `; loss ${num(r.lossBefore)} → ${num(r.lossAfter)}` : '') +
    (r.drift !== undefined ? `; drift ${num(r.drift, 3)}` : '') +
    (r.reason ? ` — ${r.reason}` : '')
  );
}

export function learningRows(l: Learning): Row[] {
  const rows: Row[] = [
    { name: 'Loop', value: loopText(l), warn: l.state === 'error' },
    { name: 'Schedule', value: l.schedule },
    { name: 'Serving', value: version(l.serving) },
    { name: 'Episodes', items: [{ text: 'waiting for a round', badge: String(l.pending) }, { text: 'trained on', badge: String(l.trained) }] },
  ];
  const skipped = Object.entries(l.skipped).filter(([, n]) => n > 0);
  if (skipped.length) rows.push({ name: 'Skipped', items: skipped.map(([why, n]) => ({ text: skipText(why), badge: String(n) })) });
  if (l.lastRound) rows.push({ name: 'Last round', value: roundText(l.lastRound), warn: l.lastRound.outcome === 'rejected' || l.lastRound.outcome === 'failed' });
  if (l.lastPromotion && l.lastPromotion.at !== l.lastRound?.at) rows.push({ name: 'Last promotion', value: roundText(l.lastPromotion) });
  else if (!l.lastPromotion) rows.push({ name: 'Last promotion', value: 'none yet' });
  const versions = [...l.versions].sort((a, b) => b.version - a.version);
  if (!versions.some((v) => v.version === 0)) versions.push({ version: 0, valid: true });
  rows.push({
    name: 'Versions',
    items: versions.map((v) => ({
      text: `${version(v.version)}${v.valid ? '' : ` (invalid${v.problem ? `: ${v.problem}` : ''})`}`,
      badge: v.version === l.serving ? 'serving' : undefined,
      current: v.version === l.serving,
    })),
  });
  return rows;
}
