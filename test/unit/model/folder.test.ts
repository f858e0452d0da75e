// Broken model folders fail with an error naming the file and the problem; the safetensors
// reader validates its header; the writer round-trips.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openModelFolder } from '../../../server/model/folder';
import { parseConfig } from '../../../server/model/config';
import { readSafetensorsHeader, writeSafetensors, readTensorF64 } from '../../../server/model/safetensors';
import { smallModel, tempDir } from './fixtures';

/** A safetensors file with a hand-written header and `dataBytes` bytes of payload. */
function rawSafetensors(file: string, header: unknown, dataBytes: number, lenOverride?: bigint) {
  const json = Buffer.from(typeof header === 'string' ? header : JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(lenOverride ?? BigInt(json.length));
  fs.writeFileSync(file, Buffer.concat([len, json, Buffer.alloc(dataBytes)]));
}

test('safetensors writer round-trips F32/BF16/F16 with metadata', () => {
  const f = path.join(tempDir('st'), 'a.safetensors');
  writeSafetensors(f, { a: { dtype: 'F32', shape: [2, 2], data: [1, -2, 3.5, 4] }, b: { dtype: 'BF16', shape: [3], data: [1, 0.5, -3] }, c: { dtype: 'F16', shape: [1], data: [0.25] } }, { format: 'pt' });
  const h = readSafetensorsHeader(f);
  assert.deepEqual(h.metadata, { format: 'pt' });
  assert.deepEqual(Array.from(readTensorF64(h.tensors.get('a')!)), [1, -2, 3.5, 4]);
  assert.deepEqual(Array.from(readTensorF64(h.tensors.get('b')!)), [1, 0.5, -3]);
  assert.deepEqual(Array.from(readTensorF64(h.tensors.get('c')!)), [0.25]);
  assert.equal(h.tensors.get('a')!.offset % 8, 0);
});

test('the safetensors header is validated: bound, JSON, dtype, size, offsets, overlap', () => {
  const dir = tempDir('hdr');
  const f = path.join(dir, 'x.safetensors');
  const cases: [unknown, number, RegExp, bigint?][] = [
    ['{}', 0, /header length .* exceeds/, 1n << 40n],
    ['{"a": ', 0, /not valid JSON/],
    [{ a: { dtype: 'Q4', shape: [1], data_offsets: [0, 1] } }, 1, /unknown dtype "Q4"/],
    [{ a: { dtype: 'F32', shape: [2, 2], data_offsets: [0, 12] } }, 12, /\[2,2\] × F32 is 16 bytes but data_offsets span 12/],
    [{ a: { dtype: 'F32', shape: [4], data_offsets: [0, 16] } }, 8, /truncated weights/],
    [{ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, 12, /overlap/],
    [{ a: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, 4, /bad shape/],
  ];
  for (const [header, bytes, re, len] of cases) {
    rawSafetensors(f, header, bytes, len);
    assert.throws(() => readSafetensorsHeader(f), (e: Error) => re.test(e.message) && e.message.startsWith(f), `${JSON.stringify(header)} → ${re}`);
  }
  fs.writeFileSync(f, Buffer.alloc(3));
  assert.throws(() => readSafetensorsHeader(f), /truncated: 3 bytes/);
});

test('every broken model folder fails with the file and the problem', () => {
  const broken: [string, (dir: string) => void, RegExp][] = [
    ['missing config', (d) => fs.rmSync(path.join(d, 'config.json')), /config\.json: cannot read \(ENOENT\)/],
    ['bad JSON config', (d) => fs.writeFileSync(path.join(d, 'config.json'), '{"hidden_size": 3,'), /config\.json: not valid JSON/],
    ['unknown architecture', (d) => edit(d, (c) => ({ ...c, architectures: ['GPT2LMHeadModel'] })), /config\.json: unknown architecture GPT2LMHeadModel/],
    ['missing weights', (d) => fs.rmSync(path.join(d, 'model.safetensors')), /model\.safetensors: missing/],
    ['truncated weights', (d) => fs.truncateSync(path.join(d, 'model.safetensors'), fs.statSync(path.join(d, 'model.safetensors')).size - 10), /model\.safetensors: tensor .* \(truncated weights\?\)/],
    ['wrong shape', (d) => edit(d, (c) => ({ ...c, intermediate_size: 40 })), /model\.safetensors: tensor model\.layers\.0\.mlp\.gate_proj\.weight has shape \[48,32\] but config\.json implies \[40,32\]/],
    ['missing tokenizer', (d) => fs.rmSync(path.join(d, 'tokenizer.json')), /tokenizer\.json: missing/],
    ['bad heads', (d) => edit(d, (c) => ({ ...c, num_key_value_heads: 3 })), /not a multiple of num_key_value_heads 3/],
    ['not a folder', (d) => fs.rmSync(d, { recursive: true }), /is not a folder/],
  ];
  for (const [what, breakIt, re] of broken) {
    const { dir } = smallModel('broken', {}, { tokenizer: false });
    fs.writeFileSync(path.join(dir, 'tokenizer.json'), '{}');
    assert.doesNotThrow(() => openModelFolder(dir));
    breakIt(dir);
    assert.throws(() => openModelFolder(dir), re, what);
  }
});

test('sharded folders: a tensor listed in the index but absent from its shard is named', () => {
  const { dir } = smallModel('shard', {}, { shards: 2, tokenizer: false });
  const idx = path.join(dir, 'model.safetensors.index.json');
  const j = JSON.parse(fs.readFileSync(idx, 'utf8'));
  j.weight_map['model.norm.weight'] = 'model-00001-of-00002.safetensors';
  fs.writeFileSync(idx, JSON.stringify(j));
  assert.throws(() => openModelFolder(dir), /model-00001-of-00002\.safetensors: tensor model\.norm\.weight listed in model\.safetensors\.index\.json is missing/);
});

test('config parsing reads Qwen2 and Llama conventions', () => {
  const q = parseConfig({ architectures: ['Qwen2ForCausalLM'], vocab_size: 10, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, num_key_value_heads: 1, intermediate_size: 4, tie_word_embeddings: true, eos_token_id: 5 });
  assert.equal(q.attentionBias, true);
  assert.equal(q.headDim, 4);
  assert.deepEqual(q.eosTokenId, [5]);
  const l = parseConfig({ architectures: ['LlamaForCausalLM'], vocab_size: 10, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 4, eos_token_id: [1, 2] });
  assert.equal(l.attentionBias, false);
  assert.equal(l.numKvHeads, 2);
  assert.equal(l.ropeTheta, 10000);
  assert.throws(() => parseConfig({ architectures: ['LlamaForCausalLM'], vocab_size: 10, hidden_size: 8, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 4, rope_scaling: { rope_type: 'yarn' } }), /rope_scaling .* not supported/);
});

function edit(dir: string, f: (c: Record<string, unknown>) => Record<string, unknown>) {
  const p = path.join(dir, 'config.json');
  fs.writeFileSync(p, JSON.stringify(f(JSON.parse(fs.readFileSync(p, 'utf8')))));
}

test('make-model is deterministic for a seed and differs across seeds', () => {
  const bytes = (seed: number) => {
    const { dir } = smallModel('det', {}, { seed, tokenizer: false });
    return fs.readFileSync(path.join(dir, 'model.safetensors'));
  };
  assert.ok(bytes(1).equals(bytes(1)));
  assert.ok(!bytes(1).equals(bytes(2)));
});
