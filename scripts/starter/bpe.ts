// A byte-level BPE tokenizer trainer for the starter model, and the writer of its Hugging Face
// `tokenizer.json` + `tokenizer_config.json`. Same scheme as GPT-2/Qwen2: text is cut into
// pre-tokens by Qwen2's split regex, each pre-token's UTF-8 bytes are spelt in the GPT-2
// byte-to-unicode alphabet, and merges are learnt greedily by pair frequency. The files load in
// @huggingface/tokenizers (server/model/tokenizer.ts) like a Qwen2.5-Coder tokenizer, so FIM, stop
// rules and serving work unchanged. Also a plain reference encoder, so tests can check that the
// library applies our merges exactly as we learnt them. Pure: no I/O.
import { SPECIAL_TOKENS } from './recipe';

/** Qwen2's pre-tokenizer split pattern, as written into tokenizer.json (Oniguruma/Rust syntax). */
export const QWEN2_SPLIT_REGEX = "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";

/**
 * The same pattern in JS syntax, exactly as @huggingface/tokenizers 0.2.0 rewrites it (a unit test
 * checks this): `(?i:…)` spelt out per letter and `\s` as \p{White_Space} (JS's `\s` differs:
 * it has U+FEFF, lacks U+0085).
 */
const SPLIT = /(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\p{White_Space}\p{L}\p{N}]+[\r\n]*|\p{White_Space}*[\r\n]+|\p{White_Space}+(?!\P{White_Space})|\p{White_Space}+/gu;
export const SPLIT_JS_SOURCE = SPLIT.source;

/** GPT-2's byte → printable character table: printable Latin-1 bytes stand for themselves, the rest map to U+0100 on. */
export const BYTE_TO_UNICODE: readonly string[] = (() => {
  const keep = (b: number) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  const out: string[] = [];
  let next = 256;
  for (let b = 0; b < 256; b++) out.push(String.fromCodePoint(keep(b) ? b : next++));
  return out;
})();
const UNICODE_TO_BYTE = new Map(BYTE_TO_UNICODE.map((c, b) => [c, b]));

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { ignoreBOM: true }); // keeps a leading U+FEFF, as the library's decoder does

/** Cuts text at special-token strings (as the library does before pre-tokenising): [piece, isSpecial][]. */
const specialsRegex = new Map<string, RegExp>();
export function splitSpecials(text: string, specials: readonly string[]): [string, boolean][] {
  if (specials.length === 0) return text ? [[text, false]] : [];
  const key = specials.join('\n');
  let re = specialsRegex.get(key);
  if (!re) {
    re = new RegExp([...specials].sort((a, b) => b.length - a.length).map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g');
    specialsRegex.set(key, re);
  }
  const out: [string, boolean][] = [];
  let at = 0;
  for (const m of text.matchAll(re)) {
    if (m.index > at) out.push([text.slice(at, m.index), false]);
    out.push([m[0], true]);
    at = m.index + m[0].length;
  }
  if (at < text.length) out.push([text.slice(at), false]);
  return out;
}

/** Qwen2 pre-tokens of a text without special tokens (Split, behaviour Isolated: unmatched gaps kept too). */
export function preTokenize(text: string): string[] {
  const out: string[] = [];
  let at = 0;
  for (const m of text.matchAll(SPLIT)) {
    if (m.index > at) out.push(text.slice(at, m.index));
    out.push(m[0]);
    at = m.index + m[0].length;
  }
  if (at < text.length) out.push(text.slice(at));
  return out;
}

/** Adds the pre-token ("word") counts of `text` into `counts`; special-token strings are cut out, not counted. */
export function countWords(text: string, counts: Map<string, number>, specials: readonly string[] = SPECIAL_TOKENS): Map<string, number> {
  for (const [piece, special] of splitSpecials(text, specials)) {
    if (special) continue;
    for (const w of preTokenize(piece)) counts.set(w, (counts.get(w) ?? 0) + 1);
  }
  return counts;
}

export interface TrainOptions {
  /** Total vocabulary, the special tokens included. */
  vocabSize: number;
  specials?: readonly string[];
  /**
   * Words seen fewer times are left out of training (1 keeps all). Speed knob: hapaxes are most of
   * the distinct words of code (identifiers, literals) but little of its mass.
   */
  minWordCount?: number;
  /** Longer words (in bytes) are left out of training: long runs of '=' or spaces would only cost time. */
  maxWordBytes?: number;
  /** Called after every `progressEvery` merges. */
  onProgress?: (merges: number, vocab: number, lastCount: number) => void;
  progressEvery?: number;
}

export interface TrainedBpe {
  /** Token string per id: 256 bytes (in byte order), learnt tokens, then the special tokens. */
  vocab: string[];
  /** Merges in rank order, as token-string pairs. */
  merges: [string, string][];
  /** The special tokens' ids (the last ids of the vocabulary), in the order given. */
  specials: { content: string; id: number }[];
  /** Distinct words of 2+ bytes trained on, and all word occurrences kept (after the minWordCount / maxWordBytes cuts). */
  stats: { words: number; occurrences: number };
}

/**
 * Lazy max-heap of (count, pair key): highest count first, ties to the smaller key (left id, then
 * right id). Entries may be stale; the trainer checks each popped count against the live one.
 */
class PairHeap {
  private counts: number[] = [];
  private keys: number[] = [];
  get size() {
    return this.keys.length;
  }
  private above(i: number, j: number) {
    const ci = this.counts[i], cj = this.counts[j];
    return ci > cj || (ci === cj && this.keys[i] < this.keys[j]);
  }
  private swap(i: number, j: number) {
    [this.counts[i], this.counts[j]] = [this.counts[j], this.counts[i]];
    [this.keys[i], this.keys[j]] = [this.keys[j], this.keys[i]];
  }
  push(count: number, key: number) {
    let i = this.keys.length;
    this.counts.push(count);
    this.keys.push(key);
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.above(i, p)) break;
      this.swap(i, p);
      i = p;
    }
  }
  pop(): [number, number] {
    const top: [number, number] = [this.counts[0], this.keys[0]];
    const lastC = this.counts.pop()!, lastK = this.keys.pop()!;
    const n = this.keys.length;
    if (n > 0) {
      this.counts[0] = lastC;
      this.keys[0] = lastK;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < n && this.above(l, m)) m = l;
        if (r < n && this.above(r, m)) m = r;
        if (m === i) break;
        this.swap(i, m);
        i = m;
      }
    }
    return top;
  }
}

/**
 * Learns merges until the vocabulary (bytes + learnt tokens + specials) has `vocabSize` entries.
 * Incremental: live pair counts, and per pair the words that contain it; each merge rewrites only
 * those words and adjusts the counts of the pairs around each occurrence. Deterministic: the result
 * depends only on the word counts, not on their order. A merge whose string already exists (two
 * spellings of one token) reuses its id, as the HF trainer does, so merges may outnumber new tokens.
 */
export function trainBpe(wordCounts: Map<string, number>, opts: TrainOptions): TrainedBpe {
  const specials = opts.specials ?? SPECIAL_TOKENS;
  const V = opts.vocabSize;
  const target = V - specials.length; // ids for bytes + learnt tokens
  if (target < 256) throw new Error(`vocabSize ${V} leaves no room for the 256 byte tokens and ${specials.length} specials`);
  const minCount = opts.minWordCount ?? 1;
  const maxBytes = opts.maxWordBytes ?? Infinity;

  const tokens: string[] = [...BYTE_TO_UNICODE];
  const idOf = new Map(tokens.map((t, i) => [t, i]));
  const seqs: number[][] = [];
  const counts: number[] = [];
  let occurrences = 0;
  for (const [w, c] of wordCounts) {
    if (c < minCount) continue;
    const bytes = utf8.encode(w);
    if (bytes.length > maxBytes) continue;
    occurrences += c;
    if (bytes.length < 2) continue; // nothing to merge
    seqs.push(Array.from(bytes));
    counts.push(c);
  }

  // Pair key = left * V + right (< 2^31 for V ≤ 46k: small-integer Map keys).
  const pairCount = new Map<number, number>();
  const where = new Map<number, number[]>();
  const add = (key: number, c: number) => pairCount.set(key, (pairCount.get(key) ?? 0) + c);
  const note = (key: number, word: number) => {
    const list = where.get(key);
    if (!list) where.set(key, [word]);
    else if (list[list.length - 1] !== word) list.push(word);
  };
  seqs.forEach((s, i) => {
    for (let j = 0; j + 1 < s.length; j++) {
      const key = s[j] * V + s[j + 1];
      add(key, counts[i]);
      note(key, i);
    }
  });
  const heap = new PairHeap();
  for (const [key, c] of pairCount) heap.push(c, key);

  const merges: [number, number][] = [];
  const seen = new Int32Array(seqs.length).fill(-1); // last merge that visited each word
  while (tokens.length < target && heap.size > 0) {
    const [stored, key] = heap.pop();
    const live = pairCount.get(key) ?? 0;
    if (live !== stored) {
      if (live > 0) heap.push(live, key); // stale: counts only fall, so requeue at the live count
      continue;
    }
    const a = Math.floor(key / V), b = key % V;
    const text = tokens[a] + tokens[b];
    let z = idOf.get(text);
    if (z === undefined) {
      z = tokens.length;
      tokens.push(text);
      idOf.set(text, z);
    }
    const m = merges.length;
    merges.push([a, b]);

    // Rewrite every word holding (a, b), left to right, adjusting neighbouring pairs in place.
    const grown = new Set<number>(); // pairs with z, whose counts rose
    for (const i of where.get(key) ?? []) {
      if (seen[i] === m) continue;
      seen[i] = m;
      const s = seqs[i], c = counts[i];
      const out: number[] = [];
      let hit = false;
      for (let j = 0; j < s.length; ) {
        if (j + 1 < s.length && s[j] === a && s[j + 1] === b) {
          hit = true;
          if (out.length > 0) {
            const p = out[out.length - 1]; // already rewritten: z if the previous pair merged too
            add(p * V + a, -c);
            add(p * V + z, c);
            grown.add(p * V + z);
          }
          if (j + 2 < s.length) {
            const n = s[j + 2];
            add(b * V + n, -c);
            add(z * V + n, c);
            grown.add(z * V + n);
          }
          add(key, -c);
          out.push(z);
          j += 2;
        } else out.push(s[j++]);
      }
      if (!hit) continue; // listed for (a, b) once, gone since
      seqs[i] = out;
      for (let j = 0; j + 1 < out.length; j++) if (out[j] === z || out[j + 1] === z) note(out[j] * V + out[j + 1], i);
    }
    where.delete(key);
    pairCount.delete(key);
    for (const g of grown) {
      const c = pairCount.get(g) ?? 0;
      if (c > 0) heap.push(c, g);
      else pairCount.delete(g);
    }
    if (opts.onProgress && (merges.length % (opts.progressEvery ?? 500) === 0 || tokens.length === target)) opts.onProgress(merges.length, tokens.length + specials.length, stored);
  }
  if (tokens.length < target) throw new Error(`the corpus ran out of pairs at ${tokens.length + specials.length} of ${V} tokens: give it more text`);
  for (const s of specials) {
    if (idOf.has(s)) throw new Error(`special token ${s} is also a learnt token`);
  }

  return {
    vocab: [...tokens, ...specials],
    merges: merges.map(([a, b]) => [tokens[a], tokens[b]]),
    specials: specials.map((content, i) => ({ content, id: target + i })),
    stats: { words: seqs.length, occurrences },
  };
}

/**
 * Reference encoder/decoder over a trained BPE, written from the BPE definition rather than the
 * library: per pre-token, repeatedly merge the adjacent pair of lowest rank (leftmost on ties).
 */
export class BpeEncoder {
  private idOf: Map<string, number>;
  private rank = new Map<string, number>();
  private specialIds: Map<string, number>;
  private specials: string[];
  private cache = new Map<string, number[]>();

  constructor(private model: Pick<TrainedBpe, 'vocab' | 'merges' | 'specials'>) {
    this.idOf = new Map(model.vocab.map((t, i) => [t, i]));
    model.merges.forEach(([a, b], r) => this.rank.set(`${a} ${b}`, r)); // byte-level tokens never hold ' '
    this.specials = model.specials.map((s) => s.content);
    this.specialIds = new Map(model.specials.map((s) => [s.content, s.id]));
  }

  encode(text: string): number[] {
    const ids: number[] = [];
    for (const [piece, special] of splitSpecials(text, this.specials)) {
      if (special) ids.push(this.specialIds.get(piece)!);
      else for (const w of preTokenize(piece)) ids.push(...this.encodeWord(w));
    }
    return ids;
  }

  /** One pre-token: its bytes as characters, merged by rank. */
  private encodeWord(word: string): number[] {
    const hit = this.cache.get(word);
    if (hit) return hit;
    const parts = Array.from(utf8.encode(word), (b) => BYTE_TO_UNICODE[b]);
    for (;;) {
      let best = -1, bestRank = Infinity;
      for (let j = 0; j + 1 < parts.length; j++) {
        const r = this.rank.get(`${parts[j]} ${parts[j + 1]}`);
        if (r !== undefined && r < bestRank) [best, bestRank] = [j, r];
      }
      if (best < 0) break;
      parts.splice(best, 2, parts[best] + parts[best + 1]);
    }
    const ids = parts.map((p) => this.idOf.get(p)!);
    this.cache.set(word, ids);
    return ids;
  }

  decode(ids: number[]): string {
    let out = '';
    let bytes: number[] = [];
    const flush = () => {
      out += utf8Decoder.decode(Uint8Array.from(bytes));
      bytes = [];
    };
    for (const id of ids) {
      const t = this.model.vocab[id];
      if (this.specialIds.has(t)) {
        flush();
        out += t;
      } else for (const ch of t) bytes.push(UNICODE_TO_BYTE.get(ch)!);
    }
    flush();
    return out;
  }
}

/** Pre-tokenizer, post-processor and decoder blocks: Qwen2's, byte for byte. */
const BYTE_LEVEL = { add_prefix_space: false, trim_offsets: false, use_regex: false };
const addedToken = (content: string) => ({ content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true });

/**
 * tokenizer.json text. Like Qwen2's file except `normalizer: null` (no NFC, so decode(encode(t))
 * is byte-exact) and the special tokens also listed in model.vocab. One vocab entry / merge per line.
 */
export function tokenizerJsonText(model: TrainedBpe): string {
  const doc = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: model.specials.map((s) => ({ id: s.id, ...addedToken(s.content) })),
    normalizer: null,
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Split', pattern: { Regex: QWEN2_SPLIT_REGEX }, behavior: 'Isolated', invert: false },
        { type: 'ByteLevel', ...BYTE_LEVEL },
      ],
    },
    post_processor: { type: 'ByteLevel', ...BYTE_LEVEL },
    decoder: { type: 'ByteLevel', ...BYTE_LEVEL },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: '@VOCAB@',
      merges: '@MERGES@',
    },
  };
  // Written by hand so entries keep id order (an object would hoist keys like "0".."9").
  const vocab = `{\n${model.vocab.map((t, i) => `      ${JSON.stringify(t)}: ${i}`).join(',\n')}\n    }`;
  const merges = `[\n${model.merges.map((m) => `      ${JSON.stringify(m)}`).join(',\n')}\n    ]`;
  return JSON.stringify(doc, null, 2).replace('"@VOCAB@"', () => vocab).replace('"@MERGES@"', () => merges) + '\n';
}

/** tokenizer_config.json: Qwen2's, trimmed. EOS and padding are <|endoftext|>. */
export function tokenizerConfig(model: TrainedBpe, modelMaxLength: number): object {
  const eos = model.specials[0].content;
  return {
    add_bos_token: false,
    add_prefix_space: false,
    added_tokens_decoder: Object.fromEntries(model.specials.map((s) => [String(s.id), addedToken(s.content)])),
    additional_special_tokens: model.specials.slice(1).map((s) => s.content),
    bos_token: null,
    clean_up_tokenization_spaces: false,
    eos_token: eos,
    errors: 'replace',
    model_max_length: modelMaxLength,
    pad_token: eos,
    split_special_tokens: false,
    tokenizer_class: 'Qwen2Tokenizer',
    unk_token: null,
  };
}
