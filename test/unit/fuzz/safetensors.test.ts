// Fuzz: damaged .safetensors files and adapter folders. Truncations, header lengths past the end
// of the file, headers that are not JSON (or not an object), wrong dtypes, shapes and offsets
// (overlapping, reversed, out of range), junk metadata, NaN and infinities in adapter data, junk
// adapter_config.json and index.json. Every case either reads back a header that is consistent with
// the file, or throws an error that names the file and the problem; none allocates more than the
// file holds. Seeded: a failure replays from its seed and case number.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { readSafetensorsHeader, writeSafetensors, SAFE_DTYPE_BYTES, type SafetensorsFile } from '../../../server/model/safetensors';
import { initAdapter, ADAPTER_CONFIG, ADAPTER_WEIGHTS } from '../../../server/train/adapter';
import { AdapterStore, ADAPTER_INDEX } from '../../../server/train/adapterStore';
import type { ModelConfig } from '../../../server/model/config';
import type { LoraSpec } from '../../../server/model/lora';
import { deepJson, expectClear, Failures, junk, NASTY_NUMBERS, report, rng, SEED, SLIP, stringify, Tally, tempDir, wrongTyped, type Rng } from './fuzz';

const CASES = Number(process.env.HINDSIGHT_FUZZ_CASES ?? 400);
/** No case may leave this much more array-buffer memory than the files it read (they are KBs). */
const MEMORY_BOUND = 64 * 1024 * 1024;

/** A .safetensors file as parts: the header object, its JSON text, and the data section. */
interface Parts {
  header: Record<string, unknown>;
  data: Buffer;
}

function readParts(file: string): Parts {
  const buf = fs.readFileSync(file);
  const len = Number(buf.readBigUInt64LE(0));
  return { header: JSON.parse(buf.subarray(8, 8 + len).toString('utf8')), data: buf.subarray(8 + len) };
}

function assemble(headerText: string | Buffer, data: Buffer, lengthField?: bigint): Buffer {
  const json = Buffer.isBuffer(headerText) ? headerText : Buffer.from(headerText, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(lengthField ?? BigInt(json.length));
  return Buffer.concat([len, json, data]);
}

/** Values a dtype, shape or data_offsets field is set to: wrong types and wrong values. */
const BAD_DTYPES: unknown[] = ['f32', 'F31', 'Q4', 'F8_E4M3', '', 'constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 4, null, ['F32'], { F32: 1 }];
const BAD_SHAPES: unknown[] = [[-1], [1.5], ['2'], [null], [[2]], [2 ** 53, 2 ** 53], [1e308], [2 ** 31, 2 ** 31, 2 ** 31], 'F32', 3, null, {}, Array(5000).fill(1)];
const badOffsets = (r: Rng, size: number): unknown => r.pick<unknown>([
  [0], [0, 1, 2], [-4, 0], [8, 4], [0.5, 4.5], ['0', '4'], [0, 2 ** 53 + 2], [size, size + 4], [size * 2, size * 2 + 16], [2 ** 64, 2 ** 64 + 4], [1e308, 1e308], null, 'x', {}, [[0], [4]],
]);

/**
 * One damaged copy of a well-formed safetensors file; `tag` says what was done, `refuse` what a
 * refusal must say (absent: reading it back is fine too, e.g. junk metadata or changed tensor bytes).
 */
function damage(r: Rng, good: Buffer): { bytes: Buffer; tag: string; refuse?: RegExp } {
  const hl = Number(good.readBigUInt64LE(0));
  const parts = { header: JSON.parse(good.subarray(8, 8 + hl).toString('utf8')) as Record<string, unknown>, data: good.subarray(8 + hl) };
  const names = Object.keys(parts.header).filter((n) => n !== '__metadata__');
  const withHeader = (h: unknown) => assemble(stringify(h), parts.data);
  switch (r.int(14)) {
    case 0: return { bytes: good.subarray(0, r.int(good.length)), tag: 'truncated', refuse: /truncated|not valid JSON/ };
    case 1: {
      const len = r.pick([0n, 1n, 7n, BigInt(hl - 1), BigInt(hl + 1), BigInt(good.length - 8), BigInt(good.length), 2n ** 32n, 2n ** 53n, 2n ** 64n - 1n, BigInt(r.int(2 ** 30)) * 4096n]);
      const b = Buffer.from(good);
      b.writeBigUInt64LE(len);
      return { bytes: b, tag: 'header length', refuse: /header length .* exceeds|truncated: header needs|not valid JSON/ };
    }
    case 2: return { bytes: assemble(r.bytes(hl), parts.data), tag: 'header random bytes', refuse: /not valid JSON|not a JSON object|unknown dtype/ };
    case 3: {
      // Bytes that are not UTF-8 inside the header (a tensor name): decoded with replacement characters.
      const text = Buffer.from(good.subarray(8, 8 + hl));
      const at = text.indexOf('"', 2);
      text[at + 1] = r.pick([0xff, 0xfe, 0xc0, 0x80, 0xed]);
      return { bytes: assemble(text, parts.data), tag: 'header invalid UTF-8' };
    }
    case 4: {
      const text = good.subarray(8, 8 + hl);
      return { bytes: assemble(text.subarray(0, r.int(text.length)), parts.data), tag: 'header JSON cut', refuse: /not valid JSON/ };
    }
    case 5: return { bytes: assemble(r.pick([stringify(junk(r, 1)), deepJson(100_000), deepJson(5000, '{}'), 'null', '[]', '"x"', '1e400']), parts.data), tag: 'header not an object', refuse: /not valid JSON|not a JSON object|unknown dtype/ };
    case 6: {
      const h = structuredClone(parts.header);
      (h[r.pick(names)] as Record<string, unknown>).dtype = r.pick(BAD_DTYPES);
      return { bytes: withHeader(h), tag: 'dtype', refuse: /unknown dtype/ };
    }
    case 7: {
      const h = structuredClone(parts.header);
      (h[r.pick(names)] as Record<string, unknown>).shape = r.pick(BAD_SHAPES);
      return { bytes: withHeader(h), tag: 'shape', refuse: /bad shape|bytes but data_offsets span/ };
    }
    case 8: {
      const h = structuredClone(parts.header);
      (h[r.pick(names)] as Record<string, unknown>).data_offsets = badOffsets(r, parts.data.length);
      return { bytes: withHeader(h), tag: 'data_offsets', refuse: /bad data_offsets|data_offsets span|truncated weights|overlap/ };
    }
    case 9: {
      // Two tensors of the same size made to share bytes, or a tensor made to point past the end.
      const h = structuredClone(parts.header) as Record<string, { dtype: string; shape: number[]; data_offsets: number[] }>;
      const [a, b] = [r.pick(names), r.pick(names)];
      if (r.chance(0.5) && a !== b) {
        h[b] = { ...h[a] };
        return { bytes: withHeader(h), tag: 'overlap', refuse: /overlap/ };
      }
      const n = h[a].data_offsets[1] - h[a].data_offsets[0];
      const shift = 4 * (1 + r.int(3));
      h[a].data_offsets = [parts.data.length - n + shift, parts.data.length + shift];
      return { bytes: withHeader(h), tag: 'out of range', refuse: /truncated weights/ };
    }
    case 10: {
      const h = structuredClone(parts.header);
      h[r.pick(names)] = junk(r, 1);
      return { bytes: withHeader(h), tag: 'entry junk', refuse: /unknown dtype/ };
    }
    case 11: {
      const h = structuredClone(parts.header);
      h.__metadata__ = junk(r, 2);
      return { bytes: withHeader(h), tag: 'metadata junk' };
    }
    case 12: {
      const b = Buffer.from(good);
      for (let i = 0; i < 1 + r.int(8); i++) b[8 + hl + r.int(parts.data.length)] = r.int(256);
      return { bytes: b, tag: 'data bytes' };
    }
    default: return { bytes: Buffer.concat([good, r.bytes(1 + r.int(64))]), tag: 'trailing bytes' };
  }
}

/** A header that was accepted must describe the file: known dtype, sizes that match, in range, no overlap. */
function assertConsistent(h: SafetensorsFile, size: number, what: string): void {
  const spans = [...h.tensors.values()].sort((a, b) => a.offset - b.offset);
  for (const t of spans) {
    assert.ok(Object.hasOwn(SAFE_DTYPE_BYTES, t.dtype), `${what}: accepted dtype ${t.dtype}`);
    assert.ok(t.shape.every((d) => Number.isInteger(d) && d >= 0), `${what}: accepted shape ${t.shape}`);
    assert.equal(t.shape.reduce((a, b) => a * b, 1) * SAFE_DTYPE_BYTES[t.dtype], t.length, `${what}: ${t.name} size`);
    assert.ok(t.offset >= 8 && t.offset + t.length <= size, `${what}: ${t.name} out of range`);
  }
  for (let i = 1; i < spans.length; i++) assert.ok(spans[i].offset >= spans[i - 1].offset + spans[i - 1].length, `${what}: accepted overlapping tensors`);
}

function readError(file: string): string {
  try {
    readSafetensorsHeader(file);
    return '';
  } catch (e) {
    return (e as Error).message;
  }
}

function checkMemory(base: number, what: string): void {
  const grown = process.memoryUsage().arrayBuffers - base;
  assert.ok(grown < MEMORY_BOUND, `${what}: ${grown} bytes of array buffers still held`);
}

test('fuzz: damaged .safetensors headers are refused with the file and the problem, never read past the file', (t) => {
  const started = performance.now();
  const dir = tempDir('st');
  const goodFile = path.join(dir, 'good.safetensors');
  writeSafetensors(goodFile, {
    'model.a.weight': { dtype: 'F32', shape: [3, 4], data: Array.from({ length: 12 }, (_, i) => i / 7) },
    'model.b.weight': { dtype: 'F16', shape: [6], data: [1, -2, 3, 0.5, 0.25, 8] },
    'model.c.bias': { dtype: 'BF16', shape: [2, 2], data: [1, 2, 3, 4] },
    'model.d.ids': { dtype: 'I64', shape: [2], data: new Uint8Array(16) },
    'model.e.empty': { dtype: 'F32', shape: [0, 5], data: new Uint8Array(0) },
  }, { format: 'pt' });
  const good = fs.readFileSync(goodFile);
  assertConsistent(readSafetensorsHeader(goodFile), good.length, 'the undamaged file');

  const r = rng(SEED);
  const tally = new Tally();
  const failures = new Failures();
  const file = path.join(dir, 'case.safetensors');
  const base = process.memoryUsage().arrayBuffers;
  for (let i = 0; i < CASES; i++) {
    const { bytes, tag, refuse } = damage(r, good);
    fs.writeFileSync(file, bytes);
    const what = `case ${i} (${tag}, seed ${SEED})`;
    failures.run(what, () => {
      let header: SafetensorsFile | undefined;
      const outcome = expectClear(() => (header = readSafetensorsHeader(file)), file, what, ['ModelFolderError']);
      if (header) assertConsistent(header, bytes.length, what);
      else if (refuse) {
        const msg = readError(file);
        assert.match(msg, refuse, `${what}: refused for another reason: ${msg.slice(0, 300)}`);
      }
      checkMemory(base, what);
      tally.add(`${tag} → ${outcome === 'ok' ? 'read' : 'refused'}`);
    }) || tally.add(`${tag} → FAILED`);
  }
  // Not a file at all: a folder, a missing path, an empty file.
  for (const [tag, make] of [
    ['a folder', () => fs.mkdirSync(file)],
    ['missing', () => undefined],
    ['empty', () => fs.writeFileSync(file, '')],
  ] as const) {
    fs.rmSync(file, { recursive: true, force: true });
    make();
    failures.run(tag, () => {
      assert.notEqual(expectClear(() => readSafetensorsHeader(file), file, tag, ['ModelFolderError']), 'ok', tag);
      tally.add(`${tag} → refused`);
    }) || tally.add(`${tag} → FAILED`);
  }
  report(t, 'safetensors headers', tally, started);
  failures.check();
});

const CFG: ModelConfig = {
  architecture: 'qwen2', vocabSize: 64, hiddenSize: 16, numLayers: 2, numHeads: 2, numKvHeads: 1, headDim: 8,
  intermediateSize: 24, rmsNormEps: 1e-6, ropeTheta: 10000, attentionBias: true, tieWordEmbeddings: true, maxPositions: 128, eosTokenId: [1],
};
const SPEC: LoraSpec = { rank: 2, alpha: 4, targets: ['q_proj', 'v_proj', 'down_proj'] };
const BASE = 'fuzz-base';

/** Junk for adapter_config.json: whole files and single fields. */
function badAdapterConfig(r: Rng, good: Record<string, unknown>): { text: string | Buffer; tag: string } {
  switch (r.int(6)) {
    case 0: return { text: r.pick(['', 'null', '0', '"LORA"', '[]', 'true', '{', deepJson(100_000), deepJson(3000, '{"peft_type":"LORA"}')]), tag: 'config not an object' };
    case 1: return { text: r.bytes(1 + r.int(200)), tag: 'config random bytes' };
    case 2: {
      const b = Buffer.from(JSON.stringify(good));
      b[2 + r.int(b.length - 4)] = r.pick([0xff, 0xc3, 0x80]);
      return { text: b, tag: 'config invalid UTF-8' };
    }
    case 3: {
      const j = structuredClone(good);
      const k = r.pick(['peft_type', 'task_type', 'r', 'lora_alpha', 'target_modules', 'bias', 'use_dora', 'rank_pattern', 'layers_to_transform', 'base_model_name_or_path']);
      j[k] = wrongTyped(r, j[k]);
      return { text: stringify(j), tag: `config ${k} wrong type` };
    }
    case 4: {
      const j = structuredClone(good);
      const k = r.pick(['r', 'lora_alpha']);
      j[k] = r.pick([...NASTY_NUMBERS, 2 ** 40]);
      return { text: stringify(j), tag: `config ${k} value` };
    }
    default: {
      const j = structuredClone(good);
      j.target_modules = r.pick<unknown>([[], ['q_proj', 'q_proj'], ['lm_head'], ['Q_PROJ'], ['q_proj', null], ['constructor'], '.*proj', Array(1000).fill('v_proj'), [deepJson(2000)]]);
      return { text: stringify(j), tag: 'config target_modules' };
    }
  }
}

test('fuzz: damaged adapter folders and index are refused with the file and the problem; listing never throws', (t) => {
  const started = performance.now();
  const root = tempDir('adapters');
  const pristine = path.join(root, 'pristine');
  const store0 = new AdapterStore(pristine);
  assert.equal(store0.write(initAdapter(CFG, SPEC, BASE, 3), CFG, { parent: '0' }), 1);
  const goodWeights = fs.readFileSync(path.join(store0.dir(1), ADAPTER_WEIGHTS));
  const goodConfig = JSON.parse(fs.readFileSync(path.join(store0.dir(1), ADAPTER_CONFIG), 'utf8'));
  const goodIndex = JSON.parse(fs.readFileSync(store0.indexFile, 'utf8'));

  const r = rng(SEED + 1);
  const tally = new Tally();
  const failures = new Failures();
  const base = process.memoryUsage().arrayBuffers;
  for (let i = 0; i < CASES; i++) {
    const caseRoot = path.join(root, `c${i}`);
    fs.cpSync(pristine, caseRoot, { recursive: true });
    const store = new AdapterStore(caseRoot);
    const dir = store.dir(1);
    const weights = path.join(dir, ADAPTER_WEIGHTS);
    // The copy has new mtimes: stamp its index entry with them, so the index is believed (as it is
    // for files that did not change) and its recorded sha256 is checked.
    const stamp = (f: string) => {
      const st = fs.statSync(f);
      return [st.size, st.mtimeMs];
    };
    const believed = structuredClone(goodIndex);
    believed.versions['1'].weights = stamp(weights);
    believed.versions['1'].config = stamp(path.join(dir, ADAPTER_CONFIG));
    fs.writeFileSync(store.indexFile, JSON.stringify(believed));
    let tag: string;
    let mustFail = true;
    switch (r.int(8)) {
      case 0: case 1: {
        const d = damage(r, goodWeights);
        fs.writeFileSync(weights, d.bytes);
        tag = `weights ${d.tag}`;
        mustFail = false; // e.g. trailing bytes or metadata junk can still be a valid adapter
        break;
      }
      case 2: {
        // A value that is not finite, written over a float of some tensor (F32 data, 4-byte aligned).
        const hl = Number(goodWeights.readBigUInt64LE(0));
        const b = Buffer.from(goodWeights);
        const at = 8 + hl + 4 * r.int((b.length - 8 - hl) / 4);
        b.writeFloatLE(r.pick([NaN, Infinity, -Infinity]), at);
        fs.writeFileSync(weights, b);
        tag = 'weights non-finite value';
        break;
      }
      case 3: {
        const c = badAdapterConfig(r, goodConfig);
        fs.writeFileSync(path.join(dir, ADAPTER_CONFIG), c.text);
        tag = c.tag;
        mustFail = false; // duplicate target names, say, still describe this adapter
        break;
      }
      case 4: {
        const victim = r.pick([ADAPTER_WEIGHTS, ADAPTER_CONFIG]);
        fs.rmSync(path.join(dir, victim));
        if (r.chance(0.5)) fs.mkdirSync(path.join(dir, victim));
        tag = `${victim} missing or a folder`;
        break;
      }
      case 5: {
        // Tensor bytes changed under the same size and mtime (a disk fault): the recorded sha256 catches it.
        const b = fs.readFileSync(weights);
        b[b.length - 1 - r.int(64)] ^= 1 + r.int(255);
        fs.writeFileSync(weights, b);
        believed.versions['1'].weights = stamp(weights); // as if the mtime had not moved
        fs.writeFileSync(store.indexFile, JSON.stringify(believed));
        tag = 'weights changed under the same stamp';
        break;
      }
      default: {
        // Same files, junk index entry (its stamps kept, so the entry is believed) or junk index.
        const idx = structuredClone(believed);
        const e = idx.versions['1'];
        if (r.chance(0.3)) {
          fs.writeFileSync(store.indexFile, r.chance(0.5) ? r.bytes(r.int(300)) : stringify(junk(r, 2)));
          tag = 'index junk';
        } else {
          const k = r.pick(['sha256', 'problem', 'baseModel', 'valid', 'createdAt', 'parent', 'geometry']);
          e[k] = k === 'sha256' && r.chance(0.3) ? 'f'.repeat(64) : wrongTyped(r, e[k]);
          fs.writeFileSync(store.indexFile, stringify(idx));
          tag = `index ${k}`;
        }
        mustFail = false;
        break;
      }
    }
    const what = `case ${i} (${tag}, seed ${SEED + 1})`;
    const ok = failures.run(what, () => {
      const outcome = expectClear(() => store.load(1, CFG, { baseModel: BASE }), dir, what, ['AdapterError']);
      if (mustFail) assert.notEqual(outcome, 'ok', `${what}: loaded`);
      // Listing reads the index and validates again what changed: it reports, it does not throw.
      let listed: ReturnType<AdapterStore['list']> = [];
      assert.doesNotThrow(() => (listed = store.list(CFG, BASE)), what);
      assert.equal(listed.length, 1, what);
      const v = listed[0];
      assert.equal(typeof v.valid, 'boolean', what);
      if (!v.valid) {
        assert.equal(typeof v.problem, 'string', `${what}: problem ${JSON.stringify(v.problem)}`);
        assert.ok(!SLIP.test(v.problem!), `${what}: unclear problem ${v.problem}`);
      }
      if (outcome !== 'ok') assert.equal(v.valid, false, `${what}: listed as valid after load refused it`);
      checkMemory(base, what);
      tally.add(`${tag.replace(/ (wrong type|value)$/, '')} → ${outcome === 'ok' ? 'loaded' : 'refused'}`);
    });
    if (!ok) tally.add(`${tag} → FAILED`);
    fs.rmSync(caseRoot, { recursive: true, force: true });
  }
  report(t, 'adapter folders', tally, started);
  failures.check();
});
