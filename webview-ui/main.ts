// The status view's page (placeholder for the dashboard): renders the StatusModel the extension
// posts and sends back button clicks. Imports only protocol types; styled with theme variables.
import type { webview } from '../protocol';

declare function acquireVsCodeApi(): { postMessage(msg: webview.FromWebview): void };
const vscode = acquireVsCodeApi();

const root = document.getElementById('root')!;

function row(name: string, value: string) {
  const tr = document.createElement('tr');
  const th = document.createElement('th');
  th.textContent = name;
  const td = document.createElement('td');
  td.textContent = value;
  tr.append(th, td);
  return tr;
}

function button(label: string, command: Extract<webview.FromWebview, { type: 'command' }>['command']) {
  const b = document.createElement('button');
  b.textContent = label;
  b.addEventListener('click', () => vscode.postMessage({ type: 'command', command }));
  return b;
}

function render(s: webview.StatusModel) {
  root.replaceChildren();
  const h = document.createElement('h1');
  h.textContent = `Hindsight: ${s.label}`;
  h.dataset.state = s.label;
  const p = document.createElement('p');
  p.textContent = s.summary;
  const table = document.createElement('table');
  table.append(
    row('Workspace', s.enabled ? 'enabled' : s.trusted ? 'off' : 'off (untrusted)'),
    row('Trainer process', s.trainerPid ? `pid ${s.trainerPid}` : 'not running'),
    row('Restarts after a crash', String(s.restarts)),
    row('Model', s.modelPath || 'none configured (hindsight.model.path)'),
    row('Adapter version', s.adapterVersion === 0 ? 'base model' : String(s.adapterVersion)),
    row('Data folder', s.storagePath || '(no folder open)'),
  );
  if (s.episodes) {
    const c = s.episodes.counts;
    const o = c.byOutcome;
    table.append(
      row('Episodes', `${c.total} (${c.open} open, ${c.complete} complete)${s.episodes.recordingEnabled ? '' : ' — recording off'}`),
      row('By outcome', `accepted ${o.accepted}, partly accepted ${o.partial}, rejected ${o.rejected}, not shown ${o.notShown}, pending ${o.pending}`),
      row('After acceptance', `kept ${c.bySurvival.unchanged}, edited ${c.bySurvival.edited}, deleted ${c.bySurvival.deleted}; with diagnostics ${c.withDiagnostics}, tests passed ${c.testPass} / failed ${c.testFail}, committed ${c.committed}, corrected ${c.corrected}`),
      row('Episode storage', `${(s.episodes.bytes / 1048576).toFixed(1)} of ${(s.episodes.maxBytes / 1048576).toFixed(0)} MB`),
    );
    if (s.episodes.replayIssues.length) table.append(row('Log repairs', s.episodes.replayIssues.join('; ')));
  }
  if (s.detail) table.append(row('Detail', s.detail));
  const learning = s.learning ? learningSection(s.learning) : undefined;
  const actions = document.createElement('div');
  actions.className = 'actions';
  actions.append(s.enabled ? button('Disable for this workspace', 'disableWorkspace') : button('Enable for this workspace', 'enableWorkspace'), button('Show logs', 'showLogs'));
  root.append(h, p, table, ...(learning ? [learning] : []), actions);
}

/** "Learning": the loop's state, the serving version, the last round and promotion, the versions. */
function learningSection(l: NonNullable<webview.StatusModel['learning']>) {
  const section = document.createElement('section');
  section.id = 'learning';
  const h2 = document.createElement('h2');
  h2.textContent = 'Learning';
  const t = document.createElement('table');
  const ver = (v: number) => (v === 0 ? 'base model' : `v${v}`);
  const progress = l.step !== undefined && l.steps ? ` (step ${l.step}/${l.steps}${l.loss !== undefined ? `, loss ${l.loss.toFixed(4)}` : ''})` : '';
  t.append(
    row('Loop', `${l.state}${progress}${l.detail ? ` — ${l.detail}` : ''}`),
    row('Schedule', l.schedule),
    row('Serving', ver(l.serving)),
    row('Episodes', `${l.pending} waiting for a round, ${l.trained} trained on`),
  );
  const skipped = Object.entries(l.skipped).filter(([, n]) => n > 0);
  if (skipped.length) t.append(row('Not trained on', skipped.map(([why, n]) => `${n} ${why}`).join(', ')));
  const round = (r: NonNullable<typeof l.lastRound>) =>
    `${r.outcome}${r.version ? ` ${ver(r.version)}` : ''} on ${r.episodes} episodes${r.maxStaleness ? ` (up to ${r.maxStaleness} versions old)` : ''}, ${new Date(r.at).toLocaleString()}` +
    (r.lossBefore !== undefined && r.lossAfter !== undefined ? `; loss ${r.lossBefore.toFixed(4)} → ${r.lossAfter.toFixed(4)}` : '') +
    (r.drift !== undefined ? `; drift ${r.drift.toFixed(3)}` : '') +
    (r.reason ? ` — ${r.reason}` : '');
  if (l.lastRound) t.append(row('Last round', round(l.lastRound)));
  if (l.lastPromotion && l.lastPromotion.at !== l.lastRound?.at) t.append(row('Last promotion', round(l.lastPromotion)));
  t.append(row('Versions', l.versions.map((v) => `${ver(v.version)}${v.version === l.serving ? ' (serving)' : ''}${v.valid ? '' : ' (invalid)'}`).join(', ') || 'none'));
  const actions = document.createElement('div');
  actions.className = 'actions';
  actions.append(button('Train now', 'trainNow'), button('Roll back adapter…', 'rollbackAdapter'));
  section.append(h2, t, actions);
  return section;
}

window.addEventListener('message', (e: MessageEvent<webview.ToWebview>) => {
  if (e.data?.type === 'status') render(e.data.status);
});
vscode.postMessage({ type: 'ready' });
