// bench:starter — how good a starter model folder is, on held-out packages, measured in one run:
//  * held-out bits per byte of plain causal LM (the score graph, logits at every position);
//  * single-line infill through the real serving path (generate() on a ForwardSession, line mode,
//    greedy, ≤ 48 tokens, the serving prompt budget): exact match and chrF of the rest of a line;
//  * the same for random weights of the same shape (the floor) and for a token n-gram model counted
//    over the training split (what no neural training gets);
//  * hint following: does a "The developer wrote this instead: `X`." comment (the judge's hint,
//    placed by prefixWithHint) raise log p(X) more than a hint quoting another line of the file?
// Prints a table and sample completions, then one JSON line. Runs on 1 ORT thread by default, so it
// can share the machine with a training run; everything is deterministic for a seed.
// Usage: npm run bench:starter -- [--model models/hindsight-starter] [--corpus .cache/starter/corpus]
//          [--cases 200] [--hint-cases 100] [--bpb-kb 60] [--ngram-mb 20] [--ngram-order 4]
//          [--seed 1] [--threads 1] [--weights full|q4] [--samples 6] [--quick]
//          [--prompt fim|prefix] (default: the folder's hindsight.json, as serving) [--no-heal]
//        --model may also be a pretraining checkpoint (.cache/starter/run/checkpoint: params.safetensors
//        + state.json), evaluated with the tokenizer of --tokenizer (default models/hindsight-starter).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { checkpointTensors, openModelFolder, type ModelFolder, type PromptLayout } from '../server/model/folder';
import type { ModelConfig } from '../server/model/config';
import { readSafetensorsHeader, readTensorF32 } from '../server/model/safetensors';
import { loadTokenizer, type ModelTokenizer } from '../server/model/tokenizer';
import { ForwardSession } from '../server/model/forwardSession';
import { ScoreSession } from '../server/model/score';
import { writeModelFile } from '../server/model/session';
import { defaultCacheRoot, modelCacheDir } from '../server/model/modelCache';
import { generate } from '../server/serve/generate';
import { buildFimPrompt, promptBudget } from '../server/serve/fim';
import { prefixWithHint } from '../server/judge/hintPlacement';
import { quote } from '../server/judge/judge';
import { seededRandom } from '../server/train/random';
import { readCorpus, type CorpusDoc } from '../scripts/starter/corpusFile';
import { languageId, permutation } from '../scripts/starter/examples';
import { initialWeights, writeModelFolder } from '../scripts/starter/init';
import { BpeEncoder, tokenizerJsonText, type TrainedBpe } from '../scripts/starter/bpe';
import { chrf, exactMatch } from './chrf';
import { countNgrams, greedyLine } from './ngram';

/** Tokens one suggestion may have (the editor's default hindsight.completions.maxTokens). */
const MAX_TOKENS = 48;
const PREFIX_CHARS = 1500;
const SUFFIX_CHARS = 500;
/** Longest target (rest of a line) a case may have: ≈ what 48 tokens can spell. */
const MAX_TARGET_CHARS = 150;

// ─── cases (pure) ────────────────────────────────────────────────────────────

export interface LineCase {
  doc: number;
  lang: string;
  path: string;
  prefix: string;
  /** The rest of the line from the cursor (no line break): what the model should write. */
  target: string;
  /** From the line break on. */
  suffix: string;
  /** Another line of the same file (trimmed) that is not the target: the placebo hint. */
  placebo: string | undefined;
}

const nonSpace = (s: string) => s.replace(/\s/g, '').length;

/**
 * One line-infill case in `text`, or undefined: a non-blank line, the cursor at its indentation
 * (40%) or anywhere inside it that leaves ≥ 4 non-space characters (and ≤ MAX_TARGET_CHARS) after it.
 */
export function pickLineCase(text: string, r: () => number): { cursor: number; end: number; lineStart: number } | undefined {
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0 && i + 1 < text.length; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  const s = starts[Math.floor(r() * starts.length)];
  let e = text.indexOf('\n', s);
  if (e < 0) e = text.length;
  if (text[e - 1] === '\r') e--;
  const line = text.slice(s, e);
  if (nonSpace(line) < 4) return undefined;
  const indent = s + /^[ \t]*/.exec(line)![0].length;
  // The last cursor that still leaves 4 non-space characters: at the 4th non-space from the end.
  let last = e, seen = 0;
  while (seen < 4) if (!/\s/.test(text[--last])) seen++;
  const first = Math.max(indent, e - MAX_TARGET_CHARS);
  if (first > last) return undefined;
  const cursor = r() < 0.4 && first === indent ? indent : first + Math.floor(r() * (last - first + 1));
  return { cursor, end: e, lineStart: s };
}

/** `n` distinct cases from the documents, deterministic for `seed`. */
export function pickLineCases(docs: { text: string; lang: string; path?: string }[], n: number, seed: number): LineCase[] {
  const r = seededRandom(seed);
  const out: LineCase[] = [];
  const used = new Set<string>();
  const usable = docs.map((d, i) => i).filter((i) => nonSpace(docs[i].text) >= 40);
  if (!usable.length) return out;
  for (let attempt = 0; out.length < n && attempt < n * 50; attempt++) {
    const doc = usable[Math.floor(r() * usable.length)];
    const { text, lang } = docs[doc];
    const c = pickLineCase(text, r);
    if (!c || used.has(`${doc}:${c.lineStart}`)) continue;
    used.add(`${doc}:${c.lineStart}`);
    // The prefix starts at a line start within PREFIX_CHARS of the cursor (mid-line only for a huge line).
    let from = Math.max(0, c.cursor - PREFIX_CHARS);
    if (from > 0 && text[from - 1] !== '\n') {
      const next = text.indexOf('\n', from) + 1;
      if (next > 0 && next <= c.cursor) from = next;
    }
    const target = text.slice(c.cursor, c.end);
    out.push({ doc, lang, path: docs[doc].path ?? '', prefix: text.slice(from, c.cursor), target, suffix: text.slice(c.end, c.end + SUFFIX_CHARS), placebo: placeboLine(text, target, r) });
  }
  return out;
}

/** A random other line of the file, trimmed, with ≥ 4 non-space characters, that is not the target. */
function placeboLine(text: string, target: string, r: () => number): string | undefined {
  const want = target.trim();
  const lines = text.split('\n').map((l) => l.trim()).filter((l) => nonSpace(l) >= 4 && l.length <= MAX_TARGET_CHARS && l !== want && !want.includes(l) && !l.includes(want));
  return lines.length ? lines[Math.floor(r() * lines.length)] : undefined;
}

/**
 * About `bytes` of held-out text for bits per byte: from each document (in a seeded order) a window
 * of whole lines, ≤ `perDoc` characters (≈ one context window) from a seeded line start, so many
 * documents count and file bodies weigh as much as file heads (licences, imports).
 */
export function bpbSample(docs: { text: string }[], bytes: number, seed: number, perDoc = 1600): string[] {
  const r = seededRandom(seed);
  const out: string[] = [];
  let got = 0;
  for (const i of permutation(docs.length, r)) {
    if (got >= bytes) break;
    const text = docs[i].text;
    let from = 0;
    if (text.length > perDoc) {
      from = Math.floor(r() * (text.length - perDoc));
      from = from > 0 ? text.lastIndexOf('\n', from - 1) + 1 : 0;
    }
    let t = text.slice(from, from + perDoc);
    if (from + perDoc < text.length && t.lastIndexOf('\n') > 0) t = t.slice(0, t.lastIndexOf('\n') + 1);
    if (nonSpace(t) < 50) continue;
    out.push(t);
    got += Buffer.byteLength(t);
  }
  return out;
}

// ─── I/O helpers ─────────────────────────────────────────────────────────────

const log = (s: string) => process.stderr.write(`[bench:starter] ${s}\n`);
const secs = (t0: number) => (performance.now() - t0) / 1000;
const round = (x: number, d = 4) => (Number.isFinite(x) ? Math.round(x * 10 ** d) / 10 ** d : null);

class UsageError extends Error {}

/**
 * About `maxBytes` of training text spread evenly over the JSONL file: a line is kept when it starts
 * past the mark, and each kept line moves the mark on by (its length × file size / maxBytes).
 * Only kept lines are parsed, so a 150 MB file costs one read.
 */
function sampleTrainTexts(file: string, maxBytes: number): string[] {
  const stride = Math.max(1, fs.statSync(file).size / maxBytes);
  const out: string[] = [];
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.alloc(1 << 22);
  let carry: Buffer[] = [], carryLen = 0, lineStart = 0, nextAt = 0, got = 0;
  const take = (parts: Buffer[], len: number): boolean => {
    if (lineStart >= nextAt && len > 1) {
      const text = (JSON.parse(Buffer.concat(parts).toString('utf8')) as CorpusDoc).text;
      out.push(text);
      got += Buffer.byteLength(text);
      nextAt = lineStart + len * stride;
    }
    lineStart += len + 1;
    return got >= maxBytes;
  };
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (!n) {
        if (carryLen) take(carry, carryLen);
        return out;
      }
      let start = 0;
      for (let i = buf.indexOf(10, start); i >= 0 && i < n; i = buf.indexOf(10, start)) {
        if (take([...carry, buf.subarray(start, i)], carryLen + i - start)) return out;
        carry = [];
        carryLen = 0;
        start = i + 1;
      }
      if (start < n) {
        carry.push(Buffer.from(buf.subarray(start, n))); // a copy: buf is reused
        carryLen += n - start;
      }
    }
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * A pretraining checkpoint (scripts/starter/pretrain.ts: flat F32 params.safetensors + state.json
 * with the config and tokens seen) as a model folder in `out`, with the tokenizer of `tokenizerDir`.
 * The run replaces its checkpoint every few minutes, so both files are copied before reading.
 */
function checkpointAsFolder(ckpt: string, tokenizerDir: string, out: string): { trainTokens: number | null } {
  fs.mkdirSync(out, { recursive: true });
  for (const f of ['state.json', 'params.safetensors']) fs.copyFileSync(path.join(ckpt, f), path.join(out, f));
  const state = JSON.parse(fs.readFileSync(path.join(out, 'state.json'), 'utf8')) as { config: ModelConfig; tokens?: number };
  const stored = readSafetensorsHeader(path.join(out, 'params.safetensors')).tensors;
  const weights = new Map<string, Float32Array>();
  for (const t of checkpointTensors(state.config)) {
    const v = stored.get(t.name);
    if (!v) throw new UsageError(`${ckpt}/params.safetensors has no ${t.name}`);
    weights.set(t.name, readTensorF32(v));
  }
  writeModelFolder(out, state.config, weights);
  for (const f of ['state.json', 'params.safetensors']) fs.rmSync(path.join(out, f));
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) if (fs.existsSync(path.join(tokenizerDir, f))) fs.copyFileSync(path.join(tokenizerDir, f), path.join(out, f));
  if (!fs.existsSync(path.join(out, 'tokenizer.json'))) throw new UsageError(`no tokenizer.json in ${tokenizerDir} for the checkpoint: make one with npm run starter:tokenizer, or pass --tokenizer DIR`);
  return { trainTokens: state.tokens ?? null };
}

/**
 * An encoder for the n-gram's training sample (megabytes): the reference BPE of scripts/starter/bpe.ts
 * when tokenizer.json is byte for byte what that trainer writes — npm run starter:tokenizer checks it
 * gives the library's ids, and so does a spot check here — else the serving library (≈ 10× slower).
 */
function sampleEncoder(dir: string, tok: ModelTokenizer, probe: string): { encode: (s: string) => number[]; kind: string } {
  const library = { encode: (s: string) => tok.encode(s), kind: 'tokenizers library' };
  try {
    const text = fs.readFileSync(path.join(dir, 'tokenizer.json'), 'utf8');
    const j = JSON.parse(text) as { added_tokens: { id: number; content: string }[]; model: { vocab: Record<string, number>; merges: [string, string][] } };
    const vocab: string[] = [];
    for (const [t, id] of Object.entries(j.model.vocab)) vocab[id] = t;
    const model: TrainedBpe = { vocab, merges: j.model.merges, specials: j.added_tokens.map((a) => ({ id: a.id, content: a.content })), stats: { words: 0, occurrences: 0 } };
    if (tokenizerJsonText(model) !== text) return library;
    const ref = new BpeEncoder(model);
    if (JSON.stringify(ref.encode(probe)) !== JSON.stringify(tok.encode(probe))) return library;
    return { encode: (s) => ref.encode(s), kind: 'reference BPE (= library ids)' };
  } catch {
    return library;
  }
}

/** Open a folder and its tokenizer as the serving worker does (server/serve/worker.ts). */
function openForServing(dir: string): { folder: ModelFolder; tok: ModelTokenizer } {
  const folder = openModelFolder(dir);
  const tok = loadTokenizer(folder.dir, folder.cfg.eosTokenId);
  if (tok.maxId >= folder.cfg.vocabSize) throw new Error(`${folder.tokenizerFile} has token ids up to ${tok.maxId} but config.json vocab_size is ${folder.cfg.vocabSize}`);
  if (!tok.fim) throw new Error(`${folder.tokenizerFile} has no FIM tokens (<|fim_prefix|>, <|fim_suffix|>, <|fim_middle|>)`);
  return { folder, tok };
}

interface Opts {
  threads: number;
  quantize: 'none' | 'q4';
  /** Root of the generated-graph cache (default: the OS temp folder's, as serving outside the editor). */
  cacheDir?: string;
  /** Token healing in generate() (serving's default: on). */
  heal: boolean;
  /** Prompt layout; default: the model folder's (hindsight.json), as serving does. */
  prompt?: PromptLayout;
}

interface InfillRun {
  texts: string[];
  seconds: number;
  generatedTokens: number;
  /** Cases cut by generate's time budget (should be 0: the budget is long). */
  timedOut: number;
}

/** Generate every case through the serving path: ForwardSession + generate() in line mode. */
async function infill(dir: string, cases: LineCase[], o: Opts, label: string): Promise<InfillRun> {
  const { folder, tok } = openForServing(dir);
  const fwd = await ForwardSession.create(folder, { intraOpThreads: o.threads, quantize: o.quantize, spin: false, cacheDir: o.cacheDir, log: (level, m) => level !== 'info' && log(`${label}: ${m}`) });
  const budget = promptBudget(folder.cfg.maxPositions, MAX_TOKENS);
  const t0 = performance.now();
  const run: InfillRun = { texts: [], seconds: 0, generatedTokens: 0, timedOut: 0 };
  try {
    for (const [k, c] of cases.entries()) {
      const { result } = await generate(fwd, tok, { uri: `bench:${c.path}`, languageId: languageId(c.lang), prefix: c.prefix, suffix: c.suffix, maxTokens: MAX_TOKENS, mode: 'line', temperature: 0, timeoutMs: 30_000 }, { modelName: folder.name, budget, heal: o.heal, prompt: o.prompt ?? folder.prompt });
      if (result.kind === 'failed' || result.kind === 'unavailable') throw new Error(`${label}: generation failed: ${result.reason}`);
      if (result.reason === 'time budget') run.timedOut++;
      run.texts.push(result.text);
      run.generatedTokens += result.tokenIds.length;
      if ((k + 1) % 50 === 0) log(`${label}: ${k + 1}/${cases.length} cases (${secs(t0).toFixed(0)} s)`);
    }
  } finally {
    await fwd.release();
  }
  run.seconds = secs(t0);
  return run;
}

/** The score graph (log-probs at every position) over a folder's weights, on `threads` threads. */
async function scoreSession(folder: ModelFolder, threads: number, cacheRoot = defaultCacheRoot()): Promise<ScoreSession> {
  const dir = modelCacheDir(cacheRoot, folder); // where ForwardSession puts its graphs too
  return ScoreSession.create(folder.cfg, { tensors: folder.tensors, mode: 'external', modelFileDir: dir }, {}, { intraOpThreads: threads, spin: false, modelFile: (bytes) => writeModelFile(dir, 'bench-score', bytes) });
}

/** Σ −log2 p over the sample's tokens / its UTF-8 bytes; windows of maxPositions tokens, the first after <|endoftext|>. */
async function heldoutBpb(score: ScoreSession, tok: ModelTokenizer, texts: string[], eos: number) {
  const W = score.cfg.maxPositions;
  let bits = 0, bytes = 0, tokens = 0, windows = 0;
  for (const t of texts) {
    const ids = tok.encode(t);
    for (let s = 0; s < ids.length; s += W) {
      const lp = await score.score([s === 0 ? eos : ids[s - 1]], ids.slice(s, s + W));
      for (const x of lp) bits -= x / Math.LN2;
      windows++;
    }
    tokens += ids.length;
    bytes += Buffer.byteLength(t);
  }
  return { bpb: bits / bytes, bytes, tokens, windows };
}

/** log p(target) with no hint, the true hint and the placebo hint, per case (cases with a placebo and a prompt). */
async function hintScores(score: ScoreSession, tok: ModelTokenizer, cases: LineCase[], layout: PromptLayout | undefined) {
  const budget = promptBudget(score.cfg.maxPositions, MAX_TOKENS);
  const fim = layout === 'prefix' ? undefined : tok.fim;
  const encode = (s: string) => tok.encode(s);
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const out: { none: number; hint: number; placebo: number }[] = [];
  for (const c of cases) {
    if (!c.placebo || (!fim && !c.prefix)) continue; // a prefix-only prompt needs a prefix
    const target = encode(c.target).slice(0, MAX_TOKENS);
    const lp = async (prefix: string) => sum(await score.score(buildFimPrompt(encode, fim, prefix, c.suffix, budget).ids, target));
    const hinted = (said: string) => prefixWithHint(c.prefix, `The developer wrote this instead: ${quote(said)}.`, languageId(c.lang));
    out.push({ none: await lp(c.prefix), hint: await lp(hinted(c.target)), placebo: await lp(hinted(c.placebo)) });
  }
  return out;
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

function lineScores(texts: string[], cases: LineCase[]) {
  return { exact: mean(cases.map((c, i) => (exactMatch(texts[i], c.target) ? 1 : 0))), chrf: mean(cases.map((c, i) => chrf(texts[i], c.target))) };
}

// ─── main ────────────────────────────────────────────────────────────────────

async function main(): Promise<void> {
  const { values: a } = parseArgs({
    options: {
      model: { type: 'string', default: 'models/hindsight-starter' },
      tokenizer: { type: 'string', default: 'models/hindsight-starter' },
      corpus: { type: 'string', default: '.cache/starter/corpus' },
      cases: { type: 'string' },
      'hint-cases': { type: 'string' },
      'bpb-kb': { type: 'string' },
      'ngram-mb': { type: 'string' },
      'ngram-order': { type: 'string', default: '4' },
      seed: { type: 'string', default: '1' },
      threads: { type: 'string', default: '1' },
      weights: { type: 'string', default: 'full' },
      samples: { type: 'string', default: '6' },
      quick: { type: 'boolean', default: false },
      'no-heal': { type: 'boolean', default: false },
      prompt: { type: 'string' },
    },
  });
  const loadAvg = os.loadavg()[0];
  const tStart = performance.now();
  const quick = a.quick!;
  const num = (name: string, v: string | undefined, fallback: number, min = 0) => {
    const x = v === undefined ? fallback : Number(v);
    if (!Number.isFinite(x) || x < min) throw new UsageError(`--${name} must be a number ≥ ${min}, not ${v}`);
    return x;
  };
  const nCases = num('cases', a.cases, quick ? 40 : 200, 1);
  const nHint = Math.min(nCases, num('hint-cases', a['hint-cases'], quick ? 20 : 100));
  const bpbBytes = num('bpb-kb', a['bpb-kb'], quick ? 8 : 60) * 1024;
  const ngramBytes = num('ngram-mb', a['ngram-mb'], quick ? 2 : 20) * 1024 * 1024;
  const order = num('ngram-order', a['ngram-order'], 4, 1);
  const seed = num('seed', a.seed, 1);
  const o: Opts = { threads: num('threads', a.threads, 1, 1), quantize: a.weights === 'q4' ? 'q4' : 'none', heal: !a['no-heal'] };
  if (a.prompt !== undefined) {
    if (a.prompt !== 'fim' && a.prompt !== 'prefix') throw new UsageError(`--prompt must be fim or prefix, not ${a.prompt}`);
    o.prompt = a.prompt;
  }
  if (a.weights !== 'full' && a.weights !== 'q4') throw new UsageError(`--weights must be full or q4, not ${a.weights}`);

  const modelArg = a.model!;
  const isCheckpoint = fs.existsSync(path.join(modelArg, 'params.safetensors')) && fs.existsSync(path.join(modelArg, 'state.json'));
  const heldoutFile = path.join(a.corpus!, 'heldout.jsonl');
  const trainFile = path.join(a.corpus!, 'train.jsonl');
  if (!isCheckpoint && !fs.existsSync(path.join(modelArg, 'config.json')))
    throw new UsageError(`no model folder at ${modelArg} (config.json missing): train one with npm run starter:pretrain, or pass --model DIR`);
  for (const f of [heldoutFile, trainFile]) if (!fs.existsSync(f)) throw new UsageError(`${f} not found: build the corpus with npm run starter:corpus, or pass --corpus DIR`);

  // Scratch space: the random-weight model, a converted checkpoint and their graphs; removed at the end.
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hindsight-bench-starter-'));
  try {
    let modelDir = modelArg, trainTokens: number | null = null;
    if (isCheckpoint) {
      modelDir = path.join(work, 'checkpoint');
      trainTokens = checkpointAsFolder(modelArg, a.tokenizer!, modelDir).trainTokens;
      o.cacheDir = path.join(work, 'graphs'); // graphs of a throwaway folder go with it
    } else {
      const trainingJson = path.join(modelDir, 'training.json');
      if (fs.existsSync(trainingJson)) trainTokens = (JSON.parse(fs.readFileSync(trainingJson, 'utf8')) as { train_tokens?: number }).train_tokens ?? null;
    }
    await run({ modelArg, modelDir, trainTokens, work, heldoutFile, trainFile, o, loadAvg, tStart, nCases, nHint, bpbBytes, ngramBytes, order, seed, samples: num('samples', a.samples, 6) });
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

interface RunArgs {
  /** What --model named (a folder or a checkpoint), and the folder evaluated. */
  modelArg: string;
  modelDir: string;
  trainTokens: number | null;
  work: string;
  heldoutFile: string;
  trainFile: string;
  o: Opts;
  loadAvg: number;
  tStart: number;
  nCases: number;
  nHint: number;
  bpbBytes: number;
  ngramBytes: number;
  order: number;
  seed: number;
  samples: number;
}

async function run({ modelArg, modelDir, trainTokens, work, heldoutFile, trainFile, o, loadAvg, tStart, nCases, nHint, bpbBytes, ngramBytes, order, seed, samples }: RunArgs): Promise<void> {
  const { folder, tok } = openForServing(modelDir);
  const cfg = folder.cfg;
  const eos = cfg.eosTokenId[0];
  const params = [...folder.tensors.values()].reduce((n, t) => n + t.shape.reduce((x, y) => x * y, 1), 0);
  log(`model ${modelArg}: ${(params / 1e6).toFixed(2)} M params, ${cfg.numLayers}×${cfg.hiddenSize}, vocab ${cfg.vocabSize}, context ${cfg.maxPositions}; ${o.threads} thread(s), ${o.quantize === 'q4' ? '4-bit' : 'full-precision'} weights; load avg ${loadAvg.toFixed(2)}`);

  const heldout = readCorpus(heldoutFile);
  const cases = pickLineCases(heldout, nCases, seed);
  if (!cases.length) throw new UsageError(`${heldoutFile}: no usable lines for infill cases`);
  const langs = [...cases.reduce((m, c) => m.set(c.lang, (m.get(c.lang) ?? 0) + 1), new Map<string, number>())].map(([l, n]) => `${l} ${n}`).join(', ');
  log(`${heldout.length} held-out documents; ${cases.length} line cases (${langs})`);

  // 1. The n-gram baseline (first, so its arrays are garbage before the sessions start).
  let t0 = performance.now();
  const trainTexts = sampleTrainTexts(trainFile, ngramBytes);
  const readS = secs(t0);
  t0 = performance.now();
  const enc = sampleEncoder(modelDir, tok, trainTexts.slice(0, 20).join('\n'));
  const stream: number[] = [];
  let trainBytes = 0;
  for (const t of trainTexts) {
    for (const id of enc.encode(t)) stream.push(id);
    stream.push(eos);
    trainBytes += Buffer.byteLength(t);
  }
  const tokenizeS = secs(t0);
  t0 = performance.now();
  const ngram = countNgrams(Uint32Array.from(stream), order, cfg.vocabSize);
  const countS = secs(t0);
  log(`${order}-gram baseline: ${(trainBytes / 1048576).toFixed(1)} MB of training text (${trainTexts.length} docs, read in ${readS.toFixed(1)} s) → ${(stream.length / 1e6).toFixed(2)} M tokens in ${tokenizeS.toFixed(1)} s (${enc.kind}), counted in ${countS.toFixed(1)} s`);
  const endsLine = new Uint8Array(cfg.vocabSize);
  for (let id = 0; id <= tok.maxId; id++) endsLine[id] = tok.decode([id]).includes('\n') ? 1 : 0;
  t0 = performance.now();
  const baseline = cases.map((c) => {
    const ids = greedyLine(ngram, tok.encode(c.prefix), { maxTokens: MAX_TOKENS, isStop: (id) => tok.stopIds.has(id), endsLine: (id) => endsLine[id] === 1 });
    return tok.decode(ids).split('\n')[0];
  });
  const baselineS = secs(t0);
  stream.length = 0;

  // 2. The model: line infill through the serving path, then bits per byte and hint following.
  log(`model: ${cases.length} line infills…`);
  const model = await infill(modelDir, cases, o, 'model');
  t0 = performance.now();
  const score = await scoreSession(folder, o.threads, o.cacheDir);
  const bpbTexts = bpbSample(heldout, bpbBytes, seed);
  const bpb = await heldoutBpb(score, tok, bpbTexts, eos);
  const bpbS = secs(t0);
  log(`held-out bits per byte ${bpb.bpb.toFixed(3)} over ${bpb.tokens} tokens (${bpbS.toFixed(1)} s); hint cases…`);
  t0 = performance.now();
  const hints = await hintScores(score, tok, cases.slice(0, nHint), o.prompt ?? folder.prompt);
  const hintS = secs(t0);
  await score.release();

  // 3. Random weights of the same shape, same tokenizer, same cases.
  const randomDir = path.join(work, 'random');
  writeModelFolder(randomDir, cfg, initialWeights(cfg, seed));
  for (const f of ['tokenizer.json', 'tokenizer_config.json']) if (fs.existsSync(path.join(modelDir, f))) fs.copyFileSync(path.join(modelDir, f), path.join(randomDir, f));
  log(`random weights: ${cases.length} line infills…`);
  const random = await infill(randomDir, cases, { ...o, cacheDir: path.join(work, 'graphs') }, 'random'); // its graphs go with it

  // Report.
  const m = lineScores(model.texts, cases), rnd = lineScores(random.texts, cases), base = lineScores(baseline, cases);
  const hintRate = mean(hints.map((h) => (h.hint > h.placebo ? 1 : 0)));
  const hintGain = mean(hints.map((h) => h.hint - h.none)), placeboGain = mean(hints.map((h) => h.placebo - h.none));
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`.padStart(8);
  const row = (name: string, s: { exact: number; chrf: number }, extra: string) => `  ${name.padEnd(34)} ${pct(s.exact)}   ${s.chrf.toFixed(3).padStart(6)}   ${extra}`;
  const genRate = (r: InfillRun) => `${r.seconds.toFixed(1)} s, ${(r.generatedTokens / cases.length).toFixed(1)} tokens/case${r.timedOut ? `, ${r.timedOut} cut by time` : ''}`;
  const out = console.log;
  out(`\nbench:starter — ${modelArg}: ${(params / 1e6).toFixed(2)} M params, ${trainTokens === null ? 'training tokens unknown (no training.json)' : `${(trainTokens / 1e6).toFixed(1)} M training tokens`}; held-out ${heldoutFile}; ${o.threads} ORT thread(s), ${o.quantize === 'q4' ? '4-bit' : 'full-precision'} weights; load avg ${loadAvg.toFixed(2)} at start`);
  out(`\nheld-out causal LM: ${bpb.bpb.toFixed(3)} bits per byte (${bpb.tokens} tokens, ${(bpb.bytes / 1024).toFixed(1)} KB of ${bpbTexts.length} documents, ${bpb.windows} windows of ≤ ${cfg.maxPositions}; ${(bpb.bytes / bpb.tokens).toFixed(2)} bytes/token; ${bpbS.toFixed(1)} s)`);
  const layout = o.prompt ?? folder.prompt ?? 'fim';
  out(`\nsingle-line infill, ${cases.length} held-out cases (${langs}); greedy, ≤ ${MAX_TOKENS} tokens, line mode, ${layout === 'fim' ? 'FIM' : 'prefix-only'} prompt ≤ ${promptBudget(cfg.maxPositions, MAX_TOKENS).maxPromptTokens} tokens, token healing ${o.heal ? 'on' : 'off'}`);
  out(`  ${'completer'.padEnd(34)} ${'exact'.padStart(8)}   ${'chrF'.padStart(6)}   (chrF on 0..1: char 1..6-grams, β = 2, whitespace removed)`);
  out(row('trained model', m, genRate(model)));
  out(row('random weights, same shape', rnd, genRate(random)));
  out(row(`${order}-gram, stupid backoff`, base, `${baselineS.toFixed(1)} s; ${(trainBytes / 1048576).toFixed(1)} MB training text → ${(ngram.total / 1e6).toFixed(2)} M tokens, tokenised ${tokenizeS.toFixed(1)} s, counted ${countS.toFixed(1)} s`));
  out(`\nhint following, ${hints.length} cases: the true hint gives the target a higher log-prob than a placebo hint (another line of the file) in ${pct(hintRate).trim()} of cases`);
  out(`  mean gain in log p(target) over no hint: true hint ${hintGain >= 0 ? '+' : ''}${hintGain.toFixed(2)} nats, placebo ${placeboGain >= 0 ? '+' : ''}${placeboGain.toFixed(2)} nats (${hintS.toFixed(1)} s)`);
  const show = (s: string, n: number) => JSON.stringify(s.length > n ? s.slice(0, n) + '…' : s);
  const tail = (s: string, n: number) => JSON.stringify(s.length > n ? '…' + s.slice(-n) : s);
  const nSamples = Math.min(samples, cases.length);
  if (nSamples) out(`\nsamples (prefix tail | expected | model | ${order}-gram):`);
  for (const [i, c] of cases.slice(0, nSamples).entries()) {
    out(`  [${c.lang}] ${tail(c.prefix, 50)}`);
    out(`      expected ${show(c.target, 70)}\n      model    ${show(model.texts[i], 70)}${exactMatch(model.texts[i], c.target) ? '  ✓' : ''}\n      ${`${order}-gram`.padEnd(8)} ${show(baseline[i], 70)}${exactMatch(baseline[i], c.target) ? '  ✓' : ''}`);
  }
  out(`\n(${secs(tStart).toFixed(0)} s in all)`);
  out(
    JSON.stringify({
      bench: 'starter', params, train_tokens: trainTokens, heldout_bpb: round(bpb.bpb),
      line_exact_match: round(m.exact), line_chrf: round(m.chrf),
      random_line_exact_match: round(rnd.exact), random_line_chrf: round(rnd.chrf),
      baseline_line_exact_match: round(base.exact), baseline_line_chrf: round(base.chrf),
      hint_copy_rate: round(hintRate), hint_logp_gain: round(hintGain), placebo_logp_gain: round(placeboGain),
      cases: cases.length, prompt: layout, token_healing: o.heal, load_avg: round(loadAvg, 2),
    }),
  );
}

if (require.main === module)
  main().catch((e) => {
    console.error(`[bench:starter] ${e instanceof UsageError || (e as Error).name === 'ModelFolderError' ? (e as Error).message : ((e as Error).stack ?? e)}`);
    process.exit(1);
  });
