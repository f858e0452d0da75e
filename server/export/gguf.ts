// The GGUF container (version 3), as llama.cpp reads it: a header, typed key/value metadata, tensor
// infos (name, dims innermost first, ggml type, offset) and the tensor data, each tensor aligned to
// `general.alignment` (32). Tensors are F32, F16 or Q4_0 (blocks of 32 weights: an fp16 scale d
// and 16 bytes of 4-bit codes q, weight = (q − 8)·d). Written streaming to a file, so a 0.5B model
// never sits twice in memory. Also reads a file's metadata and tensor infos back (tests, checks).
// Leaves out: k-quants and every other ggml type.
import * as fs from 'node:fs';
import { float32ToFloat16 } from '../graph/builder';
import { halfToFloat } from '../model/safetensors';
import { largestMagnitude } from '../model/quantize';

export const GGUF_MAGIC = 0x46554747; // "GGUF" little-endian
export const GGUF_VERSION = 3;
export const GGUF_ALIGNMENT = 32;

/** ggml tensor types written here (ggml.h numbering). */
export enum GgmlType {
  F32 = 0,
  F16 = 1,
  Q4_0 = 2,
}
/** llama.cpp's `general.file_type` (llama_ftype) for a file of mostly this type. */
export const FILE_TYPE: Record<GgmlType, number> = { [GgmlType.F32]: 0, [GgmlType.F16]: 1, [GgmlType.Q4_0]: 2 };

export const QK4_0 = 32;
const Q4_0_BLOCK_BYTES = 2 + QK4_0 / 2;

/** Metadata value types (gguf.h numbering). */
enum ValueType {
  UINT8 = 0, INT8 = 1, UINT16 = 2, INT16 = 3, UINT32 = 4, INT32 = 5, FLOAT32 = 6, BOOL = 7, STRING = 8, ARRAY = 9, UINT64 = 10, INT64 = 11, FLOAT64 = 12,
}

/** A metadata value with its GGUF type spelt out (JS numbers do not say which width). */
export type GgufValue =
  | { type: 'u32'; value: number }
  | { type: 'i32'; value: number }
  | { type: 'f32'; value: number }
  | { type: 'bool'; value: boolean }
  | { type: 'string'; value: string }
  | { type: 'string[]'; value: string[] }
  | { type: 'i32[]'; value: ArrayLike<number> }
  | { type: 'f32[]'; value: ArrayLike<number> };

export const u32 = (value: number): GgufValue => ({ type: 'u32', value });
export const f32 = (value: number): GgufValue => ({ type: 'f32', value });
export const str = (value: string): GgufValue => ({ type: 'string', value });
export const bool = (value: boolean): GgufValue => ({ type: 'bool', value });

export interface GgufTensor {
  name: string;
  /** The HF (row-major) shape, outermost first: written reversed, as ggml's ne. */
  shape: number[];
  type: GgmlType;
  /** The values, row-major; read when the tensor is written (so they may be produced lazily). */
  values: () => Float32Array;
}

/** Bytes one tensor takes in the file. */
export function tensorBytes(shape: number[], type: GgmlType): number {
  const n = shape.reduce((a, b) => a * b, 1);
  if (type === GgmlType.F32) return n * 4;
  if (type === GgmlType.F16) return n * 2;
  const rowLen = shape[shape.length - 1];
  if (rowLen % QK4_0 !== 0) throw new Error(`Q4_0 needs rows that are a multiple of ${QK4_0} (got ${rowLen})`);
  return (n / QK4_0) * Q4_0_BLOCK_BYTES;
}

/** Encodes values as a ggml type (row-major; Q4_0 blocks run along the last dimension). */
export function encodeTensor(values: Float32Array, type: GgmlType): Uint8Array {
  if (type === GgmlType.F32) return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  if (type === GgmlType.F16) {
    const out = new Uint16Array(values.length);
    for (let i = 0; i < values.length; i++) out[i] = float32ToFloat16(values[i]);
    return new Uint8Array(out.buffer);
  }
  return quantizeQ4_0(values);
}

/** ggml's reference Q4_0: d = max/−8 for the value of largest magnitude, q = clamp(round(x/d) + 8). */
export function quantizeQ4_0(x: Float32Array): Uint8Array {
  if (x.length % QK4_0 !== 0) throw new Error(`Q4_0 needs a multiple of ${QK4_0} values (got ${x.length})`);
  const blocks = x.length / QK4_0;
  const out = new Uint8Array(blocks * Q4_0_BLOCK_BYTES);
  const dv = new DataView(out.buffer);
  for (let b = 0; b < blocks; b++) {
    const o = b * QK4_0;
    const d = largestMagnitude(x, o, QK4_0) / -8;
    const id = d ? 1 / d : 0;
    const at = b * Q4_0_BLOCK_BYTES;
    dv.setUint16(at, float32ToFloat16(d), true);
    for (let j = 0; j < QK4_0 / 2; j++) {
      const q0 = Math.min(15, Math.trunc(x[o + j] * id + 8.5));
      const q1 = Math.min(15, Math.trunc(x[o + j + QK4_0 / 2] * id + 8.5));
      out[at + 2 + j] = q0 | (q1 << 4);
    }
  }
  return out;
}

/** The inverse of quantizeQ4_0 (what llama.cpp computes with). */
export function dequantizeQ4_0(bytes: Uint8Array): Float32Array {
  const blocks = bytes.length / Q4_0_BLOCK_BYTES;
  const out = new Float32Array(blocks * QK4_0);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let b = 0; b < blocks; b++) {
    const at = b * Q4_0_BLOCK_BYTES;
    const d = halfToFloat(dv.getUint16(at, true));
    for (let j = 0; j < QK4_0 / 2; j++) {
      const q = bytes[at + 2 + j];
      out[b * QK4_0 + j] = ((q & 0x0f) - 8) * d;
      out[b * QK4_0 + j + QK4_0 / 2] = ((q >> 4) - 8) * d;
    }
  }
  return out;
}

/** Little-endian byte builder for the header part. */
class Bytes {
  private chunks: Uint8Array[] = [];
  length = 0;
  private push(b: Uint8Array) {
    this.chunks.push(b);
    this.length += b.length;
  }
  /** `bytes` little-endian bytes written by `set` into a fresh DataView. */
  private fixed(bytes: number, set: (dv: DataView) => void) {
    const b = new Uint8Array(bytes);
    set(new DataView(b.buffer));
    this.push(b);
  }
  u32(v: number) {
    this.fixed(4, (dv) => dv.setUint32(0, v, true));
  }
  i32(v: number) {
    this.fixed(4, (dv) => dv.setInt32(0, v, true));
  }
  u64(v: number) {
    this.fixed(8, (dv) => dv.setBigUint64(0, BigInt(v), true));
  }
  f32(v: number) {
    this.fixed(4, (dv) => dv.setFloat32(0, v, true));
  }
  u8(v: number) {
    this.push(Uint8Array.of(v));
  }
  string(s: string) {
    const b = Buffer.from(s, 'utf8');
    this.u64(b.length);
    this.push(b);
  }
  zeros(n: number) {
    this.push(new Uint8Array(n));
  }
  value(v: GgufValue) {
    switch (v.type) {
      case 'u32': this.u32(ValueType.UINT32); this.u32(v.value); break;
      case 'i32': this.u32(ValueType.INT32); this.i32(v.value); break;
      case 'f32': this.u32(ValueType.FLOAT32); this.f32(v.value); break;
      case 'bool': this.u32(ValueType.BOOL); this.u8(v.value ? 1 : 0); break;
      case 'string': this.u32(ValueType.STRING); this.string(v.value); break;
      case 'string[]': this.u32(ValueType.ARRAY); this.u32(ValueType.STRING); this.u64(v.value.length); for (const s of v.value) this.string(s); break;
      case 'i32[]': this.u32(ValueType.ARRAY); this.u32(ValueType.INT32); this.u64(v.value.length); for (let i = 0; i < v.value.length; i++) this.i32(v.value[i]); break;
      case 'f32[]': this.u32(ValueType.ARRAY); this.u32(ValueType.FLOAT32); this.u64(v.value.length); for (let i = 0; i < v.value.length; i++) this.f32(v.value[i]); break;
    }
  }
  bytes(): Uint8Array {
    return Buffer.concat(this.chunks);
  }
}

const pad = (n: number) => (GGUF_ALIGNMENT - (n % GGUF_ALIGNMENT)) % GGUF_ALIGNMENT;

/**
 * Writes a GGUF file: metadata in the given order, then the tensors (values() is called once per
 * tensor, in order). Written to `<file>.partial` and renamed, so a failed export leaves no
 * half-written file under the real name. `progress` gets the fraction of tensor bytes written.
 */
export function writeGguf(file: string, metadata: [string, GgufValue][], tensors: GgufTensor[], progress?: (fraction: number) => void): { bytes: number } {
  const head = new Bytes();
  head.u32(GGUF_MAGIC);
  head.u32(GGUF_VERSION);
  head.u64(tensors.length);
  head.u64(metadata.length + 1);
  head.string('general.alignment');
  head.value(u32(GGUF_ALIGNMENT));
  for (const [k, v] of metadata) {
    head.string(k);
    head.value(v);
  }
  let offset = 0;
  const sizes: number[] = [];
  for (const t of tensors) {
    head.string(t.name);
    head.u32(t.shape.length);
    for (const d of [...t.shape].reverse()) head.u64(d);
    head.u32(t.type);
    head.u64(offset);
    const n = tensorBytes(t.shape, t.type);
    sizes.push(n);
    offset += n + pad(n);
  }
  head.zeros(pad(head.length));
  const partial = `${file}.partial`;
  const fd = fs.openSync(partial, 'w');
  try {
    let written = 0;
    const write = (b: Uint8Array) => {
      let at = 0;
      while (at < b.length) at += fs.writeSync(fd, b, at, b.length - at);
      written += b.length;
    };
    write(head.bytes());
    let done = 0;
    for (const [i, t] of tensors.entries()) {
      const values = t.values();
      const n = t.shape.reduce((a, b) => a * b, 1);
      if (values.length !== n) throw new Error(`tensor ${t.name}: ${values.length} values for shape [${t.shape.join(', ')}]`);
      const data = encodeTensor(values, t.type);
      write(data);
      write(new Uint8Array(pad(data.length)));
      done += sizes[i];
      progress?.(done / Math.max(1, offset));
    }
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(partial, file);
    return { bytes: written };
  } catch (e) {
    fs.closeSync(fd);
    fs.rmSync(partial, { force: true });
    throw e;
  }
}

export interface GgufInfo {
  version: number;
  metadata: Map<string, unknown>;
  tensors: { name: string; shape: number[]; type: number; offset: number }[];
  /** File offset where tensor data starts. */
  dataOffset: number;
}

/** Reads a GGUF file's metadata and tensor infos (not the data). Arrays of strings come back whole. */
export function readGgufInfo(file: string): GgufInfo {
  const buf = fs.readFileSync(file);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  let at = 0;
  const need = (n: number) => {
    if (at + n > buf.length) throw new Error(`${file}: ends inside the header (at byte ${at})`);
  };
  const u32r = () => (need(4), (at += 4), dv.getUint32(at - 4, true));
  const u64r = () => (need(8), (at += 8), Number(dv.getBigUint64(at - 8, true)));
  const strr = () => {
    const n = u64r();
    need(n);
    at += n;
    return buf.toString('utf8', at - n, at);
  };
  const scalar = (t: number): unknown => {
    switch (t) {
      case ValueType.UINT8: need(1); return buf[at++];
      case ValueType.INT8: need(1); return dv.getInt8(at++);
      case ValueType.UINT16: need(2); at += 2; return dv.getUint16(at - 2, true);
      case ValueType.INT16: need(2); at += 2; return dv.getInt16(at - 2, true);
      case ValueType.UINT32: return u32r();
      case ValueType.INT32: need(4); at += 4; return dv.getInt32(at - 4, true);
      case ValueType.FLOAT32: need(4); at += 4; return dv.getFloat32(at - 4, true);
      case ValueType.BOOL: need(1); return buf[at++] !== 0;
      case ValueType.STRING: return strr();
      case ValueType.UINT64: return u64r();
      case ValueType.INT64: need(8); at += 8; return Number(dv.getBigInt64(at - 8, true));
      case ValueType.FLOAT64: need(8); at += 8; return dv.getFloat64(at - 8, true);
      default: throw new Error(`${file}: unknown metadata type ${t} at byte ${at}`);
    }
  };
  if (u32r() !== GGUF_MAGIC) throw new Error(`${file}: not a GGUF file`);
  const version = u32r();
  const nTensors = u64r();
  const nKv = u64r();
  const metadata = new Map<string, unknown>();
  for (let i = 0; i < nKv; i++) {
    const key = strr();
    const t = u32r();
    if (t === ValueType.ARRAY) {
      const et = u32r();
      const n = u64r();
      const arr: unknown[] = [];
      for (let j = 0; j < n; j++) arr.push(scalar(et));
      metadata.set(key, arr);
    } else metadata.set(key, scalar(t));
  }
  const tensors: GgufInfo['tensors'] = [];
  for (let i = 0; i < nTensors; i++) {
    const name = strr();
    const nd = u32r();
    const ne: number[] = [];
    for (let j = 0; j < nd; j++) ne.push(u64r());
    tensors.push({ name, shape: ne.reverse(), type: u32r(), offset: u64r() });
  }
  const alignment = Number(metadata.get('general.alignment') ?? GGUF_ALIGNMENT);
  const dataOffset = at + ((alignment - (at % alignment)) % alignment);
  return { version, metadata, tensors, dataOffset };
}
