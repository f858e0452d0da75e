// Adaptive debounce for inline completion requests (DESIGN §5: ~300 ms, longer on a slow
// machine or while training). Pure arithmetic over observed latencies; the provider does the
// waiting. Leaves out per-language tuning.

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
  private latencyEma: number | undefined;
  private training = false;
  constructor(private opts: DebounceOptions = DEFAULT_DEBOUNCE) {}

  /** Changes the base delay (the setting changed). */
  setBase(baseMs: number): void {
    this.opts = { ...this.opts, baseMs, minMs: Math.min(this.opts.minMs, baseMs) };
  }

  /** Records how long a completion request took (ms), so slow machines wait longer between keys. */
  observeLatency(ms: number): void {
    if (!Number.isFinite(ms) || ms < 0) return;
    this.latencyEma = this.latencyEma === undefined ? ms : 0.8 * this.latencyEma + 0.2 * ms;
  }

  setTraining(training: boolean): void {
    this.training = training;
  }

  /** Delay before the next request: the base, plus half of any latency above one second. */
  delayMs(): number {
    let d = this.opts.baseMs;
    if (this.latencyEma !== undefined && this.latencyEma > 1000) d += 0.5 * (this.latencyEma - 1000);
    if (this.training) d *= this.opts.trainingFactor;
    return Math.round(Math.min(this.opts.maxMs, Math.max(this.opts.minMs, d)));
  }
}
