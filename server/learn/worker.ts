// The learn worker thread: owns the training session (LearnEngine), so session.run() — which
// blocks its thread for the whole forward + backward — never stalls the JSON-RPC loop or serving.
// It runs at a lower priority than the serving worker: on a 2-core machine a suggestion being
// generated wins the CPU over a training step. Requests are handled one at a time, in order.
import * as os from 'node:os';
import { parentPort } from 'node:worker_threads';
import { LearnEngine } from './engine';
import type { Adapter } from '../train/adapter';
import type { AdapterPayload, FromLearnWorker, InitResult, RoundReply, ToLearnWorker } from './messages';

/** Nice value of the training threads: below serving's 10, so serving runs first. */
const LEARN_NICE = 15;
try {
  os.setPriority(0, LEARN_NICE);
} catch {
  /* not permitted: train at normal priority */
}

const port = parentPort!;
const post = (m: FromLearnWorker) => port.postMessage(m);
const log = (level: 'info' | 'warn' | 'error', message: string) => post({ type: 'log', level, message });
let engine: LearnEngine | undefined;
let chain: Promise<void> = Promise.resolve();

const payload = (version: number, a: Adapter): AdapterPayload => ({ version, tensors: Object.fromEntries(a.tensors), spec: a.spec });

async function handle(m: ToLearnWorker): Promise<unknown> {
  if (m.type === 'init') {
    await engine?.release();
    engine = await LearnEngine.create(m.modelDir, { adaptersDir: m.adaptersDir, wanted: m.wanted, intraOpThreads: m.threads, log });
    const r = engine.resolved;
    const init: InitResult = { model: engine.modelName, vocabSize: engine.folder.cfg.vocabSize, serving: r.version, problems: r.problems, ...(r.adapter ? { adapter: payload(r.version, r.adapter) } : {}) };
    return init;
  }
  if (!engine) throw new Error('learn worker: not initialised');
  switch (m.type) {
    case 'round': {
      const r = await engine.round(m.req, (p) => post({ type: 'progress', ...p }));
      const reply: RoundReply = { report: r.report, ...(r.adapter && r.report.version ? { adapter: payload(r.report.version, r.adapter), info: r.info } : {}) };
      return reply;
    }
    case 'load': {
      const a = engine.load(m.version);
      return a ? payload(m.version, a) : { version: 0, tensors: {}, spec: engine.trainer.opts.spec };
    }
    case 'versions':
      return engine.versions();
  }
}

port.on('message', (m: ToLearnWorker) => {
  chain = chain.then(async () => {
    try {
      post({ type: 'reply', id: m.id, value: await handle(m) });
    } catch (e) {
      post({ type: 'reply', id: m.id, error: (e as Error).message });
    }
  });
});
