// Trains the starter model's tokenizer: a byte-level BPE (scripts/starter/bpe.ts) over a
// deterministic, language-balanced sample of the starter corpus, written as tokenizer.json +
// tokenizer_config.json, then checked through the library serving uses (server/model/tokenizer.ts):
// exact round trip on a held-out slice, the same ids as our reference encoder, one id per special.
// The held-out slice comes from --heldout (default: heldout.jsonl beside the corpus) when it
// exists, else from corpus documents kept out of the training sample.
// Usage: npm run starter:tokenizer -- [--corpus .cache/starter/corpus/train.jsonl] [--sample-mb 20]
//          [--heldout FILE] [--heldout-mb 4] [--vocab 8192] [--min-count 1] [--out models/hindsight-starter]
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as readline from 'node:readline';
import { parseArgs } from 'node:util';
import { BpeEncoder, countWords, tokenizerConfig, tokenizerJsonText, trainBpe } from './bpe';
import { CONTEXT, SPECIAL_TOKENS } from './recipe';
import { loadTokenizer } from '../../server/model/tokenizer';

interface Doc {
  text: string;
  lang: string;
}

/** Each JSONL line's text and language, in file order (streamed: the corpus may be large). */
async function* readCorpus(file: string): AsyncGenerator<Doc> {
  const lines = readline.createInterface({ input: fs.createReadStream(file, 'utf8'), crlfDelay: Infinity });
  let n = 0;
  for await (const line of lines) {
    n++;
    if (!line.trim()) continue;
    const o = JSON.parse(line) as { text?: unknown; lang?: unknown };
    if (typeof o.text !== 'string') throw new Error(`${file}:${n}: no "text" string`);
    yield { text: o.text, lang: typeof o.lang === 'string' ? o.lang : 'unknown' };
  }
}

/** Splits `total` bytes evenly over languages; one with less than its share gives the rest to the others. */
function balancedBudgets(available: Map<string, number>, total: number): Map<string, number> {
  const out = new Map<string, number>();
  const langs = [...available.keys()].sort((a, b) => available.get(a)! - available.get(b)! || (a < b ? -1 : 1));
  let left = total;
  langs.forEach((l, i) => {
    const b = Math.min(available.get(l)!, left / (langs.length - i));
    out.set(l, b);
    left -= b;
  });
  return out;
}

/**
 * Which documents (by index) go to the held-out slice and which to the training sample. Per
 * language, every k-th document, k set so the picks spread over the whole file and stop at the
 * language's budget; held-out documents are never trained on.
 */
function plan(docs: { lang: string; bytes: number }[], sampleBytes: number, heldoutBytes: number) {
  const role = new Uint8Array(docs.length); // 0 unused, 1 train, 2 held-out
  const pick = (want: number, eligible: (i: number) => boolean) => {
    const avail = new Map<string, number>();
    for (const [i, d] of docs.entries()) if (eligible(i)) avail.set(d.lang, (avail.get(d.lang) ?? 0) + d.bytes);
    const budget = balancedBudgets(avail, want);
    const chosen = new Set<number>();
    for (const [lang, b] of budget) {
      const k = Math.max(1, Math.floor(avail.get(lang)! / Math.max(b, 1)));
      let rank = 0, taken = 0;
      for (const [i, d] of docs.entries()) {
        if (d.lang !== lang || !eligible(i)) continue;
        if (rank++ % k === k - 1 && taken < b) {
          chosen.add(i);
          taken += d.bytes;
        }
      }
    }
    return chosen;
  };
  for (const i of pick(heldoutBytes, () => true)) role[i] = 2;
  for (const i of pick(sampleBytes, (i) => role[i] === 0)) role[i] = 1;
  return role;
}

const LONE_SURROGATE = /[\uD800-\uDFFF]/u; // in u-mode only unpaired halves match

async function main() {
  const { values: a } = parseArgs({
    options: {
      corpus: { type: 'string', default: '.cache/starter/corpus/train.jsonl' },
      'sample-mb': { type: 'string', default: '20' },
      heldout: { type: 'string' },
      'heldout-mb': { type: 'string', default: '4' },
      vocab: { type: 'string', default: '8192' },
      'min-count': { type: 'string', default: '1' },
      out: { type: 'string', default: 'models/hindsight-starter' },
    },
  });
  const vocabSize = Number(a.vocab), MB = 1 << 20;
  const t0 = Date.now();
  const secs = () => ((Date.now() - t0) / 1000).toFixed(1);

  // Pass 1: sizes and languages; pass 2: the sample's word counts and the held-out texts.
  const sizesOf = async (file: string) => {
    const sizes: { lang: string; bytes: number }[] = [];
    for await (const d of readCorpus(file)) sizes.push({ lang: d.lang, bytes: Buffer.byteLength(d.text) });
    return sizes;
  };
  const heldoutFile = a.heldout ?? path.join(path.dirname(a.corpus!), 'heldout.jsonl');
  const separate = fs.existsSync(heldoutFile) && path.resolve(heldoutFile) !== path.resolve(a.corpus!);
  const sizes = await sizesOf(a.corpus!);
  const role = plan(sizes, Number(a['sample-mb']) * MB, separate ? 0 : Number(a['heldout-mb']) * MB);
  const train: Doc[] = [], heldout: Doc[] = [];
  const words = new Map<string, number>();
  let i = 0;
  for await (const d of readCorpus(a.corpus!)) {
    if (role[i] === 1) {
      train.push(d);
      countWords(d.text, words);
    } else if (role[i] === 2) heldout.push(d);
    i++;
  }
  if (separate) {
    const hRole = plan(await sizesOf(heldoutFile), 0, Number(a['heldout-mb']) * MB);
    let j = 0;
    for await (const d of readCorpus(heldoutFile)) if (hRole[j++] === 2) heldout.push(d);
  }
  const summary = (ds: Doc[]) => {
    const by = new Map<string, [number, number]>();
    for (const d of ds) {
      const e = by.get(d.lang) ?? [0, 0];
      by.set(d.lang, [e[0] + 1, e[1] + Buffer.byteLength(d.text)]);
    }
    return [...by].map(([l, [n, b]]) => `${l} ${n} docs ${(b / MB).toFixed(1)} MB`).join(', ');
  };
  console.log(`[tokenizer] corpus ${a.corpus}: ${sizes.length} docs, ${(sizes.reduce((s, d) => s + d.bytes, 0) / MB).toFixed(1)} MB (${secs()} s)`);
  console.log(`[tokenizer] train sample: ${summary(train)}; ${words.size} distinct words`);
  console.log(`[tokenizer] held-out${separate ? ` (${heldoutFile})` : ' (corpus documents not in the sample)'}: ${summary(heldout)}`);

  // Train.
  const tTrain = Date.now();
  const model = trainBpe(words, {
    vocabSize,
    specials: SPECIAL_TOKENS,
    minWordCount: Number(a['min-count']),
    onProgress: (merges, vocab, count) => console.log(`[tokenizer]   ${merges} merges, vocab ${vocab}, last pair seen ${count}× (${((Date.now() - tTrain) / 1000).toFixed(1)} s)`),
  });
  const trainSecs = (Date.now() - tTrain) / 1000;
  console.log(`[tokenizer] trained ${model.merges.length} merges on ${model.stats.words} words in ${trainSecs.toFixed(1)} s`);

  fs.mkdirSync(a.out!, { recursive: true });
  fs.writeFileSync(path.join(a.out!, 'tokenizer.json'), tokenizerJsonText(model));
  fs.writeFileSync(path.join(a.out!, 'tokenizer_config.json'), JSON.stringify(tokenizerConfig(model, CONTEXT), null, 2) + '\n');
  console.log(`[tokenizer] wrote ${a.out}/tokenizer.json, tokenizer_config.json`);

  // Verify with the library serving uses.
  const failures: string[] = [];
  const eos = model.specials[0].id;
  const tok = loadTokenizer(a.out!, [eos]);
  if (!tok.fim) failures.push('FIM tokens not found');
  if (tok.maxId !== vocabSize - 1) failures.push(`largest id ${tok.maxId}, expected ${vocabSize - 1}`);
  // User text never becomes control ids (ModelTokenizer.encode); the specials are found by name.
  for (const s of model.specials) {
    const id = tok.tokenId(s.content);
    if (id !== s.id || tok.decode([id]) !== s.content) failures.push(`${s.content} is id ${id}, expected ${s.id}`);
  }
  const ref = new BpeEncoder(model);
  let tokens = 0, bytes = 0, broken = 0, differ = 0, skipped = 0;
  const perLang = new Map<string, [number, number]>(); // lang → [bytes, tokens]
  const tCheck = Date.now();
  for (const d of heldout) {
    if (LONE_SURROGATE.test(d.text)) {
      skipped++; // no UTF-8 spelling: no byte-level tokenizer can round-trip these
      continue;
    }
    const ids = tok.encode(d.text);
    if (tok.decode(ids) !== d.text) broken++;
    const want = ref.encode(d.text);
    if (want.length !== ids.length || want.some((id, k) => id !== ids[k])) differ++;
    tokens += ids.length;
    bytes += Buffer.byteLength(d.text);
    const e = perLang.get(d.lang) ?? [0, 0];
    perLang.set(d.lang, [e[0] + Buffer.byteLength(d.text), e[1] + ids.length]);
  }
  const checked = heldout.length - skipped;
  console.log(`[tokenizer] held-out: ${checked} docs round-trip ${broken === 0 ? 'exact' : `BROKEN in ${broken}`}, library ids ${differ === 0 ? '=' : `≠ in ${differ} docs`} reference ids${skipped ? `; ${skipped} docs with lone surrogates skipped` : ''} (${((Date.now() - tCheck) / 1000).toFixed(1)} s)`);
  if (broken) failures.push(`round trip broken in ${broken} held-out docs`);
  if (differ) failures.push(`library and reference ids differ in ${differ} held-out docs`);

  // Compression on the training sample, with the reference encoder (much faster than the library; same ids, checked above).
  let trainTokens = 0, trainBytes = 0;
  for (const d of train) {
    trainTokens += ref.encode(d.text).length;
    trainBytes += Buffer.byteLength(d.text);
  }
  const byLang = [...perLang].map(([l, [b, t]]) => `${l} ${(b / t).toFixed(2)}`).join(', ');
  console.log(`[tokenizer] bytes/token: train sample ${(trainBytes / trainTokens).toFixed(3)}, held-out ${(bytes / tokens).toFixed(3)} (${byLang})`);
  console.log(`[tokenizer] vocab ${vocabSize} (256 bytes, ${vocabSize - 256 - model.specials.length} learnt, ${model.specials.length} specials at ${model.specials[0].id}..${vocabSize - 1}); training ${trainSecs.toFixed(1)} s, all ${secs()} s`);
  if (failures.length) {
    for (const f of failures) console.error(`[tokenizer] FAILED: ${f}`);
    process.exit(1);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
