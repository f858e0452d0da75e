// What the status bar item shows for a given state: text (with codicon), tooltip and colour.
// Pure (no 'vscode'); src/status/statusBar.ts applies it.
import type { TrainerSnapshot } from '../trainer/client';

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
      return { label: 'ready', text: view.trainer.restarts > 0 ? '$(check) Hindsight: ready (restarted)' : '$(check) Hindsight: ready', tooltip: 'Hindsight is on for this workspace.' + restarted, severity: 'normal' };
    case 'training':
      return { label: 'training', text: '$(sync~spin) Hindsight: training', tooltip: 'Hindsight is training an adapter from recent episodes.' + restarted, severity: 'normal' };
    case 'restarting':
      return { label: 'restarting', text: '$(sync~spin) Hindsight: restarting', tooltip: `Hindsight's trainer stopped unexpectedly and is being restarted.${detail}`, severity: 'warning' };
    case 'error':
    case 'failed':
      return { label: 'error', text: '$(error) Hindsight: error', tooltip: `Hindsight has a problem.${detail} Click for status and logs.`, severity: 'error' };
  }
}

function times(n: number) {
  return n === 1 ? 'once' : `${n} times`;
}
