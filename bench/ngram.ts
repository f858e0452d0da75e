// The no-neural-training baseline of bench:starter (pure): a token n-gram model with stupid
// backoff (Brants et al. 2007: score = count(ctx·w)/count(ctx) at the longest context that has
// seen w, times alpha per order backed off), counted over a token stream and decoded greedily.
// Counting must take millions of tokens in seconds, so n-grams are numbers, not strings: the
// context's code · V + next token, exact base-V packing while V^n fits in 2^53 (vocab 8192: up to
// 4-grams) and a 53-bit hash of the context beyond that. One sorted Float64Array of keys per
// order with a Uint32Array of counts; a context's continuations are one contiguous key range.

export interface NgramTable {
  /** Distinct n-gram keys (context code · vocab + next token), ascending. */
  keys: Float64Array;
  counts: Uint32Array;
}

export interface NgramModel {
  order: number;
  vocab: number;
  /** Backoff factor per order dropped. */
  alpha: number;
  /** tables[n - 1] holds the n-grams. */
  tables: NgramTable[];
  /** Token ids seen at least once, most frequent first (the order-1 candidates in rank order). */
  unigramsByCount: Int32Array;
  /** Tokens counted. */
  total: number;
}

const TWO_53 = 2 ** 53;

/** Whether contexts of `len` tokens pack exactly (the key, context · V + w, stays below 2^53). */
const exactFits = (len: number, vocab: number) => vocab ** (len + 1) <= TWO_53;

/**
 * The code of tokens[start .. start + len): exact base-`vocab` digits when they fit, else a 53-bit
 * hash reduced below 2^53 / vocab (so code · vocab + w never loses a bit). len 0 is code 0.
 */
export function contextCode(tokens: ArrayLike<number>, start: number, len: number, vocab: number): number {
  if (exactFits(len, vocab)) {
    let c = 0;
    for (let j = 0; j < len; j++) c = c * vocab + tokens[start + j];
    return c;
  }
  let h1 = 0x811c9dc5 ^ len, h2 = 0x9747b28c;
  for (let j = 0; j < len; j++) {
    const t = tokens[start + j];
    h1 = Math.imul(h1 ^ t, 0x01000193);
    h2 = Math.imul(h2 ^ t, 0x5bd1e995);
    h2 ^= h2 >>> 15;
  }
  return ((h1 >>> 0) * 2 ** 21 + ((h2 >>> 0) >>> 11)) % Math.floor(TWO_53 / vocab);
}

/** Count all 1..order-grams of a token stream (documents joined by EOS, say). */
export function countNgrams(tokens: ArrayLike<number>, order: number, vocab: number, alpha = 0.4): NgramModel {
  if (order < 1) throw new Error('countNgrams: order must be at least 1');
  const tables: NgramTable[] = [];
  for (let n = 1; n <= order; n++) {
    const m = Math.max(0, tokens.length - n + 1);
    const keys = new Float64Array(m);
    for (let i = 0; i < m; i++) keys[i] = contextCode(tokens, i, n - 1, vocab) * vocab + tokens[i + n - 1];
    keys.sort();
    // Run-length compress the sorted keys into distinct keys + counts.
    let distinct = 0;
    for (let i = 0; i < m; i++) if (i === 0 || keys[i] !== keys[i - 1]) distinct++;
    const uk = new Float64Array(distinct), uc = new Uint32Array(distinct);
    for (let i = 0, k = -1; i < m; i++) {
      if (i === 0 || keys[i] !== keys[i - 1]) uk[++k] = keys[i];
      uc[k]++;
    }
    tables.push({ keys: uk, counts: uc });
  }
  const uni = tables[0];
  const ranked = Array.from(uni.keys, (_, k) => k).sort((a, b) => uni.counts[b] - uni.counts[a] || a - b); // unigram keys are the ids
  const unigramsByCount = Int32Array.from(ranked, (k) => uni.keys[k]);
  return { order, vocab, alpha, tables, unigramsByCount, total: tokens.length };
}

/** First index whose key is ≥ x. */
function lowerBound(keys: Float64Array, x: number): number {
  let lo = 0, hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Count of one n-gram (context = the n − 1 tokens before `next`). */
export function ngramCount(model: NgramModel, context: ArrayLike<number>, next: number): number {
  const n = context.length + 1;
  if (n > model.order) throw new Error(`ngramCount: a ${n}-gram is beyond order ${model.order}`);
  const t = model.tables[n - 1];
  const key = contextCode(context, 0, context.length, model.vocab) * model.vocab + next;
  const i = lowerBound(t.keys, key);
  return i < t.keys.length && t.keys[i] === key ? t.counts[i] : 0;
}

/**
 * The stupid-backoff argmax after `history`: each candidate scores at the longest context that has
 * seen it (alpha^(orders dropped) · count / context count). Ties go to the longer context, then the
 * smaller id. Returns id −1 when the model has seen nothing.
 */
export function nextToken(model: NgramModel, history: ArrayLike<number>): { id: number; score: number } {
  const { order: N, vocab: V, alpha, tables } = model;
  const seen = new Set<number>();
  let best = -1, bestScore = 0;
  for (let n = N; n >= 1; n--) {
    const len = n - 1;
    if (history.length < len) continue;
    const weight = alpha ** (N - n);
    if (best >= 0 && bestScore >= weight) break; // nothing at this order or below can beat it
    if (n === 1) {
      // Unigram candidates in count order: the first one not scored above is the best left.
      for (const w of model.unigramsByCount) {
        if (seen.has(w)) continue;
        const s = (weight * ngramCountAt(tables[0], w)) / model.total;
        if (s > bestScore) [best, bestScore] = [w, s];
        break;
      }
      break;
    }
    const ctx = contextCode(history, history.length - len, len, V);
    const t = tables[n - 1];
    const lo = lowerBound(t.keys, ctx * V), hi = lowerBound(t.keys, (ctx + 1) * V);
    if (lo === hi) continue;
    let ctxCount = 0;
    for (let k = lo; k < hi; k++) ctxCount += t.counts[k];
    for (let k = lo; k < hi; k++) {
      const w = t.keys[k] - ctx * V;
      if (seen.has(w)) continue;
      seen.add(w);
      const s = (weight * t.counts[k]) / ctxCount;
      if (s > bestScore) [best, bestScore] = [w, s];
    }
  }
  return { id: best, score: bestScore };
}

function ngramCountAt(unigrams: NgramTable, w: number): number {
  const i = lowerBound(unigrams.keys, w);
  return i < unigrams.keys.length && unigrams.keys[i] === w ? unigrams.counts[i] : 0;
}

export interface GreedyOptions {
  maxTokens: number;
  /** Ends generation before the token (EOS, control tokens). */
  isStop: (id: number) => boolean;
  /** Ends generation after the token (one whose text holds a line break). */
  endsLine: (id: number) => boolean;
}

/** Greedy decoding from `prompt` (its last order − 1 tokens are the context). */
export function greedyLine(model: NgramModel, prompt: ArrayLike<number>, opts: GreedyOptions): number[] {
  const keep = model.order - 1;
  const history = keep > 0 ? Array.from(prompt).slice(-keep) : [];
  const out: number[] = [];
  while (out.length < opts.maxTokens) {
    const { id } = nextToken(model, history);
    if (id < 0 || opts.isStop(id)) break;
    out.push(id);
    history.push(id);
    if (history.length > keep) history.shift();
    if (opts.endsLine(id)) break;
  }
  return out;
}
