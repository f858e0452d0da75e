// safetensors without a library: 8-byte little-endian header length, a JSON header, raw tensor
// bytes. The reader validates everything the ONNX external-data pointers will rely on and returns
// absolute file offsets (no tensor bytes are read); the writer is used by make-model and by the
// trainer for PEFT adapters. Leaves out: reading tensor contents (see readTensor) for big files.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, ModelFolderError } from './config';
import { float32ToFloat16 as floatToHalf } from '../graph/builder';

export type SafeDType = 'F32' | 'F16' | 'BF16' | 'F64' | 'I64' | 'I32' | 'I8' | 'U8' | 'BOOL';
export const SAFE_DTYPE_BYTES: Record<SafeDType, number> = { F32: 4, F16: 2, BF16: 2, F64: 8, I64: 8, I32: 4, I8: 1, U8: 1, BOOL: 1 };

/** Upper bound on the JSON header (safetensors' own limit is 100 MB). */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

export interface TensorInfo {
  name: string;
  dtype: SafeDType;
  shape: number[];
  /** Absolute path of the file holding it. */
  file: string;
  /** Absolute byte offset of the first byte inside `file`. */
  offset: number;
  length: number;
}

export interface SafetensorsFile {
  file: string;
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string>;
}

/** Read and validate a .safetensors header. */
export function readSafetensorsHeader(file: string): SafetensorsFile {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (e) {
    throw new ModelFolderError(file, `cannot open (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile()) throw new ModelFolderError(file, 'is not a file (a folder?)');
    const size = stat.size;
    if (size < 8) throw new ModelFolderError(file, `truncated: ${size} bytes, a safetensors file starts with an 8-byte header length`);
    const lenBuf = Buffer.alloc(8);
    fs.readSync(fd, lenBuf, 0, 8, 0);
    const headerLen = Number(lenBuf.readBigUInt64LE(0));
    if (headerLen > MAX_HEADER_BYTES) throw new ModelFolderError(file, `header length ${headerLen} exceeds the ${MAX_HEADER_BYTES}-byte bound (not a safetensors file?)`);
    if (8 + headerLen > size) throw new ModelFolderError(file, `truncated: header needs ${headerLen} bytes but the file has ${size - 8} after the length`);
    const headerBuf = Buffer.alloc(headerLen);
    fs.readSync(fd, headerBuf, 0, headerLen, 8);
    let header: Record<string, unknown>;
    try {
      header = JSON.parse(headerBuf.toString('utf8'));
    } catch (e) {
      throw new ModelFolderError(file, `header is not valid JSON (${(e as Error).message})`);
    }
    if (!header || typeof header !== 'object' || Array.isArray(header)) throw new ModelFolderError(file, 'header is not a JSON object');
    const dataStart = 8 + headerLen;
    const tensors = new Map<string, TensorInfo>();
    let metadata: Record<string, string> = {};
    for (const [name, entry] of Object.entries(header)) {
      if (name === '__metadata__') {
        metadata = (entry ?? {}) as Record<string, string>;
        continue;
      }
      const e = entry as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
      // Own keys only: "toString" or "constructor" is `in` every object.
      if (typeof e?.dtype !== 'string' || !Object.hasOwn(SAFE_DTYPE_BYTES, e.dtype)) throw new ModelFolderError(file, `tensor ${name}: unknown dtype ${describe(e?.dtype)}`);
      if (!Array.isArray(e.shape) || !e.shape.every((d) => Number.isInteger(d) && d >= 0)) throw new ModelFolderError(file, `tensor ${name}: bad shape ${describe(e.shape)}`);
      const offs = e.data_offsets;
      if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isInteger(o) && o >= 0) || offs[1] < offs[0])
        throw new ModelFolderError(file, `tensor ${name}: bad data_offsets ${describe(offs)}`);
      const dtype = e.dtype as SafeDType;
      const shape = e.shape as number[];
      const want = shape.reduce((a, b) => a * b, 1) * SAFE_DTYPE_BYTES[dtype];
      const length = offs[1] - offs[0];
      if (want !== length) throw new ModelFolderError(file, `tensor ${name}: shape ${describe(shape)} × ${dtype} is ${want} bytes but data_offsets span ${length}`);
      if (dataStart + offs[1] > size)
        throw new ModelFolderError(file, `tensor ${name}: data ends at byte ${dataStart + offs[1]} but the file has ${size} bytes (truncated weights?)`);
      tensors.set(name, { name, dtype, shape, file, offset: dataStart + offs[0], length });
    }
    // No two tensors may share bytes (the format forbids it; overlapping pointers would alias weights).
    const sorted = [...tensors.values()].sort((a, b) => a.offset - b.offset);
    for (let i = 1; i < sorted.length; i++)
      if (sorted[i].offset < sorted[i - 1].offset + sorted[i - 1].length)
        throw new ModelFolderError(file, `tensors ${sorted[i - 1].name} and ${sorted[i].name} overlap`);
    return { file, tensors, metadata };
  } finally {
    fs.closeSync(fd);
  }
}

/** All tensors of a model folder: model.safetensors, or the shards listed in model.safetensors.index.json. */
export function openWeights(dir: string): Map<string, TensorInfo> {
  const index = path.join(dir, 'model.safetensors.index.json');
  const single = path.join(dir, 'model.safetensors');
  const out = new Map<string, TensorInfo>();
  if (fs.existsSync(index)) {
    let text: string;
    try {
      text = fs.readFileSync(index, 'utf8');
    } catch (e) {
      throw new ModelFolderError(index, `cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    let parsed: { weight_map?: unknown } | null;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      throw new ModelFolderError(index, `not valid JSON (${(e as Error).message})`);
    }
    const map = parsed?.weight_map as Record<string, unknown> | undefined;
    if (!map || typeof map !== 'object' || Array.isArray(map)) throw new ModelFolderError(index, 'has no weight_map object');
    const shards = new Map<string, SafetensorsFile>();
    for (const shard of new Set(Object.values(map))) {
      if (typeof shard !== 'string' || shard === '' || shard === '.' || shard === '..' || shard.includes('/') || shard.includes('\\'))
        throw new ModelFolderError(index, `shard ${describe(shard)} must be a file name inside the folder`);
      shards.set(shard, readSafetensorsHeader(path.join(dir, shard)));
    }
    for (const [name, shard] of Object.entries(map)) {
      const t = shards.get(shard as string)!.tensors.get(name);
      if (!t) throw new ModelFolderError(path.join(dir, shard as string), `tensor ${name} listed in model.safetensors.index.json is missing`);
      out.set(name, t);
    }
    return out;
  }
  if (!fs.existsSync(single)) throw new ModelFolderError(single, 'missing (and no model.safetensors.index.json for sharded weights)');
  return readSafetensorsHeader(single).tensors;
}

/** A tensor's bytes (copied into memory; for small tensors and tests). */
export function readTensorBytes(t: TensorInfo): Uint8Array {
  const fd = fs.openSync(t.file, 'r');
  try {
    const out = new Uint8Array(t.length);
    fs.readSync(fd, out, 0, t.length, t.offset);
    return out;
  } finally {
    fs.closeSync(fd);
  }
}

/** A tensor as float64 values (F32, F16, BF16, F64). */
export function readTensorF64(t: TensorInfo): Float64Array {
  return decodeFloats(readTensorBytes(t), t.dtype);
}

/** A tensor as float32 values (half the memory of readTensorF64, for big tensors). */
export function readTensorF32(t: TensorInfo): Float32Array {
  const bytes = readTensorBytes(t);
  if (t.dtype === 'F32') return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  if (t.dtype === 'BF16') {
    const src = new Uint16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
    const out = new Uint32Array(src.length);
    for (let i = 0; i < src.length; i++) out[i] = src[i] << 16;
    return new Float32Array(out.buffer);
  }
  return decodeAs(bytes, t.dtype, Float32Array) as Float32Array;
}

/** Float bytes (F32, F16, BF16, F64) as float64 values. */
export function decodeFloats(bytes: Uint8Array, dtype: SafeDType): Float64Array {
  return decodeAs(bytes, dtype, Float64Array) as Float64Array;
}

function decodeAs(bytes: Uint8Array, dtype: SafeDType, Out: Float64ArrayConstructor | Float32ArrayConstructor): Float64Array | Float32Array {
  const n = bytes.byteLength / SAFE_DTYPE_BYTES[dtype];
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Out(n);
  const f = new Float32Array(1);
  const u = new Uint32Array(f.buffer);
  for (let i = 0; i < n; i++) {
    switch (dtype) {
      case 'F32': out[i] = dv.getFloat32(i * 4, true); break;
      case 'F64': out[i] = dv.getFloat64(i * 8, true); break;
      case 'BF16': u[0] = dv.getUint16(i * 2, true) << 16; out[i] = f[0]; break;
      case 'F16': out[i] = halfToFloat(dv.getUint16(i * 2, true)); break;
      default: throw new Error(`decodeFloats: ${dtype} is not a float dtype`);
    }
  }
  return out;
}

export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}

export interface TensorToWrite {
  dtype: SafeDType;
  shape: number[];
  /** Little-endian bytes, or float values to encode in `dtype` (F32/F16/BF16/F64). */
  data: Uint8Array | Float32Array | Float64Array | number[];
}

/** Write a .safetensors file (tensors in the given order, 8-byte aligned header). */
export function writeSafetensors(file: string, tensors: Record<string, TensorToWrite>, metadata?: Record<string, string>): void {
  const entries = Object.entries(tensors).map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape }));
  const w = new SafetensorsWriter(file, entries, metadata);
  try {
    for (const [name, t] of Object.entries(tensors)) w.write(name, t.data instanceof Uint8Array ? t.data : encodeFloats(t.data, t.dtype));
  } finally {
    w.close();
  }
}

/** Streams tensors into a .safetensors file one at a time (for models too big to hold twice). */
export class SafetensorsWriter {
  private fd: number;
  private next = 0;
  constructor(readonly file: string, private entries: { name: string; dtype: SafeDType; shape: number[] }[], metadata?: Record<string, string>) {
    const header: Record<string, unknown> = {};
    if (metadata) header.__metadata__ = metadata;
    let off = 0;
    for (const e of entries) {
      const n = e.shape.reduce((a, b) => a * b, 1) * SAFE_DTYPE_BYTES[e.dtype];
      header[e.name] = { dtype: e.dtype, shape: e.shape, data_offsets: [off, off + n] };
      off += n;
    }
    let json = Buffer.from(JSON.stringify(header), 'utf8');
    const pad = (8 - (json.length % 8)) % 8; // spaces keep the data section 8-byte aligned
    if (pad) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(json.length));
    fs.mkdirSync(path.dirname(file), { recursive: true });
    this.fd = fs.openSync(file, 'w');
    fs.writeSync(this.fd, len);
    fs.writeSync(this.fd, json);
  }
  /** Write the next tensor's bytes (tensors must come in the declared order). */
  write(name: string, bytes: Uint8Array): void {
    const e = this.entries[this.next++];
    if (!e || e.name !== name) throw new Error(`SafetensorsWriter ${this.file}: expected ${e?.name ?? 'no more tensors'}, got ${name}`);
    const want = e.shape.reduce((a, b) => a * b, 1) * SAFE_DTYPE_BYTES[e.dtype];
    if (bytes.byteLength !== want) throw new Error(`writeSafetensors ${name}: shape [${e.shape}] × ${e.dtype} needs ${want} bytes, got ${bytes.byteLength}`);
    fs.writeSync(this.fd, bytes);
  }
  close(): void {
    fs.closeSync(this.fd);
  }
}

export function encodeFloats(values: ArrayLike<number>, dtype: SafeDType): Uint8Array {
  const n = values.length;
  switch (dtype) {
    case 'F32': return new Uint8Array(Float32Array.from(values).buffer);
    case 'F64': return new Uint8Array(Float64Array.from(values).buffer);
    case 'BF16': {
      const f = Float32Array.from(values);
      const u = new Uint32Array(f.buffer);
      const out = new Uint16Array(n);
      for (let i = 0; i < n; i++) out[i] = (u[i] + 0x7fff + ((u[i] >> 16) & 1)) >>> 16;
      return new Uint8Array(out.buffer);
    }
    case 'F16': {
      const out = new Uint16Array(n);
      for (let i = 0; i < n; i++) out[i] = floatToHalf(values[i]);
      return new Uint8Array(out.buffer);
    }
    default: throw new Error(`encodeFloats: ${dtype} is not a float dtype`);
  }
}

