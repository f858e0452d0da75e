// bench:round — what one learning round costs at a real model's size: a model generated at
// Qwen2.5-Coder-0.5B's geometry (random weights; --preset tiny for a quick run), the trainer
// process driven as the editor drives it (bench/learn/trainer.ts), episodes recorded by
// bench:learn's simulated developer (serve/complete, then corrections through episodes/*), then
// "Train now" with the product's settings. Prints the round's wall time, its steps, the trainer's
// own report, suggestion latency while the round runs (each over the same context's idle latency),
// the training session's build time, resident memory when ready, after the round and once the
// idle trainer has freed its training session (after 5 s here; minutes in the product), and the
// machine's load; one JSON line. What the round learns is bench:learn's
// question (random weights learn nothing useful); this is its price.
// Usage: npm run bench:round [-- --preset tiny|qwen2.5-coder-0.5b] [--episodes N]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TrainerProcess } from './learn/trainer';
import { interact } from './learn/developer';
import { LatencySampler, percentile } from './learn/latency';
import { PREFERENCES } from './learn/preferences';
import { generateModel } from './generatedModel';

const argv = process.argv.slice(2);
const arg = (k: string) => (argv.includes(`--${k}`) ? argv[argv.indexOf(`--${k}`) + 1] : undefined);
const preset = arg('preset') ?? 'qwen2.5-coder-0.5b';
const episodes = Number(arg('episodes') ?? 8);
const log = (s: string) => process.stderr.write(`${s}\n`);
const root = path.resolve(__dirname, '..');
/** The trainer's wait before it frees an idle training session, shortened (HINDSIGHT_RELEASE_AFTER_MS). */
const RELEASE_AFTER_MS = 5000;

/** Resident memory of a process and its threads (MB), from /proc (Linux). */
function rssMb(pid: number | undefined): number | null {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Math.round(Number(m[1]) / 1024) : null;
  } catch {
    return null;
  }
}

async function main() {
  log(`bench:round on ${os.cpus()[0]?.model ?? 'cpu'}, ${os.availableParallelism()} cores, load average ${os.loadavg()[0].toFixed(1)}`);
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hindsight-bench-round-'));
  try {
    const modelDir = path.join(tmp, preset);
    generateModel(preset, modelDir);
    const storageDir = path.join(tmp, 'storage');
    fs.mkdirSync(storageDir);
    const t0 = Date.now();
    const t = await TrainerProcess.start({ root, modelPath: modelDir, storageDir, cacheDir: path.join(tmp, 'cache'), source: true, env: { HINDSIGHT_RELEASE_AFTER_MS: String(RELEASE_AFTER_MS) } });
    try {
      await t.ready(600_000);
      const readyMs = Date.now() - t0;
      const readyRss = rssMb(t.child.pid);
      log(`trainer ready (model served, learning loop up) in ${(readyMs / 1000).toFixed(1)} s, ${readyRss} MB resident`);
      await t.configureLearn({ schedule: 'manual', minEpisodes: 1, batchSize: episodes });
      // Corrections the developer makes: typed-instead and rewritten suggestions, as in bench:learn.
      let recorded = 0;
      for (let i = 0; recorded < episodes && i < episodes * 4; i++) {
        const p = PREFERENCES[i % PREFERENCES.length];
        const c = p.train[Math.floor(i / PREFERENCES.length) % p.train.length];
        const r = await interact(t, p, c);
        if (r.shown) recorded++;
      }
      const status = await t.settled(recorded, 60_000);
      log(`${recorded} episodes recorded, ${status.pending} waiting for a round`);
      // Suggestion latency idle, then asked back to back through the round (bench/learn/latency.ts).
      const { result, idleMs, pairedRatios } = await new LatencySampler(t).around(async () => {
        const r0 = Date.now();
        return { tn: await t.trainNow(), roundMs: Date.now() - r0 };
      });
      const { tn, roundMs } = result;
      const q = (xs: number[], p: number) => Math.round(percentile(xs, p) * 100) / 100;
      const latency = { idle_p50_ms: q(idleMs, 0.5), samples_during: pairedRatios.length, paired_ratio_p50: q(pairedRatios, 0.5), paired_ratio_p95: q(pairedRatios, 0.95) };
      log(`suggestions during the round: ${pairedRatios.length}, their latency over the same context's idle one: p50 ${latency.paired_ratio_p50}×, p95 ${latency.paired_ratio_p95}× (idle p50 ${latency.idle_p50_ms} ms)`);
      const afterRss = rssMb(t.child.pid);
      const freed = await t.waitForLog(/training session freed/, RELEASE_AFTER_MS + 60_000);
      const freedRss = freed ? rssMb(t.child.pid) : null;
      const built = /training session built in (\d+) ms/.exec(t.logs.map((l) => l.message).join('\n'));
      const buildMs = built ? Number(built[1]) : null;
      log(`training session built in ${buildMs ?? '?'} ms; ${freed ? `freed ${RELEASE_AFTER_MS / 1000} s after the round: ${freedRss} MB resident` : 'not freed'}`);
      const rep = tn.report;
      console.log(`model ${preset}: round ${rep?.outcome ?? 'not started'}${rep?.reason ? ` (${rep.reason})` : ''} in ${(roundMs / 1000).toFixed(1)} s wall (${rep?.steps ?? 0} steps over ${rep?.episodes ?? 0} episodes; trainer's own figure ${((rep?.ms ?? 0) / 1000).toFixed(1)} s); trainer ready after ${(readyMs / 1000).toFixed(1)} s (${readyRss} MB resident, ${afterRss} MB after the round)`);
      console.log(JSON.stringify({ bench: 'round', model: preset, cores: os.availableParallelism(), load_avg: Math.round(os.loadavg()[0] * 10) / 10, ready_ms: readyMs, ready_rss_mb: readyRss, after_round_rss_mb: afterRss, freed_rss_mb: freedRss, session_build_ms: buildMs, episodes: rep?.episodes ?? 0, steps: rep?.steps ?? 0, round_ms: roundMs, trainer_round_ms: rep?.ms ?? null, outcome: rep?.outcome ?? null, latency }));
    } finally {
      await t.stop();
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
