// Every gradient rule against float64 central differences, run in onnxruntime-node: each case
// builds a small graph on random inputs, reduces it to Σ out·R (R random, so dy is not uniform)
// and compares the generated backward graph with (L(x+h) − L(x−h)) / 2h.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { Graph } from '../../../server/graph/builder';
import type { Value } from '../../../server/graph/builder';
import { gradcheck, randomArray, weightedSum } from '../../../server/autodiff/gradcheck';
import { gradients, differentiableOps } from '../../../server/autodiff/gradients';

type Case = {
  /** Float inputs: name → shape (positive: values in (0.5, 2) for Log/Sqrt/Pow). */
  inputs: Record<string, number[]>;
  positive?: boolean;
  /** Finite-difference step and tolerance when not the float64 defaults (1e-6, 1e-4). */
  h?: number;
  tol?: number;
  build: (g: Graph, v: Record<string, Value>) => Value;
  /** Extra non-differentiated feeds (indices). */
  extra?: () => Record<string, ort.Tensor>;
  extraInputs?: (g: Graph) => void;
};

const i64 = (vals: number[], dims: number[]) => new ort.Tensor('int64', BigInt64Array.from(vals.map(BigInt)), dims);

const CASES: Record<string, Case> = {
  'Add broadcast [2,3,4]+[3,1]': { inputs: { a: [2, 3, 4], b: [3, 1] }, build: (g, { a, b }) => g.add(a, b) },
  'Sub broadcast [4]-[2,1,4]': { inputs: { a: [4], b: [2, 1, 4] }, build: (g, { a, b }) => g.sub(a, b) },
  'Mul broadcast [2,3]*[1,3]': { inputs: { a: [2, 3], b: [1, 3] }, build: (g, { a, b }) => g.mul(a, b) },
  'Div broadcast [2,3]/[2,1]': { inputs: { a: [2, 3], b: [2, 1] }, positive: true, build: (g, { a, b }) => g.div(a, b) },
  'Pow constant exponent': { inputs: { x: [2, 3] }, positive: true, build: (g, { x }) => g.pow(x, g.scalar(2.5, x)) },
  'MatMul batched broadcast [2,3,4,5]@[4,5,2]': { inputs: { a: [2, 1, 4, 5], b: [3, 5, 2] }, build: (g, { a, b }) => g.matmul(a, b) },
  'MatMul activation @ weight [2,3,4]@[4,5]': { inputs: { a: [2, 3, 4], b: [4, 5] }, build: (g, { a, b }) => g.matmul(a, b) },
  'MatMul x @ Wᵀ (Linear; the backward reuses W)': { inputs: { a: [2, 3, 4], w: [5, 4] }, build: (g, { a, w }) => g.matmul(a, g.transpose(w, [1, 0])) },
  'MatMul 1-D operands': { inputs: { a: [4], b: [4, 3], c: [3] }, build: (g, { a, b, c }) => g.matmul(g.matmul(a, b), c) },
  'Gemm transA transB alpha beta': {
    inputs: { a: [4, 3], b: [5, 4], c: [5] },
    build: (g, { a, b, c }) => g.op('Gemm', [a, b, c], { transA: 1, transB: 1, alpha: { float: 0.7 }, beta: { float: 1.3 } }, { out: [{ dtype: 'float64', shape: [3, 5] }] })[0],
  },
  Neg: { inputs: { x: [3, 2] }, build: (g, { x }) => g.neg(x) },
  Identity: { inputs: { x: [3, 2] }, build: (g, { x }) => g.identity(x) },
  Exp: { inputs: { x: [3, 2] }, build: (g, { x }) => g.exp(x) },
  Log: { inputs: { x: [3, 2] }, positive: true, build: (g, { x }) => g.log(x) },
  Sigmoid: { inputs: { x: [3, 2] }, build: (g, { x }) => g.sigmoid(x) },
  Tanh: { inputs: { x: [3, 2] }, build: (g, { x }) => g.op('Tanh', [x])[0] },
  Sqrt: { inputs: { x: [3, 2] }, positive: true, build: (g, { x }) => g.sqrt(x) },
  Reciprocal: { inputs: { x: [3, 2] }, positive: true, build: (g, { x }) => g.reciprocal(x) },
  Relu: { inputs: { x: [3, 4] }, build: (g, { x }) => g.op('Relu', [x])[0] },
  'Softmax axis -1': { inputs: { x: [2, 3, 5] }, build: (g, { x }) => g.softmax(x, -1) },
  'Softmax axis 1': { inputs: { x: [2, 3, 5] }, build: (g, { x }) => g.softmax(x, 1) },
  LogSoftmax: { inputs: { x: [2, 6] }, build: (g, { x }) => g.logSoftmax(x, -1) },
  'ReduceSum keepdims': { inputs: { x: [2, 3, 4] }, build: (g, { x }) => g.reduceSum(x, [0, 2], true) },
  'ReduceSum dropped axis': { inputs: { x: [2, 3, 4] }, build: (g, { x }) => g.reduceSum(x, [-1], false) },
  'ReduceMean (RMSNorm style)': { inputs: { x: [2, 3, 4] }, build: (g, { x }) => g.div(x, g.sqrt(g.add(g.reduceMean(g.mul(x, x), [-1]), g.scalar(1e-6, x)))) },
  'ReduceMean dropped axes': { inputs: { x: [2, 3, 4] }, build: (g, { x }) => g.reduceMean(x, [0, 1], false) },
  ReduceMax: { inputs: { x: [3, 5] }, build: (g, { x }) => g.reduceMax(x, [1], false) },
  Reshape: { inputs: { x: [2, 3, 4] }, build: (g, { x }) => g.mul(g.reshape(x, [6, 4]), g.reshape(x, [6, -1])) },
  Transpose: { inputs: { x: [2, 3, 4] }, build: (g, { x }) => g.transpose(x, [2, 0, 1]) },
  'Unsqueeze/Squeeze': { inputs: { x: [3, 4] }, build: (g, { x }) => g.squeeze(g.mul(g.unsqueeze(x, [0, -1]), g.scalar(2, x)), [0]) },
  'Split (one part unused)': { inputs: { x: [2, 7] }, build: (g, { x }) => g.concat(g.split(x, [3, 2, 2], 1).filter((_, i) => i !== 1), 1) },
  Concat: { inputs: { a: [2, 3], b: [2, 1] }, build: (g, { a, b }) => g.concat([a, b, a], 1) },
  'Slice (rotate-half style)': {
    inputs: { x: [2, 3, 8] },
    build: (g, { x }) => g.concat([g.neg(g.slice(x, [4], [8], [-1])), g.slice(x, [0], [4], [-1])], -1),
  },
  'Slice clamped ends': { inputs: { x: [5, 3] }, build: (g, { x }) => g.slice(x, [1, -2], [1000, 3], [0, 1]) },
  Expand: { inputs: { x: [3, 1] }, build: (g, { x }) => g.expand(x, g.constant([2, 3, 4])) },
  'Gather into a trainable table (repeated ids)': {
    inputs: { table: [5, 3] },
    extraInputs: (g) => g.input('ids', 'int64', [2, 3]),
    extra: () => ({ ids: i64([1, 4, 1, 0, 1, 3], [2, 3]) }),
    build: (g, { table }) => g.gather(table, g.values.get('ids')!),
  },
  'GatherElements (target pick)': {
    inputs: { logits: [2, 3, 6] },
    extraInputs: (g) => g.input('tgt', 'int64', [2, 3, 1]),
    extra: () => ({ tgt: i64([5, 0, 2, 2, 3, 1], [2, 3, 1]) }),
    build: (g, { logits }) => g.gatherElements(g.logSoftmax(logits), g.values.get('tgt')!, 2),
  },
  'GatherElements (general indices: scatter-add with repeats)': {
    inputs: { x: [3, 4] },
    extraInputs: (g) => g.input('gi', 'int64', [2, 4]),
    extra: () => ({ gi: i64([2, 0, 1, 1, 2, 2, 1, 0], [2, 4]) }),
    build: (g, { x }) => g.gatherElements(x, g.values.get('gi')!, 0),
  },
  'Where (mask)': {
    inputs: { a: [3, 4], b: [4] },
    build: (g, { a, b }) => g.where(g.constant([1, 0, 0, 1, 0, 1, 1, 0, 1, 1, 0, 0], 'bool', [3, 4]), a, b),
  },
  // a float32 round trip limits the finite difference itself, hence the larger step and tolerance
  'Cast (through float32)': { inputs: { x: [3, 2] }, h: 1e-3, tol: 2e-3, build: (g, { x }) => g.mul(g.cast(g.cast(x, 'float32'), 'float64'), x) },
  'Cast (float64 to float64)': { inputs: { x: [3, 2] }, build: (g, { x }) => g.mul(g.op('Cast', [x], { to: 11 })[0], x) },
  'Min / Max': { inputs: { a: [3, 4], b: [4] }, build: (g, { a, b }) => g.add(g.min(a, b), g.max(a, g.scalar(0.1, a))) },
  'Clip (PPO)': { inputs: { x: [3, 4] }, build: (g, { x }) => g.op('Clip', [x, g.scalar(-0.5, x), g.scalar(0.4, x)])[0] },
  'SiLU composite x·σ(x) (float64 needs basic optimisation)': { inputs: { x: [2, 5] }, build: (g, { x }) => g.mul(x, g.sigmoid(x)) },
  'shared value (several consumers)': { inputs: { x: [2, 3] }, build: (g, { x }) => g.mul(g.exp(x), g.add(x, g.sigmoid(x))) },
};

for (const [name, c] of Object.entries(CASES)) {
  test(`gradcheck ${name}`, async () => {
    const g = new Graph('gc');
    const vals: Record<string, Value> = {};
    const inputs = Object.entries(c.inputs).map(([n, shape], k) => {
      const v = g.input(n, 'float64', shape);
      vals[n] = v;
      const size = shape.reduce((a, b) => a * b, 1);
      return { value: v, data: c.positive ? randomArray(size, 11 + k, 0.5, 2) : randomArray(size, 11 + k) };
    });
    c.extraInputs?.(g);
    const out = c.build(g, vals);
    const res = await gradcheck(g, weightedSum(g, out), inputs, c.extra?.() ?? {}, { h: c.h });
    assert.ok(res.maxRelErr <= (c.tol ?? 1e-4), `relative errors ${JSON.stringify(res.relErr)}`);
  });
}

test('the rule table covers the ops the issue lists', () => {
  const ops = differentiableOps();
  for (const op of ['Add', 'Sub', 'Mul', 'Div', 'MatMul', 'Gemm', 'Neg', 'Sigmoid', 'Sqrt', 'Reciprocal', 'Pow', 'Exp', 'Log', 'Softmax', 'LogSoftmax',
    'ReduceMean', 'ReduceSum', 'ReduceMax', 'Reshape', 'Transpose', 'Unsqueeze', 'Squeeze', 'Split', 'Slice', 'Concat', 'Expand', 'Gather',
    'GatherElements', 'Where', 'Cast', 'Identity', 'Min', 'Max', 'Clip'])
    assert.ok(ops.includes(op), op);
});

test('symbolic dims: ReduceMean, Slice and Concat gradients use run-time shapes', async () => {
  const g = new Graph('sym');
  const x = g.input('x', 'float64', ['T', 4]);
  const w = g.input('w', 'float64', [4, 3]);
  const h = g.matmul(x, w); // [T,3]
  const shifted = g.concat([g.slice(h, [1], [1e9], [0]), g.slice(h, [0], [1], [0])], 0); // roll by one row
  const loss = g.reduceMean(g.mul(shifted, h), [0, 1], false);
  g.output(loss, 'loss');
  const grads = gradients(g, loss, [w]);
  g.output(grads.get('w')!, 'dw');
  const session = await ort.InferenceSession.create(g.encode());
  for (const T of [3, 6]) {
    const xs = randomArray(T * 4, T), ws = randomArray(12, 99);
    const run = async (wd: Float64Array) =>
      session.run({ x: new ort.Tensor('float64', xs, [T, 4]), w: new ort.Tensor('float64', wd, [4, 3]) });
    const dw = (await run(ws)).dw.data as Float64Array;
    for (const k of [0, 5, 11]) {
      const up = ws.slice(); up[k] += 1e-6;
      const dn = ws.slice(); dn[k] -= 1e-6;
      const num = (Number((await run(up)).loss.data[0]) - Number((await run(dn)).loss.data[0])) / 2e-6;
      assert.ok(Math.abs(num - dw[k]) <= 1e-6 * Math.max(1, Math.abs(num)), `T=${T} k=${k}: ${dw[k]} vs ${num}`);
    }
  }
  await session.release();
});

test('frozen weights cost nothing: only nodes on a path to a trainable value are differentiated', () => {
  const g = new Graph('frozen');
  const x = g.input('x', 'float64', [2, 4]);
  const frozen = g.weight('frozen', 'float64', [4, 4], new Uint8Array(16 * 8));
  const lora = g.input('lora', 'float64', [4, 4]);
  const base = g.sigmoid(g.matmul(g.exp(x), frozen)); // no trainable value upstream: never visited
  const loss = g.reduceSum(g.add(base, g.matmul(base, lora)), [0, 1], false);
  const before = g.nodes.length;
  gradients(g, loss, [lora]);
  const backward = g.nodes.slice(before).map((n) => n.opType);
  assert.ok(!backward.includes('Exp') && !backward.includes('Sigmoid'), backward.join(','));
  assert.ok(backward.filter((o) => o === 'MatMul').length === 1, `one MatMul for d lora, got ${backward.join(',')}`);
});

test('an op without a rule is named in the error', () => {
  const g = new Graph('norule');
  const x = g.input('x', 'float64', [3]);
  const y = g.op('Erf', [x])[0];
  assert.throws(() => gradients(g, g.reduceSum(y, [0], false), [x]), /no gradient rule for ONNX op 'Erf' \(node 'Erf_0'\)/);
});

test('a loss that does not depend on w gives zeros for w', async () => {
  const g = new Graph('indep');
  const x = g.input('x', 'float64', [3]);
  const w = g.input('w', 'float64', [2]);
  const loss = g.reduceSum(g.exp(x), [0], false);
  g.output(gradients(g, loss, [w]).get('w')!, 'dw');
  const s = await ort.InferenceSession.create(g.encode());
  const out = await s.run({ x: new ort.Tensor('float64', new Float64Array(3), [3]), w: new ort.Tensor('float64', new Float64Array(2), [2]) });
  assert.deepEqual(Array.from(out.dw.data as Float64Array), [0, 0]);
  await s.release();
});

test('un-broadcasting an input whose dim is unknown at build time finds the axes at run time', async () => {
  const g = new Graph('dynbcast');
  const x = g.input('x', 'float64', ['?', 3]); // fed as [1, 3]: broadcast against y's 4 rows
  const y = g.input('y', 'float64', [4, 3]);
  const loss = g.reduceSum(g.mul(g.mul(x, y), y), [0, 1], false);
  g.output(loss, 'loss');
  g.output(gradients(g, loss, [x, y]).get('x')!, 'dx');
  const s = await ort.InferenceSession.create(g.encode());
  const ys = randomArray(12, 4);
  for (const rows of [1, 4]) {
    const xs = randomArray(rows * 3, 5);
    const out = await s.run({ x: new ort.Tensor('float64', xs, [rows, 3]), y: new ort.Tensor('float64', ys, [4, 3]) });
    const dx = out.dx.data as Float64Array;
    assert.equal(dx.length, rows * 3);
    for (let j = 0; j < 3; j++)
      for (let i = 0; i < rows; i++) {
        // d/dx Σ x·y² = Σ over the rows x was broadcast to of y²
        let want = 0;
        for (let r = 0; r < 4; r++) if (rows === 4 ? r === i : true) want += ys[r * 3 + j] ** 2;
        assert.ok(Math.abs(dx[i * 3 + j] - want) < 1e-12, `rows=${rows} [${i},${j}]: ${dx[i * 3 + j]} vs ${want}`);
      }
  }
  await s.release();
});
