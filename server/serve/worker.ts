// The serving worker thread: owns the model session, so session.run() (which blocks its thread)
// never stalls the trainer's JSON-RPC loop. Requests run one at a time over the worker channel
// (server/workers/port.ts); cancellation arrives through shared memory (checked between decode
// steps, no message needed), adapters by message. Closing releases the session and ends the thread.
import * as os from 'node:os';
import { workerData } from 'node:worker_threads';
import { openModelFolder, type ModelFolder } from '../model/folder';
import { ModelFolderError } from '../model/config';
import { loadTokenizer, type ModelTokenizer } from '../model/tokenizer';
import { ForwardSession, type ForwardOptions, type KvCache } from '../model/forwardSession';
import { modelFacts } from '../model/facts';
import { DEFAULTS, generate } from './generate';
import { tokenTexts } from './tokenHealing';
import { promptBudget } from './fim';
import { CANCEL_SLOTS, type Completed, type FromWorker, type Loaded, type ToWorker } from './messages';
import { serveRequests } from '../workers/port';

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

const cancelRing = new Int32Array(workerData.cancel as SharedArrayBuffer);

let folder: ModelFolder | undefined;
let tok: ModelTokenizer | undefined;
let fwd: ForwardSession | undefined;
let options: Omit<ForwardOptions, 'log' | 'progress'> = {};
let lastCache: KvCache | undefined;

const isCancelled = (id: number) => {
  for (let i = 0; i < CANCEL_SLOTS; i++) if (Atomics.load(cancelRing, i) === id) return true;
  return false;
};

const unavailable = (reason: string): Completed => ({ reusedTokens: 0, result: { kind: 'unavailable', text: '', tokenIds: [], logprobs: [], promptTokenIds: [], adapterVersion: 0, model: '', elapsedMs: 0, reason } });

async function handle(m: ToWorker): Promise<Loaded | Completed | void> {
  switch (m.type) {
    case 'load': {
      options = m.options;
      // Load progress for the editor's model state (fractions rounded: one message per percent at most).
      const progress = (step: string, fraction?: number) => emit({ type: 'loadProgress', step, ...(fraction !== undefined ? { fraction: Math.round(fraction * 100) / 100 } : {}) });
      progress('checking the model folder');
      folder = openModelFolder(m.modelDir);
      progress('reading the tokenizer');
      tok = loadTokenizer(folder.dir, folder.cfg.eosTokenId);
      if (tok.maxId >= folder.cfg.vocabSize)
        throw new ModelFolderError(folder.tokenizerFile, `has token ids up to ${tok.maxId} but config.json vocab_size is ${folder.cfg.vocabSize} (tokenizer from another model?)`);
      // Token healing's table of every id's text (≈ 0.16 s for Qwen's 151k ids): built here, not on the first suggestion.
      tokenTexts(tok);
      fwd = await ForwardSession.create(folder, { ...options, log, progress });
      // One short forward pass: NaN or infinite weights load without complaint and would serve junk.
      progress('checking the model\'s outputs');
      const { logits } = await fwd.step(tok.encode('def f(x):\n').slice(0, 8), fwd.emptyCache());
      if (!logits.every(Number.isFinite)) {
        await fwd.release();
        fwd = undefined;
        throw new ModelFolderError(folder.dir, 'gives NaN or infinite outputs for a short prompt: its weights are damaged (NaN or infinite values?)');
      }
      return { name: folder.name, loadMs: fwd.stats.loadMs, provider: fwd.stats.provider, lora: fwd.lora, facts: modelFacts(folder), weights: fwd.stats.q4 ? 'q4' : 'full', compute: fwd.dtype };
    }
    case 'complete': {
      if (!fwd || !tok || !folder) return unavailable('model not loaded');
      try {
        const budget = promptBudget(folder.cfg.maxPositions, m.params.maxTokens ?? DEFAULTS.maxTokens);
        const { result, cache, reusedTokens } = await generate(fwd, tok, m.params, { isCancelled: () => isCancelled(m.cancelId), reuse: lastCache, modelName: folder.name, budget, prompt: folder.prompt, maxPositions: folder.cfg.maxPositions });
        lastCache = cache ?? lastCache;
        return { result, reusedTokens };
      } catch (e) {
        return { reusedTokens: 0, result: { kind: 'failed', text: '', tokenIds: [], logprobs: [], promptTokenIds: [], adapterVersion: fwd.adapterVersion, model: folder.name, elapsedMs: 0, reason: (e as Error).message } };
      }
    }
    case 'setAdapter': {
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
      return;
    }
  }
}

const emit = serveRequests<ToWorker, FromWorker>(handle, async () => {
  await fwd?.release();
  fwd = undefined;
});
const log = (level: 'info' | 'warn' | 'error', message: string) => emit({ type: 'log', level, message });
