// Keeps stdout for JSON-RPC frames only. Imported first by server/main.ts: it takes the real
// stdout writer for the connection, then routes console.* and stray process.stdout writes to the
// `log` notification (buffered until the connection exists). stderr is left alone; the extension
// copies it into the "Hindsight" output channel.
import { Writable } from 'node:stream';
import type { lifecycle } from '../protocol';

type LogSink = (level: lifecycle.LogLevel, message: string) => void;

const rawWrite = process.stdout.write.bind(process.stdout) as (chunk: unknown, cb?: (err?: Error | null) => void) => boolean;

/** The only stream that reaches the real stdout: hand it to StreamMessageWriter. */
export const frameStream = new Writable({
  write(chunk, _encoding, callback) {
    rawWrite(chunk, callback);
  },
});

let sink: LogSink | undefined;
const pending: [lifecycle.LogLevel, string][] = [];
function emit(level: lifecycle.LogLevel, message: string) {
  if (sink) sink(level, message);
  else if (pending.length < 1000) pending.push([level, message]);
}

/** Starts delivering log lines (and those buffered so far) through the connection. */
export function attachLogSink(s: LogSink) {
  sink = s;
  for (const [level, message] of pending.splice(0)) s(level, message);
}

const format = (args: unknown[]) =>
  args
    .map((a) => (typeof a === 'string' ? a : a instanceof Error ? a.stack ?? a.message : safeJson(a)))
    .join(' ');
function safeJson(v: unknown) {
  try {
    return JSON.stringify(v);
  } catch {
    return String(v);
  }
}

console.log = (...a: unknown[]) => emit('info', format(a));
console.info = (...a: unknown[]) => emit('info', format(a));
console.warn = (...a: unknown[]) => emit('warn', format(a));
console.error = (...a: unknown[]) => emit('error', format(a));
console.debug = (...a: unknown[]) => emit('debug', format(a));
console.trace = (...a: unknown[]) => emit('trace', format(a));
process.stdout.write = ((chunk: unknown, ...rest: unknown[]) => {
  emit('info', typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
  const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
  cb?.();
  return true;
}) as typeof process.stdout.write;
