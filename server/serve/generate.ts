// One inline completion: FIM prompt → prefill (reusing the KV cache of a shared prompt prefix) →
// decode → sample → stop rules, cancellable between steps. Returns the protocol's CompleteResult
// (text, token ids, per-token log-probs, prompt ids, adapter version) plus the cache to reuse.
// The model is an interface, so the loop is tested with a scripted model as well as a real one.
import type { serve } from '../../protocol';
import type { ModelTokenizer } from '../model/tokenizer';
import { IncrementalDecoder } from '../model/tokenizer';
import { buildFimPrompt, DEFAULT_BUDGET, type PromptBudget } from './fim';
import { sampleToken, seededRandom } from './sampling';
import { checkStop, stopContextFor } from './stopRules';

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
  const finish = (kind: serve.CompleteResult['kind'], text: string, reason?: string): serve.CompleteResult => ({
    kind: kind === 'success' && text.trim() === '' ? 'empty' : kind,
    text, tokenIds, logprobs, promptTokenIds: prompt.ids, adapterVersion, model: opts.modelName ?? '', elapsedMs: now() - t0,
    ...(reason ? { reason } : {}),
  });
  const cancelled = () => opts.isCancelled?.() ?? false;

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
  if (cancelled()) return { result: finish('cancelled', '', 'cancelled before prefill'), cache: undefined, reusedTokens };
  let { logits, cache: next } = await model.step(prompt.ids.slice(reusedTokens), cache);
  cache = next;
  const decoder = new IncrementalDecoder(tok);
  let text = '';
  const ends: number[] = []; // text length after each token
  for (let i = 0; i < maxTokens; i++) {
    if (cancelled()) return { result: finish('cancelled', '', 'cancelled'), cache, reusedTokens };
    const { id, logprob } = sampleToken(logits, sampling, random);
    if (tok.stopIds.has(id)) return { result: finish('success', text, 'stop token'), cache, reusedTokens };
    tokenIds.push(id);
    logprobs.push(logprob);
    text += decoder.push(id);
    const s = checkStop(text, stopCtx);
    ends.push(text.length);
    if (s.stop) {
      // Drop tokens that lie wholly past the cut; the last kept one may straddle it (e.g. ')\n').
      const kept = ends.filter((_, k) => (k === 0 ? 0 : ends[k - 1]) < s.keep).length;
      tokenIds.length = kept;
      logprobs.length = kept;
      return { result: finish('success', text.slice(0, s.keep), s.reason), cache, reusedTokens };
    }
    if (now() > deadline) return { result: finish('success', trimPartialLine(text, mode), 'time budget'), cache, reusedTokens };
    if (i + 1 === maxTokens) break;
    ({ logits, cache } = await model.step([id], cache));
  }
  return { result: finish('success', trimPartialLine(text, mode), 'max tokens'), cache, reusedTokens };
}

/** In block mode a cut-off last line is dropped unless it is the only one. */
function trimPartialLine(text: string, mode: 'line' | 'block'): string {
  if (mode === 'line') return text;
  const nl = text.lastIndexOf('\n');
  return nl > 0 ? text.slice(0, nl).replace(/[ \t\r]+$/, '') : text;
}
