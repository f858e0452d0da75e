// Debounce for inline completion requests: the base delay (hindsight.completions.debounceMs, 300 ms),
// longer while training (the round competes for the same cores). It does not grow with slow
// suggestions: a request made stale by the next keystroke is cancelled at serving's next decode
// step and the next one reuses its KV cache, so waiting longer only added to what the developer
// feels (bench:felt, 0.5B geometry on 2 cores: warm p50 928 → 839 ms, p90 1224 → 966 ms without
// the old "half of any latency above a second" term). Pure arithmetic; the provider waits.

export interface DebounceOptions {
  /** Base delay in ms (setting hindsight.completions.debounceMs, default 300). */
  baseMs: number;
  minMs: number;
  maxMs: number;
  /** Multiplier applied while the trainer is training (it competes for the same cores). */
  trainingFactor: number;
}

export const DEFAULT_DEBOUNCE: DebounceOptions = { baseMs: 300, minMs: 100, maxMs: 1500, trainingFactor: 1.5 };

export class AdaptiveDebounce {
  private training = false;
  constructor(private opts: DebounceOptions = DEFAULT_DEBOUNCE) {}

  /** Changes the base delay (the setting changed). */
  setBase(baseMs: number): void {
    this.opts = { ...this.opts, baseMs, minMs: Math.min(this.opts.minMs, baseMs) };
  }

  setTraining(training: boolean): void {
    this.training = training;
  }

  /** Delay before the next request: the base, longer while training. */
  delayMs(): number {
    let d = this.opts.baseMs;
    if (this.training) d *= this.opts.trainingFactor;
    return Math.round(Math.min(this.opts.maxMs, Math.max(this.opts.minMs, d)));
  }
}
