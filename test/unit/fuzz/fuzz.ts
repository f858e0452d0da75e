// Shared pieces of the fuzz tests: a seeded random source (server/train/random's mulberry32, so a
// failing case replays from its seed), junk JSON values, a tally of how cases ended, and the check
// that an error is a clear one (names the file, says the problem, is not a JavaScript slip).
import type { TestContext } from 'node:test';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { seededRandom } from '../../../server/train/random';

export interface Rng {
  next(): number;
  /** Integer in [0, n). */
  int(n: number): number;
  pick<T>(xs: readonly T[]): T;
  chance(p: number): boolean;
  bytes(n: number): Buffer;
}

export function rng(seed: number): Rng {
  const next = seededRandom(seed);
  const int = (n: number) => Math.floor(next() * n);
  return {
    next,
    int,
    pick: (xs) => xs[int(xs.length)],
    chance: (p) => next() < p,
    bytes: (n) => Buffer.from(Array.from({ length: n }, () => int(256))),
  };
}

/** Fixed seed for every fuzz test (override with HINDSIGHT_FUZZ_SEED to explore more). */
export const SEED = Number(process.env.HINDSIGHT_FUZZ_SEED ?? 20240611);

/** Strings a parser or a property lookup may trip on. */
export const NASTY_STRINGS = [
  '', ' ', '0', '-1', 'NaN', 'null', 'true', '[]', '{}', 'constructor', '__proto__', 'toString', 'hasOwnProperty', 'prototype',
  '../../../../etc/passwd', 'C:\\Windows\\', '\u0000', '\ud800', '\udfff\ud800', '\u202e', '😀', 'a\r\nContent-Length: 5\r\n\r\n{}',
  'x'.repeat(10_000),
] as const;

/** Numbers that are valid JSON but rarely expected. */
export const NASTY_NUMBERS = [0, -0, -1, 1, 0.5, -0.5, 2 ** 31, -(2 ** 31), 2 ** 32, 2 ** 53 + 2, -(2 ** 53), 1e21, 1e308, -1e308, 5e-324, 1e-7] as const;

/** A deeply nested array (JSON.parse takes it; naive recursion and JSON.stringify do not). */
export function deepArray(depth: number): unknown {
  let v: unknown = 0;
  for (let i = 0; i < depth; i++) v = [v];
  return v;
}

/** A deeply nested array as JSON text, without building it (JSON.stringify overflows first). */
export function deepJson(depth: number, inner = '0'): string {
  return '['.repeat(depth) + inner + ']'.repeat(depth);
}

/** Stands for a 20,000-deep array in a value written with stringify() (too deep to build and JSON.stringify). */
export const DEEP = '__fuzz_deep_array__';

/** Stand for numbers JSON.stringify cannot write: 1e400 and -1e400 (JSON.parse reads them as ±Infinity). */
export const INF = '__fuzz_inf__';
export const NEG_INF = '__fuzz_neg_inf__';

/** JSON.stringify, with every DEEP string replaced by a 20,000-deep array and INF/NEG_INF by ±1e400. */
export function stringify(v: unknown): string {
  return JSON.stringify(v).replaceAll(`"${DEEP}"`, deepJson(20_000)).replaceAll(`"${INF}"`, '1e400').replaceAll(`"${NEG_INF}"`, '-1e400');
}

/** A random JSON value of any type, nesting up to `depth`. */
export function junk(r: Rng, depth = 2): unknown {
  switch (r.int(depth > 0 ? 9 : 6)) {
    case 0: return null;
    case 1: return r.chance(0.5);
    case 2: return r.pick(NASTY_NUMBERS);
    case 3: return Math.round((r.next() - 0.5) * 2 ** r.int(60));
    case 4: return r.pick(NASTY_STRINGS);
    case 5: return String.fromCharCode(...Array.from({ length: r.int(12) }, () => r.int(0x3000)));
    case 6: return Array.from({ length: r.int(4) }, () => junk(r, depth - 1));
    case 7: return Object.fromEntries(Array.from({ length: r.int(4) }, () => [r.pick(['a', 'id', 'type', 'path', 'constructor', 'length', '0']), junk(r, depth - 1)]));
    default: return r.chance(0.5) ? DEEP : deepArray(100 + r.int(900));
  }
}

/** A junk value whose JSON type differs from `v`'s (so a field set to it is always wrong-typed). */
export function wrongTyped(r: Rng, v: unknown): unknown {
  const kind = (x: unknown) => (x === null ? 'null' : Array.isArray(x) ? 'array' : typeof x);
  for (;;) {
    const j = junk(r, 1);
    if (j !== DEEP && kind(j) !== kind(v)) return j;
  }
}

/** How cases ended, by outcome, for the closing note. */
export class Tally {
  private readonly counts = new Map<string, number>();
  add(outcome: string): void {
    this.counts.set(outcome, (this.counts.get(outcome) ?? 0) + 1);
  }
  get total(): number {
    let n = 0;
    for (const c of this.counts.values()) n += c;
    return n;
  }
  count(outcome: string): number {
    return this.counts.get(outcome) ?? 0;
  }
  toString(): string {
    return [...this.counts].sort((a, b) => b[1] - a[1]).map(([k, n]) => `${n} ${k}`).join(', ');
  }
}

/**
 * Failures of a fuzz run, gathered rather than thrown at the first, so one run shows every kind
 * of failure (first few of each) and the tally still prints.
 */
export class Failures {
  private readonly seen = new Map<string, string[]>();
  /** Runs one case; an exception becomes a failure, grouped by its message without the case number. */
  run(what: string, fn: () => void): boolean {
    try {
      fn();
      return true;
    } catch (e) {
      this.add(what, e);
      return false;
    }
  }
  async runAsync(what: string, fn: () => Promise<void>): Promise<boolean> {
    try {
      await fn();
      return true;
    } catch (e) {
      this.add(what, e);
      return false;
    }
  }
  add(what: string, e: unknown): void {
    const msg = e instanceof Error ? e.message : String(e);
    const key = msg.replace(/^case \d+ /, '').replace(/\d+/g, 'N').slice(0, 120);
    const list = this.seen.get(key) ?? [];
    list.push(`${what}: ${msg}`.slice(0, 600));
    this.seen.set(key, list);
  }
  get count(): number {
    let n = 0;
    for (const l of this.seen.values()) n += l.length;
    return n;
  }
  /** Throws a summary when any case failed. */
  check(): void {
    if (!this.seen.size) return;
    const kinds = [...this.seen.values()].map((l) => `  ${l.length}x ${l[0]}`);
    throw new Error(`${this.count} case(s) failed, ${this.seen.size} kind(s):\n${kinds.join('\n')}`);
  }
}

/** Prints the case count and outcomes as a test diagnostic. */
export function report(t: TestContext, surface: string, tally: Tally, started: number): void {
  const line = `fuzz ${surface}: ${tally.total} cases in ${((performance.now() - started) / 1000).toFixed(1)} s (seed ${SEED}) — ${tally}`;
  t.diagnostic(line);
}

/** Messages of JavaScript slips that reached the user instead of a sentence about the input. */
export const SLIP = /Cannot read propert|is not a function|is not iterable|is not defined|Cannot convert|Maximum call stack|Invalid array length|Array buffer allocation|Invalid typed array length|undefined \(reading|\[object Object\]|Unexpected end of JSON input$/;

/**
 * Runs `fn`; when it throws, the error must be a clear one: a message naming `file` (or its base
 * name) and no JavaScript slip. Returns 'ok' or the error's class name, for the tally.
 */
export function expectClear(fn: () => unknown, file: string, what: string, classes: string[] = ['ModelFolderError', 'AdapterError']): string {
  try {
    fn();
    return 'ok';
  } catch (e) {
    const err = e as Error;
    if (!(err instanceof Error)) throw new Error(`${what}: threw a non-Error ${String(e)}`);
    if (!classes.includes(err.name)) throw new Error(`${what}: threw ${err.name} (expected ${classes.join(' or ')}): ${err.message.slice(0, 300)}`);
    if (!err.message.includes(file) && !err.message.includes(path.basename(file))) throw new Error(`${what}: the message does not name ${file}: ${err.message.slice(0, 300)}`);
    if (SLIP.test(err.message)) throw new Error(`${what}: unclear message (a JavaScript slip): ${err.message.slice(0, 300)}`);
    if (err.message.length > 4000) throw new Error(`${what}: message of ${err.message.length} characters (the input echoed whole?)`);
    return err.name;
  }
}

const made: string[] = [];
process.on('exit', () => {
  for (const d of made) fs.rmSync(d, { recursive: true, force: true });
});

/** A temp folder removed when the process exits. */
export function tempDir(tag: string): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), `hindsight-fuzz-${tag}-`));
  made.push(d);
  return d;
}

/** Fails instead of hanging. */
export function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms (a hang)`)), ms);
    }),
  ]);
}
