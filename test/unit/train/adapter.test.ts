// PEFT-format adapters: init as PEFT does, save/load round trip, a hand-built file written from
// PEFT's documented layout (independent of our writer) loads, versions are atomic and ordered,
// and every kind of broken adapter is refused with a message naming the problem.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { initAdapter, saveAdapter, loadAdapter, ADAPTER_CONFIG, ADAPTER_WEIGHTS, type Adapter } from '../../../server/train/adapter';
import { AdapterStore } from '../../../server/train/adapterStore';
import { loraTensors, type LoraSpec } from '../../../server/model/lora';
import { MICRO, tempDir } from './fixtures';

const cfg = MICRO;
const SPEC: LoraSpec = { rank: 4, alpha: 16, targets: ['q_proj', 'v_proj', 'down_proj'] };

test('init follows PEFT: A ~ U(−1/√in, 1/√in) and not all equal, B = 0; deterministic in the seed', () => {
  const a = initAdapter(cfg, SPEC, 'micro', 1);
  for (const t of loraTensors(cfg, SPEC)) {
    const v = a.tensors.get(t.name)!;
    assert.equal(v.length, t.shape[0] * t.shape[1]);
    if (t.which === 'B') assert.ok(v.every((x) => x === 0), t.name);
    else {
      const bound = 1 / Math.sqrt(t.shape[1]);
      assert.ok(v.every((x) => Math.abs(x) <= bound), t.name);
      assert.ok(Math.max(...v) > bound * 0.8 && Math.min(...v) < -bound * 0.8, `${t.name} spans the range`);
    }
  }
  const b = initAdapter(cfg, SPEC, 'micro', 1), c = initAdapter(cfg, SPEC, 'micro', 2);
  const k = 'base_model.model.model.layers.1.mlp.down_proj.lora_A.weight';
  assert.deepEqual(a.tensors.get(k), b.tensors.get(k));
  assert.notDeepEqual(a.tensors.get(k), c.tensors.get(k));
});

test('save → load round trip keeps every value and writes the PEFT config fields', () => {
  const a = initAdapter(cfg, SPEC, 'Qwen/Qwen2.5-Coder-0.5B', 3);
  for (const v of a.tensors.values()) for (let i = 0; i < v.length; i++) v[i] += i * 1e-3;
  const dir = path.join(tempDir('rt'), 'v0001');
  saveAdapter(dir, a, cfg);
  const conf = JSON.parse(fs.readFileSync(path.join(dir, ADAPTER_CONFIG), 'utf8'));
  assert.equal(conf.peft_type, 'LORA');
  assert.equal(conf.task_type, 'CAUSAL_LM');
  assert.equal(conf.r, 4);
  assert.equal(conf.lora_alpha, 16);
  assert.deepEqual(conf.target_modules, ['q_proj', 'v_proj', 'down_proj']);
  assert.equal(conf.base_model_name_or_path, 'Qwen/Qwen2.5-Coder-0.5B');
  const b = loadAdapter(dir, cfg, { baseModel: 'Qwen/Qwen2.5-Coder-0.5B' });
  assert.deepEqual(b.spec, SPEC);
  for (const [k, v] of a.tensors) assert.deepEqual(b.tensors.get(k), v, k);
  assert.throws(() => saveAdapter(dir, a, cfg), /already exists/);
  assert.throws(() => loadAdapter(dir, cfg, { baseModel: 'other' }), /trained on base model 'Qwen\/Qwen2.5-Coder-0.5B', not 'other'/);
});

/** Writes a PEFT adapter byte by byte from the documented safetensors layout (8-byte LE header length, JSON, data). */
function handBuiltPeft(dir: string, spec: LoraSpec, opts: { dtype?: 'F32' | 'BF16'; shapeOf?: (name: string, shape: number[]) => number[]; value?: (name: string, i: number) => number; config?: Record<string, unknown> } = {}): Map<string, number[]> {
  fs.mkdirSync(dir, { recursive: true });
  const dtype = opts.dtype ?? 'F32';
  const header: Record<string, unknown> = { __metadata__: { format: 'pt' } };
  const chunks: Buffer[] = [];
  const values = new Map<string, number[]>();
  let off = 0;
  // PEFT's state dict order is not ours: write B before A, layers descending
  for (const t of [...loraTensors(cfg, spec)].reverse()) {
    const shape = opts.shapeOf ? opts.shapeOf(t.name, t.shape) : t.shape;
    const n = shape[0] * shape[1];
    const vals = Array.from({ length: n }, (_, i) => (opts.value ? opts.value(t.name, i) : Math.sin(i + t.layer * 7 + (t.which === 'A' ? 0 : 0.5))));
    const buf = Buffer.alloc(n * (dtype === 'F32' ? 4 : 2));
    vals.forEach((v, i) => {
      if (dtype === 'F32') buf.writeFloatLE(v, i * 4);
      else {
        const f = Buffer.alloc(4);
        f.writeFloatLE(v);
        buf.writeUInt16LE(f.readUInt32LE() >>> 16, i * 2); // truncating BF16
      }
    });
    values.set(t.name, vals.map((v) => (dtype === 'F32' ? Math.fround(v) : v)));
    header[t.name] = { dtype, shape, data_offsets: [off, off + buf.length] };
    off += buf.length;
    chunks.push(buf);
  }
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  fs.writeFileSync(path.join(dir, ADAPTER_WEIGHTS), Buffer.concat([len, json, ...chunks]));
  // as PEFT 0.13 writes it (extra fields included)
  const config = {
    alpha_pattern: {}, auto_mapping: null, base_model_name_or_path: 'micro', bias: 'none', fan_in_fan_out: false, inference_mode: true,
    init_lora_weights: true, layer_replication: null, layers_pattern: null, layers_to_transform: null, loftq_config: {}, lora_alpha: spec.alpha,
    lora_dropout: 0.05, megatron_config: null, megatron_core: 'megatron.core', modules_to_save: null, peft_type: 'LORA', r: spec.rank,
    rank_pattern: {}, revision: null, target_modules: [...spec.targets].reverse(), task_type: 'CAUSAL_LM', use_dora: false, use_rslora: false,
    ...opts.config,
  };
  fs.writeFileSync(path.join(dir, ADAPTER_CONFIG), JSON.stringify(config, null, 2));
  return values;
}

test('a hand-built PEFT adapter (its own byte layout, key order, BF16) loads with the right values', () => {
  for (const dtype of ['F32', 'BF16'] as const) {
    const dir = tempDir(`peft-${dtype}`);
    const values = handBuiltPeft(dir, SPEC, { dtype });
    const a = loadAdapter(dir, cfg);
    assert.deepEqual(a.spec, SPEC);
    for (const [k, want] of values) {
      const got = a.tensors.get(k)!;
      want.forEach((w, i) => assert.ok(Math.abs(got[i] - w) <= (dtype === 'F32' ? 0 : Math.abs(w) * 2 ** -7), `${k}[${i}] ${got[i]} vs ${w}`));
    }
  }
});

test('broken adapters are refused with a clear error', () => {
  const broken: [string, (dir: string) => void, RegExp][] = [
    ['NaN value', (d) => handBuiltPeft(d, SPEC, { value: (n, i) => (n.includes('layers.1.self_attn.v_proj.lora_B') && i === 3 ? NaN : 0.1) }), /v_proj\.lora_B\.weight holds a non-finite value \(NaN\) at index 3/],
    ['mismatched rank', (d) => handBuiltPeft(d, SPEC, { shapeOf: (n, s) => (n.includes('lora_A') ? [8, s[1]] : [s[0], 8]) }), /shape \[8,32\], expected \[4,32\]/],
    ['rank in config differs from tensors', (d) => handBuiltPeft(d, SPEC, { config: { r: 8 } }), /expected \[8,/],
    ['truncated weights', (d) => {
      handBuiltPeft(d, SPEC);
      const f = path.join(d, ADAPTER_WEIGHTS);
      fs.truncateSync(f, fs.statSync(f).size - 10);
    }, /truncated/],
    ['corrupted header', (d) => {
      handBuiltPeft(d, SPEC);
      const f = path.join(d, ADAPTER_WEIGHTS);
      const b = fs.readFileSync(f);
      b.write('XXXX', 8);
      fs.writeFileSync(f, b);
    }, /not valid JSON/],
    ['missing tensor', (d) => handBuiltPeft(d, { ...SPEC, targets: ['q_proj', 'v_proj'] }, { config: { target_modules: SPEC.targets } }), /down_proj\.lora_A\.weight is missing/],
    ['unexpected tensor', (d) => handBuiltPeft(d, SPEC, { config: { target_modules: ['q_proj', 'v_proj'] } }), /unexpected tensor .*down_proj/],
    ['not LoRA', (d) => handBuiltPeft(d, SPEC, { config: { peft_type: 'IA3' } }), /peft_type is "IA3"/],
    ['DoRA', (d) => handBuiltPeft(d, SPEC, { config: { use_dora: true } }), /use_dora=true is not supported/],
    ['regex target_modules', (d) => handBuiltPeft(d, SPEC, { config: { target_modules: '.*proj' } }), /target_modules must be a non-empty list/],
    ['unknown module', (d) => handBuiltPeft(d, SPEC, { config: { target_modules: ['q_proj', 'lm_head'] } }), /"lm_head" is not one of/],
    ['no config', (d) => {
      handBuiltPeft(d, SPEC);
      fs.rmSync(path.join(d, ADAPTER_CONFIG));
    }, /adapter_config.json: cannot read \(ENOENT\)/],
  ];
  for (const [name, make, msg] of broken) {
    const dir = tempDir('broken');
    make(dir);
    assert.throws(() => loadAdapter(dir, cfg), msg, name);
  }
  // a different model geometry (hidden 48) is a shape mismatch, not a silent load
  const dir = tempDir('geom');
  handBuiltPeft(dir, SPEC);
  assert.throws(() => loadAdapter(dir, { ...cfg, hiddenSize: 48 }), /expected \[4,48\]/);
});

test('versions: v0001, v0002 … in order, never overwritten, no temp folders left behind', () => {
  const root = path.join(tempDir('store'), 'adapters');
  const store = new AdapterStore(root);
  assert.equal(store.latest(), undefined);
  const a: Adapter = initAdapter(cfg, SPEC, 'micro', 4);
  assert.equal(store.write(a, cfg), 1);
  a.tensors.values().next().value![0] = 42;
  assert.equal(store.write(a, cfg), 2);
  assert.deepEqual(fs.readdirSync(root).sort(), ['index.json', 'v0001', 'v0002']);
  assert.equal(store.latest(), 2);
  assert.notEqual(store.load(1, cfg).tensors.values().next().value![0], 42);
  assert.equal(store.load(2, cfg).tensors.values().next().value![0], 42);
  // a NaN adapter is refused before anything is written
  a.tensors.values().next().value![1] = NaN;
  assert.throws(() => store.write(a, cfg), /non-finite/);
  assert.deepEqual(fs.readdirSync(root).sort(), ['index.json', 'v0001', 'v0002']);
});
