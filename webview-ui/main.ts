// The status view's page: the training dashboard, built with @vscode-elements/elements (only the
// components imported below are bundled). The DOM is built once and updated in place on every
// status message, so keyboard focus and open/closed sections survive a training step's update.
// Rows come from sections.ts (pure); buttons post the protocol's command messages.
import '@vscode-elements/elements/dist/vscode-badge/index.js';
import '@vscode-elements/elements/dist/vscode-button/index.js';
import '@vscode-elements/elements/dist/vscode-collapsible/index.js';
import '@vscode-elements/elements/dist/vscode-divider/index.js';
import '@vscode-elements/elements/dist/vscode-progress-ring/index.js';
import type { webview } from '../protocol';
import { episodeRows, isLoadingModel, isTraining, learningRows, stateRows, suggestionRow, type Row } from './sections';

interface PageState {
  closed?: string[];
}
declare function acquireVsCodeApi(): { postMessage(msg: webview.FromWebview): void; getState(): PageState | undefined; setState(s: PageState): void };
const vscode = acquireVsCodeApi();
// Lit styles shadow roots with constructed stylesheets; where it must fall back to <style> elements
// they carry this nonce, which the CSP's style-src allows.
(window as { litNonce?: string }).litNonce = (document.currentScript as HTMLScriptElement | null)?.nonce;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<Record<string, string>> = {}, ...children: (Node | string)[]) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) if (v !== undefined) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

/** `command` may be a function: the enable/disable button's command follows the state. */
function button(label: string, command: webview.Command | (() => webview.Command), secondary = true) {
  const b = el('vscode-button', {}, label);
  b.secondary = secondary;
  b.addEventListener('click', () => {
    if (!b.disabled) vscode.postMessage({ type: 'command', command: typeof command === 'function' ? command() : command });
  });
  return b;
}

/** A collapsible section, open unless the user closed it (remembered across reloads of the page). */
function section(id: string, heading: string) {
  const c = el('vscode-collapsible', { id, heading });
  c.open = !(vscode.getState()?.closed ?? []).includes(id);
  c.addEventListener('vsc-collapsible-toggle', () => {
    const closed = new Set(vscode.getState()?.closed ?? []);
    if (c.open) closed.delete(id);
    else closed.add(id);
    vscode.setState({ ...vscode.getState(), closed: [...closed] });
  });
  const list = el('dl', { class: 'rows' });
  const actions = el('div', { class: 'actions', role: 'group', 'aria-label': `${heading} actions` });
  c.append(list, actions);
  return { c, list, actions };
}

function rowNodes(r: Row) {
  const dd = el('dd', r.warn ? { class: 'warn' } : {});
  if (r.value !== undefined) dd.append(r.value);
  if (r.items) {
    const ul = el('ul', { class: 'items' });
    for (const i of r.items) {
      const li = el('li', i.current ? { class: 'current' } : {}, i.text);
      if (i.badge !== undefined) li.append(' ', el('vscode-badge', { variant: i.current ? 'activity-bar-counter' : 'counter' }, i.badge));
      ul.append(li);
    }
    dd.append(ul);
  }
  return [el('dt', {}, r.name), dd];
}

const render = (list: HTMLElement, rows: Row[]) => list.replaceChildren(...rows.flatMap(rowNodes));

// ── The page, built once ────────────────────────────────────────────────────────────────────────
const root = document.getElementById('root')!;
const title = el('h1');
const summary = el('p', { class: 'summary', role: 'status' });

const state = section('state', 'State');
let enabled = false;
const toggle = button('', () => (enabled ? 'disableWorkspace' : 'enableWorkspace'), false);
const chooseModel = button('Use a local model folder…', 'chooseModelFolder');
const modelRing = el('vscode-progress-ring', { slot: 'decorations', 'aria-label': 'Loading the model' });
state.actions.append(toggle, chooseModel, button('Show logs', 'showLogs'));

const eps = section('episodes', 'Episodes');
eps.actions.append(button('Export episodes…', 'exportEpisodes'), button('Forget data…', 'forgetWorkspaceData'));

const learn = section('learning', 'Learning');
const ring = el('vscode-progress-ring', { slot: 'decorations', 'aria-label': 'Training' });
const trainNow = button('Train now', 'trainNow', false);
const cancelRound = button('Cancel round', 'cancelTraining');
const rollback = button('Roll back…', 'rollbackAdapter');
learn.actions.append(trainNow, cancelRound, rollback);

root.replaceChildren(title, summary, state.c, el('vscode-divider', { role: 'presentation' }), eps.c, el('vscode-divider', { role: 'presentation' }), learn.c);

function update(s: webview.StatusModel) {
  title.textContent = `Hindsight: ${s.label}`;
  title.dataset.state = s.label;
  summary.textContent = s.summary;

  render(state.list, stateRows(s));
  enabled = s.enabled;
  toggle.textContent = s.enabled ? 'Disable for this workspace' : 'Enable for this workspace';
  // Offered where it helps: no model, or one that failed to load.
  chooseModel.hidden = !(s.model?.kind === 'none' || s.model?.kind === 'failed');
  if (isLoadingModel(s)) {
    if (!modelRing.isConnected) state.c.append(modelRing);
  } else modelRing.remove();
  state.c.description = s.model?.kind === 'loading' ? 'loading the model' : '';

  const off: Row[] = [{ name: 'Recorded', value: 'nothing to show while the trainer is not running' }];
  render(eps.list, [...(s.episodes ? episodeRows(s.episodes) : off), ...(s.suggestions ? [suggestionRow(s.suggestions)] : [])]);
  eps.c.description = s.episodes ? `${s.episodes.counts.total}` : '';

  const l = s.learning;
  render(learn.list, l ? learningRows(l) : [{ name: 'Loop', value: 'off — the trainer is not running' }]);
  learn.c.description = l ? (isTraining(l) ? `${l.state}${l.step !== undefined && l.steps ? ` ${l.step}/${l.steps}` : ''}` : l.state) : 'off';
  if (l && isTraining(l)) {
    if (!ring.isConnected) learn.c.append(ring);
  } else ring.remove();
  trainNow.disabled = !l || isTraining(l) || l.state === 'off';
  cancelRound.hidden = !l || !isTraining(l);
  cancelRound.disabled = !!l?.cancelling;
  rollback.disabled = !l;
}

window.addEventListener('message', (e: MessageEvent<webview.ToWebview>) => {
  if (e.data?.type === 'status') update(e.data.status);
});
vscode.postMessage({ type: 'ready' });
