// Training rows for the starter model, built from documents (pure: an encoder and a seeded
// random source in, token rows out). A row is CONTEXT + 1 tokens: optionally one fill-in-the-
// middle example at its start, then the causal-LM stream (documents joined by <|endoftext|>)
// filling the rest, so no token is padding. FIM examples use the product's exact prompt layout
// (server/serve/fim.ts) and hint placement (server/judge/hintPlacement.ts), so what the model
// learns here is what serving and the OPD teacher ask of it.
import { prefixWithHint } from '../../server/judge/hintPlacement';
import { quote } from '../../server/judge/judge';
import { MIX, type ExampleMix } from './recipe';

export interface Doc {
  text: string;
  lang: string;
}

export interface SpecialIds {
  eos: number;
  prefix: number;
  suffix: number;
  middle: number;
}

export type Encode = (text: string) => number[];
export type Rand = () => number;

export type FimKind = 'psm' | 'spm' | 'hint';

/** A cursor position and the middle the model must write there. */
export interface FimSplit {
  prefix: string;
  middle: string;
  suffix: string;
}

/** VS Code language id for a corpus language (the hint's comment marker depends on it). */
export const languageId = (lang: string): string => (lang === 'python' ? 'python' : lang === 'javascript' ? 'javascript' : 'typescript');

/** Characters of a document a FIM example looks at (≈ 400 tokens of code). */
const WINDOW_CHARS = 1600;

/**
 * Pick a FIM split in a window of the document. Half the time the middle is the rest of a line
 * from a cursor inside it (what inline completion mostly does), a quarter it runs on over 1–4
 * more lines, a quarter it is a random character span.
 */
export function chooseSplit(text: string, r: Rand, belowFirstLine = false): FimSplit | undefined {
  if (text.length < 20) return undefined;
  const start = text.length > WINDOW_CHARS ? lineStartAtOrBefore(text, Math.floor(r() * (text.length - WINDOW_CHARS))) : 0;
  const w = text.slice(start, start + WINDOW_CHARS);
  const lines = belowFirstLine ? lineStarts(w).slice(1) : lineStarts(w);
  const pick = r();
  let a: number, b: number;
  if (pick < 0.75) {
    // a non-blank line, cursor at its indentation or inside it, middle to its end (+ more lines)
    const candidates = lines.filter((s) => w.slice(s, lineEnd(w, s)).trim().length > 0);
    if (!candidates.length) return undefined;
    const s = candidates[Math.floor(r() * candidates.length)];
    const e = lineEnd(w, s);
    const indent = s + /^[ \t]*/.exec(w.slice(s, e))![0].length;
    a = r() < 0.4 ? indent : indent + Math.floor(r() * Math.max(1, e - indent));
    b = e;
    if (pick >= 0.5) for (let k = 1 + Math.floor(r() * 4); k > 0 && b < w.length; k--) b = lineEnd(w, b + 1);
  } else {
    const from = belowFirstLine ? (lines[0] ?? w.length) : 0;
    if (from >= w.length) return undefined;
    a = from + Math.floor(r() * (w.length - from));
    b = Math.min(w.length, a + 1 + Math.floor(r() * 200));
  }
  if (b <= a) return undefined;
  return { prefix: w.slice(0, a), middle: w.slice(a, b), suffix: w.slice(b) };
}

/** The hint the judge would write for this middle, or a placebo naming something else. */
export function hintFor(split: FimSplit, r: Rand, placebo: string | undefined): string {
  const said = placebo ?? split.middle;
  const templates = [
    (s: string) => `The developer wrote this instead: ${quote(s)}.`,
    (s: string) => `The developer rewrote this as: ${quote(s)}.`,
    (s: string) => `The developer said: write ${quote(s)} here.`,
  ];
  return templates[Math.floor(r() * templates.length)](said);
}

/**
 * One FIM example's ids: <pre> prefix <suf> suffix <mid> middle <eos> (PSM) or
 * <suf> suffix <pre> prefix <mid> middle <eos> (SPM), cut to `budget` tokens by trimming the
 * prefix from its front and the suffix from its end (as serving keeps the text nearest the cursor).
 */
export function fimIds(split: FimSplit, kind: FimKind, lang: string, encode: Encode, ids: SpecialIds, budget: number, r: Rand, placebo?: string): number[] | undefined {
  const prefixText = kind === 'hint' ? prefixWithHint(split.prefix, hintFor(split, r, placebo), languageId(lang)) : split.prefix;
  const mid = encode(split.middle);
  if (!mid.length || mid.length + 8 > budget) return undefined;
  let pre = encode(prefixText), suf = encode(split.suffix);
  const room = budget - mid.length - 4;
  const sufKeep = Math.min(suf.length, Math.max(Math.floor(room / 4), room - pre.length));
  suf = suf.slice(0, sufKeep);
  pre = pre.slice(Math.max(0, pre.length - (room - suf.length)));
  if (kind === 'spm') return [ids.suffix, ...suf, ids.prefix, ...pre, ids.middle, ...mid, ids.eos];
  return [ids.prefix, ...pre, ids.suffix, ...suf, ids.middle, ...mid, ids.eos];
}

/** Which FIM kind (or none) a row starts with. */
export function rowKind(r: Rand, mix: ExampleMix = MIX): FimKind | undefined {
  const x = r();
  if (x < mix.fimPsm) return 'psm';
  if (x < mix.fimPsm + mix.fimSpm) return 'spm';
  if (x < mix.fimPsm + mix.fimSpm + mix.fimHint) return 'hint';
  return undefined;
}

/** Where the causal-LM stream stands: the next document and the next token within it. */
export interface StreamCursor {
  doc: number;
  token: number;
}

/**
 * Builds rows. The causal-LM stream walks `order` (a permutation of the documents) from a cursor;
 * FIM examples take documents at random. Row k's randomness comes from (seed, k) alone, so a
 * resumed run rebuilds exactly the rows an uninterrupted one would have.
 */
export class RowBuilder {
  private cached: { doc: number; ids: number[] } | undefined;
  constructor(
    private docs: Doc[],
    private order: number[],
    private encode: Encode,
    private ids: SpecialIds,
    private rowTokens: number,
    private seed: number,
    public cursor: StreamCursor = { doc: 0, token: 0 },
  ) {
    if (!docs.length) throw new Error('RowBuilder: no documents');
  }

  /** Row `k` (CONTEXT + 1 tokens) and the kind of its FIM example. */
  row(k: number, rand: (seed: number) => Rand, mix: ExampleMix = MIX): { ids: number[]; kind: FimKind | 'clm' } {
    const r = rand((this.seed * 1_000_003 + k) >>> 0);
    const out: number[] = [];
    const kind = rowKind(r, mix);
    if (kind) {
      for (let attempt = 0; attempt < 8 && !out.length; attempt++) {
        const d = this.docs[Math.floor(r() * this.docs.length)];
        if (d.text.length < mix.minDocChars) continue;
        const split = chooseSplit(d.text, r, mix.minDocChars > 0);
        if (!split) continue;
        const placebo = kind === 'hint' && r() < 0.15 ? placeboFor(d.text, split.middle, r) : undefined;
        const ex = fimIds(split, kind, d.lang, this.encode, this.ids, Math.floor(this.rowTokens * 0.9), r, placebo);
        if (ex) out.push(...ex);
      }
    }
    while (out.length < this.rowTokens) out.push(...this.take(this.rowTokens - out.length));
    return { ids: out, kind: out.length && kind ? kind : 'clm' };
  }

  /** Up to n tokens of the causal-LM stream (documents joined by EOS). */
  private take(n: number): number[] {
    const i = this.order[this.cursor.doc % this.order.length];
    if (this.cached?.doc !== i) this.cached = { doc: i, ids: [...this.encode(this.docs[i].text), this.ids.eos] };
    const all = this.cached.ids;
    const got = all.slice(this.cursor.token, this.cursor.token + n);
    this.cursor = this.cursor.token + got.length >= all.length ? { doc: this.cursor.doc + 1, token: 0 } : { doc: this.cursor.doc, token: this.cursor.token + got.length };
    return got;
  }
}

/** Another non-blank line of the document (a hint that names the wrong thing). */
function placeboFor(text: string, middle: string, r: Rand): string | undefined {
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => l.length > 3 && l !== middle.trim());
  return lines.length ? lines[Math.floor(r() * lines.length)] : undefined;
}

function lineStarts(s: string): number[] {
  const out = [0];
  for (let i = s.indexOf('\n'); i >= 0 && i + 1 < s.length; i = s.indexOf('\n', i + 1)) out.push(i + 1);
  return out;
}

function lineEnd(s: string, from: number): number {
  const e = s.indexOf('\n', from);
  return e < 0 ? s.length : e;
}

function lineStartAtOrBefore(s: string, at: number): number {
  return s.lastIndexOf('\n', at) + 1;
}

/** A seeded permutation of 0..n-1 (Fisher–Yates). */
export function permutation(n: number, r: Rand): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}
