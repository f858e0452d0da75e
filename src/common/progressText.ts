// The line a running round shows in the "Train now" notification: step, loss and time left.
// Pure (no 'vscode').
import type { learn } from '../../protocol';

export function roundProgressText(s: Pick<learn.StatusResult, 'state' | 'step' | 'steps' | 'etaMs' | 'cancelling'>): string {
  if (s.cancelling) return 'cancelling…';
  if (s.state !== 'training' && s.state !== 'evaluating') return '';
  const step = s.state === 'evaluating' ? 'checking the new adapter' : s.step && s.steps ? `step ${s.step} of ${s.steps}` : 'preparing the batch';
  return s.etaMs !== undefined ? `${step}, about ${etaWords(s.etaMs)} left` : step;
}

export function etaWords(ms: number): string {
  if (ms < 60_000) return `${Math.max(1, Math.round(ms / 1000))} s`;
  if (ms < 3600_000) return `${Math.round(ms / 60_000)} min`;
  return `${(ms / 3600_000).toFixed(1)} h`;
}
