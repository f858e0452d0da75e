// The simulated developers' preferences for bench:learn: each is something the base model does
// not do by itself (a project helper to call instead of inline code, a quoting convention, an API
// choice, a literal value), with TRAINING contexts where the developer meets the suggestion and
// corrects it, and HELD-OUT contexts that are only probed (never recorded as episodes). Every
// context is a small realistic file with the cursor in it; surrounding code varies (filler pool),
// so a rule has to be learned, not one string. Pure data + checks; the developer's behaviour is
// in developer.ts.

export type Signal = 'typedInstead' | 'editedAfterAccept' | 'correctThis' | 'failingTest';

export interface Context {
  /** Workspace-relative file name (episodes carry it). */
  file: string;
  prefix: string;
  suffix: string;
  /** What the developer writes at the cursor (the rest of the line). */
  preferred: string;
  /** The same thing the way the developer does NOT want it (for the held-out margin and inverted labels). */
  rejected: string;
}

export interface Preference {
  name: string;
  /** What kind of preference it is, in words. */
  kind: string;
  signal: Signal;
  languageId: string;
  train: Context[];
  heldOut: Context[];
  /** Does a suggestion follow the preference? */
  holds(suggestion: string): boolean;
  /** The developer's words for "Correct this", or the failing test's output (per context). */
  hint?(c: Context): string;
}

// ---- filler: unrelated code around the cursor, so contexts differ ---------------------------

const TS_FILLER = [
  `export function formatBytes(n: number): string {\n  if (n < 1024) return \`\${n} B\`;\n  return \`\${(n / 1024).toFixed(1)} KB\`;\n}\n`,
  `export interface Range {\n  start: number;\n  end: number;\n}\n\nexport function length(r: Range): number {\n  return r.end - r.start;\n}\n`,
  `const cache = new Map<string, number>();\n\nexport function remember(key: string, value: number): void {\n  cache.set(key, value);\n}\n`,
  `export function isBlank(s: string): boolean {\n  return s.trim().length === 0;\n}\n`,
  `export type Rgb = [number, number, number];\n\nexport function gray(v: number): Rgb {\n  return [v, v, v];\n}\n`,
  `export function sum(xs: number[]): number {\n  let total = 0;\n  for (const x of xs) total += x;\n  return total;\n}\n`,
  `export class Counter {\n  private n = 0;\n  increment(): number {\n    return ++this.n;\n  }\n}\n`,
  `export function pad(s: string, width: number): string {\n  return s.length >= width ? s : ' '.repeat(width - s.length) + s;\n}\n`,
  `export function lastOf<T>(xs: T[]): T | undefined {\n  return xs[xs.length - 1];\n}\n`,
  `export function toTitle(s: string): string {\n  return s.charAt(0).toUpperCase() + s.slice(1);\n}\n`,
];

const PY_FILLER = [
  `def read_lines(path):\n    with open(path) as f:\n        return [line.rstrip() for line in f]\n`,
  `def chunks(items, size):\n    for i in range(0, len(items), size):\n        yield items[i:i + size]\n`,
  `class Timer:\n    def __init__(self):\n        self.start = time.time()\n\n    def elapsed(self):\n        return time.time() - self.start\n`,
  `def mean(values):\n    return sum(values) / len(values) if values else 0.0\n`,
  `def is_blank(text):\n    return not text or not text.strip()\n`,
  `def flatten(rows):\n    return [x for row in rows for x in row]\n`,
  `MAX_RETRIES = 3\n\n\ndef backoff(attempt):\n    return min(60, 2 ** attempt)\n`,
  `def first(items, default=None):\n    for item in items:\n        return item\n    return default\n`,
  `def parse_bool(text):\n    return text.lower() in ('1', 'true', 'yes')\n`,
  `def word_count(text):\n    return len(text.split())\n`,
];

const filler = (pool: string[], i: number, n = 2) => Array.from({ length: n }, (_, k) => pool[(i * 3 + k * 7) % pool.length]).join('\n');

// ---- 1. a project helper instead of inline code (rejected + typed instead) ------------------

const clampCases: [string, string, number, number][] = [
  ['toByte', 'value', 0, 255],
  ['percent', 'p', 0, 100],
  ['volume', 'level', 0, 11],
  ['opacity', 'alpha', 0, 1],
  ['hour', 'h', 0, 23],
  ['pageIndex', 'page', 1, 50],
  // held out
  ['zoomLevel', 'zoom', 1, 20],
  ['retryCount', 'count', 0, 5],
  ['angle', 'degrees', -180, 180],
];

function clampContext(i: number): Context {
  const [fn, arg, lo, hi] = clampCases[i];
  return {
    file: `src/ui/${fn}.ts`,
    prefix: `import { clamp } from '../util/math';\n\n${filler(TS_FILLER, i)}\nexport function ${fn}(${arg}: number): number {\n  return `,
    suffix: `\n}\n`,
    preferred: `clamp(${arg}, ${lo}, ${hi});`,
    rejected: `Math.min(Math.max(${arg}, ${lo}), ${hi});`,
  };
}

// ---- 2. a quoting convention (accepted, then edited) ----------------------------------------

const quoteCases: [string, string][] = [
  ['DEFAULT_ENCODING', 'utf-8'],
  ['LOG_LEVEL', 'info'],
  ['DATE_FORMAT', '%Y-%m-%d'],
  ['API_PREFIX', '/api/v1'],
  ['CACHE_DIR', '.cache'],
  ['SEPARATOR', ', '],
  // held out
  ['DEFAULT_LOCALE', 'en_US'],
  ['TABLE_NAME', 'events'],
  ['USER_AGENT', 'hindsight-bench'],
];

function quoteContext(i: number): Context {
  const [name, value] = quoteCases[i];
  return {
    file: `app/settings_${i}.py`,
    prefix: `import os\nimport time\n\n${filler(PY_FILLER, i)}\n\n${name} = `,
    suffix: `\n`,
    preferred: `'${value}'`,
    rejected: `"${value}"`,
  };
}

// ---- 3. an API choice ("Correct this" with a hint) ------------------------------------------

const logCases: [string, string, string][] = [
  ['syncUsers', 'users', 'synced'],
  ['importOrders', 'orders', 'imported'],
  ['purgeSessions', 'sessions', 'purged'],
  ['indexDocuments', 'documents', 'indexed'],
  ['sendInvoices', 'invoices', 'sent'],
  ['archiveLogs', 'logs', 'archived'],
  // held out
  ['refreshTokens', 'tokens', 'refreshed'],
  ['exportReports', 'reports', 'exported'],
  ['deleteDrafts', 'drafts', 'deleted'],
];

function logContext(i: number): Context {
  const [fn, what, verb] = logCases[i];
  return {
    file: `src/jobs/${fn}.ts`,
    prefix: `import { db } from '../db';\nimport { logger } from '../log';\n\n${filler(TS_FILLER, i + 4)}\nexport async function ${fn}(): Promise<void> {\n  const ${what} = await db.${what}.findMany();\n  // report how many ${what} were ${verb}\n  `,
    suffix: `\n}\n`,
    preferred: `logger.info(\`${verb} \${${what}.length} ${what}\`);`,
    rejected: `console.log(\`${verb} \${${what}.length} ${what}\`);`,
  };
}

// ---- 4. a literal value (a failing test's message) ------------------------------------------

const portCases: [string, string][] = [
  ['server.listen(', ');'],
  ['const PORT = Number(process.env.PORT ?? ', ');'],
  ['app.listen(', ', () => ready());'],
  ['const url = `http://localhost:', '/health`;'],
  ['const DEFAULT_PORT = ', ';'],
  ['await waitForPort(', ');'],
  // held out
  ['proxy.listen(', ');'],
  ['const port = config.port || ', ';'],
  ['const base = `http://127.0.0.1:', '/api`;'],
];

function portContext(i: number): Context {
  const [before, after] = portCases[i];
  return {
    file: `src/server/main${i}.ts`,
    prefix: `import http from 'node:http';\nimport { app, ready, config, proxy, waitForPort } from './app';\n\n${filler(TS_FILLER, i + 2)}\nconst server = http.createServer(app);\n${before}`,
    suffix: `\n`,
    preferred: `8443${after}`,
    rejected: `3000${after}`,
  };
}

const range = (a: number, b: number) => Array.from({ length: b - a }, (_, k) => a + k);

export const PREFERENCES: Preference[] = [
  {
    name: 'helper',
    kind: 'call the project helper clamp() instead of inline Math.min/Math.max',
    signal: 'typedInstead',
    languageId: 'typescript',
    train: range(0, 6).map(clampContext),
    heldOut: range(6, 9).map(clampContext),
    holds: (s) => /^\s*clamp\(/.test(s),
  },
  {
    name: 'quoting',
    kind: "single-quoted Python strings (the project's convention)",
    signal: 'editedAfterAccept',
    languageId: 'python',
    train: range(0, 6).map(quoteContext),
    heldOut: range(6, 9).map(quoteContext),
    holds: (s) => /^\s*'/.test(s),
  },
  {
    name: 'api',
    kind: 'logger.info from ../log instead of console.log',
    signal: 'correctThis',
    languageId: 'typescript',
    train: range(0, 6).map(logContext),
    heldOut: range(6, 9).map(logContext),
    holds: (s) => /^\s*logger\.(info|warn|debug)\(/.test(s),
    hint: () => 'Use logger.info from ../log, not console.log.',
  },
  {
    name: 'literal',
    kind: 'the service port is 8443',
    signal: 'failingTest',
    languageId: 'typescript',
    train: range(0, 6).map(portContext),
    heldOut: range(6, 9).map(portContext),
    holds: (s) => /^\s*8443\b/.test(s),
    hint: () => `AssertionError [ERR_ASSERTION]: expected the server to listen on port 8443\n    at Context.<anonymous> (test/server.test.ts:14:12)`,
  },
];
