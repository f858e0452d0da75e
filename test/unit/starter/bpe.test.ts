// The starter tokenizer trainer (scripts/starter/bpe.ts): a tiny vocabulary learnt from generated
// text loads through server/model/tokenizer.ts with its FIM ids, round-trips tricky text byte for
// byte, gives the library the same ids as our reference encoder, and comes out identical each time.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BYTE_TO_UNICODE, BpeEncoder, SPLIT_JS_SOURCE, countWords, tokenizerConfig, tokenizerJsonText, trainBpe, type TrainedBpe } from '../../../scripts/starter/bpe';
import { SPECIAL_TOKENS } from '../../../scripts/starter/recipe';
import { loadTokenizer } from '../../../server/model/tokenizer';

const VOCAB = 300 + SPECIAL_TOKENS.length;

/** A few KB of code-ish text in several scripts, with tabs, CRLF and emoji. */
function corpus(): string {
  const lines: string[] = [];
  for (let i = 0; i < 60; i++) {
    lines.push(`def handler_${i % 7}(request, value=${i}):\n    """Return the value; it's ${i * 3} here."""\n    return request.get("key_${i % 5}", value) + ${i}\n`);
    lines.push(`export function compute${i % 9}(items: number[]): number {\r\n\treturn items.reduce((a, b) => a + b, ${i});\r\n}\r\n`);
    lines.push(`// héllo wörld — naïve café ${i} 日本語のテキスト 👍🏽 ✨\n`);
  }
  return lines.join('\n');
}

function train(text = corpus(), vocabSize = VOCAB): TrainedBpe {
  return trainBpe(countWords(text, new Map()), { vocabSize });
}

function writeTokenizer(model: TrainedBpe): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hindsight-bpe-'));
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), tokenizerJsonText(model));
  fs.writeFileSync(path.join(dir, 'tokenizer_config.json'), JSON.stringify(tokenizerConfig(model, 512)));
  return dir;
}

const TRICKY = [
  'x',
  'naïve café — ünïcödé, 日本語, Ελληνικά, עברית',
  'emoji 👍🏽 and a family 👨‍👩‍👧 and a flag 🇺🇦',
  'windows\r\nline\r\nends\r\n\r\n',
  '\tindented\t\twith tabs\n\t\t\treturn x;\n',
  '\uFEFFa leading BOM, NEL\u0085and LS\u2028PS\u2029, nbsp\u00A0here',
  'e\u0301 decomposed stays decomposed (no NFC), \u00e9 composed too',
  "contractions: it's, I'LL, they've, 'D 'm",
  'digits 1234567890 ³ ½ and ١٢٣',
  '    lots   of     spaces     \n\n\n   \n',
  'specials inline <|fim_prefix|>def f(<|fim_suffix|>)<|fim_middle|> and <|endoftext|><|file_sep|>x',
  '\u0000\u0001\u007f control bytes \u001b[31m',
];

test('vocabulary layout: 256 bytes in byte order, learnt tokens, then the specials; exact size', () => {
  const m = train();
  assert.equal(m.vocab.length, VOCAB);
  assert.deepEqual(m.vocab.slice(0, 256), BYTE_TO_UNICODE);
  assert.equal(BYTE_TO_UNICODE[32], 'Ġ');
  assert.equal(BYTE_TO_UNICODE[10], 'Ċ');
  assert.deepEqual(m.vocab.slice(-SPECIAL_TOKENS.length), [...SPECIAL_TOKENS]);
  assert.deepEqual(m.specials.map((s) => s.id), SPECIAL_TOKENS.map((_, i) => 300 + i));
  assert.equal(new Set(m.vocab).size, VOCAB);
  const json = JSON.parse(tokenizerJsonText(m));
  assert.equal(json.normalizer, null);
  assert.deepEqual(Object.entries(json.model.vocab).sort((a, b) => (a[1] as number) - (b[1] as number)).map(([t]) => t), m.vocab);
  for (const s of json.added_tokens) assert.equal(json.model.vocab[s.content], s.id);
  assert.ok(Array.isArray(json.model.merges[0]) && json.model.merges[0].length === 2);
});

test('loads through loadTokenizer with FIM ids; each special is one id; round trip is exact', () => {
  const m = train();
  const tok = loadTokenizer(writeTokenizer(m), [m.specials[0].id]);
  assert.deepEqual(tok.fim, { prefix: 301, middle: 302, suffix: 303 });
  assert.equal(tok.maxId, VOCAB - 1);
  for (const s of m.specials) {
    // encode() keeps user text text (server/model/tokenizer.ts); the id is reached by name.
    assert.equal(tok.tokenId(s.content), s.id);
    assert.equal(tok.decode([s.id]), s.content);
    assert.ok(tok.stopIds.has(s.id));
  }
  for (const text of [...TRICKY, corpus()]) {
    const ids = tok.encode(text);
    assert.equal(tok.decode(ids), text, JSON.stringify(text));
  }
});

test('the library gives the same ids as the reference encoder, and the same pre-token regex', () => {
  const m = train();
  const tok = loadTokenizer(writeTokenizer(m));
  const ref = new BpeEncoder(m);
  // Special-token strings are cut out by the reference (as by the library's own encode) but stay
  // text in ModelTokenizer.encode: compare the texts without them.
  for (const text of [...TRICKY.filter((t) => !SPECIAL_TOKENS.some((s) => t.includes(s))), corpus()]) {
    const ids = ref.encode(text);
    assert.deepEqual(tok.encode(text), ids, JSON.stringify(text));
    assert.equal(ref.decode(ids), text);
  }
  // The trained merges do compress: fewer tokens than bytes on the training text.
  const [tokens, bytes] = [ref.encode(corpus()).length, Buffer.byteLength(corpus())];
  assert.ok(tokens < bytes / 1.5, `${bytes} bytes in ${tokens} tokens`);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { SplitPreTokenizer } = require('@huggingface/tokenizers') as { SplitPreTokenizer: new (c: object) => { pattern: RegExp } };
  const split = JSON.parse(tokenizerJsonText(m)).pre_tokenizer.pretokenizers[0];
  assert.equal(new SplitPreTokenizer(split).pattern.source, SPLIT_JS_SOURCE);
});

test('deterministic: same text, or the same words in another order, give identical files', () => {
  const a = tokenizerJsonText(train());
  assert.equal(tokenizerJsonText(train()), a);
  const words = [...countWords(corpus(), new Map())].reverse();
  assert.equal(tokenizerJsonText(trainBpe(new Map(words), { vocabSize: VOCAB })), a);
});

test('a corpus too small for the vocabulary is an error, not a short vocabulary', () => {
  assert.throws(() => train('abc abc', VOCAB), /ran out of pairs/);
});
