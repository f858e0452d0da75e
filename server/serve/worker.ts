// The serving worker thread: owns the model session, so session.run() (which blocks its thread)
// never stalls the trainer's JSON-RPC loop. Requests run one at a time; cancellation arrives
// through shared memory (checked between decode steps, no message needed), adapters by message.
import * as os from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { openModelFolder, type ModelFolder } from '../model/folder';
import { ModelFolderError } from '../model/config';
import { loadTokenizer, type ModelTokenizer } from '../model/tokenizer';
import { ForwardSession, type ForwardOptions, type KvCache } from '../model/forwardSession';
import { generate } from './generate';
import { CANCEL_SLOTS, type FromWorker, type ToWorker } from './messages';

/** Nice value of the serving threads (0 normal … 19 lowest). */
const SERVE_NICE = 10;

// Lower this thread's priority before ORT creates its pool threads (they inherit it; on Linux a
// nice value is per thread): when cores are scarce, the JSON-RPC loop and the editor run first and
// generation waits a few ms, rather than the other way round. Best effort (some systems refuse).
try {
  os.setPriority(0, SERVE_NICE);
} catch {
  /* not permitted: serve at normal priority */
}

const port = parentPort!;
const cancelRing = new Int32Array(workerData.cancel as SharedArrayBuffer);
const post = (m: FromWorker) => port.postMessage(m);
const log = (level: 'info' | 'warn' | 'error', message: string) => post({ type: 'log', level, message });

let folder: ModelFolder | undefined;
let tok: ModelTokenizer | undefined;
let fwd: ForwardSession | undefined;
let options: Omit<ForwardOptions, 'log'> = {};
let lastCache: KvCache | undefined;
// Messages are handled strictly in order: a chain of promises, one link per message.
let chain: Promise<void> = Promise.resolve();

const isCancelled = (id: number) => {
  for (let i = 0; i < CANCEL_SLOTS; i++) if (Atomics.load(cancelRing, i) === id) return true;
  return false;
};

async function handle(m: ToWorker): Promise<void> {
  switch (m.type) {
    case 'load': {
      try {
        options = m.options;
        folder = openModelFolder(m.modelDir);
        tok = loadTokenizer(folder.dir, folder.cfg.eosTokenId);
        if (tok.maxId >= folder.cfg.vocabSize)
          throw new ModelFolderError(folder.tokenizerFile, `has token ids up to ${tok.maxId} but config.json vocab_size is ${folder.cfg.vocabSize} (tokenizer from another model?)`);
        fwd = await ForwardSession.create(folder, { ...options, log });
        post({ type: 'loaded', name: folder.name, loadMs: fwd.stats.loadMs, provider: fwd.stats.provider, lora: fwd.lora });
      } catch (e) {
        post({ type: 'loadFailed', message: (e as Error).message });
      }
      return;
    }
    case 'complete': {
      if (!fwd || !tok || !folder) {
        post({ type: 'result', id: m.id, reusedTokens: 0, result: { kind: 'unavailable', text: '', tokenIds: [], logprobs: [], promptTokenIds: [], adapterVersion: 0, model: '', elapsedMs: 0, reason: 'model not loaded' } });
        return;
      }
      try {
        const { result, cache, reusedTokens } = await generate(fwd, tok, m.params, { isCancelled: () => isCancelled(m.id), reuse: lastCache, modelName: folder.name });
        lastCache = cache ?? lastCache;
        post({ type: 'result', id: m.id, result, reusedTokens });
      } catch (e) {
        post({ type: 'result', id: m.id, reusedTokens: 0, result: { kind: 'failed', text: '', tokenIds: [], logprobs: [], promptTokenIds: [], adapterVersion: fwd.adapterVersion, model: folder.name, elapsedMs: 0, reason: (e as Error).message } });
      }
      return;
    }
    case 'setAdapter': {
      try {
        if (!fwd || !folder) throw new Error('model not loaded');
        if (m.spec && JSON.stringify(m.spec) !== JSON.stringify(fwd.lora)) {
          // A different LoRA geometry needs a new graph: rebuild once, then swaps are free again.
          log('info', `adapter ${m.version}: LoRA geometry changed (rank ${m.spec.rank}); rebuilding the serving session`);
          const next = await ForwardSession.create(folder, { ...options, lora: m.spec, log });
          await fwd.release();
          fwd = next;
        }
        fwd.setAdapter(m.version, new Map(Object.entries(m.tensors)));
        lastCache = undefined; // keys/values computed under the old adapter are stale
        post({ type: 'adapterSet', id: m.id, version: m.version });
      } catch (e) {
        post({ type: 'adapterSet', id: m.id, version: m.version, error: (e as Error).message });
      }
      return;
    }
  }
}

port.on('message', (m: ToWorker) => {
  chain = chain.then(() => handle(m));
});
