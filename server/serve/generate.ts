// One inline completion: FIM prompt → prefill (reusing the KV cache of a shared prompt prefix) →
// decode → sample → stop rules, cancellable between steps. Returns a Generation (text, token
// ids, per-token log-probs, prompt ids, adapter version: generation.ts) plus the cache to reuse. The
// ids always spell exactly the returned text, whatever ended generation (alignTokens.ts).
// The model is an interface, so the loop is tested with a scripted model as well as a real one.
import type { serve } from '../../protocol';
import type { ModelTokenizer } from '../model/tokenizer';
import type { PromptLayout } from '../model/folder';
import { IncrementalDecoder } from '../model/tokenizer';
import { buildFimPrompt, DEFAULT_BUDGET, type PromptBudget } from './fim';
import { logSumExp, sampleToken, seededRandom } from './sampling';
import { checkStop, hintCommentAt, stopContextFor } from './stopRules';
import { alignToText, type Aligned, type TailScorer } from './alignTokens';
import { HealingMask, healPrompt } from './tokenHealing';
import type { Generation } from './generation';

export interface StepModel<Cache extends { ids: number[] }> {
  readonly adapterVersion: number;
  emptyCache(): Cache;
  truncate(cache: Cache, n: number): Cache;
  /** `lse`: log Σ exp(logits), when the model computes it (the serving graph does; else it is computed here). */
  step(ids: number[], cache: Cache): Promise<{ logits: Float32Array; lse?: number; cache: Cache }>;
}

export interface GenerateOptions<Cache> {
  /** Polled between steps; true ends generation with kind 'cancelled'. */
  isCancelled?: () => boolean;
  /** A cache from an earlier request; its longest common prefix with the new prompt is reused. */
  reuse?: Cache;
  budget?: PromptBudget;
  modelName?: string;
  now?: () => number;
  /** Re-spell the prefix's last token (tokenHealing.ts); default true. */
  heal?: boolean;
  /** 'prefix': prompt with the text before the cursor only, even when the tokenizer has FIM tokens. */
  prompt?: PromptLayout;
  /** The model's context (config.json max_position_embeddings): generation ends when it is full. */
  maxPositions?: number;
}

export const DEFAULTS = { maxTokens: 64, timeoutMs: 2000, mode: 'line' as const };
/** Times a suggestion backs off a "Hint:" comment to the model's next-best token before it is cut there. */
const MAX_HINT_BACKTRACKS = 3;

export async function generate<Cache extends { ids: number[] }>(
  model: StepModel<Cache>, tok: ModelTokenizer, params: serve.CompleteParams, opts: GenerateOptions<Cache> = {},
): Promise<{ result: Generation; cache: Cache | undefined; reusedTokens: number }> {
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
  const fim = opts.prompt === 'prefix' ? undefined : tok.fim;
  const { prompt, healed } = healPrompt(buildFimPrompt((s) => tok.encode(s), fim, params.prefix, params.suffix, opts.budget ?? DEFAULT_BUDGET), fim !== undefined, params.prefix, tok, opts.heal ?? true);
  const stopCtx = stopContextFor(params.prefix, params.suffix, mode);
  const adapterVersion = model.adapterVersion;
  const tokenIds: number[] = [];
  const logprobs: number[] = [];
  // `out` spells healed + shown text; ids that never got past the healed text show nothing.
  const result = (kind: Generation['kind'], out: Aligned, reason?: string): Generation => {
    const whole = out.text.startsWith(healed);
    const text = whole ? out.text.slice(healed.length) : '';
    const spelt = whole && out.ids.length > 0 && healed !== '';
    return {
      kind: kind === 'success' && text.trim() === '' ? 'empty' : kind,
      text, tokenIds: whole ? out.ids : [], logprobs: whole ? out.logprobs : [], promptTokenIds: prompt.ids, ...(spelt ? { healed } : {}), adapterVersion, model: opts.modelName ?? '', elapsedMs: now() - t0,
      ...(reason ? { reason } : {}),
    };
  };
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
  // A causal model (no FIM tokens) at the very start of a file has nothing to continue from.
  if (!prompt.ids.length) return { result: result('success', none, 'nothing before the cursor'), cache: undefined, reusedTokens };
  // `lse` comes with `logits` when the model computes it (the serving graph does: no vocabulary of exps a token in JS).
  let { logits, lse, cache: next } = await model.step(prompt.ids.slice(reusedTokens), cache);
  cache = next;
  /** Index of the generated token `logits` predicts. */
  let logitsAt = 0;
  // Every ending goes through alignToText: the ids returned spell exactly the text shown.
  const scorer: TailScorer = {
    logitsAt: async (n) => {
      if (n !== logitsAt) {
        // Back to the position before token n, and run the token there again for its logits.
        cache = model.truncate(cache, prompt.ids.length + n - 1);
        ({ logits, lse, cache } = await model.step([n > 0 ? tokenIds[n - 1] : prompt.ids[prompt.ids.length - 1]], cache));
        logitsAt = n;
      }
      return logits;
    },
    advance: async (id) => {
      ({ logits, lse, cache } = await model.step([id], cache));
      logitsAt++;
      return logits;
    },
  };
  const success = async (shown: string, reason: string) => ({
    // Nothing past the healed text: nothing shown, nothing to record (not even its re-spelling).
    result: result('success', healed && !shown ? none : await alignToText(healed + shown, tokenIds, logprobs, tok, scorer), reason), cache, reusedTokens,
  });

  let decoder = new IncrementalDecoder(tok);
  let healing = new HealingMask(tok, healed);
  /** Length of `spelt` after each generated token (to find the token a piece of text starts in). */
  const ends: number[] = [];
  /** Token ids refused at a position (a "Hint:" comment was written from there; see below). */
  const banned = new Map<number, Set<number>>();
  let backtracks = 0;
  /** Decoded so far, and the part after the healed text: what the editor would show. */
  let spelt = '';
  let text = '';
  // Tokens that only re-spell the healed text are not counted against maxTokens.
  let limit = maxTokens;
  for (let i = 0; i < limit; i++) {
    if (cancelled()) return { result: result('cancelled', none, 'cancelled'), cache, reusedTokens };
    // While healing, only tokens that re-spell the prefix's end; the log-prob stays the model's own.
    let masked = healing.apply(logits);
    const ban = banned.get(tokenIds.length);
    if (ban) {
      if (masked === logits) masked = Float32Array.from(logits);
      for (const b of ban) masked[b] = -Infinity;
    }
    if (masked !== logits && !masked.some((x) => x > -Infinity)) return success('', 'no token re-spells the text before the cursor');
    const { id, logprob } = sampleToken(masked, sampling, random, undefined, lse ?? logSumExp(logits));
    if (tok.stopIds.has(id)) return success(text, 'stop token');
    healing.push(id);
    tokenIds.push(id);
    logprobs.push(logprob);
    spelt += decoder.push(id);
    ends.push(spelt.length);
    text = spelt.length > healed.length ? spelt.slice(healed.length) : '';
    if (healing.active || (healed && spelt.length === healed.length)) {
      limit++;
    } else {
      const s = checkStop(text, stopCtx);
      // A "Hint:" comment: the model's next-best token where the comment starts, a few times, before
      // the suggestion is cut there (a small model that learned such lines would often end empty).
      if (s.reason === 'hint-comment' && backtracks < MAX_HINT_BACKTRACKS) {
        const at = healed.length + (hintCommentAt(text) ?? 0);
        const n = ends.findIndex((e) => e > at);
        if (n >= 0) {
          backtracks++;
          (banned.get(n) ?? banned.set(n, new Set()).get(n)!).add(tokenIds[n]);
          limit += tokenIds.length - n;
          tokenIds.length = n;
          logprobs.length = n;
          ends.length = n;
          decoder = new IncrementalDecoder(tok);
          healing = new HealingMask(tok, healed);
          spelt = '';
          for (const t of tokenIds) {
            healing.push(t);
            spelt += decoder.push(t);
          }
          text = spelt.length > healed.length ? spelt.slice(healed.length) : '';
          await scorer.logitsAt(n); // sets `logits` (and the cache) to predict token n
          continue;
        }
      }
      if (s.stop) return success(text.slice(0, s.keep), s.reason!);
      if (now() > deadline) return success(trimPartialLine(text, mode), 'time budget');
    }
    if (i + 1 === limit) break;
    // No position left for the token just sampled: the context is full (the serving graph's rotary tables end there).
    if (opts.maxPositions !== undefined && cache.ids.length >= opts.maxPositions) return success(trimPartialLine(text, mode), 'context full');
    ({ logits, lse, cache } = await model.step([id], cache));
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
