// The learn worker thread: owns the training session (LearnEngine), so session.run() — which
// blocks its thread for the whole forward + backward — never stalls the JSON-RPC loop or serving.
// It runs at a lower priority than the serving worker: on a 2-core machine a suggestion being
// generated wins the CPU over a training step. Requests are handled one at a time, in order, over
// the worker channel (server/workers/port.ts); a cancel arrives through shared memory
// (workerData.cancel[0] = 1), polled between passes of a round.
import * as os from 'node:os';
import { workerData } from 'node:worker_threads';
import { LearnEngine } from './engine';
import type { Adapter } from '../train/adapter';
import type { AdapterPayload, FromLearnWorker, InitResult, RoundReply, ToLearnWorker } from './messages';
import { serveRequests } from '../workers/port';

/** Nice value of the training threads: below serving's 10, so serving runs first. */
const LEARN_NICE = 19;
try {
  os.setPriority(0, LEARN_NICE);
} catch {
  /* not permitted: train at normal priority */
}

let engine: LearnEngine | undefined;
const cancel = workerData?.cancel ? new Int32Array(workerData.cancel as SharedArrayBuffer) : new Int32Array(1);
/** Suggestions being generated now (serving's counter, ServeArea.busy). */
const servingBusy = workerData?.servingBusy ? new Int32Array(workerData.servingBusy as SharedArrayBuffer) : undefined;

/**
 * Before each training or scoring pass: wait while a suggestion is being generated, so the two share
 * the cores and the memory bus less. bench:round at the 0.5B geometry, suggestions back to back
 * through a round, each over its context's idle latency: p50 1.17× → 1.06×, p95 1.70× → 1.47×, the
 * round 3 % longer. At most MAX_YIELD_MS per pass: typing without pause slows training, it does not
 * stop it. A pass already running is not interrupted.
 */
const MAX_YIELD_MS = 2000;
function yieldToServing(): void {
  if (!servingBusy) return;
  const until = Date.now() + MAX_YIELD_MS;
  for (let n = Atomics.load(servingBusy, 0); n > 0 && Date.now() < until; n = Atomics.load(servingBusy, 0)) Atomics.wait(servingBusy, 0, n, until - Date.now());
}

const payload = (version: number, a: Adapter): AdapterPayload => ({ version, tensors: Object.fromEntries(a.tensors), spec: a.spec });

async function handle(m: ToLearnWorker): Promise<unknown> {
  if (m.type === 'init') {
    await engine?.release();
    engine = await LearnEngine.create(m.modelDir, { adaptersDir: m.adaptersDir, wanted: m.wanted, intraOpThreads: m.threads, cacheDir: m.cacheDir, log, beforeRun: yieldToServing });
    const r = engine.resolved;
    const init: InitResult = { model: engine.modelName, vocabSize: engine.folder.cfg.vocabSize, serving: r.version, problems: r.problems, rule: { objective: engine.rule.objective, negative: engine.rule.negative }, ...(r.adapter ? { adapter: payload(r.version, r.adapter) } : {}) };
    return init;
  }
  if (!engine) throw new Error('learn worker: not initialised');
  switch (m.type) {
    case 'round': {
      const r = await engine.round(m.req, (p) => post({ type: 'progress', ...p }), () => Atomics.load(cancel, 0) === 1);
      const reply: RoundReply = { report: r.report, ...(r.adapter && r.report.version ? { adapter: payload(r.report.version, r.adapter), info: r.info } : {}) };
      return reply;
    }
    case 'load': {
      const a = engine.load(m.version);
      return a ? payload(m.version, a) : { version: 0, tensors: {}, spec: engine.spec };
    }
    case 'versions':
      return engine.versions();
    case 'release':
      return engine.releaseTrainer();
  }
}

// Closing (the loop's dispose) comes after the running round, which the cancel flag ends early.
const post = serveRequests<ToLearnWorker, FromLearnWorker>(handle, async () => {
  await engine?.release();
  engine = undefined;
});
const log = (level: 'info' | 'warn' | 'error', message: string) => post({ type: 'log', level, message });
