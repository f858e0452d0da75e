// One inline completion: FIM prompt → prefill (reusing the KV cache of a shared prompt prefix) →
// decode → sample → stop rules, cancellable between steps. Returns the protocol's CompleteResult
// (text, token ids, per-token log-probs, prompt ids, adapter version) plus the cache to reuse. The
// ids always spell exactly the returned text, whatever ended generation (alignTokens.ts).
// The model is an interface, so the loop is tested with a scripted model as well as a real one.
import type { serve } from '../../protocol';
import type { ModelTokenizer } from '../model/tokenizer';
import { IncrementalDecoder } from '../model/tokenizer';
import { buildFimPrompt, DEFAULT_BUDGET, type PromptBudget } from './fim';
import { sampleToken, seededRandom } from './sampling';
import { checkStop, stopContextFor } from './stopRules';
import { alignToText, type Aligned, type TailScorer } from './alignTokens';

export interface StepModel<Cache extends { ids: number[] }> {
  readonly adapterVersion: number;
  emptyCache(): Cache;
  truncate(cache: Cache, n: number): Cache;
  step(ids: number[], cache: Cache): Promise<{ logits: Float32Array; cache: Cache }>;
}

export interface GenerateOptions<Cache> {
  /** Polled between steps; true ends generation with kind 'cancelled'. */
  isCancelled?: () => boolean;
  /** A cache from an earlier request; its longest common prefix with the new prompt is reused. */
  reuse?: Cache;
  budget?: PromptBudget;
  modelName?: string;
  now?: () => number;
}

export const DEFAULTS = { maxTokens: 64, timeoutMs: 2000, mode: 'line' as const };

export async function generate<Cache extends { ids: number[] }>(
  model: StepModel<Cache>, tok: ModelTokenizer, params: serve.CompleteParams, opts: GenerateOptions<Cache> = {},
): Promise<{ result: serve.CompleteResult; cache: Cache | undefined; reusedTokens: number }> {
  const now = opts.now ?? (() => performance.now());
  const t0 = now();
  // A request cancelled while it waited in the worker's queue costs no tokenisation.
  if (opts.isCancelled?.()) {
    return { result: { kind: 'cancelled', text: '', tokenIds: [], logprobs: [], promptTokenIds: [], adapterVersion: model.adapterVersion, model: opts.modelName ?? '', elapsedMs: 0, reason: 'cancelled before it started' }, cache: opts.reuse, reusedTokens: 0 };
  }
  const mode = params.mode ?? DEFAULTS.mode;
  const maxTokens = Math.max(0, params.maxTokens ?? DEFAULTS.maxTokens);
  const deadline = t0 + (params.timeoutMs ?? DEFAULTS.timeoutMs);
  const random = seededRandom(params.seed ?? 0);
  const sampling = { temperature: params.temperature ?? 0, topP: params.topP ?? 1 };
  const prompt = buildFimPrompt((s) => tok.encode(s), tok.fim, params.prefix, params.suffix, opts.budget ?? DEFAULT_BUDGET);
  const stopCtx = stopContextFor(params.prefix, params.suffix, mode);
  const adapterVersion = model.adapterVersion;
  const tokenIds: number[] = [];
  const logprobs: number[] = [];
  const result = (kind: serve.CompleteResult['kind'], out: Aligned, reason?: string): serve.CompleteResult => ({
    kind: kind === 'success' && out.text.trim() === '' ? 'empty' : kind,
    text: out.text, tokenIds: out.ids, logprobs: out.logprobs, promptTokenIds: prompt.ids, adapterVersion, model: opts.modelName ?? '', elapsedMs: now() - t0,
    ...(reason ? { reason } : {}),
  });
  const cancelled = () => opts.isCancelled?.() ?? false;
  const none: Aligned = { text: '', ids: [], logprobs: [] };

  // Reuse the longest shared prefix of a previous prompt's cache (at least one token must run).
  let cache = model.emptyCache();
  let reusedTokens = 0;
  if (opts.reuse) {
    let n = 0;
    const prev = opts.reuse.ids;
    while (n < prev.length && n < prompt.ids.length - 1 && prev[n] === prompt.ids[n]) n++;
    if (n > 0) {
      cache = model.truncate(opts.reuse, n);
      reusedTokens = n;
    }
  }
  if (cancelled()) return { result: result('cancelled', none, 'cancelled before prefill'), cache: undefined, reusedTokens };
  let { logits, cache: next } = await model.step(prompt.ids.slice(reusedTokens), cache);
  cache = next;
  /** Index of the generated token `logits` predicts. */
  let logitsAt = 0;
  // Every ending goes through alignToText: the ids returned spell exactly the text shown.
  const scorer: TailScorer = {
    logitsAt: async (n) => {
      if (n !== logitsAt) {
        // Back to the position before token n, and run the token there again for its logits.
        cache = model.truncate(cache, prompt.ids.length + n - 1);
        ({ logits, cache } = await model.step([n > 0 ? tokenIds[n - 1] : prompt.ids[prompt.ids.length - 1]], cache));
        logitsAt = n;
      }
      return logits;
    },
    advance: async (id) => {
      ({ logits, cache } = await model.step([id], cache));
      logitsAt++;
      return logits;
    },
  };
  const success = async (target: string, reason: string) => ({ result: result('success', await alignToText(target, tokenIds, logprobs, tok, scorer), reason), cache, reusedTokens });

  const decoder = new IncrementalDecoder(tok);
  let text = '';
  for (let i = 0; i < maxTokens; i++) {
    if (cancelled()) return { result: result('cancelled', none, 'cancelled'), cache, reusedTokens };
    const { id, logprob } = sampleToken(logits, sampling, random);
    if (tok.stopIds.has(id)) return success(text, 'stop token');
    tokenIds.push(id);
    logprobs.push(logprob);
    text += decoder.push(id);
    const s = checkStop(text, stopCtx);
    if (s.stop) return success(text.slice(0, s.keep), s.reason!);
    if (now() > deadline) return success(trimPartialLine(text, mode), 'time budget');
    if (i + 1 === maxTokens) break;
    ({ logits, cache } = await model.step([id], cache));
    logitsAt++;
  }
  return success(trimPartialLine(text, mode), 'max tokens');
}

/** In block mode a cut-off last line is dropped unless it is the only one. */
function trimPartialLine(text: string, mode: 'line' | 'block'): string {
  if (mode === 'line') return text;
  const nl = text.lastIndexOf('\n');
  return nl > 0 ? text.slice(0, nl).replace(/[ \t\r]+$/, '') : text;
}
