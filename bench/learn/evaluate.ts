// bench:learn's own measuring instrument, in the bench process (never in the trainer): the model
// folder with the adapter versions the trainer wrote (<storage>/adapters, PEFT format), scored by
// the project's train-step graph with the LoRA inputs set (zeros = the base model). It gives
//   margin  = log π(preferred | ctx) − log π(rejected | ctx), each summed over its tokens, with ctx
//             the FIM prompt serving builds for that spot (server/serve/fim.ts);
//   bpb     = bits per byte of the held-out code sample (heldoutCode.ts), in ≤ 400-token windows.
import * as path from 'node:path';
import { openModelFolder, type ModelFolder } from '../../server/model/folder';
import { loadTokenizer, type ModelTokenizer } from '../../server/model/tokenizer';
import { modelCacheDir } from '../../server/model/modelCache';
import { DEFAULT_SERVE_LORA } from '../../server/model/forwardSession';
import { buildFimPrompt, promptBudget } from '../../server/serve/fim';
import { healPrompt } from '../../server/serve/tokenHealing';
import { initAdapter } from '../../server/train/adapter';
import { AdapterStore } from '../../server/train/adapterStore';
import { Trainer } from '../../server/train/step';
import { HELDOUT_CODE } from './heldoutCode';
import { MAX_TOKENS } from './developer';

export interface Pair {
  prefix: string;
  suffix: string;
  preferred: string;
  rejected: string;
}

const WINDOW = 400;

export class Evaluator {
  private code: number[][] = [];
  private codeBytes = 0;
  private constructor(
    readonly folder: ModelFolder,
    readonly tok: ModelTokenizer,
    readonly trainer: Trainer,
  ) {
    for (const { text } of HELDOUT_CODE) {
      const ids = tok.encode(text);
      for (let i = 0; i + 1 < ids.length; i += WINDOW) this.code.push(ids.slice(i, i + WINDOW + 1));
    }
    // Bytes of the scored tokens (every token of a window but its first).
    for (const w of this.code) this.codeBytes += Buffer.byteLength(tok.decode(w)) - Buffer.byteLength(tok.decode(w.slice(0, 1)));
  }

  static async create(modelDir: string, cacheDir: string): Promise<Evaluator> {
    const folder = openModelFolder(modelDir);
    const tok = loadTokenizer(folder.dir, folder.cfg.eosTokenId);
    const weights = { tensors: folder.tensors, mode: 'external' as const, modelFileDir: modelCacheDir(cacheDir, folder) };
    const spec = DEFAULT_SERVE_LORA;
    const trainer = await Trainer.create(folder.cfg, weights, { spec, adapter: initAdapter(folder.cfg, spec, folder.name, 0), intraOpThreads: 1 });
    return new Evaluator(folder, tok, trainer);
  }

  /** The adapter tensors of `version` in a trainer storage folder (0 = the base model). */
  adapter(storageDir: string, version: number): Map<string, Float32Array> | undefined {
    if (!version) return undefined;
    return new AdapterStore(path.join(storageDir, 'adapters')).load(version, this.folder.cfg, { baseModel: this.folder.name }).tensors;
  }

  private score(tensors: Map<string, Float32Array> | undefined, pairs: { context: number[]; response: number[] }[]): Promise<number[][]> {
    return this.trainer.logprobsWith(tensors, pairs);
  }

  /**
   * The prompt serving builds at this spot, token healing included: the ids without the prefix's
   * last token, and that token's text, which every continuation re-spells first.
   */
  context(prefix: string, suffix: string): { ids: number[]; healed: string } {
    const fim = this.folder.prompt === 'prefix' ? undefined : this.tok.fim;
    const { prompt, healed } = healPrompt(buildFimPrompt((s) => this.tok.encode(s), fim, prefix, suffix, promptBudget(this.folder.cfg.maxPositions, MAX_TOKENS)), fim !== undefined, prefix, this.tok);
    return { ids: prompt.ids, healed };
  }

  /** What serving would record for `text` served at this spot: prompt ids, healed text, token ids, their log-probs. */
  async served(tensors: Map<string, Float32Array> | undefined, prefix: string, suffix: string, text: string): Promise<{ promptTokenIds: number[]; tokenIds: number[]; logprobs: number[]; healed?: string }> {
    const { ids: promptTokenIds, healed } = this.context(prefix, suffix);
    const tokenIds = this.tok.encode(healed + text);
    const [logprobs] = await this.score(tensors, [{ context: promptTokenIds, response: tokenIds }]);
    return { promptTokenIds, tokenIds, logprobs, ...(healed ? { healed } : {}) };
  }

  /** Per pair: Σ log π(preferred) − Σ log π(rejected) at the pair's FIM context. */
  async margins(tensors: Map<string, Float32Array> | undefined, pairs: Pair[]): Promise<number[]> {
    const items = pairs.flatMap((p) => {
      const { ids: context, healed } = this.context(p.prefix, p.suffix);
      return [{ context, response: this.tok.encode(healed + p.preferred) }, { context, response: this.tok.encode(healed + p.rejected) }];
    });
    const lp = await this.score(tensors, items);
    const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);
    return pairs.map((_, i) => sum(lp[2 * i]) - sum(lp[2 * i + 1]));
  }

  /** Bits per byte of the held-out code sample. */
  async bpb(tensors: Map<string, Float32Array> | undefined): Promise<number> {
    const lp = await this.score(tensors, this.code.map((w) => ({ context: w.slice(0, 1), response: w.slice(1) })));
    const nats = -lp.flat().reduce((s, x) => s + x, 0);
    return nats / Math.LN2 / this.codeBytes;
  }

  release(): Promise<void> {
    return this.trainer.release();
  }
}
