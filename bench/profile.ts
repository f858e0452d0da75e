// bench:profile — where a decode step's time goes, from onnxruntime's own profiler: a generated
// model at the 0.5B geometry (random weights), served as serving does (4-bit weights, the same
// threads), one 512-token prefill then decode steps; per op type, milliseconds per token and the
// share of the step (and per op for the 512-token prefill), and the time outside ORT's kernels (the host round trip: feeds, fetches,
// thread wake-ups). Also decode speed with ORT's idle threads spinning and not (serving does not
// let them spin), interleaved. `--graph base` (default) profiles the base model's serving graph (no
// LoRA inputs, as served before the first adapter), `--graph lora` the one with the rank-16 branch.
// Prints a table, then one JSON line.
// Usage: npm run bench:profile [-- --preset tiny|qwen2.5-coder-0.5b] [--threads N] [--steps N] [--graph base|lora]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openModelFolder } from '../server/model/folder';
import { runInTrainerEnv } from './trainerEnv';
import { BASE_SERVE_LORA, DEFAULT_SERVE_LORA, ForwardSession, type ForwardOptions } from '../server/model/forwardSession';
import { generateModel } from './generatedModel';

const argv = process.argv.slice(2);
const arg = (k: string) => (argv.includes(`--${k}`) ? argv[argv.indexOf(`--${k}`) + 1] : undefined);
const preset = arg('preset') ?? 'qwen2.5-coder-0.5b';
const threads = Number(arg('threads') ?? os.availableParallelism());
const steps = Number(arg('steps') ?? 16);
const graph = arg('graph') === 'lora' ? 'lora' : 'base';
const log = (s: string) => process.stderr.write(`${s}\n`);
const PROMPT = Array.from({ length: 512 }, (_, i) => (i * 7919) % 150000);

interface ProfileEvent {
  cat: string;
  name: string;
  ts: number;
  dur: number;
  args?: { op_name?: string };
}

async function decodeMsPerToken(fwd: ForwardSession, n: number): Promise<number> {
  const first = await fwd.step(PROMPT, fwd.emptyCache());
  let cache = first.cache;
  const t0 = performance.now();
  for (let i = 0; i < n; i++) cache = (await fwd.step([1 + i], cache)).cache;
  return (performance.now() - t0) / n;
}

async function main() {
  runInTrainerEnv();
  log(`bench:profile on ${os.cpus()[0]?.model ?? 'cpu'}, ${graph} graph, ${threads} threads, load average ${os.loadavg()[0].toFixed(1)}`);
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'hindsight-profile-'));
  try {
    const dir = path.join(root, preset);
    generateModel(preset, dir);
    const f = openModelFolder(dir);
    const quantize: ForwardOptions['quantize'] = preset === 'tiny' ? 'none' : 'q4';
    const common: ForwardOptions = { quantize, intraOpThreads: threads, cacheDir: root, lora: graph === 'base' ? BASE_SERVE_LORA : DEFAULT_SERVE_LORA };

    // Spinning idle threads or not, interleaved (each session built once; the graph file is cached).
    const still = await ForwardSession.create(f, { ...common, spin: false });
    const spinning = await ForwardSession.create(f, { ...common, spin: true });
    const spin = { off: [] as number[], on: [] as number[] };
    for (let r = 0; r < 3; r++) {
      spin.off.push(await decodeMsPerToken(still, steps));
      spin.on.push(await decodeMsPerToken(spinning, steps));
    }
    await still.release();
    await spinning.release();
    const med = (xs: number[]) => [...xs].sort((a, b) => a - b)[1];
    log(`decode: ${med(spin.off).toFixed(1)} ms/token with idle threads sleeping (serving), ${med(spin.on).toFixed(1)} ms/token spinning`);

    // The profile: serving's settings.
    const prefix = path.join(root, 'ort');
    const fwd = await ForwardSession.create(f, { ...common, spin: false, profilePrefix: prefix });
    const wall = await decodeMsPerToken(fwd, steps);
    fwd.session.endProfiling();
    await fwd.release();
    const file = fs.readdirSync(root).find((n) => n.startsWith('ort') && n.endsWith('.json'));
    if (!file) throw new Error(`onnxruntime wrote no profile under ${root}`);
    const events = JSON.parse(fs.readFileSync(path.join(root, file), 'utf8')) as ProfileEvent[];
    const runs = events.filter((e) => e.cat === 'Session' && e.name === 'model_run');
    // The last `steps` runs are the timed decode steps (the first is the prefill).
    const decodeRuns = runs.slice(-steps);
    const inside = (e: ProfileEvent) => decodeRuns.some((r) => e.ts >= r.ts && e.ts <= r.ts + r.dur);
    const byOp = new Map<string, number>();
    let kernels = 0;
    for (const e of events) {
      if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time') || !inside(e)) continue;
      const op = e.args?.op_name ?? '?';
      byOp.set(op, (byOp.get(op) ?? 0) + e.dur);
      kernels += e.dur;
    }
    // The prefill (the run before the decode steps): per op type, ms for the whole prompt.
    const prefillRun = runs[runs.length - steps - 1];
    const prefillByOp = new Map<string, number>();
    for (const e of events) {
      if (e.cat !== 'Node' || !e.name.endsWith('_kernel_time') || !prefillRun || e.ts < prefillRun.ts || e.ts > prefillRun.ts + prefillRun.dur) continue;
      const op = e.args?.op_name ?? '?';
      prefillByOp.set(op, (prefillByOp.get(op) ?? 0) + e.dur);
    }
    const prefillRows = [...prefillByOp.entries()].sort((a, b) => b[1] - a[1]);
    const runUs = decodeRuns.reduce((s, r) => s + r.dur, 0);
    const perToken = (us: number) => us / 1000 / steps;
    const rows = [...byOp.entries()].sort((a, b) => b[1] - a[1]);
    console.log(`${'op'.padEnd(28)}${'ms/token'.padStart(10)}${'share'.padStart(8)}`);
    for (const [op, us] of rows) console.log(`${op.padEnd(28)}${perToken(us).toFixed(2).padStart(10)}${`${((100 * us) / runUs).toFixed(1)} %`.padStart(8)}`);
    console.log(`${'(in ORT, between kernels)'.padEnd(28)}${perToken(runUs - kernels).toFixed(2).padStart(10)}${`${((100 * (runUs - kernels)) / runUs).toFixed(1)} %`.padStart(8)}`);
    console.log(`${'(outside session.run)'.padEnd(28)}${(wall - perToken(runUs)).toFixed(2).padStart(10)}`);
    console.log(`\nprefill of ${PROMPT.length} tokens: ${((prefillRun?.dur ?? 0) / 1000).toFixed(0)} ms in session.run`);
    for (const [op, us] of prefillRows.slice(0, 8)) console.log(`${op.padEnd(28)}${(us / 1000).toFixed(1).padStart(10)}${`${((100 * us) / (prefillRun?.dur ?? 1)).toFixed(1)} %`.padStart(8)}`);
    console.log(JSON.stringify({
      bench: 'profile', preset, graph, threads, load_avg: Math.round(os.loadavg()[0] * 10) / 10, steps,
      decode_ms_per_token: Math.round(wall * 100) / 100, session_run_ms: Math.round(perToken(runUs) * 100) / 100, kernels_ms: Math.round(perToken(kernels) * 100) / 100,
      by_op_ms: Object.fromEntries(rows.map(([op, us]) => [op, Math.round(perToken(us) * 100) / 100])),
      prefill_ms: Math.round((prefillRun?.dur ?? 0) / 1000), prefill_by_op_ms: Object.fromEntries(prefillRows.map(([op, us]) => [op, Math.round(us / 1000)])),
      spin_off_ms: Math.round(med(spin.off) * 100) / 100, spin_on_ms: Math.round(med(spin.on) * 100) / 100,
    }));
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
