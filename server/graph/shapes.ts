// Shape and dtype inference for the ops Hindsight emits, one rule per ONNX op name.
// Dims are numbers or symbolic names ('T', 'past'); a dim that cannot be known is '?'.
// The autodiff relies on ranks and on which dims are 1 (to un-broadcast), so rules must be
// exact about those; ops without a rule need `out` given explicitly to Graph.op().
import type { AttrValue, DType, Dim } from './onnx';

type In = { dtype: DType; shape: Dim[] | undefined; known?: number[] } | undefined;
type Out = { dtype: DType; shape: Dim[] | undefined; known?: number[] };
type Rule = (ins: In[], attrs: Record<string, AttrValue>, n: number) => Out[];

const CODE_DTYPE: Record<number, DType> = { 1: 'float32', 2: 'uint8', 3: 'int8', 6: 'int32', 7: 'int64', 9: 'bool', 10: 'float16', 11: 'float64', 16: 'bfloat16' };

/** Numpy-style broadcast of two shapes; throws on a static mismatch. */
export function broadcastShapes(a: Dim[], b: Dim[]): Dim[] {
  const r = Math.max(a.length, b.length);
  const out: Dim[] = [];
  for (let i = 0; i < r; i++) {
    const x = a[a.length - r + i] ?? 1;
    const y = b[b.length - r + i] ?? 1;
    if (x === y || y === 1) out.push(x);
    else if (x === 1) out.push(y);
    else if (typeof x === 'number' && typeof y === 'number') throw new Error(`cannot broadcast [${a}] with [${b}]`);
    else out.push(typeof x === 'string' && x !== '?' ? x : y);
  }
  return out;
}

const norm = (axis: number, rank: number) => (axis < 0 ? axis + rank : axis);
const numel = (s: Dim[]) => s.reduce<number | undefined>((p, d) => (p !== undefined && typeof d === 'number' ? p * d : undefined), 1);

function elementwise(ins: In[]): Out[] {
  const present = ins.filter((v): v is NonNullable<In> => !!v);
  const shapes = present.map((v) => v.shape);
  const shape = shapes.every((s) => s) ? (shapes as Dim[][]).reduce(broadcastShapes) : undefined;
  return [{ dtype: present[0].dtype, shape }];
}
const same: Rule = (ins) => [{ dtype: ins[0]!.dtype, shape: ins[0]!.shape }];
const compare: Rule = (ins) => [{ ...elementwise(ins)[0], dtype: 'bool' }];

function reduce(ins: In[], attrs: Record<string, AttrValue>): Out[] {
  const x = ins[0]!;
  const keep = (attrs.keepdims ?? 1) === 1;
  if (!x.shape) return [{ dtype: x.dtype, shape: undefined }];
  const axesIn = ins[1]?.known ?? (attrs.axes as number[] | undefined);
  const rank = x.shape.length;
  const axes = new Set((axesIn ?? x.shape.map((_, i) => i)).map((a) => norm(a, rank)));
  const shape = x.shape.flatMap((d, i) => (axes.has(i) ? (keep ? [1] : []) : [d]));
  return [{ dtype: x.dtype, shape }];
}

function matmul(ins: In[]): Out[] {
  const [a, b] = ins as NonNullable<In>[];
  if (!a.shape || !b.shape) return [{ dtype: a.dtype, shape: undefined }];
  const as = a.shape.length === 1 ? [1, a.shape[0]] : a.shape;
  const bs = b.shape.length === 1 ? [b.shape[0], 1] : b.shape;
  const k1 = as[as.length - 1], k2 = bs[bs.length - 2];
  if (typeof k1 === 'number' && typeof k2 === 'number' && k1 !== k2) throw new Error(`inner dims differ: ${k1} vs ${k2}`);
  const batch = broadcastShapes(as.slice(0, -2), bs.slice(0, -2));
  const shape: Dim[] = [...batch, as[as.length - 2], bs[bs.length - 1]];
  if (a.shape.length === 1) shape.splice(shape.length - 2, 1);
  if (b.shape.length === 1) shape.splice(shape.length - 1, 1);
  return [{ dtype: a.dtype, shape }];
}

function reshape(ins: In[]): Out[] {
  const [x, s] = ins as NonNullable<In>[];
  if (!s.known) return [{ dtype: x.dtype, shape: s.shape && typeof s.shape[0] === 'number' ? Array(s.shape[0]).fill('?') : undefined }];
  const shape: Dim[] = s.known.map((d, i) => (d === 0 ? (x.shape?.[i] ?? '?') : d));
  const hole = shape.indexOf(-1);
  if (hole >= 0) {
    const total = x.shape ? numel(x.shape) : undefined;
    const rest = numel(shape.filter((_, i) => i !== hole));
    if (total !== undefined && rest !== undefined) {
      if (total % rest) throw new Error(`cannot reshape ${total} elements to [${s.known}]`);
      shape[hole] = total / rest;
    } else shape[hole] = '?';
  } else if (x.shape) {
    const a = numel(x.shape), b = numel(shape);
    if (a !== undefined && b !== undefined && a !== b) throw new Error(`cannot reshape ${a} elements to [${s.known}]`);
  }
  return [{ dtype: x.dtype, shape }];
}

function sliceRule(ins: In[]): Out[] {
  const [x, starts, ends, axesV, stepsV] = ins;
  if (!x!.shape || !starts?.known || !ends?.known) return [{ dtype: x!.dtype, shape: x!.shape?.map(() => '?' as Dim) }];
  const rank = x!.shape.length;
  const axes = axesV?.known ?? starts.known.map((_, i) => i);
  const steps = stepsV?.known ?? axes.map(() => 1);
  const shape = [...x!.shape];
  axes.forEach((a0, i) => {
    const a = norm(a0, rank);
    const d = shape[a];
    if (typeof d !== 'number') {
      shape[a] = '?';
      return;
    }
    const clamp = (v: number, lo: number, hi: number) => Math.min(Math.max(v, lo), hi);
    const step = steps[i];
    let s = starts.known![i], e = ends.known![i];
    if (s < 0) s += d;
    if (e < 0) e += d;
    if (step > 0) {
      s = clamp(s, 0, d); e = clamp(e, 0, d);
      shape[a] = Math.max(0, Math.ceil((e - s) / step));
    } else {
      s = clamp(s, -1, d - 1); e = clamp(e, -1, d - 1);
      shape[a] = Math.max(0, Math.ceil((e - s) / step));
    }
  });
  return [{ dtype: x!.dtype, shape }];
}

const RULES: Record<string, Rule> = {
  Add: elementwise, Sub: elementwise, Mul: elementwise, Div: elementwise, Pow: (ins) => [{ ...elementwise(ins)[0], dtype: ins[0]!.dtype }],
  Min: elementwise, Max: elementwise, Where: (ins) => [{ shape: elementwise(ins)[0].shape, dtype: ins[1]!.dtype }],
  Equal: compare, Less: compare, Greater: compare, LessOrEqual: compare, GreaterOrEqual: compare, And: compare, Or: compare, Not: same,
  Neg: same, Exp: same, Log: same, Sqrt: same, Reciprocal: same, Sigmoid: same, Tanh: same, Abs: same, Relu: same, Identity: same,
  Softmax: same, LogSoftmax: same, Erf: same, Sin: same, Cos: same, Floor: same, Ceil: same, Clip: same, Trilu: same, CumSum: same,
  Cast: (ins, attrs) => [{ dtype: CODE_DTYPE[attrs.to as number], shape: ins[0]!.shape }],
  MatMul: matmul,
  ReduceMean: reduce, ReduceSum: reduce, ReduceMax: reduce, ReduceMin: reduce, ReduceLogSumExp: reduce,
  Reshape: reshape,
  Transpose: (ins, attrs) => {
    const s = ins[0]!.shape;
    const perm = (attrs.perm as number[] | undefined) ?? s?.map((_, i) => s.length - 1 - i);
    return [{ dtype: ins[0]!.dtype, shape: s && perm!.map((p) => s[p]) }];
  },
  Unsqueeze: (ins) => {
    const [x, axesV] = ins as NonNullable<In>[];
    if (!x.shape || !axesV.known) return [{ dtype: x.dtype, shape: undefined }];
    const rank = x.shape.length + axesV.known.length;
    const axes = new Set(axesV.known.map((a) => norm(a, rank)));
    const shape: Dim[] = [];
    let j = 0;
    for (let i = 0; i < rank; i++) shape.push(axes.has(i) ? 1 : x.shape[j++]);
    return [{ dtype: x.dtype, shape }];
  },
  Squeeze: (ins) => {
    const [x, axesV] = ins;
    if (!x!.shape) return [{ dtype: x!.dtype, shape: undefined }];
    const rank = x!.shape.length;
    const axes = new Set((axesV?.known ?? x!.shape.flatMap((d, i) => (d === 1 ? [i] : []))).map((a) => norm(a, rank)));
    return [{ dtype: x!.dtype, shape: x!.shape.filter((_, i) => !axes.has(i)) }];
  },
  Concat: (ins, attrs) => {
    const xs = ins as NonNullable<In>[];
    if (xs.some((x) => !x.shape)) return [{ dtype: xs[0].dtype, shape: undefined }];
    const rank = xs[0].shape!.length;
    const axis = norm(attrs.axis as number, rank);
    const shape = [...xs[0].shape!];
    const dims = xs.map((x) => x.shape![axis]);
    shape[axis] = dims.every((d) => typeof d === 'number') ? (dims as number[]).reduce((a, b) => a + b, 0) : '?';
    const known = xs.every((x) => x.known) ? xs.flatMap((x) => x.known!) : undefined;
    return [{ dtype: xs[0].dtype, shape, known }];
  },
  Split: (ins, attrs, n) => {
    const [x, sizes] = ins;
    const rank = x!.shape?.length ?? 0;
    const axis = norm((attrs.axis as number) ?? 0, rank);
    return Array.from({ length: n }, (_, i) => {
      if (!x!.shape) return { dtype: x!.dtype, shape: undefined };
      const shape = [...x!.shape];
      const d = shape[axis];
      shape[axis] = sizes?.known ? sizes.known[i] : typeof d === 'number' ? d / n : '?';
      return { dtype: x!.dtype, shape };
    });
  },
  Slice: sliceRule,
  Expand: (ins) => {
    const [x, s] = ins as NonNullable<In>[];
    if (!x.shape) return [{ dtype: x.dtype, shape: undefined }];
    if (!s.known) return [{ dtype: x.dtype, shape: undefined }];
    return [{ dtype: x.dtype, shape: broadcastShapes(x.shape, s.known) }];
  },
  Gather: (ins, attrs) => {
    const [data, idx] = ins as NonNullable<In>[];
    if (!data.shape || !idx.shape) return [{ dtype: data.dtype, shape: undefined }];
    const axis = norm((attrs.axis as number) ?? 0, data.shape.length);
    return [{ dtype: data.dtype, shape: [...data.shape.slice(0, axis), ...idx.shape, ...data.shape.slice(axis + 1)] }];
  },
  GatherElements: (ins) => [{ dtype: ins[0]!.dtype, shape: ins[1]!.shape }],
  Shape: (ins) => [{ dtype: 'int64', shape: ins[0]!.shape ? [ins[0]!.shape.length] : undefined, known: ins[0]!.shape?.every((d) => typeof d === 'number') ? (ins[0]!.shape as number[]) : undefined }],
  Range: (ins) => [{ dtype: ins[0]!.dtype, shape: ['?'] }],
  ConstantOfShape: (ins, attrs) => {
    const t = attrs.value as { dtype: DType } | undefined;
    return [{ dtype: t?.dtype ?? 'float32', shape: ins[0]!.known ?? (ins[0]!.shape ? Array(ins[0]!.shape[0] as number).fill('?') : undefined) }];
  },
};

export function inferShapes(op: string, ins: In[], attrs: Record<string, AttrValue>, n: number): Out[] {
  const rule = RULES[op];
  if (!rule) throw new Error(`no shape rule for ${op}: pass opts.out to Graph.op()`);
  const outs = rule(ins, attrs, n);
  if (outs.length !== n) throw new Error(`${op} gives ${outs.length} outputs, ${n} requested`);
  return outs;
}

/** Register a shape rule for an op this file does not cover (contrib ops, new ops). */
export function defineShapeRule(op: string, rule: Rule): void {
  RULES[op] = rule;
}
