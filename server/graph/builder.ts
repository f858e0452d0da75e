// A small graph builder over the ONNX writer: values carry dtype and (possibly symbolic)
// shape so that errors surface while building and the autodiff can un-broadcast; typed
// helpers cover the ops the decoder and the train step use, and `op()` reaches any other.
// Names are scoped (`g.scope('layers.0.mlp', ...)`) so a dumped graph reads like the model.
import { DTYPE_BYTES, DTYPE_CODE, encodeModel } from './onnx';
import type { AttrValue, DType, Dim, ExternalData, ModelProto, NodeProto, TensorProto, ValueInfo } from './onnx';
import { inferShapes } from './shapes';

export type { DType, Dim } from './onnx';

/** A tensor flowing through the graph. `shape` is undefined when it could not be inferred. */
export interface Value {
  readonly name: string;
  readonly dtype: DType;
  readonly shape: Dim[] | undefined;
  /** Known contents of small integer constants (shapes, axes), for shape inference. */
  readonly known?: number[];
}

export interface OpOptions {
  /** Number of outputs (default 1). */
  outputs?: number;
  domain?: string;
  /** Output names (default: generated from the scope and op type). */
  names?: string[];
  /** Override inferred output dtypes/shapes (e.g. for contrib ops without a rule). */
  out?: { dtype: DType; shape: Dim[] | undefined }[];
}

export class Graph {
  readonly nodes: NodeProto[] = [];
  readonly inputs: Value[] = [];
  readonly outputs: Value[] = [];
  readonly initializers: TensorProto[] = [];
  /** Every value by name: inputs, initialisers, node outputs. */
  readonly values = new Map<string, Value>();
  /** Names of initialisers or inputs that gradients should flow to (set by the caller). */
  readonly trainable = new Set<string>();
  private prefix: string[] = [];
  private counter = 0;
  private consts = new Map<string, Value>();

  constructor(readonly name: string) {}

  // ---- naming ----------------------------------------------------------------------------

  /** Run `fn` with `part` appended to the name prefix of every value and node it creates. */
  scope<T>(part: string, fn: () => T): T {
    this.prefix.push(part);
    try {
      return fn();
    } finally {
      this.prefix.pop();
    }
  }

  /** A fresh name under the current scope. */
  fresh(hint: string): string {
    const base = [...this.prefix, hint].join('.');
    let name = base;
    while (this.values.has(name)) name = `${base}_${++this.counter}`;
    return name;
  }

  private define(v: Value): Value {
    if (this.values.has(v.name)) throw new Error(`graph ${this.name}: value '${v.name}' defined twice`);
    this.values.set(v.name, v);
    return v;
  }

  // ---- graph boundary --------------------------------------------------------------------

  input(name: string, dtype: DType, shape: Dim[]): Value {
    const v = this.define({ name, dtype, shape });
    this.inputs.push(v);
    return v;
  }

  /** Mark `v` as a graph output, renamed to `name` through an Identity when needed. */
  output(v: Value, name = v.name): Value {
    const out = v.name === name ? v : this.op('Identity', [v], {}, { names: [name] })[0];
    this.outputs.push(out);
    return out;
  }

  /** An initialiser with raw little-endian bytes or external data (e.g. inside a .safetensors file). */
  weight(name: string, dtype: DType, dims: number[], data: Uint8Array | ExternalData): Value {
    const bytes = dims.reduce((a, b) => a * b, 1) * DTYPE_BYTES[dtype];
    const got = data instanceof Uint8Array ? data.byteLength : data.length;
    if (got !== bytes) throw new Error(`weight ${name}: ${dims.join('x')} ${dtype} needs ${bytes} bytes, got ${got}`);
    this.initializers.push({ name, dtype, dims, data });
    return this.define({ name, dtype, shape: dims });
  }

  /** A small constant initialiser, shared between uses with the same contents. */
  constant(values: number[] | number, dtype: DType = 'int64', dims?: number[]): Value {
    const arr = typeof values === 'number' ? [values] : values;
    const shape = dims ?? (typeof values === 'number' ? [] : [arr.length]);
    const key = `${dtype}:${shape.join('x')}:${arr.join(',')}`;
    const hit = this.consts.get(key);
    if (hit) return hit;
    const data = encodeNumbers(arr, dtype);
    const name = this.fresh(`const_${this.consts.size}`);
    this.initializers.push({ name, dtype, dims: shape, data });
    const v = this.define({ name, dtype, shape, known: dtype === 'int64' || dtype === 'int32' ? arr : undefined });
    this.consts.set(key, v);
    return v;
  }

  // ---- nodes -----------------------------------------------------------------------------

  /** Append a node; returns its outputs with inferred dtype and shape. */
  op(opType: string, inputs: (Value | undefined)[], attrs: Record<string, AttrValue> = {}, opts: OpOptions = {}): Value[] {
    const n = opts.outputs ?? opts.names?.length ?? 1;
    const names = opts.names ?? Array.from({ length: n }, (_, i) => this.fresh(n === 1 ? lower(opType) : `${lower(opType)}_${i}`));
    const present = inputs.map((v) => v ?? undefined);
    let inferred: { dtype: DType; shape: Dim[] | undefined; known?: number[] }[];
    try {
      inferred = opts.out ?? inferShapes(opType, present, attrs, n);
    } catch (e) {
      const args = present.map((v) => (v ? `${v.name}${fmtShape(v.shape)}` : '∅')).join(', ');
      throw new Error(`graph ${this.name}: ${opType}(${args}): ${(e as Error).message}`);
    }
    this.nodes.push({
      opType,
      domain: opts.domain,
      inputs: present.map((v) => v?.name ?? ''),
      outputs: names,
      name: [...this.prefix, `${opType}_${this.nodes.length}`].join('.'), // unique: node index
      attrs,
    });
    return names.map((name, i) => this.define({ name, ...inferred[i] }));
  }

  private one(opType: string, inputs: (Value | undefined)[], attrs: Record<string, AttrValue> = {}): Value {
    return this.op(opType, inputs, attrs)[0];
  }

  // ---- typed helpers for the ops the model and train graphs use --------------------------

  add(a: Value, b: Value) { return this.one('Add', [a, b]); }
  sub(a: Value, b: Value) { return this.one('Sub', [a, b]); }
  mul(a: Value, b: Value) { return this.one('Mul', [a, b]); }
  div(a: Value, b: Value) { return this.one('Div', [a, b]); }
  pow(a: Value, b: Value) { return this.one('Pow', [a, b]); }
  matmul(a: Value, b: Value) { return this.one('MatMul', [a, b]); }
  neg(x: Value) { return this.one('Neg', [x]); }
  exp(x: Value) { return this.one('Exp', [x]); }
  log(x: Value) { return this.one('Log', [x]); }
  sqrt(x: Value) { return this.one('Sqrt', [x]); }
  reciprocal(x: Value) { return this.one('Reciprocal', [x]); }
  sigmoid(x: Value) { return this.one('Sigmoid', [x]); }
  identity(x: Value) { return this.one('Identity', [x]); }
  min(a: Value, b: Value) { return this.one('Min', [a, b]); }
  max(a: Value, b: Value) { return this.one('Max', [a, b]); }
  softmax(x: Value, axis = -1) { return this.one('Softmax', [x], { axis }); }
  logSoftmax(x: Value, axis = -1) { return this.one('LogSoftmax', [x], { axis }); }
  reduceMean(x: Value, axes: number[], keepdims = true) { return this.one('ReduceMean', [x, this.constant(axes)], { keepdims: keepdims ? 1 : 0 }); }
  reduceSum(x: Value, axes: number[], keepdims = true) { return this.one('ReduceSum', [x, this.constant(axes)], { keepdims: keepdims ? 1 : 0 }); }
  reduceMax(x: Value, axes: number[], keepdims = true) { return this.one('ReduceMax', [x, this.constant(axes)], { keepdims: keepdims ? 1 : 0 }); }
  /** Reshape to a static target; 0 copies the input dim, -1 is inferred (ONNX semantics). */
  reshape(x: Value, shape: number[] | Value) { return this.one('Reshape', [x, Array.isArray(shape) ? this.constant(shape) : shape]); }
  transpose(x: Value, perm: number[]) { return this.one('Transpose', [x], { perm }); }
  unsqueeze(x: Value, axes: number[]) { return this.one('Unsqueeze', [x, this.constant(axes)]); }
  squeeze(x: Value, axes: number[]) { return this.one('Squeeze', [x, this.constant(axes)]); }
  concat(xs: Value[], axis: number) { return this.one('Concat', xs, { axis }); }
  split(x: Value, sizes: number[], axis: number) { return this.op('Split', [x, this.constant(sizes)], { axis }, { outputs: sizes.length }); }
  slice(x: Value, starts: number[], ends: number[], axes: number[], steps?: number[]) {
    return this.one('Slice', [x, this.constant(starts), this.constant(ends), this.constant(axes), steps ? this.constant(steps) : undefined]);
  }
  expand(x: Value, shape: Value) { return this.one('Expand', [x, shape]); }
  gather(data: Value, indices: Value, axis = 0) { return this.one('Gather', [data, indices], { axis }); }
  gatherElements(data: Value, indices: Value, axis: number) { return this.one('GatherElements', [data, indices], { axis }); }
  where(cond: Value, a: Value, b: Value) { return this.one('Where', [cond, a, b]); }
  cast(x: Value, to: DType) { return x.dtype === to ? x : this.one('Cast', [x], { to: DTYPE_CODE[to] }); }
  shapeOf(x: Value) { return this.one('Shape', [x]); }
  /** A scalar constant in the dtype of `like` (for eps, scales, masks). */
  scalar(v: number, like: Value | DType) { return this.constant([v], typeof like === 'string' ? like : like.dtype, []); }

  // ---- output ----------------------------------------------------------------------------

  toModel(opsets: Record<string, number> = { '': 21 }): ModelProto {
    const info = (v: Value): ValueInfo => ({ name: v.name, dtype: v.dtype, shape: v.shape ?? [] });
    const graphInputs = this.inputs.map(info);
    return {
      opsets,
      graph: { name: this.name, nodes: this.nodes, inputs: graphInputs, outputs: this.outputs.map(info), initializers: this.initializers },
    };
  }

  encode(opsets?: Record<string, number>): Uint8Array {
    return encodeModel(this.toModel(opsets));
  }
}

function lower(op: string): string {
  return op.charAt(0).toLowerCase() + op.slice(1);
}

function fmtShape(s: Dim[] | undefined): string {
  return s ? `[${s.join(',')}]` : '[?]';
}

/** Little-endian bytes for a list of numbers in the given dtype. */
export function encodeNumbers(values: number[], dtype: DType): Uint8Array {
  const n = values.length;
  switch (dtype) {
    case 'float32': return new Uint8Array(Float32Array.from(values).buffer);
    case 'float64': return new Uint8Array(Float64Array.from(values).buffer);
    case 'int64': return new Uint8Array(BigInt64Array.from(values.map((v) => BigInt(Math.trunc(v)))).buffer);
    case 'int32': return new Uint8Array(Int32Array.from(values).buffer);
    case 'uint8': case 'bool': return Uint8Array.from(values);
    case 'int8': return new Uint8Array(Int8Array.from(values).buffer);
    case 'float16': {
      const out = new Uint16Array(n);
      for (let i = 0; i < n; i++) out[i] = float32ToFloat16(values[i]);
      return new Uint8Array(out.buffer);
    }
    case 'bfloat16': {
      const f = Float32Array.from(values);
      const u = new Uint32Array(f.buffer);
      const out = new Uint16Array(n);
      for (let i = 0; i < n; i++) out[i] = (u[i] + 0x7fff + ((u[i] >> 16) & 1)) >>> 16; // round to nearest even
      return new Uint8Array(out.buffer);
    }
  }
}

/** IEEE half from a float (round to nearest even), for fp16 constants. */
export function float32ToFloat16(v: number): number {
  const f = new Float32Array([v]);
  const x = new Uint32Array(f.buffer)[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  let e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant = (mant | 0x800000) >> (1 - e);
    if (mant & 0x1000 && mant & 0x2fff) mant += 0x2000;
    return sign | (mant >> 13);
  }
  if (mant & 0x1000 && mant & 0x2fff) {
    mant += 0x2000;
    if (mant & 0x800000) {
      mant = 0;
      e += 1;
      if (e >= 0x1f) return sign | 0x7c00;
    }
  }
  return sign | (e << 10) | (mant >> 13);
}
