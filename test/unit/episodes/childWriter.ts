// Runs a store-writing child process until a seeded moment and SIGKILLs it, for the crash-loop
// tests. The child prints "READY", then "A <id>" / "E <id>" only after an append resolved (after
// fdatasync), and may print other markers. The kill comes `delayMs` after the line on which
// `killAfter` returns true (counting acknowledgements, not time: every run writes something,
// however slow the machine).
import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { build } from 'esbuild';
import { seededRandom } from '../../../server/train/random';

/** Bundles a fixture once: starting tsx per run would take minutes. */
export async function bundleFixture(name: string, outDir: string): Promise<string> {
  const outfile = path.join(outDir, `${name}.cjs`);
  await build({ entryPoints: [path.join(__dirname, 'fixtures', `${name}.ts`)], bundle: true, platform: 'node', format: 'cjs', target: 'node20', outfile, logLevel: 'silent' });
  return outfile;
}

export interface KilledRun {
  episodes: string[];
  events: string[];
  /** Exit code when the child ended by itself (a bug: it writes forever). */
  exitedWith?: number | null;
  /** The kill condition did not come within STALL_MS. */
  stalled?: boolean;
}

const STALL_MS = 10_000;

/** Kill after the n-th line that starts with `prefix` ("A " and "E " for acknowledgements). */
export function nthLine(n: number, ...prefixes: string[]): (line: string) => boolean {
  let seen = 0;
  return (line) => prefixes.some((p) => line.startsWith(p)) && ++seen >= n;
}

export async function runAndKill(bundle: string, args: string[], killAfter: (line: string) => boolean, delayMs: number): Promise<KilledRun> {
  const child = spawn(process.execPath, [bundle, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const run: KilledRun = { episodes: [], events: [] };
  let buffered = '';
  let kill!: () => void;
  const due = new Promise<void>((r) => (kill = r));
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line.startsWith('A ')) run.episodes.push(line.slice(2));
      else if (line.startsWith('E ')) run.events.push(line.slice(2));
      if (killAfter(line)) kill();
    }
  });
  const exited = new Promise<void>((r) => child.on('close', () => r()));
  child.on('exit', (code, signal) => {
    if (signal === null) run.exitedWith = code;
    kill();
  });
  // A child that stops acknowledging is killed anyway and reported.
  const stall = setTimeout(() => ((run.stalled = true), kill()), STALL_MS);
  await due;
  clearTimeout(stall);
  if (delayMs > 0) await new Promise((r) => setTimeout(r, delayMs));
  child.kill('SIGKILL');
  await exited;
  return run;
}

/** An integer in [0, n) from the project's seeded PRNG: the same kill moments on every run. */
export function seeded(seed: number): (n: number) => number {
  const random = seededRandom(seed);
  return (n) => Math.floor(random() * n);
}

/**
 * Run numbers for a kill loop: at least `min` runs, then more up to `max` while the loop is
 * within `budgetMs`. A loaded machine does fewer kills, never fails for being slow.
 */
export function* killRuns(min: number, max: number, budgetMs: number): Generator<number> {
  const started = Date.now();
  for (let run = 1; run <= max && (run <= min || Date.now() - started < budgetMs); run++) yield run;
}
