// Fuzz: hostile config.json, tokenizer.json and folder layouts in a model folder. Wrong types,
// huge and negative sizes, missing fields, deeply nested JSON, bytes that are not UTF-8, junk shard
// indexes, files that are folders. openModelFolder and loadTokenizer either open the folder (and
// what they return is sane) or throw a ModelFolderError naming the file; model/check (the editor's
// "is this a model folder?") never throws and gives a reason without a JavaScript slip. Seeded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeModel } from '../../../scripts/make-model';
import type { ModelConfig } from '../../../server/model/config';
import { openModelFolder, SERVING_FILE, type ModelFolder } from '../../../server/model/folder';
import { loadTokenizer, type ModelTokenizer } from '../../../server/model/tokenizer';
import { checkModelFolder } from '../../../server/lifecycle/modelCheck';
import { DEEP, deepJson, expectClear, Failures, junk, NASTY_NUMBERS, NASTY_STRINGS, report, rng, SEED, SLIP, stringify, Tally, tempDir, wrongTyped, type Rng } from './fuzz';

const CASES = Number(process.env.HINDSIGHT_FUZZ_CASES ?? 300);
/** One case opens a folder of a few KB: anything slower is a loop over a size the file claims. */
const CASE_MS = 2000;

const CFG: ModelConfig = {
  architecture: 'qwen2', vocabSize: 320, hiddenSize: 16, numLayers: 2, numHeads: 2, numKvHeads: 1, headDim: 8,
  intermediateSize: 24, rmsNormEps: 1e-6, ropeTheta: 10000, attentionBias: true, tieWordEmbeddings: true, maxPositions: 128, eosTokenId: [300],
};

/** The starter model's byte-level BPE cut to 300 ids (bytes and the first merges) + its 7 control tokens at 300..306. */
function smallTokenizer(): Record<string, unknown> {
  const t = JSON.parse(fs.readFileSync(path.join(__dirname, '../../../models/hindsight-starter/tokenizer.json'), 'utf8'));
  const vocab = Object.fromEntries(Object.entries(t.model.vocab as Record<string, number>).filter(([, id]) => id < 300));
  t.model.vocab = vocab;
  t.model.merges = (t.model.merges as [string, string][]).filter(([a, b]) => a in vocab && b in vocab && a + b in vocab);
  t.added_tokens = (t.added_tokens as { id: number }[]).map((a, i) => ({ ...a, id: 300 + i }));
  return t;
}

/** A small, valid model folder; `shards` splits its weights with an index. */
function modelFolder(tag: string, shards = 1): string {
  const dir = path.join(tempDir(tag), 'm');
  makeModel(CFG, dir, { tokenizer: false, shards, seed: 2 });
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), JSON.stringify(smallTokenizer()));
  return dir;
}

/** A whole-file replacement: junk that is not the JSON object the file should hold. */
function junkFile(r: Rng, good: string): { text: string | Buffer; tag: string } {
  switch (r.int(7)) {
    case 0: return { text: r.bytes(r.int(400)), tag: 'random bytes' };
    case 1: {
      const b = Buffer.from(good);
      for (let i = 0; i < 1 + r.int(4); i++) b[r.int(b.length)] = r.pick([0xff, 0xfe, 0xc0, 0xc1, 0x80, 0xed, 0xf8]);
      return { text: b, tag: 'invalid UTF-8' };
    }
    case 2: return { text: good.slice(0, r.int(good.length)), tag: 'cut short' };
    case 3: return { text: r.pick(['', ' ', 'null', '0', '-1', '"x"', '[]', 'true', '1e400', '{}']), tag: 'not an object' };
    case 4: return { text: r.chance(0.5) ? deepJson(100_000) : `{"a":${deepJson(50_000)}}`, tag: 'deeply nested' };
    case 5: return { text: stringify(junk(r, 3)), tag: 'junk JSON' };
    default: return { text: '\uFEFF' + good, tag: 'byte-order mark' };
  }
}

/** A value for one config.json field: wrong type, odd number, huge, nested, or gone (undefined). */
function badField(r: Rng, v: unknown): unknown {
  switch (r.int(6)) {
    case 0: return wrongTyped(r, v);
    case 1: return r.pick(NASTY_NUMBERS);
    case 2: return r.pick([1e9, 2 ** 31 - 1, 2 ** 32, 2 ** 53, 1e15, 1e308, -16, -1, 0, 3, 7, 17]);
    case 3: return DEEP;
    case 4: return r.pick(NASTY_STRINGS);
    default: return undefined;
  }
}

const CONFIG_KEYS = ['architectures', 'model_type', 'vocab_size', 'hidden_size', 'num_hidden_layers', 'num_attention_heads', 'num_key_value_heads', 'head_dim', 'intermediate_size', 'rms_norm_eps', 'rope_theta', 'tie_word_embeddings', 'max_position_embeddings', 'eos_token_id', 'bos_token_id', 'rope_scaling', 'use_sliding_window', 'attention_bias', 'torch_dtype'];

/** What an opened folder says about its model must be usable: positive integer sizes, integer token ids. */
function assertSane(f: ModelFolder, what: string): void {
  const c = f.cfg;
  for (const k of ['vocabSize', 'hiddenSize', 'numLayers', 'numHeads', 'numKvHeads', 'headDim', 'intermediateSize', 'maxPositions'] as const)
    assert.ok(Number.isInteger(c[k]) && c[k] > 0, `${what}: ${k} = ${c[k]}`);
  assert.ok(c.numHeads % c.numKvHeads === 0 && c.headDim % 2 === 0, `${what}: heads ${c.numHeads}/${c.numKvHeads}, head_dim ${c.headDim}`);
  assert.ok(c.rmsNormEps > 0 && c.ropeTheta > 0, `${what}: eps ${c.rmsNormEps}, theta ${c.ropeTheta}`);
  assert.ok(Array.isArray(c.eosTokenId) && c.eosTokenId.every((id) => Number.isInteger(id) && id >= 0), `${what}: eos_token_id read as ${JSON.stringify(c.eosTokenId)}`);
  assert.ok(c.bosTokenId === undefined || (Number.isInteger(c.bosTokenId) && c.bosTokenId >= 0), `${what}: bos_token_id read as ${c.bosTokenId}`);
  assert.ok(f.prompt === undefined || f.prompt === 'fim' || f.prompt === 'prefix', `${what}: prompt ${f.prompt}`);
}

/** model/check must answer: ok, or a reason that names a file and is a sentence. */
function assertChecks(dir: string, what: string, allowLibrary = false): boolean {
  const started = performance.now();
  const r = checkModelFolder(dir);
  assert.ok(performance.now() - started < CASE_MS, `${what}: model/check took ${Math.round(performance.now() - started)} ms`);
  if (r.ok) return true;
  assert.equal(typeof r.reason, 'string', what);
  assert.ok(r.reason.includes(dir) || r.reason.includes(path.dirname(dir)), `${what}: reason does not name the folder: ${r.reason.slice(0, 200)}`);
  const library = allowLibrary && /not a tokenizer the library can load/.test(r.reason);
  assert.ok(library || !SLIP.test(r.reason), `${what}: unclear reason: ${r.reason.slice(0, 300)}`);
  assert.ok(r.reason.length < 4000, `${what}: reason of ${r.reason.length} characters`);
  return false;
}

test('fuzz: hostile config.json is refused with a ModelFolderError naming it, or read as a sane config', (t) => {
  const started = performance.now();
  const dir = modelFolder('cfg');
  const file = path.join(dir, 'config.json');
  const good = fs.readFileSync(file, 'utf8');
  const goodJson = JSON.parse(good);
  assertSane(openModelFolder(dir), 'the undamaged folder');
  const r = rng(SEED + 10);
  const tally = new Tally();
  const failures = new Failures();
  for (let i = 0; i < CASES; i++) {
    let tag: string;
    fs.rmSync(file, { recursive: true, force: true });
    if (r.chance(0.3)) {
      const j = junkFile(r, good);
      fs.writeFileSync(file, j.text);
      tag = j.tag;
    } else if (r.chance(0.03)) {
      if (r.chance(0.5)) fs.mkdirSync(file);
      tag = 'missing or a folder';
    } else {
      const j = structuredClone(goodJson);
      const keys = Array.from({ length: 1 + r.int(2) }, () => r.pick(CONFIG_KEYS));
      for (const k of keys) j[k] = badField(r, j[k]);
      fs.writeFileSync(file, stringify(j));
      tag = `field ${keys.join('+')}`;
    }
    const what = `case ${i} (${tag}, seed ${SEED + 10})`;
    failures.run(what, () => {
      const t0 = performance.now();
      let folder: ModelFolder | undefined;
      const outcome = expectClear(() => (folder = openModelFolder(dir)), dir, what, ['ModelFolderError']);
      assert.ok(performance.now() - t0 < CASE_MS, `${what}: took ${Math.round(performance.now() - t0)} ms`);
      if (folder) assertSane(folder, what);
      else assert.match(errorOf(() => openModelFolder(dir)), /config\.json/, `${what}: the message does not point at config.json`);
      assertChecks(dir, what);
      tally.add(`${tag.startsWith('field') ? 'field' : tag} → ${outcome === 'ok' ? 'opened' : 'refused'}`);
    }) || tally.add(`${tag} → FAILED`);
  }
  report(t, 'config.json', tally, started);
  failures.check();
});

function errorOf(fn: () => unknown): string {
  try {
    fn();
    return '';
  } catch (e) {
    return (e as Error).message;
  }
}

const TOKENIZER_PATHS: string[][] = [
  ['model'], ['model', 'type'], ['model', 'vocab'], ['model', 'merges'], ['model', 'unk_token'], ['model', 'byte_fallback'], ['model', 'ignore_merges'], ['model', 'dropout'],
  ['added_tokens'], ['added_tokens', '0'], ['added_tokens', '0', 'id'], ['added_tokens', '0', 'content'], ['added_tokens', '2', 'special'],
  ['pre_tokenizer'], ['pre_tokenizer', 'type'], ['pre_tokenizer', 'pretokenizers'], ['pre_tokenizer', 'pretokenizers', '0', 'pattern'],
  ['decoder'], ['decoder', 'type'], ['normalizer'], ['post_processor'], ['truncation'], ['padding'], ['version'],
];

/** Targeted tokenizer damage the generic field junk rarely hits. */
function tokenizerSpecial(r: Rng, j: Record<string, any>): string {
  const vocab = j.model.vocab as Record<string, unknown>;
  const tokens = Object.keys(vocab);
  switch (r.int(8)) {
    case 0: vocab[r.pick(tokens)] = r.pick<unknown>([-1, 1e9, 2 ** 53, 1.5, '7', null, [], 1e308]); return 'vocab id';
    case 1: vocab[r.pick(tokens)] = vocab[r.pick(tokens)]; return 'vocab duplicate id';
    case 2: j.model.merges.push(r.pick<unknown>([['a'], 'a b c', [1, 2], null, ['zz', 'qq'], 'Ġ', [deepJson(100)]])); return 'merge entry';
    case 3: j.added_tokens.push(r.pick<unknown>([{ id: 'x', content: '<|x|>' }, { id: 1e12, content: '<|big|>' }, { id: -5, content: '<|neg|>' }, { content: 5 }, { id: 310 }, null, 7])); return 'added token';
    case 4: j.pre_tokenizer = { type: 'Sequence', pretokenizers: [{ type: r.pick(['Nope', '', 'constructor', 'ByteLevel ']) }] }; return 'unknown pre-tokenizer';
    case 5: {
      j.pre_tokenizer = DEEP_PRE_TOKENIZER;
      return 'pre-tokenizer nested 5000 deep';
    }
    case 6: j.pre_tokenizer.pretokenizers[0].pattern = { Regex: r.pick(['(', '[', '(?<=a)b', '\\', 'a{99999999}', '(a+)+$']) }; return 'bad regex';
    default: j.model.vocab = Object.fromEntries(Array.from({ length: 20_000 }, (_, k) => [`t${k}`, k])); return 'vocab past vocab_size';
  }
}

/** A pre-tokenizer Sequence nested 5000 deep, as JSON text (stringify() puts it in place of its name). */
const DEEP_PRE_TOKENIZER = '__fuzz_deep_pre_tokenizer__';
const deepPreTokenizer = '{"type":"Sequence","pretokenizers":['.repeat(5000) + '{"type":"ByteLevel","add_prefix_space":false,"trim_offsets":false,"use_regex":false}' + ']}'.repeat(5000);
const writeJson = (file: string, v: unknown) => fs.writeFileSync(file, stringify(v).replace(`"${DEEP_PRE_TOKENIZER}"`, deepPreTokenizer));

function setPath(j: Record<string, any>, p: string[], v: unknown): void {
  let o = j;
  for (const k of p.slice(0, -1)) {
    if (!o || typeof o !== 'object') return;
    o = o[k];
  }
  if (!o || typeof o !== 'object') return;
  if (v === undefined) delete o[p[p.length - 1]];
  else o[p[p.length - 1]] = v;
}

test('fuzz: hostile tokenizer.json is refused with a ModelFolderError naming it, or loads a tokenizer that works', (t) => {
  const started = performance.now();
  const dir = modelFolder('tok');
  const file = path.join(dir, 'tokenizer.json');
  const good = fs.readFileSync(file, 'utf8');
  const goodJson = JSON.parse(good);
  const sample = 'def f(x):\n    return x + 1  # ünï 😀\n';
  const r = rng(SEED + 20);
  const tally = new Tally();
  const failures = new Failures();
  for (let i = 0; i < CASES; i++) {
    let tag: string;
    fs.rmSync(file, { recursive: true, force: true });
    if (r.chance(0.25)) {
      const j = junkFile(r, good);
      fs.writeFileSync(file, j.text);
      tag = j.tag;
    } else if (r.chance(0.03)) {
      if (r.chance(0.5)) fs.mkdirSync(file);
      tag = 'missing or a folder';
    } else {
      const j = structuredClone(goodJson);
      if (r.chance(0.4)) tag = tokenizerSpecial(r, j);
      else {
        const p = r.pick(TOKENIZER_PATHS);
        setPath(j, p, r.chance(0.15) ? undefined : r.chance(0.5) ? wrongTyped(r, p.reduce((o: any, k) => o?.[k], j)) : junk(r, 2));
        tag = `field ${p.join('.')}`;
      }
      writeJson(file, j);
    }
    const what = `case ${i} (${tag}, seed ${SEED + 20})`;
    failures.run(what, () => {
      const t0 = performance.now();
      let tok: ModelTokenizer | undefined;
      const outcome = expectClearTokenizer(() => (tok = loadTokenizer(dir, CFG.eosTokenId)), file, what);
      assert.ok(performance.now() - t0 < CASE_MS, `${what}: took ${Math.round(performance.now() - t0)} ms`);
      const how = outcome === 'ok' ? 'loaded' : 'refused';
      if (tok) {
        assert.ok(Number.isInteger(tok.maxId) && tok.maxId >= -1, `${what}: maxId ${tok.maxId}`);
        assert.ok([...tok.stopIds].every((id) => Number.isInteger(id)), `${what}: stop ids ${JSON.stringify([...tok.stopIds])}`);
        // What serving does with it: encode the prompt, decode the suggestion. Loaded means usable:
        // a damaged pre-tokenizer that encodes code to nothing (or throws) is refused at load.
        let ids: number[] = [];
        try {
          ids = tok.encode(sample);
        } catch (e) {
          throw new Error(`${what}: loads, then encode throws ${(e as Error).message}`);
        }
        assert.ok(ids.every((id) => Number.isInteger(id) && id >= 0), `${what}: encode gave ${ids.slice(0, 8)}`);
        assert.ok(ids.length > 0, `${what}: loads, then encodes code to nothing`);
        tok.decode(ids);
      }
      // model/check refuses what serving could not use (ids past vocab_size included).
      if (assertChecks(dir, what, true)) assert.ok(tok, `${what}: model/check accepted a tokenizer.json that does not load`);
      tally.add(`${tag.startsWith('field') ? tag.replace(/\.\d+/g, '[i]') : tag} → ${how}`);
    }) || tally.add(`${tag} → FAILED`);
  }
  report(t, 'tokenizer.json', tally, started);
  failures.check();
});

/** expectClear for the tokenizer: the library's own words may follow "not a tokenizer the library can load (…)". */
function expectClearTokenizer(fn: () => unknown, file: string, what: string): string {
  try {
    return expectClear(fn, file, what, ['ModelFolderError']);
  } catch (e) {
    const err = errorOf(fn);
    if (err.startsWith(`${file}: not a tokenizer the library can load (`) && err.length < 4000 && /unclear message/.test((e as Error).message)) return 'ModelFolderError';
    throw e;
  }
}

test('fuzz: junk shard indexes, serving choices and files that are folders are refused naming the file', (t) => {
  const started = performance.now();
  const dir = modelFolder('layout', 2);
  const index = path.join(dir, 'model.safetensors.index.json');
  const goodIndex = JSON.parse(fs.readFileSync(index, 'utf8'));
  const shards = [...new Set(Object.values(goodIndex.weight_map as Record<string, string>))];
  const saved = new Map(fs.readdirSync(dir).map((f) => [f, fs.readFileSync(path.join(dir, f))]));
  const restore = () => {
    for (const f of fs.readdirSync(dir)) fs.rmSync(path.join(dir, f), { recursive: true, force: true });
    for (const [f, b] of saved) fs.writeFileSync(path.join(dir, f), b);
  };
  assertSane(openModelFolder(dir), 'the undamaged sharded folder');
  const r = rng(SEED + 30);
  const tally = new Tally();
  const failures = new Failures();
  for (let i = 0; i < Math.round(CASES / 2); i++) {
    restore();
    let tag: string;
    switch (r.int(5)) {
      case 0: {
        const j = structuredClone(goodIndex);
        const names = Object.keys(j.weight_map);
        j.weight_map[r.pick(names)] = r.pick<unknown>(['', '.', '..', '/etc/passwd', 'a/b.safetensors', '..\\x.safetensors', 'missing.safetensors', 'config.json', 'tokenizer.json', 5, null, [], {}, true, 'constructor']);
        fs.writeFileSync(index, stringify(j));
        tag = 'shard name';
        break;
      }
      case 1: {
        const j = structuredClone(goodIndex);
        j.weight_map = r.chance(0.5) ? junk(r, 2) : r.pick<unknown>([null, [], 'x', 5, DEEP, Object.fromEntries(shards.map((s) => [s, s]))]);
        fs.writeFileSync(index, stringify(j));
        tag = 'weight_map';
        break;
      }
      case 2: {
        const j = junkFile(r, JSON.stringify(goodIndex));
        fs.writeFileSync(index, j.text);
        tag = `index ${j.tag}`;
        break;
      }
      case 3: {
        const v = r.pick<unknown>(['x', 5, null, [], { prompt: 'nope' }, { prompt: 5 }, { prompt: DEEP }, { prompt: 'prefix' }, { prompt: 'fim' }, {}]);
        fs.writeFileSync(path.join(dir, SERVING_FILE), r.chance(0.2) ? junkFile(r, '{"prompt":"prefix"}').text : stringify(v));
        tag = SERVING_FILE;
        break;
      }
      default: {
        const victim = r.pick(['config.json', 'tokenizer.json', index, SERVING_FILE, ...shards].map((f) => path.basename(f)));
        fs.rmSync(path.join(dir, victim), { force: true });
        fs.mkdirSync(path.join(dir, victim));
        tag = `${victim.replace(/model-\d+/, 'model-N')} is a folder`;
      }
    }
    const what = `case ${i} (${tag}, seed ${SEED + 30})`;
    failures.run(what, () => {
      let folder: ModelFolder | undefined;
      const outcome = expectClear(() => (folder = openModelFolder(dir)), dir, what, ['ModelFolderError']);
      if (folder) assertSane(folder, what);
      assertChecks(dir, what, true);
      tally.add(`${tag} → ${outcome === 'ok' ? 'opened' : 'refused'}`);
    }) || tally.add(`${tag} → FAILED`);
  }
  report(t, 'model folder layout', tally, started);
  failures.check();
});
