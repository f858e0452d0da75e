// What the status bar item shows for a given state: text (with codicon), tooltip and colour.
// While the trainer runs, the model's state stands next to its own ("ready · no model", "ready ·
// loading model 40%"), so "ready" never hides a model that is loading, failed or missing.
// Pure (no 'vscode'); src/status/statusBar.ts applies it.
import type { model } from '../../protocol';
import type { TrainerSnapshot } from '../trainer/client';
import { modelSentence, modelShort } from '../common/modelText';

export interface HindsightView {
  enabled: boolean;
  trusted: boolean;
  trainer: Pick<TrainerSnapshot, 'state' | 'restarts' | 'detail' | 'pid' | 'server'>;
}

export type Presentation = {
  /** One of the words the user sees: off, starting, ready, training, restarting, error. */
  label: 'off' | 'starting' | 'ready' | 'training' | 'restarting' | 'error';
  text: string;
  tooltip: string;
  severity: 'normal' | 'warning' | 'error';
  /** The model's state while the trainer runs (none / loading / ready / failed); absent otherwise. */
  model?: model.ModelState['kind'];
};

export function present(view: HindsightView): Presentation {
  const restarted = view.trainer.restarts > 0 ? ` The trainer was restarted ${times(view.trainer.restarts)} after it stopped unexpectedly.` : '';
  if (!view.trusted) {
    return { label: 'off', text: '$(circle-slash) Hindsight: off', tooltip: 'Hindsight is off: this workspace is not trusted.', severity: 'normal' };
  }
  if (!view.enabled) {
    return { label: 'off', text: '$(circle-slash) Hindsight: off', tooltip: 'Hindsight is off for this workspace. Click for status; run "Hindsight: Enable for this workspace" to turn it on.', severity: 'normal' };
  }
  const detail = view.trainer.detail ? ` ${view.trainer.detail}` : '';
  switch (view.trainer.state) {
    case 'stopped':
    case 'starting':
      return { label: 'starting', text: '$(loading~spin) Hindsight: starting', tooltip: 'Hindsight is starting its trainer process.' + restarted, severity: 'normal' };
    case 'ready':
      return withModel({ label: 'ready', text: view.trainer.restarts > 0 ? '$(check) Hindsight: ready (restarted)' : '$(check) Hindsight: ready', tooltip: 'Hindsight is on for this workspace.' + restarted, severity: 'normal' }, view.trainer.server?.model);
    case 'training':
      return withModel({ label: 'training', text: '$(sync~spin) Hindsight: training', tooltip: 'Hindsight is training an adapter from recent episodes.' + restarted, severity: 'normal' }, view.trainer.server?.model);
    case 'restarting':
      return { label: 'restarting', text: '$(sync~spin) Hindsight: restarting', tooltip: `Hindsight's trainer stopped unexpectedly and is being restarted.${detail}`, severity: 'warning' };
    case 'error':
    case 'failed':
      return { label: 'error', text: '$(error) Hindsight: error', tooltip: `Hindsight has a problem.${detail} Click for status and logs.`, severity: 'error' };
  }
}

/** Adds the model's short state to the text and its sentence to the tooltip; a missing or failed model is a warning. */
function withModel(p: Presentation, m: model.ModelState | undefined): Presentation {
  if (!m) return p;
  const icon = p.label === 'training' ? undefined : m.kind === 'loading' ? '$(loading~spin)' : m.kind === 'failed' ? '$(warning)' : m.kind === 'none' ? '$(circle-large-outline)' : undefined;
  const text = `${icon ? p.text.replace(/^\$\([^)]*\)/, icon) : p.text} · ${modelShort(m)}`;
  return { ...p, text, tooltip: `${p.tooltip}\n${modelSentence(m)}`, severity: m.kind === 'failed' ? 'warning' : p.severity, model: m.kind };
}

function times(n: number) {
  return n === 1 ? 'once' : `${n} times`;
}
