// A dependency-free writer for the subset of ONNX's ModelProto that Hindsight emits:
// nodes, typed inputs/outputs with symbolic dims, raw and external-data initialisers, and
// attributes (int, float, string, tensor, lists). Protobuf wire format by hand; no reader
// here (tests decode with the onnx-proto package). Field numbers from onnx/onnx.proto.

export type DType = 'float32' | 'float16' | 'bfloat16' | 'float64' | 'int64' | 'int32' | 'uint8' | 'int8' | 'bool';
export type Dim = number | string;

/** ONNX TensorProto.DataType codes. */
export const DTYPE_CODE: Record<DType, number> = {
  float32: 1, uint8: 2, int8: 3, int32: 6, int64: 7, bool: 9, float16: 10, float64: 11, bfloat16: 16,
};
export const DTYPE_BYTES: Record<DType, number> = {
  float32: 4, uint8: 1, int8: 1, int32: 4, int64: 8, bool: 1, float16: 2, float64: 8, bfloat16: 2,
};

export type AttrValue = number | string | number[] | string[] | TensorProto | { float: number } | { floats: number[] };

export interface ExternalData {
  /** Path relative to the directory ORT resolves external data from. */
  location: string;
  offset: number;
  length: number;
}

export interface TensorProto {
  name: string;
  dtype: DType;
  dims: number[];
  /** Little-endian raw bytes, or a pointer into another file. */
  data: Uint8Array | ExternalData;
}

export interface NodeProto {
  opType: string;
  inputs: string[];
  outputs: string[];
  name: string;
  domain?: string;
  attrs: Record<string, AttrValue>;
}

export interface ValueInfo {
  name: string;
  dtype: DType;
  shape: Dim[];
}

export interface GraphProto {
  name: string;
  nodes: NodeProto[];
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  initializers: TensorProto[];
}

export interface ModelProto {
  graph: GraphProto;
  /** Opsets by domain; '' is the default ONNX domain. */
  opsets: Record<string, number>;
  producer?: string;
}

// ---- wire format -------------------------------------------------------------------------

const enc = new TextEncoder();

/** Growable byte sink with the protobuf primitives. */
class Writer {
  private buf = new Uint8Array(1024);
  len = 0;

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.len + n) cap *= 2;
    const next = new Uint8Array(cap);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }
  byte(b: number): void {
    this.reserve(1);
    this.buf[this.len++] = b;
  }
  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  varint(v: number | bigint): void {
    if (typeof v === 'number' && v >= 0 && v <= Number.MAX_SAFE_INTEGER) {
      while (v >= 0x80) {
        this.byte((v % 0x80) | 0x80);
        v = Math.floor(v / 0x80);
      }
      this.byte(v);
      return;
    }
    // Negative int64 is encoded as its 64-bit two's complement: always 10 bytes.
    let b = BigInt.asUintN(64, BigInt(v));
    while (b >= 0x80n) {
      this.byte(Number(b & 0x7fn) | 0x80);
      b >>= 7n;
    }
    this.byte(Number(b));
  }
  tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }
  int(field: number, v: number): void {
    this.tag(field, 0);
    this.varint(v);
  }
  float(field: number, v: number): void {
    this.tag(field, 5);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setFloat32(0, v, true);
    this.bytes(b);
  }
  lenDelim(field: number, b: Uint8Array): void {
    this.tag(field, 2);
    this.varint(b.length);
    this.bytes(b);
  }
  string(field: number, s: string): void {
    this.lenDelim(field, enc.encode(s));
  }
  message(field: number, fill: (w: Writer) => void): void {
    const w = new Writer();
    fill(w);
    this.lenDelim(field, w.finish());
  }
  packedInts(field: number, vs: number[]): void {
    const w = new Writer();
    for (const v of vs) w.varint(v);
    this.lenDelim(field, w.finish());
  }
  packedFloats(field: number, vs: number[]): void {
    const b = new Uint8Array(vs.length * 4);
    const dv = new DataView(b.buffer);
    vs.forEach((v, i) => dv.setFloat32(i * 4, v, true));
    this.lenDelim(field, b);
  }
  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

// ---- messages ----------------------------------------------------------------------------

function writeTensor(w: Writer, t: TensorProto): void {
  if (t.dims.length) w.packedInts(1, t.dims); // dims
  w.int(2, DTYPE_CODE[t.dtype]); // data_type
  w.string(8, t.name); // name
  if (t.data instanceof Uint8Array) {
    w.lenDelim(9, t.data); // raw_data
  } else {
    const ext = t.data;
    const entry = (k: string, v: string) =>
      w.message(13, (e) => {
        e.string(1, k);
        e.string(2, v);
      });
    entry('location', ext.location);
    entry('offset', String(ext.offset));
    entry('length', String(ext.length));
    w.int(14, 1); // data_location = EXTERNAL
  }
}

function writeAttr(w: Writer, name: string, v: AttrValue): void {
  w.string(1, name);
  if (typeof v === 'number') {
    if (!Number.isInteger(v)) throw new Error(`attribute ${name}=${v}: use { float: x } for float attributes`);
    w.int(3, v);
    w.int(20, 2); // INT
  } else if (typeof v === 'string') {
    w.string(4, v);
    w.int(20, 3); // STRING
  } else if (Array.isArray(v)) {
    if (v.every((x) => typeof x === 'number')) {
      w.packedInts(8, v as number[]);
      w.int(20, 7); // INTS
    } else {
      for (const s of v as string[]) w.string(9, s);
      w.int(20, 8); // STRINGS
    }
  } else if ('float' in v) {
    w.float(2, v.float);
    w.int(20, 1); // FLOAT
  } else if ('floats' in v) {
    w.packedFloats(7, v.floats);
    w.int(20, 6); // FLOATS
  } else {
    w.message(5, (t) => writeTensor(t, v));
    w.int(20, 4); // TENSOR
  }
}

function writeNode(w: Writer, n: NodeProto): void {
  for (const i of n.inputs) w.string(1, i);
  for (const o of n.outputs) w.string(2, o);
  w.string(3, n.name);
  w.string(4, n.opType);
  for (const [k, v] of Object.entries(n.attrs)) w.message(5, (a) => writeAttr(a, k, v));
  if (n.domain) w.string(7, n.domain);
}

function writeValueInfo(w: Writer, v: ValueInfo): void {
  w.string(1, v.name);
  w.message(2, (type) =>
    type.message(1, (tt) => {
      tt.int(1, DTYPE_CODE[v.dtype]);
      tt.message(2, (shape) => {
        for (const d of v.shape)
          shape.message(1, (dim) => (typeof d === 'number' ? dim.int(1, d) : dim.string(2, d)));
      });
    }),
  );
}

function writeGraph(w: Writer, g: GraphProto): void {
  for (const n of g.nodes) w.message(1, (m) => writeNode(m, n));
  w.string(2, g.name);
  for (const t of g.initializers) w.message(5, (m) => writeTensor(m, t));
  for (const v of g.inputs) w.message(11, (m) => writeValueInfo(m, v));
  for (const v of g.outputs) w.message(12, (m) => writeValueInfo(m, v));
}

/** Serialise a model to ONNX protobuf bytes (IR version 10, which ORT 1.30 reads). */
export function encodeModel(m: ModelProto): Uint8Array {
  const w = new Writer();
  w.int(1, 10); // ir_version
  w.string(2, m.producer ?? 'hindsight');
  w.message(7, (g) => writeGraph(g, m.graph));
  for (const [domain, version] of Object.entries(m.opsets))
    w.message(8, (o) => {
      if (domain) o.string(1, domain);
      o.int(2, version);
    });
  return w.finish();
}
