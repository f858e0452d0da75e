// Append-only record log with framed, checksummed records: MAGIC(4) | length u32 LE | CRC32 u32 LE
// | JSON payload. An append resolves only after the bytes are written and fdatasync'd (appends that
// arrive together share one sync: group commit). Replay skips a torn final record (and truncates
// it away before the next append) and corrupt records in the middle (resyncing on MAGIC), and
// reports both. Leaves out rotation; the store compacts by rewriting (rewrite()).
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { crc32 } from 'node:zlib';

export const MAGIC = Buffer.from('HSE1', 'latin1');
export const HEADER_BYTES = 12;
/** Refuse absurd lengths when resyncing through garbage (a record is at most this big). */
export const MAX_RECORD_BYTES = 64 * 1024 * 1024;

export interface ReplayIssue {
  kind: 'torn-tail' | 'corrupt';
  /** Byte offset where the bad region starts and how many bytes were skipped. */
  offset: number;
  bytes: number;
  detail: string;
}

export interface Replay<T> {
  records: { offset: number; bytes: number; value: T }[];
  issues: ReplayIssue[];
  /** End of the last intact record: appends continue here. */
  validEnd: number;
  fileBytes: number;
}

export function encodeRecord(value: unknown): Buffer {
  const payload = Buffer.from(JSON.stringify(value), 'utf8');
  if (payload.length > MAX_RECORD_BYTES) throw new Error(`record of ${payload.length} bytes exceeds the ${MAX_RECORD_BYTES}-byte limit`);
  const header = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(header, 0);
  header.writeUInt32LE(payload.length, 4);
  header.writeUInt32LE(crc32(payload), 8);
  return Buffer.concat([header, payload]);
}

/** Length of an intact record at `pos`, or 0 if none starts there. */
function frameAt(buf: Buffer, pos: number): number {
  if (pos + HEADER_BYTES > buf.length) return 0;
  if (buf.compare(MAGIC, 0, 4, pos, pos + 4) !== 0) return 0;
  const len = buf.readUInt32LE(pos + 4);
  if (len > MAX_RECORD_BYTES || pos + HEADER_BYTES + len > buf.length) return 0;
  const payload = buf.subarray(pos + HEADER_BYTES, pos + HEADER_BYTES + len);
  if (crc32(payload) !== buf.readUInt32LE(pos + 8)) return 0;
  return HEADER_BYTES + len;
}

/** Decodes every intact record of `buf`; never throws on bad bytes. */
export function decodeAll<T>(buf: Buffer): Replay<T> {
  const records: Replay<T>['records'] = [];
  const issues: ReplayIssue[] = [];
  let pos = 0;
  let validEnd = 0;
  while (pos < buf.length) {
    const n = frameAt(buf, pos);
    if (n > 0) {
      let value: T | undefined;
      try {
        value = JSON.parse(buf.toString('utf8', pos + HEADER_BYTES, pos + n)) as T;
      } catch (err) {
        // Checksum matched but JSON did not parse: written by a buggy writer; skip it.
        issues.push({ kind: 'corrupt', offset: pos, bytes: n, detail: `record with valid checksum is not JSON: ${(err as Error).message}` });
      }
      if (value !== undefined) records.push({ offset: pos, bytes: n, value });
      pos += n;
      validEnd = pos;
      continue;
    }
    // Bad bytes: look for the next intact record.
    let next = -1;
    for (let at = buf.indexOf(MAGIC, pos + 1); at >= 0; at = buf.indexOf(MAGIC, at + 1)) {
      if (frameAt(buf, at) > 0) {
        next = at;
        break;
      }
    }
    if (next < 0) {
      issues.push({ kind: 'torn-tail', offset: pos, bytes: buf.length - pos, detail: `incomplete or damaged final record (${buf.length - pos} bytes) dropped` });
      break;
    }
    issues.push({ kind: 'corrupt', offset: pos, bytes: next - pos, detail: `skipped ${next - pos} damaged bytes in the middle of the log` });
    pos = next;
  }
  return { records, issues, validEnd, fileBytes: buf.length };
}

export class RecordLog<T> {
  private fh: fsp.FileHandle | undefined;
  private size = 0;
  private queue: { buf: Buffer; resolve: (offset: number) => void; reject: (e: Error) => void }[] = [];
  private flushing: Promise<void> | undefined;

  /** `chunkBytes` caps each write() call; the crash-loop test uses it to make torn writes likely. */
  private constructor(readonly file: string, private readonly chunkBytes = Number.MAX_SAFE_INTEGER) {}

  /** Opens (creating) the log, replays it and cuts off a torn tail so appends start clean. */
  static async open<T>(file: string, opts: { chunkBytes?: number } = {}): Promise<{ log: RecordLog<T>; replay: Replay<T> }> {
    await fsp.mkdir(path.dirname(file), { recursive: true });
    const existed = fs.existsSync(file);
    const buf = existed ? await fsp.readFile(file) : Buffer.alloc(0);
    const replay = decodeAll<T>(buf);
    const log = new RecordLog<T>(file, opts.chunkBytes);
    log.fh = await fsp.open(file, existed ? 'r+' : 'w+');
    if (replay.validEnd < buf.length && replay.issues.some((i) => i.kind === 'torn-tail')) {
      await log.fh.truncate(replay.validEnd);
      await log.fh.datasync();
      log.size = replay.validEnd;
    } else log.size = buf.length;
    if (!existed) await syncDir(path.dirname(file));
    return { log, replay };
  }

  get bytes(): number {
    return this.size;
  }

  /** Resolves with the record's offset once it is on disk (written and fdatasync'd). */
  append(value: T): Promise<number> {
    const buf = encodeRecord(value);
    return new Promise<number>((resolve, reject) => {
      this.queue.push({ buf, resolve, reject });
      this.flushing ??= this.flush();
    });
  }

  private async flush(): Promise<void> {
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, this.queue.length);
        try {
          if (!this.fh) throw new Error(`episode log ${this.file} is closed`);
          const all = Buffer.concat(batch.map((b) => b.buf));
          let written = 0;
          while (written < all.length) {
            const { bytesWritten } = await this.fh.write(all, written, Math.min(this.chunkBytes, all.length - written), this.size + written);
            written += bytesWritten;
          }
          await this.fh.datasync();
          this.size += all.length;
          let at = this.size - all.length;
          for (const item of batch) {
            item.resolve(at);
            at += item.buf.length;
          }
        } catch (err) {
          for (const item of batch) item.reject(err instanceof Error ? err : new Error(String(err)));
        }
      }
    } finally {
      this.flushing = undefined;
    }
  }

  /** Waits for queued appends. */
  async drain(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  async close(): Promise<void> {
    await this.drain();
    await this.fh?.close();
    this.fh = undefined;
  }

  /**
   * Replaces the whole log with `values` atomically: write a temp file, fsync it, rename it over
   * the log, fsync the folder. A crash leaves either the old log or the new one.
   */
  async rewrite(values: Iterable<T>): Promise<void> {
    await this.drain();
    const tmp = this.file + '.compact.tmp';
    const out = await fsp.open(tmp, 'w');
    let size = 0;
    try {
      const chunk: Buffer[] = [];
      let pending = 0;
      for (const v of values) {
        const b = encodeRecord(v);
        chunk.push(b);
        pending += b.length;
        if (pending > 1 << 20) {
          await out.write(Buffer.concat(chunk));
          size += pending;
          chunk.length = 0;
          pending = 0;
        }
      }
      if (pending) await out.write(Buffer.concat(chunk));
      size += pending;
      await out.sync();
    } finally {
      await out.close();
    }
    await this.fh?.close();
    await fsp.rename(tmp, this.file);
    await syncDir(path.dirname(this.file));
    this.fh = await fsp.open(this.file, 'r+');
    this.size = size;
  }
}

async function syncDir(dir: string): Promise<void> {
  // Makes a created or renamed file's directory entry durable; not supported on every platform.
  try {
    const d = await fsp.open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    /* Windows cannot open directories; rename is durable enough there. */
  }
}
