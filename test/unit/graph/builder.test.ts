// The ONNX writer and builder produce models that onnxruntime-node loads and runs correctly,
// and that an independent protobuf decoder (onnx-proto) reads back field for field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { Graph } from '../../../server/graph/builder';

test('a small graph runs in onnxruntime and matches plain arithmetic', async () => {
  const g = new Graph('small');
  const x = g.input('x', 'float32', ['B', 3]);
  const w = g.weight('w', 'float32', [3, 2], new Uint8Array(Float32Array.from([1, 2, 3, 4, 5, 6]).buffer));
  const y = g.scope('block', () => g.sigmoid(g.add(g.matmul(x, w), g.scalar(-1, x))));
  assert.deepEqual(y.shape, ['B', 2]);
  const m = g.reduceMean(g.reshape(y, [-1]), [0], false);
  assert.deepEqual(m.shape, []);
  g.output(y, 'y');
  g.output(m, 'm');
  const session = await ort.InferenceSession.create(g.encode());
  const xs = [0.5, -1, 2, 0, 1, -0.25];
  const out = await session.run({ x: new ort.Tensor('float32', Float32Array.from(xs), [2, 3]) });
  const W = [[1, 2], [3, 4], [5, 6]];
  const want: number[] = [];
  for (let b = 0; b < 2; b++)
    for (let j = 0; j < 2; j++) {
      let s = -1;
      for (let k = 0; k < 3; k++) s += xs[b * 3 + k] * W[k][j];
      want.push(1 / (1 + Math.exp(-s)));
    }
  const got = Array.from(out.y.data as Float32Array);
  got.forEach((v, i) => assert.ok(Math.abs(v - want[i]) < 1e-6, `y[${i}] ${v} vs ${want[i]}`));
  assert.ok(Math.abs((out.m.data as Float32Array)[0] - want.reduce((a, b) => a + b) / 4) < 1e-6);
  await session.release();
});

test('negative ints, float attributes and symbolic dims survive an independent decode', () => {
  const g = new Graph('decode');
  const x = g.input('x', 'float32', ['T', 4]);
  const y = g.op('LeakyRelu', [x], { alpha: { float: 0.25 } }, { out: [{ dtype: 'float32', shape: ['T', 4] }] })[0];
  g.output(g.transpose(g.unsqueeze(y, [-1]), [2, 0, 1]), 'out');
  const model = onnx.ModelProto.decode(g.encode());
  assert.equal(Number(model.irVersion), 10);
  assert.equal(Number(model.opsetImport[0].version), 21);
  const graph = model.graph!;
  assert.equal(graph.input![0].type!.tensorType!.shape!.dim![0].dimParam, 'T');
  assert.equal(graph.node![0].attribute![0].f, 0.25);
  const axes = graph.initializer!.find((t) => t.name!.includes('const'))!;
  assert.equal(new DataView(axes.rawData!.buffer, axes.rawData!.byteOffset).getBigInt64(0, true), -1n);
  assert.deepEqual(graph.node!.map((n) => n.opType), ['LeakyRelu', 'Unsqueeze', 'Transpose', 'Identity']);
});

test('building fails early with a message naming the op and shapes', () => {
  const g = new Graph('bad');
  const a = g.input('a', 'float32', [2, 3]);
  const b = g.input('b', 'float32', [4, 5]);
  assert.throws(() => g.matmul(a, b), /MatMul\(a\[2,3\], b\[4,5\]\): inner dims differ: 3 vs 4/);
  assert.throws(() => g.reshape(a, [4, 2]), /cannot reshape 6 elements/);
});
