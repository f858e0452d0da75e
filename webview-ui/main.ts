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

function button(label: string, command: 'enableWorkspace' | 'disableWorkspace' | 'showLogs') {
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
  const actions = document.createElement('div');
  actions.className = 'actions';
  actions.append(s.enabled ? button('Disable for this workspace', 'disableWorkspace') : button('Enable for this workspace', 'enableWorkspace'), button('Show logs', 'showLogs'));
  root.append(h, p, table, actions);
}

window.addEventListener('message', (e: MessageEvent<webview.ToWebview>) => {
  if (e.data?.type === 'status') render(e.data.status);
});
vscode.postMessage({ type: 'ready' });
