// The JSON-RPC side of the fuzz tests: a raw client that writes any bytes to the trainer and reads
// its answers, valid params for every request of the protocol (the contract as the tests read it:
// required, optional and nullable fields), the junk made from them, malformed frames, and the
// oracle: every request is answered within a bound, with a result or a JSON-RPC error that is not
// a handler's slip (InternalError) and, for params of the wrong type, says InvalidParams.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { StreamMessageReader, type Message, type NotificationMessage, type ResponseMessage } from 'vscode-jsonrpc/node';
import * as protocol from '../../../protocol';
import { ErrorCodes, type download, type episodes, type learn, type lifecycle, type model, type serve } from '../../../protocol';
import { createTrainerConnection } from '../../../server/rpc';
import { createServerContext } from '../../../server/context';
import { registerLifecycleHandlers } from '../../../server/lifecycle/handlers';
import { registerEpisodesHandlers } from '../../../server/episodes/handlers';
import { registerServeHandlers } from '../../../server/serve/handlers';
import { registerDownloadHandlers } from '../../../server/download/handlers';
import { registerLearnHandlers } from '../../../server/learn/handlers';
import { DEEP, INF, junk, NASTY_STRINGS, NEG_INF, SLIP, stringify, wrongTyped, type Rng } from './fuzz';

/** A hub URL nothing listens on: download/* fails at once, never reaching the network. */
export const CLOSED_URL = 'http://127.0.0.1:9';
export const T = 1_700_000_000_000;

// ---- the trainer in process ---------------------------------------------------------------------

/** The trainer as server/main.ts builds it, on in-memory streams, with a raw client on the other end. */
export function startTrainer() {
  const toServer = new PassThrough();
  const fromServer = new PassThrough();
  const reported: string[] = [];
  const connection = createTrainerConnection(toServer, fromServer, (m) => reported.push(m));
  const control = createServerContext(connection);
  const exits: number[] = [];
  registerLifecycleHandlers(connection, control, (code) => exits.push(code));
  const serving = registerServeHandlers(connection, control.ctx);
  const episodes = registerEpisodesHandlers(connection, control.ctx, serving.generations);
  registerDownloadHandlers(connection, control.ctx, CLOSED_URL);
  registerLearnHandlers(connection, control.ctx, { episodes, serving });
  connection.listen();
  const client = new RawClient(toServer, fromServer);
  return {
    client, control, reported, exits, serving,
    async stop() {
      await control.shutdown();
      client.dispose();
      connection.dispose();
      toServer.destroy();
      fromServer.destroy();
    },
  };
}

/** Fails the test on any exception or rejection nobody handled while `fn` runs. */
export async function noStrayErrors<T>(fn: () => Promise<T>): Promise<T> {
  const stray: unknown[] = [];
  const onError = (e: unknown) => stray.push(e);
  process.on('uncaughtException', onError);
  process.on('unhandledRejection', onError);
  try {
    const out = await fn();
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(stray.map((e) => (e instanceof Error ? e.stack : String(e))), [], 'exceptions nobody handled');
    return out;
  } finally {
    process.off('uncaughtException', onError);
    process.off('unhandledRejection', onError);
  }
}

// ---- the raw client -----------------------------------------------------------------------------

export class RawClient {
  private nextId = 1_000_000;
  private readonly waiting = new Map<string | number, (m: ResponseMessage) => void>();
  /** Errors answered with id null (frames that could not be read as a request). */
  readonly nullIdErrors: ResponseMessage[] = [];
  readonly notifications: NotificationMessage[] = [];
  /** Responses whose id no request of ours had. */
  readonly strays: Message[] = [];
  private readonly reader: StreamMessageReader;

  constructor(private readonly input: Writable, output: Readable) {
    this.reader = new StreamMessageReader(output);
    this.reader.listen((m) => {
      const msg = m as ResponseMessage & NotificationMessage;
      if (typeof msg.method === 'string') this.notifications.push(msg);
      else if (msg.id === null) this.nullIdErrors.push(msg);
      else if (this.waiting.has(msg.id)) {
        this.waiting.get(msg.id)!(msg);
        this.waiting.delete(msg.id);
      } else this.strays.push(msg);
    });
  }

  write(bytes: string | Buffer): void {
    this.input.write(bytes);
  }

  static frame(body: string | Buffer): Buffer {
    const b = Buffer.isBuffer(body) ? body : Buffer.from(body, 'utf8');
    return Buffer.concat([Buffer.from(`Content-Length: ${b.length}\r\n\r\n`, 'ascii'), b]);
  }

  /** A fresh id and a promise of its response (rejects after `ms`: a hang). */
  expect(id: string | number, ms: number, what: string): Promise<ResponseMessage> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(new Error(`${what}: no answer within ${ms} ms (a hang)`));
      }, ms);
      this.waiting.set(id, (m) => {
        clearTimeout(timer);
        resolve(m);
      });
    });
  }

  id(): number {
    return this.nextId++;
  }

  /** Sends a request whose params are the given JSON text (undefined: no params member). */
  request(method: string, paramsJson: string | undefined, ms: number, what = method): Promise<ResponseMessage> {
    const id = this.id();
    const answer = this.expect(id, ms, what);
    const body = `{"jsonrpc":"2.0","id":${id},"method":${JSON.stringify(method)}${paramsJson === undefined ? '' : `,"params":${paramsJson}`}}`;
    this.write(RawClient.frame(body));
    return answer;
  }

  dispose(): void {
    this.reader.dispose();
    for (const [, settle] of this.waiting) settle({ jsonrpc: '2.0', id: null, error: { code: 0, message: 'disposed' } });
    this.waiting.clear();
  }
}

// ---- the protocol's requests and valid params -----------------------------------------------------

export interface RequestInfo {
  method: string;
  /** RequestType (one params object) or RequestType0 (none). */
  takesParams: boolean;
}

/** Every request the protocol declares (RequestType / RequestType0 objects of every area). */
export function protocolRequests(): RequestInfo[] {
  const out: RequestInfo[] = [];
  for (const area of Object.values(protocol)) {
    if (!area || typeof area !== 'object') continue;
    for (const v of Object.values(area as Record<string, unknown>)) {
      const t = v as { method?: unknown; numberOfParams?: unknown; constructor?: { name?: string } };
      if (typeof t?.method === 'string' && /^RequestType\d?$/.test(t.constructor?.name ?? '')) out.push({ method: t.method, takesParams: t.numberOfParams !== 0 });
    }
  }
  return out;
}

const SERVING: lifecycle.ServingSettings = { executionProvider: 'cpu', threads: 1, weights: 'auto' };

const EVENTS: episodes.EpisodeEvent[] = [
  { type: 'accepted', at: T + 1, how: 'command', acceptedText: 'x', start: 0, end: 1 },
  { type: 'rejected', at: T + 1, reason: 'timeout', visibleMs: 10 },
  { type: 'notShown', at: T + 1, visibleMs: 10 },
  { type: 'typedInstead', at: T + 1, text: 'y' },
  { type: 'survival', at: T + 1, afterMs: 1000, status: 'edited', distance: 2, retained: 0.5, currentText: 'z', final: false },
  { type: 'diagnostic', at: T + 1, severity: 'error', message: 'm', code: 'E1', source: 'ts', line: 1, inRange: true },
  { type: 'testOutcome', at: T + 1, source: 'task', kind: 'test', commandLine: 'npm test', exitCode: 1, outcome: 'fail', outputExcerpt: 'o' },
  { type: 'commit', at: T + 1, commit: 'abc', survived: true, retained: 1 },
  { type: 'correction', at: T + 1, directive: 'd', selection: 's' },
  { type: 'closed', at: T + 1, reason: 'r' },
];

/**
 * Valid params for each request with params (several for episodes/event, one per event type).
 * `storage` is the initialized storage folder, `scratch` a folder requests may write into.
 */
export function validParams(storage: string, scratch: string): Record<string, unknown[]> {
  return {
    initialize: [{ storageDir: storage, recordingEnabled: true, modelPath: '', clientVersion: 'fuzz', serving: SERVING, cacheDir: scratch } satisfies lifecycle.InitializeParams],
    configure: [{ recordingEnabled: true, modelPath: '', serving: SERVING } satisfies lifecycle.ConfigureParams],
    'model/check': [{ path: scratch } satisfies model.CheckParams],
    'serve/complete': [{ uri: 'file:///a.py', languageId: 'python', prefix: 'def f():\n    ', suffix: '\n', maxTokens: 4, mode: 'line', temperature: 0, topP: 1, seed: 1, timeoutMs: 100, hint: 'use x' } satisfies serve.CompleteParams],
    'download/plan': [{ repo: 'fuzz/none', hubUrl: CLOSED_URL } satisfies download.PlanParams],
    'download/start': [{ consent: true, repo: 'fuzz/none', destDir: scratch, hubUrl: CLOSED_URL } satisfies download.StartParams],
    'episodes/append': [{ shown: { id: 'tmpl', completionId: 'c-tmpl', createdAt: T, uri: 'file:///ws/a.ts', relPath: 'a.ts', offset: 3, line: 0, suggestion: 'x' } } satisfies episodes.AppendParams],
    'episodes/event': EVENTS.map((event) => ({ id: 'tmpl', event }) satisfies episodes.EventParams),
    'episodes/query': [{ id: 'tmpl', since: 0, until: T + 10, status: 'open', outcome: 'pending', limit: 5 } satisfies episodes.QueryParams],
    'episodes/export': [{ path: path.join(scratch, 'export.jsonl') } satisfies episodes.ExportParams],
    'episodes/settings': [{ maxMB: 50 } satisfies episodes.SettingsParams],
    'learn/rollback': [{ version: 0 } satisfies learn.RollbackParams],
    'learn/exportGguf': [{ destDir: scratch, kind: 'merged', version: 0, weights: 'q4_0' } satisfies learn.ExportGgufParams],
    'learn/configure': [{ schedule: 'manual', batchSize: 4, minEpisodes: 2, idleSeconds: 30, stepsPerRound: 2, learningRate: 1e-3, maxStaleness: 4, maxDrift: 0.5, maxRoundMinutes: 5, maxBpbRegression: 0.02 } satisfies learn.Settings],
  };
}

/** Fields that may be left out (dotted paths; `[]` stands for any array element). Everything else in the params above is required. */
const OPTIONAL: Record<string, string[]> = {
  initialize: ['serving', 'cacheDir'],
  'learn/exportGguf': ['version', 'weights'],
  configure: ['recordingEnabled', 'modelPath', 'serving'],
  'serve/complete': ['maxTokens', 'mode', 'temperature', 'topP', 'seed', 'timeoutMs', 'hint'],
  'download/plan': ['repo', 'hubUrl'],
  'download/start': ['repo', 'hubUrl'],
  'episodes/event': ['event.currentText', 'event.code', 'event.source', 'event.outputExcerpt', 'event.selection'],
  'episodes/query': ['id', 'since', 'until', 'status', 'outcome', 'limit'],
  'episodes/settings': ['maxMB'],
  'learn/rollback': ['version'],
};
/** Fields where null is a value (JSON's NaN; a test run's exit code). */
const NULLABLE = new Set([
  'episodes/append:episode.logprobs.[]',
  ...['visibleMs', 'start', 'end', 'afterMs', 'distance', 'retained', 'line', 'exitCode'].map((f) => `episodes/event:event.${f}`),
]);
/** Fields taken as the editor read them from settings.json: junk falls back to a default (serve/handlers.ts). */
const LENIENT = new Set(['initialize:serving.executionProvider', 'initialize:serving.threads', 'initialize:serving.weights', 'configure:serving.executionProvider', 'configure:serving.threads', 'configure:serving.weights']);
/** Requests that take any junk by design (bad values keep their defaults: server/learn/schedule.ts). */
export const TOLERANT = new Set(['learn/configure']);

const key = (p: (string | number)[]) => p.map((k) => (typeof k === 'number' ? '[]' : k)).join('.');

/** Every path into a value (objects and arrays), with the value there. */
function leaves(v: unknown, at: (string | number)[] = []): { path: (string | number)[]; value: unknown }[] {
  const out = at.length ? [{ path: at, value: v }] : [];
  if (Array.isArray(v)) v.slice(0, 3).forEach((x, i) => out.push(...leaves(x, [...at, i])));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(...leaves(x, [...at, k]));
  return out;
}

function setAt(root: unknown, p: (string | number)[], v: unknown, remove: boolean): void {
  let o = root as Record<string | number, unknown>;
  for (const k of p.slice(0, -1)) o = o[k] as Record<string | number, unknown>;
  const last = p[p.length - 1];
  if (remove && Array.isArray(o)) o.splice(last as number, 1);
  else if (remove) delete o[last];
  else o[last] = v;
}

export type Expect = 'invalid' | 'any';

export interface ParamsCase {
  method: string;
  /** JSON text of the params member (undefined: none). */
  json: string | undefined;
  tag: string;
  /** 'invalid': must be refused with InvalidParams; 'any': a result or a documented error. */
  expect: Expect;
}

/** One junk params case for `method` (with valid params `valid`, or none for a RequestType0). */
export function paramsCase(r: Rng, info: RequestInfo, valid: unknown[] | undefined): ParamsCase {
  const { method } = info;
  const strict = info.takesParams && !TOLERANT.has(method);
  // Whole params replaced: junk values, junk objects, params by position, none at all.
  if (!valid || r.chance(0.2)) {
    const v = r.pick<unknown>([null, 0, -1, 'x', '', true, [], [null], {}, DEEP, INF, junk(r, 2), junk(r, 3), ...(valid ? [[valid[0]], [valid[0], 1]] : [])]);
    const json = r.chance(0.05) ? undefined : stringify(v);
    const isObject = (x: unknown) => x !== null && typeof x === 'object' && !Array.isArray(x);
    // An object (junk keys may happen to fit), or one by position (vscode-jsonrpc hands it over as the params).
    const maybeFits = isObject(v) || (Array.isArray(v) && v.length === 1 && isObject(v[0]));
    const hasRequired = valid && leaves(valid[0]).some((l) => l.path.length === 1 && !(OPTIONAL[method] ?? []).includes(String(l.path[0])));
    const empty = isObject(v) && Object.keys(v as object).length === 0;
    const expect: Expect = strict && (!maybeFits || (empty && hasRequired)) ? 'invalid' : 'any';
    return { method, json, tag: json === undefined ? 'no params' : 'whole params junk', expect: json === undefined && info.takesParams ? 'invalid' : expect };
  }
  const base = structuredClone(r.pick(valid)) as Record<string, unknown>;
  const spots = leaves(base);
  const spot = r.pick(spots);
  const k = key(spot.path);
  const lenient = LENIENT.has(`${method}:${k}`);
  const optional = (OPTIONAL[method] ?? []).includes(k) || k.endsWith('.[]') || (spot.path.length > 1 && typeof spot.path[spot.path.length - 1] === 'number');
  switch (r.int(6)) {
    case 0: {
      if (spot.path.length > 1 && typeof spot.path[spot.path.length - 1] === 'number') {
        setAt(base, spot.path, undefined, true);
        return { method, json: stringify(base), tag: 'array element removed', expect: 'any' };
      }
      setAt(base, spot.path, undefined, true);
      return { method, json: stringify(base), tag: 'field missing', expect: strict && !optional && !lenient ? 'invalid' : 'any' };
    }
    case 1: {
      const v = spot.value === null ? 'x' : r.chance(0.5) ? wrongTyped(r, spot.value) : r.pick<unknown>([null, DEEP, '0', [spot.value], { value: spot.value }]);
      setAt(base, spot.path, v, false);
      const typeKept = typeof v === typeof spot.value && Array.isArray(v) === Array.isArray(spot.value) && (v === null) === (spot.value === null);
      const nullOk = v === null && NULLABLE.has(`${method}:${k}`);
      return { method, json: stringify(base), tag: 'field of the wrong type', expect: strict && !typeKept && !nullOk && !lenient ? 'invalid' : 'any' };
    }
    case 2: {
      if (typeof spot.value !== 'number') return paramsCase(r, info, valid);
      const v = r.pick([INF, NEG_INF]);
      setAt(base, spot.path, v, false);
      return { method, json: stringify(base), tag: 'number ±1e400', expect: strict && !NULLABLE.has(`${method}:${k}`) && !lenient ? 'invalid' : 'any' };
    }
    case 3: {
      if (typeof spot.value !== 'number') return paramsCase(r, info, valid);
      setAt(base, spot.path, r.pick([1e308, -1e308, 2 ** 53 + 2, -(2 ** 31), 1e21, 5e-324, -0.5, 0]), false);
      return { method, json: stringify(base), tag: 'odd number', expect: 'any' };
    }
    case 4: {
      if (typeof spot.value !== 'string') return paramsCase(r, info, valid);
      setAt(base, spot.path, r.chance(0.2) ? Array.from({ length: 200_000 }, () => String.fromCharCode(32 + r.int(0x2f00))).join('') : r.pick(NASTY_STRINGS), false);
      return { method, json: stringify(base), tag: 'odd string', expect: 'any' };
    }
    default: {
      // Extra members, including ones named like Object.prototype's.
      const parent = spot.path.length > 1 ? spot.path.slice(0, -1) : [];
      const target = (parent.length ? parent.reduce((o: any, p) => o[p], base) : base) as Record<string, unknown>;
      if (target && typeof target === 'object' && !Array.isArray(target))
        Object.defineProperty(target, r.pick(['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'extra']), { value: junk(r, 1), enumerable: true, writable: true, configurable: true });
      return { method, json: stringify(base), tag: 'extra member', expect: 'any' };
    }
  }
}

// ---- the oracle ---------------------------------------------------------------------------------

/** Error codes the protocol documents (protocol/errors.ts) plus JSON-RPC's own for bad requests. */
const DOCUMENTED = new Set<number>([...Object.values(ErrorCodes), -32700, -32600, -32601]);

/** Checks one answer; returns its outcome for the tally. Throws on a slip, an undocumented code or a wrong verdict. */
export function judge(c: ParamsCase, m: ResponseMessage, what: string): string {
  if (m.error) {
    const { code, message } = m.error;
    if (typeof code !== 'number' || typeof message !== 'string' || !message) throw new Error(`${what}: malformed error ${JSON.stringify(m.error).slice(0, 300)}`);
    if (code === -32603) throw new Error(`${what}: InternalError (a handler threw): ${message.slice(0, 300)}`);
    if (!DOCUMENTED.has(code)) throw new Error(`${what}: undocumented error code ${code}: ${message.slice(0, 300)}`);
    if (SLIP.test(message)) throw new Error(`${what}: unclear error ${code}: ${message.slice(0, 300)}`);
    if (message.length > 4000) throw new Error(`${what}: error message of ${message.length} characters`);
    if (c.expect === 'invalid' && code !== ErrorCodes.InvalidParams) throw new Error(`${what}: expected InvalidParams, got ${code}: ${message.slice(0, 300)}`);
    return code === ErrorCodes.InvalidParams ? 'InvalidParams' : `error ${code}`;
  }
  if (!('result' in m)) throw new Error(`${what}: neither result nor error: ${JSON.stringify(m).slice(0, 300)}`);
  if (c.expect === 'invalid') throw new Error(`${what}: params of the wrong type were accepted: ${c.json?.slice(0, 200)} → ${JSON.stringify(m.result)?.slice(0, 200)}`);
  const reason = (m.result as { reason?: unknown } | null)?.reason;
  if (typeof reason === 'string' && SLIP.test(reason)) throw new Error(`${what}: result with an unclear reason: ${reason.slice(0, 300)}`);
  return 'result';
}

// ---- malformed frames ---------------------------------------------------------------------------

export interface FrameCase {
  bytes: Buffer;
  tag: string;
  /** An id a JSON-RPC error must answer (the frame's own), or null: an error with id null. */
  answerId?: string | number | null;
}

/** A frame the trainer cannot take as it is. */
export function malformedFrame(r: Rng, id: number): FrameCase {
  const f = RawClient.frame;
  const ok = `{"jsonrpc":"2.0","id":${id},"method":"status"}`;
  switch (r.int(14)) {
    case 0: return { bytes: Buffer.from(`Content-Length: ${r.pick(['abc', '-5', '1e3', '0x10', '', ' 12 abc', '4.5', '+7'])}\r\n\r\n${ok}`), tag: 'bad Content-Length', answerId: null };
    case 1: return { bytes: Buffer.from(`Content-Type: application/json\r\n\r\n${ok}`), tag: 'no Content-Length', answerId: null };
    case 2: return { bytes: Buffer.from(`${r.pick(['GET / HTTP/1.1', 'garbage', 'Content-Length 12', '\u0000\u0001'])}\r\n\r\n${ok}`), tag: 'header not key: value', answerId: null };
    case 3: return { bytes: f(r.pick<string | Buffer>(['{', 'undefined', 'NaN', "{'a':1}", '{"jsonrpc":"2.0","id":1,', r.bytes(1 + r.int(100)), Buffer.from([0xff, 0xfe, 0x7b, 0x7d])])), tag: 'body not JSON', answerId: null };
    case 4: return r.chance(0.2)
      ? { bytes: f(r.pick([`{"id":${id}}`, `{"jsonrpc":"2.0","id":${id}}`])), tag: 'JSON with an id, not a message', answerId: id }
      : { bytes: f(r.pick(['5', '"x"', 'null', '[]', '[1,2]', `[${ok}]`, '{}', '{"jsonrpc":"2.0"}', 'true'])), tag: 'JSON, not a message', answerId: null };
    case 5: return { bytes: f(`{"jsonrpc":"2.0","id":${id},"method":${r.pick(['5', 'null', '{}', '[]', 'true'])}}`), tag: 'method not a string', answerId: id };
    case 6: return { bytes: f(`{"jsonrpc":"2.0","id":${id},"method":"status","params":${r.pick(['5', '"x"', 'true', 'null'])}}`), tag: 'params not structured', answerId: id };
    case 7: return { bytes: f(`{"jsonrpc":"2.0","id":${r.pick(['{}', '[]', 'true', '1e400', '-1e400'])},"method":"status"}`), tag: 'id of the wrong type', answerId: null };
    case 8: {
      const body = Buffer.from(ok);
      return { bytes: Buffer.concat([Buffer.from(`Content-Length: ${body.length + 1 + r.int(500)}\r\n\r\n`), body]), tag: 'body shorter than Content-Length', answerId: null };
    }
    case 9: {
      const body = Buffer.from(ok + r.pick(['}}}', 'garbage', ',"x":1}']));
      return { bytes: Buffer.concat([Buffer.from(`Content-Length: ${ok.length - 1 - r.int(10)}\r\n\r\n`), body]), tag: 'body longer than Content-Length', answerId: null };
    }
    case 10: return { bytes: Buffer.from(`Content-Length: ${r.pick(['99999999999', '9007199254740993', '1000000000000000000000', String(2 ** 31)])}\r\n\r\n${ok}`), tag: 'huge Content-Length', answerId: null };
    case 11: return { bytes: Buffer.from(`X-Junk: ${'y'.repeat(20_000 + r.int(20_000))}`), tag: 'endless header', answerId: null };
    case 12: return { bytes: r.bytes(1 + r.int(300)), tag: 'random bytes', answerId: null };
    default: return { bytes: f(`{"jsonrpc":"${r.pick(['1.0', '3', ''])}","id":${id},"method":"status"}`), tag: 'wrong jsonrpc version', answerId: id };
  }
}
