// Suggestion latency while the trainer works, for bench:learn and bench:round: serve/complete at the
// preferences' held-out contexts (never recorded), one idle pass over all of them, then the same
// rotation until the work ends. Contexts differ in how long their suggestion is, so each sample
// taken during the work is also divided by its own context's idle sample (raw percentiles of the
// two sets compare different mixes of contexts).
import type { TrainerProcess } from './trainer';
import { probe } from './developer';
import { PREFERENCES } from './preferences';

/** The p-quantile by rank (NaN for none). */
export const percentile = (xs: number[], p: number): number => (xs.length ? [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))] : NaN);

export class LatencySampler {
  private readonly contexts = PREFERENCES.flatMap((p) => p.heldOut.map((c) => ({ p, c })));
  /** The rotation goes on across calls. */
  private next = 0;

  constructor(private readonly t: TrainerProcess) {}

  /** Latency of the next context in the rotation, and which context it was. */
  private async sample(): Promise<{ k: number; ms: number }> {
    const k = this.next++ % this.contexts.length;
    const { p, c } = this.contexts[k];
    return { k, ms: (await probe(this.t, p, c)).latencyMs };
  }

  /** One idle pass over every context, then samples until `work` settles. */
  async around<T>(work: () => Promise<T>): Promise<{ result: T; idleMs: number[]; duringMs: number[]; pairedRatios: number[] }> {
    const idle = new Map<number, number>();
    const idleMs: number[] = [];
    for (let i = 0; i < this.contexts.length; i++) {
      const x = await this.sample();
      idle.set(x.k, x.ms);
      idleMs.push(x.ms);
    }
    const duringMs: number[] = [];
    const pairedRatios: number[] = [];
    let done = false;
    const running = work().finally(() => (done = true));
    while (!done) {
      const x = await this.sample();
      duringMs.push(x.ms);
      pairedRatios.push(x.ms / idle.get(x.k)!);
    }
    return { result: await running, idleMs, duringMs, pairedRatios };
  }
}
