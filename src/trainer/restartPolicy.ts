// When to restart the trainer process after an unexpected exit, and when to give up.
// Pure (no 'vscode', no timers): the client asks it for a decision at each exit.
// Leaves out: the spawning itself (src/trainer/client.ts).

export interface RestartPolicyOptions {
  /** First delay in ms; doubles per crash inside the window (1 s, 2 s, 4 s, ...). */
  baseDelayMs: number;
  maxDelayMs: number;
  /** Give up after this many crashes inside windowMs. */
  maxCrashes: number;
  /** Crashes older than this (ms) are forgotten: an occasional crash never adds up to giving up. */
  windowMs: number;
}

export const defaultRestartPolicy: RestartPolicyOptions = {
  baseDelayMs: 1000,
  maxDelayMs: 30_000,
  maxCrashes: 5,
  windowMs: 3 * 60_000,
};

export type RestartDecision =
  | { action: 'restart'; delayMs: number; attempt: number }
  | { action: 'give-up'; crashes: number; reason: string };

export class RestartPolicy {
  private crashes: number[] = [];
  constructor(private readonly options: RestartPolicyOptions = defaultRestartPolicy) {
    if (options.maxCrashes < 1) throw new Error(`RestartPolicy: maxCrashes must be >= 1, got ${options.maxCrashes}`);
  }

  /** Record an unexpected exit at `now` (ms) and decide what to do. */
  onCrash(now: number): RestartDecision {
    this.crashes = this.crashes.filter((t) => now - t < this.options.windowMs);
    this.crashes.push(now);
    const n = this.crashes.length;
    if (n >= this.options.maxCrashes) {
      const minutes = Math.round(this.options.windowMs / 60_000);
      return { action: 'give-up', crashes: n, reason: `the trainer process crashed ${n} times within ${minutes} min` };
    }
    const delayMs = Math.min(this.options.maxDelayMs, this.options.baseDelayMs * 2 ** (n - 1));
    return { action: 'restart', delayMs, attempt: n };
  }

  /** A manual restart (or a fresh enable) starts over. */
  reset() {
    this.crashes = [];
  }
}
