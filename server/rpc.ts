// The trainer's JSON-RPC connection, made safe against whatever arrives on stdin. The reader frames
// the bytes itself: a strict Content-Length (digits, at most MAX_FRAME_BYTES), a bounded header, and
// after junk or a frame cut short it skips to the next header instead of reading everything after
// as one long body (vscode-jsonrpc's reader stays misaligned for good after one bad frame, and waits
// forever on a huge Content-Length). What it cannot take it answers with a JSON-RPC error: -32700
// for bytes that are no JSON, -32600 for JSON that is no message. Then every request's params are
// checked against the protocol's shapes before its handler runs (-32602 naming the field), so a
// handler never meets `null` for an object, a number for a path, or 1e400 for a timeout.
// Used by server/main.ts and by the fuzz tests (test/unit/fuzz/).
import * as path from 'node:path';
import type { Readable, Writable } from 'node:stream';
import {
  AbstractMessageReader, createMessageConnection, ResponseError, StreamMessageWriter,
  type DataCallback, type Disposable, type Message, type MessageConnection, type MessageReader,
} from 'vscode-jsonrpc/node';
import { ErrorCodes } from '../protocol';
import { describe } from './model/config';

/** Largest frame body taken (a request carries trimmed editor text: this is far past any). */
export const MAX_FRAME_BYTES = 64 * 1024 * 1024;
/** Longest header block. */
const MAX_HEADER_BYTES = 8 * 1024;
/** serve/complete's timeoutMs bound: the serving worker answers one request at a time. */
export const MAX_COMPLETE_TIMEOUT_MS = 60_000;

const PARSE_ERROR = -32700;
const INVALID_REQUEST = -32600;

/** Answers a message the reader refused (id null when it had none worth answering). */
export type Refuse = (id: string | number | null, code: number, message: string) => void;

/**
 * stdin + stdout as a JSON-RPC connection with the reader and params checks above. `report` hears
 * every problem (the trainer logs them: a peer that sends junk is worth a line in the output channel).
 */
export function createTrainerConnection(input: Readable, output: Writable, report: (message: string) => void): MessageConnection {
  const writer = new StreamMessageWriter(output);
  const refuse: Refuse = (id, code, message) => {
    report(message);
    void writer.write({ jsonrpc: '2.0', id, error: { code, message } } as Message).catch(() => undefined);
  };
  return guardParams(createMessageConnection(new GuardedMessageReader(input, refuse, report), writer));
}

// ---- framing ------------------------------------------------------------------------------------

const HEADER_END = Buffer.from('\r\n\r\n', 'latin1');
/** A whole Content-Length header line: where a frame can start (raw CR LF never occurs inside JSON text). */
const FRAME_START = /content-length:[ \t]*\d+[ \t]*\r\n/i;
/** Enough of a header's start to be kept while resyncing (it may be completed by the next chunk). */
const TAIL = 64;

/** A growable byte queue (amortized copies, however the input is chunked). */
class Bytes {
  private data = Buffer.alloc(0);
  private start = 0;
  private end = 0;
  get length(): number {
    return this.end - this.start;
  }
  push(chunk: Buffer): void {
    if (this.end + chunk.length > this.data.length) {
      const next = Buffer.allocUnsafe(Math.max(this.length + chunk.length, this.data.length * 2, 4096));
      this.data.copy(next, 0, this.start, this.end);
      this.end -= this.start;
      this.start = 0;
      this.data = next;
    }
    chunk.copy(this.data, this.end);
    this.end += chunk.length;
  }
  /** The bytes queued (a view: valid until the next push). */
  view(): Buffer {
    return this.data.subarray(this.start, this.end);
  }
  drop(n: number): void {
    this.start += Math.min(n, this.length);
    if (this.start === this.end) {
      this.start = this.end = 0;
      if (this.data.length > 1 << 20) this.data = Buffer.alloc(0);
    }
  }
}

/** Offset of the first FRAME_START in buf[from, to) (the match may run past `to`), or -1. */
function findFrameStart(buf: Buffer, from: number, to: number): number {
  const m = FRAME_START.exec(buf.toString('latin1', from, Math.min(buf.length, to + TAIL)));
  return m && from + m.index < to ? from + m.index : -1;
}

/** Content-Length of a header block, or what is wrong with it. */
function parseHeader(text: string): number | string {
  let length: number | undefined;
  for (const line of text.split('\r\n')) {
    const colon = line.indexOf(':');
    if (colon <= 0) return `header line ${describe(line, 60)} is not "Name: value"`;
    if (line.slice(0, colon).trim().toLowerCase() !== 'content-length') continue;
    const value = line.slice(colon + 1).trim();
    if (!/^\d{1,16}$/.test(value)) return `Content-Length ${describe(value, 40)} is not a byte count`;
    const n = Number(value);
    if (length !== undefined && n !== length) return `two Content-Length headers (${length} and ${n})`;
    if (n > MAX_FRAME_BYTES) return `Content-Length ${n} exceeds the ${MAX_FRAME_BYTES}-byte limit`;
    length = n;
  }
  return length ?? 'the header has no Content-Length';
}

export class GuardedMessageReader extends AbstractMessageReader implements MessageReader {
  private readonly bytes = new Bytes();
  /** Length of the body being read, or -1 while reading a header. */
  private body = -1;
  /** Bytes of the pending body already searched for a frame that cut it short. */
  private scanned = 0;
  /** Skipping junk to the next frame (one report per stretch of junk). */
  private resyncing = false;
  private callback: DataCallback | undefined;
  private closed = false;

  constructor(private readonly input: Readable, private readonly refuse: Refuse, private readonly report: (message: string) => void) {
    super();
  }

  listen(callback: DataCallback): Disposable {
    this.callback = callback;
    const onData = (d: Buffer | string) => this.onData(typeof d === 'string' ? Buffer.from(d, 'utf8') : d);
    const onError = (e: Error) => this.fireError(e);
    const onClose = () => {
      if (this.closed) return;
      this.closed = true;
      this.fireClose();
    };
    this.input.on('data', onData);
    this.input.on('error', onError);
    this.input.on('end', onClose);
    this.input.on('close', onClose);
    return {
      dispose: () => {
        this.input.off('data', onData);
        this.input.off('error', onError);
        this.input.off('end', onClose);
        this.input.off('close', onClose);
      },
    };
  }

  private onData(chunk: Buffer): void {
    this.bytes.push(chunk);
    try {
      this.pump();
    } catch (e) {
      this.fireError(e instanceof Error ? e : new Error(String(e)));
    }
  }

  private pump(): void {
    for (;;) {
      const v = this.bytes.view();
      if (!v.length) return;
      if (this.resyncing) {
        const at = findFrameStart(v, 0, v.length);
        if (at < 0) {
          this.bytes.drop(v.length - Math.min(v.length, TAIL));
          return;
        }
        this.bytes.drop(at);
        this.resyncing = false;
        continue;
      }
      if (this.body < 0) {
        const end = v.indexOf(HEADER_END);
        if (end < 0 && v.length <= MAX_HEADER_BYTES) return; // the rest of the header is still coming
        const header = end < 0 || end > MAX_HEADER_BYTES ? `no end of header within ${MAX_HEADER_BYTES} bytes` : parseHeader(v.toString('latin1', 0, end));
        if (typeof header === 'string') {
          this.junk(`unreadable frame: ${header}`);
          continue;
        }
        this.bytes.drop(end + HEADER_END.length);
        this.body = header;
        this.scanned = 0;
        continue;
      }
      // A frame header inside the body: the frame was cut short and another began (it is read next).
      const cut = findFrameStart(v, Math.max(0, this.scanned - TAIL), Math.min(v.length, this.body));
      if (cut >= 0) {
        this.cutShort(cut);
        continue;
      }
      this.scanned = Math.min(v.length, this.body);
      if (v.length < this.body) return;
      const length = this.body;
      const text = v.toString('utf8', 0, length);
      let message: unknown;
      try {
        message = JSON.parse(text);
      } catch (e) {
        // A frame cut short just before the next one's header line was complete: read that one next.
        const next = v.subarray(0, length).toString('latin1').search(/content-length:/i);
        if (next > 0) {
          this.cutShort(next);
          continue;
        }
        this.bytes.drop(length);
        this.body = -1;
        this.refuse(null, PARSE_ERROR, `Parse error: a frame of ${length} bytes is not JSON (${(e as Error).message.slice(0, 200)})`);
        continue;
      }
      this.bytes.drop(length);
      this.body = -1;
      this.deliver(message);
    }
  }

  private junk(problem: string): void {
    this.bytes.drop(1); // past the start that failed, so the resync finds the next one
    this.resyncing = true;
    this.refuse(null, PARSE_ERROR, `${problem}; skipping to the next frame`);
  }

  private cutShort(at: number): void {
    const announced = this.body;
    this.bytes.drop(at);
    this.body = -1;
    this.refuse(null, PARSE_ERROR, `a frame announced ${announced} bytes but the next frame began after ${at}; the cut frame was dropped`);
  }

  private deliver(message: unknown): void {
    const problem = checkMessage(message);
    if (problem?.answer === false) this.report(problem.message);
    else if (problem) this.refuse(problem.id, problem.code, problem.message);
    if (problem) return;
    try {
      this.callback?.(message as Message);
    } catch (e) {
      this.report(`a message could not be handled: ${(e as Error).message}`);
    }
  }
}

/** What is wrong with a parsed frame as a JSON-RPC 2.0 message (answer: false for a notification, which gets none), or nothing. */
function checkMessage(m: unknown): { id: string | number | null; code: number; message: string; answer?: false } | undefined {
  if (Array.isArray(m)) return { id: null, code: INVALID_REQUEST, message: 'Invalid Request: batches are not supported (one message per frame)' };
  if (!m || typeof m !== 'object') return { id: null, code: INVALID_REQUEST, message: `Invalid Request: ${describe(m, 60)} is not a JSON-RPC message` };
  const o = m as Record<string, unknown>;
  const id = typeof o.id === 'string' || (typeof o.id === 'number' && Number.isFinite(o.id)) ? o.id : null;
  if (o.jsonrpc !== '2.0') return { id, code: INVALID_REQUEST, message: `Invalid Request: jsonrpc must be "2.0", got ${describe(o.jsonrpc, 40)}` };
  if (!('method' in o)) {
    // A response (the trainer sends no requests today, but one is no error to drop loudly).
    if (o.id !== undefined && ('result' in o || 'error' in o)) return undefined;
    return { id, code: INVALID_REQUEST, message: 'Invalid Request: neither a request, a notification nor a response' };
  }
  if (typeof o.method !== 'string') return { id, code: INVALID_REQUEST, message: `Invalid Request: method must be a string, got ${describe(o.method, 60)}` };
  const method = describe(o.method, 60).slice(1, -1);
  if (o.id !== undefined && id === null) return { id: null, code: INVALID_REQUEST, message: `Invalid Request: ${method}: id must be a string or a finite number, got ${describe(o.id, 40)}` };
  if (o.params !== undefined && (o.params === null || typeof o.params !== 'object'))
    return { id, code: ErrorCodes.InvalidParams, message: `${method}: params must be an object, got ${describe(o.params, 60)}`, ...(o.id === undefined ? { answer: false as const } : {}) };
  // vscode-jsonrpc reads params.id of a cancellation before anything else.
  if (o.method === '$/cancelRequest') {
    const cid = (o.params as { id?: unknown } | undefined)?.id;
    if (typeof cid !== 'string' && typeof cid !== 'number') return { id: null, code: ErrorCodes.InvalidParams, message: `$/cancelRequest: params.id must be a request id, got ${describe(cid, 40)}`, answer: false };
  }
  return undefined;
}

// ---- params -------------------------------------------------------------------------------------

/** A check of one value: undefined when it fits, else what is wrong, naming it by `at`. */
type Check = (v: unknown, at: string) => string | undefined;

const str: Check = (v, at) => (typeof v === 'string' ? undefined : `${at} must be a string, got ${describe(v)}`);
const bool: Check = (v, at) => (typeof v === 'boolean' ? undefined : `${at} must be true or false, got ${describe(v)}`);
const num = (o: { min?: number; max?: number; int?: boolean; nullable?: boolean } = {}): Check => (v, at) => {
  if (v === null && o.nullable) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) return `${at} must be a finite number, got ${describe(v)}`;
  if (o.int && !Number.isInteger(v)) return `${at} must be an integer, got ${v}`;
  if (o.min !== undefined && v < o.min) return `${at} must be at least ${o.min}, got ${v}`;
  if (o.max !== undefined && v > o.max) return `${at} must be at most ${o.max}, got ${v}`;
  return undefined;
};
const oneOf = (...values: string[]): Check => (v, at) => (typeof v === 'string' && values.includes(v) ? undefined : `${at} must be one of ${values.map((x) => `"${x}"`).join(', ')}, got ${describe(v)}`);
const arrayOf = (item: Check): Check => (v, at) => {
  if (!Array.isArray(v)) return `${at} must be an array, got ${describe(v)}`;
  for (let i = 0; i < v.length; i++) {
    const p = item(v[i], `${at}[${i}]`);
    if (p) return p;
  }
  return undefined;
};
/** Longest path taken (PATH_MAX on Linux; a path is echoed in errors and logs). */
const MAX_PATH = 4096;
const pathStr: Check = (v, at) => str(v, at) ?? ((v as string).length <= MAX_PATH && !(v as string).includes('\0') ? undefined : `${at} must be a path (at most ${MAX_PATH} characters, no NUL), got ${describe(v)}`);
const absolutePath: Check = (v, at) => pathStr(v, at) ?? (path.isAbsolute(v as string) ? undefined : `${at} must be an absolute path, got ${describe(v)}`);
/** A hub or mirror base URL ('' = the default). */
const url: Check = (v, at) => str(v, at) ?? (v === '' || (/^https?:\/\/[^\s]+$/i.test(v as string) && (v as string).length <= 2048) ? undefined : `${at} must be an http(s) URL, got ${describe(v)}`);
/** A hub repository id ("owner/name"): it becomes a folder name under destDir, so no "..". */
const repoId: Check = (v, at) => str(v, at) ?? (/^[A-Za-z0-9][\w.-]*(\/[A-Za-z0-9][\w.-]*)?$/.test(v as string) ? undefined : `${at} must be a hub repository id like "Qwen/Qwen2.5-Coder-0.5B", got ${describe(v)}`);
const obj = (required: Record<string, Check>, optional: Record<string, Check> = {}): Check => (v, at) => {
  if (!v || typeof v !== 'object' || Array.isArray(v)) return `${at} must be an object, got ${describe(v)}`;
  const o = v as Record<string, unknown>;
  for (const [k, check] of Object.entries(required)) {
    if (!Object.hasOwn(o, k) || o[k] === undefined) return `${at}.${k} is missing`;
    const p = check(o[k], `${at}.${k}`);
    if (p) return p;
  }
  for (const [k, check] of Object.entries(optional)) {
    if (!Object.hasOwn(o, k) || o[k] === undefined) continue;
    const p = check(o[k], `${at}.${k}`);
    if (p) return p;
  }
  return undefined;
};

/**
 * hindsight.serving.* as the editor reads them from settings.json, unchecked: an unknown provider or
 * weights value falls back (serve/handlers.ts serveOptionsFromSettings), so only an object is asked
 * for, and a thread count that is a number must be a sane one.
 */
const serving: Check = (v, at) =>
  obj({})(v, at) ?? (typeof (v as { threads?: unknown }).threads === 'number' ? num({ min: 0, max: 1024 })((v as { threads: number }).threads, `${at}.threads`) : undefined);

/** Numbers the editor computes (durations, distances): JSON carries a NaN as null, which the store keeps as it came. */
const measure = num({ nullable: true });
const EVENT_FIELDS: Record<string, [Record<string, Check>, Record<string, Check>?]> = {
  accepted: [{ how: oneOf('command', 'typed', 'partial'), acceptedText: str, start: measure, end: measure }],
  rejected: [{ reason: oneOf('timeout', 'diverged', 'cursorMoved', 'superseded', 'closed'), visibleMs: measure }],
  notShown: [{ visibleMs: measure }],
  typedInstead: [{ text: str }],
  survival: [{ afterMs: measure, status: oneOf('unchanged', 'edited', 'deleted', 'unknown'), distance: measure, retained: measure, final: bool }, { currentText: str }],
  diagnostic: [{ severity: oneOf('error', 'warning'), message: str, line: measure, inRange: bool }, { code: str, source: str }],
  testOutcome: [{ source: oneOf('terminal', 'task'), kind: oneOf('test', 'build'), commandLine: str, exitCode: measure, outcome: oneOf('pass', 'fail', 'unknown') }, { outputExcerpt: str }],
  commit: [{ commit: str, survived: bool, retained: measure }],
  correction: [{ directive: str }, { selection: str }],
  closed: [{ reason: str }],
};
const event: Check = (v, at) => {
  const type = (v as { type?: unknown } | null)?.type;
  if (!v || typeof v !== 'object' || Array.isArray(v)) return `${at} must be an object, got ${describe(v)}`;
  if (typeof type !== 'string' || !Object.hasOwn(EVENT_FIELDS, type)) return `${at}.type must be one of ${Object.keys(EVENT_FIELDS).join(', ')}, got ${describe(type)}`;
  const [required, optional] = EVENT_FIELDS[type];
  return obj({ type: str, at: num(), ...required }, optional)(v, at);
};
const shown = obj({ id: str, completionId: str, createdAt: num(), uri: str, relPath: str, offset: num({ int: true, min: 0 }), line: num({ int: true, min: 0 }), suggestion: str });

/** The params of every request that has some (RequestType0 requests ignore theirs). */
const PARAMS: Record<string, Check> = {
  initialize: obj({ storageDir: pathStr, recordingEnabled: bool, modelPath: pathStr, clientVersion: str }, { serving, cacheDir: pathStr }),
  configure: obj({}, { recordingEnabled: bool, modelPath: pathStr, serving }),
  'model/check': obj({ path: pathStr }),
  'serve/complete': obj(
    { uri: str, languageId: str, prefix: str, suffix: str },
    { maxTokens: num({ min: 0 }), mode: oneOf('line', 'block'), temperature: num({ min: 0 }), topP: num(), seed: num(), timeoutMs: num({ min: 0, max: MAX_COMPLETE_TIMEOUT_MS }), hint: str },
  ),
  'download/plan': obj({}, { repo: repoId, hubUrl: url }),
  'download/start': obj({ consent: bool, destDir: absolutePath }, { repo: repoId, hubUrl: url }),
  'episodes/append': obj({ shown }),
  'episodes/event': obj({ id: str, event }),
  'episodes/query': obj({}, { id: str, since: num(), until: num(), status: oneOf('open', 'complete'), outcome: oneOf('pending', 'accepted', 'partial', 'rejected', 'notShown'), limit: num({ int: true, min: 0 }) }),
  'episodes/export': obj({ path: absolutePath }),
  'episodes/settings': obj({}, { maxMB: num({ min: Number.MIN_VALUE }) }),
  'learn/rollback': obj({}, { version: num({ int: true, min: 0 }) }),
  'learn/exportGguf': obj({ destDir: absolutePath, kind: oneOf('adapter', 'merged') }, { version: num({ int: true, min: 0 }), weights: oneOf('f32', 'f16', 'q4_0') }),
  // Values are taken or ignored one by one (server/learn/schedule.ts mergeSettings): only the shape is checked.
  'learn/configure': obj({}),
};

/** Deepest nesting taken anywhere in params (the protocol's own go 3 deep): deeper junk would overflow the stack of whatever walks it. */
const MAX_DEPTH = 32;

/** Whether `v` nests objects or arrays deeper than `limit` (iterative: safe for any parsed JSON). */
function tooDeep(v: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[v, 0]];
  while (stack.length) {
    const [x, d] = stack.pop()!;
    if (!x || typeof x !== 'object') continue;
    if (d >= limit) return true;
    for (const y of Object.values(x)) if (y && typeof y === 'object') stack.push([y, d + 1]);
  }
  return false;
}

/** Params a request's handler would get refused first, or undefined (also for methods without a check). */
export function paramsProblem(method: string, params: unknown): string | undefined {
  const check = Object.hasOwn(PARAMS, method) ? PARAMS[method] : undefined;
  if (!check) return undefined;
  if (tooDeep(params, MAX_DEPTH)) return `params nest deeper than ${MAX_DEPTH} levels`;
  return check(params, 'params');
}

/** The connection with every request handler behind its params check (InvalidParams naming the field). */
export function guardParams(connection: MessageConnection): MessageConnection {
  const onRequest = connection.onRequest.bind(connection) as (type: unknown, handler: unknown) => Disposable;
  return new Proxy(connection, {
    get(target, prop, receiver) {
      if (prop !== 'onRequest') return Reflect.get(target, prop, receiver);
      return (type: unknown, handler: unknown) => {
        const method = typeof type === 'string' ? type : (type as { method?: unknown } | undefined)?.method;
        if (typeof method !== 'string' || !Object.hasOwn(PARAMS, method) || typeof handler !== 'function') return onRequest(type, handler);
        return onRequest(type, (...args: unknown[]) => {
          // By name, a handler gets (params, token); params by position arrive as more values.
          if (args.length !== 2) throw new ResponseError(ErrorCodes.InvalidParams, `${method}: params must be one object (by name), got ${args.length - 1} value(s) by position`);
          const problem = paramsProblem(method, args[0]);
          if (problem) throw new ResponseError(ErrorCodes.InvalidParams, `${method}: ${problem}`);
          return (handler as (...a: unknown[]) => unknown)(...args);
        });
      };
    },
  });
}
