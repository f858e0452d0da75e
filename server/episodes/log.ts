// Append-only record log with framed, checksummed records: MAGIC(4) | length u32 LE | CRC32 u32 LE
// | JSON payload. An append resolves only after the bytes are written and fdatasync'd (appends that
// arrive together share one sync: group commit). Replay skips a torn final record (and truncates
// it away before the next append) and corrupt records in the middle (resyncing on MAGIC), and
// reports both. Compaction (rewrite()) goes through the same single-writer queue as appends.
// Leaves out rotation.
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

/** One operation of the single writer, run strictly in arrival order. */
type Op<T> =
  | { kind: 'append'; buf: Buffer; commit?: (offset: number, bytes: number) => void; resolve: (offset: number) => void; reject: (e: Error) => void }
  | { kind: 'rewrite'; plan: () => Iterable<T>; resolve: () => void; reject: (e: Error) => void }
  | { kind: 'close'; resolve: () => void; reject: (e: Error) => void };

/**
 * The log file and its single writer. Appends, rewrites (compaction) and close are queued and run
 * one at a time in arrival order, so a rewrite sees every record acknowledged before it and every
 * later append lands in the rewritten file: nothing acknowledged is renamed away.
 */
export class RecordLog<T> {
  private fh: fsp.FileHandle | undefined;
  private size = 0;
  private queue: Op<T>[] = [];
  private running: Promise<void> | undefined;

  /** `chunkBytes` caps each write() call; the crash-loop tests use it to make torn writes likely. */
  private constructor(readonly file: string, private readonly chunkBytes = Number.MAX_SAFE_INTEGER) {}

  private get tmpFile(): string {
    return this.file + '.compact.tmp';
  }

  /** Opens (creating) the log, replays it and cuts off a torn tail so appends start clean. */
  static async open<T>(file: string, opts: { chunkBytes?: number } = {}): Promise<{ log: RecordLog<T>; replay: Replay<T> }> {
    await fsp.mkdir(path.dirname(file), { recursive: true });
    const log = new RecordLog<T>(file, opts.chunkBytes);
    // A rewrite interrupted before its rename leaves a temp file; the log itself is the old one.
    await fsp.rm(log.tmpFile, { force: true });
    const existed = fs.existsSync(file);
    const buf = existed ? await fsp.readFile(file) : Buffer.alloc(0);
    const replay = decodeAll<T>(buf);
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

  /**
   * Resolves with the record's offset once it is on disk (written and fdatasync'd). `commit` runs
   * synchronously at that moment, before any later operation (e.g. a rewrite that reads the
   * caller's in-memory state), so memory and file agree in log order.
   */
  append(value: T, commit?: (offset: number, bytes: number) => void): Promise<number> {
    const buf = encodeRecord(value);
    return this.enqueue<number>((resolve, reject) => ({ kind: 'append', buf, commit, resolve, reject }));
  }

  /**
   * Replaces the whole log with the records `plan` yields, in queue order: `plan` is called when
   * every earlier append is durable and committed. Writes a temp file, fsyncs it, renames it over
   * the log and fsyncs the folder: a crash leaves either the old log or the new one.
   */
  rewrite(plan: () => Iterable<T>): Promise<void> {
    return this.enqueue<void>((resolve, reject) => ({ kind: 'rewrite', plan, resolve, reject }));
  }

  /** Closes after every queued operation; later appends fail with "closed". */
  close(): Promise<void> {
    return this.enqueue<void>((resolve, reject) => ({ kind: 'close', resolve, reject }));
  }

  private enqueue<R>(make: (resolve: (r: R) => void, reject: (e: Error) => void) => Op<T>): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.queue.push(make(resolve, reject));
      this.kick();
    });
  }

  /** Starts the writer unless it runs; restarts it for operations queued as it was finishing. */
  private kick(): void {
    if (this.running) return;
    this.running = this.run().finally(() => {
      this.running = undefined;
      if (this.queue.length > 0) this.kick();
    });
  }

  private async run(): Promise<void> {
    while (this.queue.length > 0) {
      const head = this.queue[0];
      if (head.kind !== 'append') {
        this.queue.shift();
        try {
          if (head.kind === 'rewrite') await this.doRewrite(head.plan());
          else await this.doClose();
          head.resolve();
        } catch (err) {
          head.reject(asError(err));
        }
        continue;
      }
      // Consecutive appends share one write and one sync (group commit).
      let n = 1;
      while (n < this.queue.length && this.queue[n].kind === 'append') n++;
      const batch = this.queue.splice(0, n) as Extract<Op<T>, { kind: 'append' }>[];
      try {
        if (!this.fh) throw new Error(`episode log ${this.file} is closed`);
        const all = Buffer.concat(batch.map((b) => b.buf));
        await this.writeAll(this.fh, all, this.size);
        await this.fh.datasync();
        let at = this.size;
        this.size += all.length;
        for (const item of batch) {
          item.commit?.(at, item.buf.length);
          item.resolve(at);
          at += item.buf.length;
        }
      } catch (err) {
        for (const item of batch) item.reject(asError(err));
      }
    }
  }

  private async writeAll(fh: fsp.FileHandle, buf: Buffer, position: number): Promise<void> {
    let written = 0;
    while (written < buf.length) {
      const { bytesWritten } = await fh.write(buf, written, Math.min(this.chunkBytes, buf.length - written), position + written);
      written += bytesWritten;
    }
  }

  private async doRewrite(values: Iterable<T>): Promise<void> {
    if (!this.fh) throw new Error(`episode log ${this.file} is closed`);
    const out = await fsp.open(this.tmpFile, 'w');
    let size = 0;
    try {
      const chunk: Buffer[] = [];
      let pending = 0;
      const flush = async () => {
        await this.writeAll(out, Buffer.concat(chunk), size);
        size += pending;
        chunk.length = 0;
        pending = 0;
      };
      for (const v of values) {
        const b = encodeRecord(v);
        chunk.push(b);
        pending += b.length;
        if (pending > 1 << 20) await flush();
      }
      if (pending) await flush();
      await out.sync();
    } finally {
      await out.close();
    }
    await this.fh.close();
    this.fh = undefined;
    try {
      await fsp.rename(this.tmpFile, this.file);
      await syncDir(path.dirname(this.file));
      this.size = size;
    } finally {
      // The new log after a rename, the old one if it failed: appends go on either way.
      this.fh = await fsp.open(this.file, 'r+');
    }
  }

  private async doClose(): Promise<void> {
    const fh = this.fh;
    this.fh = undefined;
    await fh?.close();
  }
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
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
