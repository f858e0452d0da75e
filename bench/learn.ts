// bench:learn — does Hindsight learn what the developer wanted? The trainer process (dist/server.js)
// is driven over its own JSON-RPC protocol exactly as the extension drives it, with the Hindsight
// Starter model, by a simulated developer with four preferences the base model does not follow
// (bench/learn/preferences.ts), each corrected through a different signal (bench/learn/developer.ts).
// Per configuration of the learning rule (HINDSIGHT_LEARN_RULE in the trainer's environment) it runs
// rounds of: one interaction per preference at a training context (accepted when it follows the
// preference, else corrected) → learn/trainNow (serve/complete latency sampled while it runs) →
// greedy probes at the HELD-OUT contexts (never recorded) → log-prob margins and held-out code
// bits-per-byte measured in this process from the adapter versions on disk (bench/learn/evaluate.ts).
// Then a batch of inverted labels, with fresh correct evidence available, must not be promoted.
//
// Measures, per preference and configuration: corrections until the preference holds 3 times in a
// row on held-out probes; the held-out margin log π(preferred) − log π(rejected) per round; accept
// rate and retained characters; bits-per-byte change on held-out code (forgetting); latency of
// serve/complete idle vs during rounds (raw percentiles, and each sample during a round over its own
// context's idle sample of that round); the load average. Prints tables, then one JSON line; exits
// 1 when the default rule promotes inverted labels (2 on a crash).
//
// Usage: npm run bench:learn [-- --smoke] [--configs none,rl,opd,combined,hindsight] [--rounds 8]
//          [--model models/hindsight-starter] [--lr X] [--steps N] [--source] [--verbose] [--json-out FILE]
//          [--keep] (leave each configuration's storage folder for a look at its episodes and adapters)
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { learn } from '../protocol';
import { TrainerProcess } from './learn/trainer';
import { interact, probe, writeRejected, type Interaction } from './learn/developer';
import { LatencySampler, percentile } from './learn/latency';
import { EpisodeStore } from '../server/episodes/store';
import { PREFERENCES, type Preference } from './learn/preferences';
import { Evaluator } from './learn/evaluate';
import { DEFAULT_RULE } from '../server/learn/rule';

const root = path.join(__dirname, '..');
const argv = process.argv.slice(2);
const arg = (k: string) => (argv.includes(`--${k}`) ? argv[argv.indexOf(`--${k}`) + 1] : undefined);
const flag = (k: string) => argv.includes(`--${k}`);
const smoke = flag('smoke');
// Configs are comma-separated; a comma followed by key= continues a rule's overrides (hindsight:pair=0,anchor=0.6).
const configs = (arg('configs') ?? (smoke ? DEFAULT_RULE : `none,rl,opd,combined,${DEFAULT_RULE}`)).split(/,(?![A-Za-z.]+=)/).filter(Boolean);
const maxRounds = Number(arg('rounds') ?? (smoke ? 2 : 8));
const modelDir = path.resolve(arg('model') ?? path.join(root, 'models/hindsight-starter'));
const verbose = flag('verbose');
/** hindsight.training.* overrides for every configuration (default: the product's defaults). */
const training = { ...(arg('lr') ? { learningRate: Number(arg('lr')) } : {}), ...(arg('steps') ? { stepsPerRound: Number(arg('steps')) } : {}) };
const source = flag('source');
const log = (s: string) => process.stderr.write(`${s}\n`);
const HOLD_RUN = 3;

/** The gate's evidence in a round report, in a few words. */
function gateFacts(r: learn.RoundReport | undefined): string {
  if (!r) return '';
  const f = (x: number | undefined) => (x === undefined ? '?' : x.toFixed(2));
  const parts = [
    r.heldOutEpisodes ? `held-out ${r.heldOutEpisodes} (pairs won ${r.winsBefore}→${r.winsAfter} of ${r.heldOutPairs}, margin ${f(r.marginBefore)}→${f(r.marginAfter)})` : '',
    r.earlierPairs ? `earlier ${r.earlierPairs} (margin ${f(r.earlierMarginBefore)}→${f(r.earlierMarginAfter)})` : '',
    r.bpbRegression !== undefined ? `code bpb ${(r.bpbRegression * 100).toFixed(1)} %` : '',
    r.drift !== undefined ? `drift ${r.drift.toFixed(3)}` : '',
  ].filter(Boolean);
  return parts.length ? ` [${parts.join(', ')}]` : '';
}

const mean = (xs: number[]) => (xs.length ? xs.reduce((s, x) => s + x, 0) / xs.length : NaN);
const r2 = (x: number) => (Number.isFinite(x) ? Math.round(x * 100) / 100 : null);
const r4 = (x: number) => (Number.isFinite(x) ? Math.round(x * 1e4) / 1e4 : null);

interface PrefResult {
  name: string;
  signal: string;
  kind: string;
  corrections: number;
  correctionsTo3: number | null;
  holdsAtEnd: boolean;
  /** Mean held-out margin (nats) before training, then after each round. */
  margins: number[];
  shown: number;
  accepted: number;
  shownChars: number;
  retainedChars: number;
  /** Probe results in order (true = followed the preference). */
  probes: boolean[];
}

interface ConfigResult {
  config: string;
  prefs: PrefResult[];
  rounds: { outcome: string; version?: number; reason?: string; ms: number; episodes: number }[];
  bpbBase: number;
  bpbEnd: number;
  idleMs: number[];
  duringMs: number[];
  /** Each sample during a round over the idle sample of the same context just before it (same adapter, same prompt). */
  pairedRatios: number[];
  invertedPromoted: boolean | null;
  invertedReport?: learn.RoundReport;
  /** The same check with true labels (default rule, full mode): promoted as it should be? */
  controlPromoted?: boolean;
  seconds: number;
}

/** Rebuild dist/ when a source file is newer than dist/server.js (others edit the tree too). */
function ensureBuilt(): void {
  if (source) return;
  const out = path.join(root, 'dist/server.js');
  const newest = (dir: string): number =>
    fs.readdirSync(dir, { withFileTypes: true }).reduce((m, e) => {
      const p = path.join(dir, e.name);
      return Math.max(m, e.isDirectory() ? newest(p) : e.name.endsWith('.ts') ? fs.statSync(p).mtimeMs : 0);
    }, 0);
  const built = fs.existsSync(out) ? fs.statSync(out).mtimeMs : 0;
  if (built > Math.max(newest(path.join(root, 'server')), newest(path.join(root, 'protocol')))) return;
  log('building dist/ (node scripts/build.mjs)…');
  const r = spawnSync(process.execPath, [path.join(root, 'scripts/build.mjs')], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  if (r.status !== 0) throw new Error('node scripts/build.mjs failed');
}

/**
 * The gate must tell better from worse. One pair per preference where the developer rejected the
 * preferred text and typed the dispreferred one (inverted labels) forms the batch, while one pair
 * per preference with the true labels, at other contexts, waits outside it: the round must not be
 * promoted. With `inverted` false the batch carries true labels too (the control: promoted). The
 * served sides are written into a fresh store as serving would have recorded them at the base
 * model (writeRejected), and a trainer of its own opens it, so the run proper starts clean.
 */
async function labelsCheck(config: string, ev: Evaluator, cacheDir: string, inverted: boolean): Promise<learn.RoundReport> {
  const storageDir = fs.mkdtempSync(path.join(os.tmpdir(), `hindsight-bench-labels-${config}-`));
  try {
    const store = await EpisodeStore.open(storageDir);
    for (const p of PREFERENCES) {
      const c = p.train[0];
      await writeRejected(store, ev, p, c, inverted ? c.preferred : c.rejected, inverted ? c.rejected : c.preferred);
    }
    for (const p of PREFERENCES) {
      const c = p.train[1];
      await writeRejected(store, ev, p, c, c.rejected, c.preferred);
    }
    await store.close();
    const t = await TrainerProcess.start({ root, modelPath: modelDir, storageDir, cacheDir, source, verbose, env: { HINDSIGHT_LEARN_RULE: config } });
    try {
      await t.ready();
      await t.configureLearn({ schedule: 'manual', minEpisodes: 1, batchSize: PREFERENCES.length, ...training });
      await t.settled(2 * PREFERENCES.length, 5000);
      const tn = await t.trainNow();
      return tn.report ?? { at: Date.now(), outcome: 'failed', reason: tn.reason, episodes: 0, steps: 0, ms: 0 };
    } finally {
      await t.stop().catch(() => undefined);
    }
  } finally {
    fs.rmSync(storageDir, { recursive: true, force: true });
  }
}

async function runConfig(config: string, ev: Evaluator, cacheDir: string): Promise<ConfigResult> {
  const t0 = Date.now();
  const storageDir = fs.mkdtempSync(path.join(os.tmpdir(), `hindsight-bench-learn-${config}-`));
  const trains = config !== 'none';
  const res: ConfigResult = { config, prefs: [], rounds: [], bpbBase: NaN, bpbEnd: NaN, idleMs: [], duringMs: [], pairedRatios: [], invertedPromoted: null, seconds: 0 };
  if (trains) {
    // The gate first, each check with a trainer and store of its own: inverted labels, then (full run, default rule) the control.
    const inv = await labelsCheck(config, ev, cacheDir, true);
    res.invertedReport = inv;
    res.invertedPromoted = inv.outcome === 'promoted';
    log(`  [${config}] inverted labels: ${inv.outcome}${inv.reason ? ` (${inv.reason})` : ''}${gateFacts(inv)}`);
    if (config.startsWith(DEFAULT_RULE) && !smoke) {
      const ctl = await labelsCheck(config, ev, cacheDir, false);
      res.controlPromoted = ctl.outcome === 'promoted';
      log(`  [${config}] control, true labels: ${ctl.outcome}${ctl.reason ? ` (${ctl.reason})` : ''}${gateFacts(ctl)}`);
    }
  }
  const t = await TrainerProcess.start({ root, modelPath: modelDir, storageDir, cacheDir, source, verbose, env: trains ? { HINDSIGHT_LEARN_RULE: config } : {} });
  try {
    await t.ready();
    await t.configureLearn({ schedule: 'manual', minEpisodes: 1, batchSize: 64, ...training });
    const prefs: PrefResult[] = PREFERENCES.map((p) => ({ name: p.name, signal: p.signal, kind: p.kind, corrections: 0, correctionsTo3: null, holdsAtEnd: false, margins: [], shown: 0, accepted: 0, shownChars: 0, retainedChars: 0, probes: [] }));
    res.prefs = prefs;
    const pairsOf = (p: Preference) => p.heldOut.map((c) => ({ prefix: c.prefix, suffix: c.suffix, preferred: c.preferred, rejected: c.rejected }));
    const measure = async (version: number) => {
      const tensors = ev.adapter(storageDir, version);
      for (const [i, p] of PREFERENCES.entries()) prefs[i].margins.push(mean(await ev.margins(tensors, pairsOf(p))));
      return ev.bpb(tensors);
    };
    /** Probe every held-out context; a preference reached when its last HOLD_RUN probes held. */
    const probeAll = async () => {
      for (const [i, p] of PREFERENCES.entries()) {
        const r = prefs[i];
        for (const c of p.heldOut) {
          const x = await probe(t, p, c);
          r.probes.push(x.holds);
          if (verbose) log(`    probe ${p.name}: ${x.holds ? 'holds' : 'no   '} ${JSON.stringify(x.text.slice(0, 60))}`);
          if (r.correctionsTo3 === null && r.probes.length >= HOLD_RUN && r.probes.slice(-HOLD_RUN).every(Boolean)) r.correctionsTo3 = r.corrections;
        }
        r.holdsAtEnd = r.probes.slice(-p.heldOut.length).every(Boolean);
      }
    };
    res.bpbBase = await measure(0);
    await probeAll();
    const latency = new LatencySampler(t);

    for (let round = 1; round <= maxRounds; round++) {
      const inter: Interaction[] = [];
      for (const [i, p] of PREFERENCES.entries()) {
        const c = p.train[(round - 1) % p.train.length];
        const x = await interact(t, p, c);
        inter.push(x);
        const r = prefs[i];
        if (x.shown) {
          r.shown++;
          r.shownChars += x.shown.length;
          r.retainedChars += x.retainedChars;
          if (x.accepted && !x.corrected) r.accepted++;
        }
        if (x.corrected) r.corrections++;
        if (verbose) log(`    ${p.name}: ${x.corrected ? 'corrected' : x.shown ? 'accepted ' : 'empty    '} ${JSON.stringify(x.shown.slice(0, 60))} [${x.events.join(', ')}${x.survival ? ` → ${x.survival}` : ''}]`);
      }
      let report: learn.RoundReport | undefined;
      if (trains) {
        await t.settled(inter.filter((x) => x.events.length).length, 3000);
        // serve/complete latency idle, then through the round (bench/learn/latency.ts).
        const { result: tn, idleMs, duringMs, pairedRatios } = await latency.around(() => t.trainNow());
        res.idleMs.push(...idleMs);
        res.duringMs.push(...duringMs);
        res.pairedRatios.push(...pairedRatios);
        report = tn.report;
        res.rounds.push({ outcome: report?.outcome ?? `not started: ${tn.reason}`, ...(report?.version ? { version: report.version } : {}), ...(report?.reason ? { reason: report.reason } : {}), ms: report?.ms ?? 0, episodes: report?.episodes ?? 0 });
      }
      const serving = (await t.learnStatus()).serving;
      res.bpbEnd = await measure(serving);
      await probeAll();
      const line = prefs.map((r) => `${r.name} ${r.probes.slice(-3).map((b) => (b ? '✓' : '·')).join('')} m=${r.margins.at(-1)!.toFixed(1)}`).join('  ');
      log(`  [${config}] round ${round}: ${report ? `${report.outcome}${report.version ? ` v${report.version}` : ''}${report.reason ? ` (${report.reason})` : ''} ${report.ms} ms${gateFacts(report)}` : 'no training'} | ${line} | bpb ${res.bpbEnd.toFixed(3)}`);
      if (prefs.every((r) => r.correctionsTo3 !== null) && round >= 2 && !smoke) break;
    }

  } finally {
    await t.stop().catch(() => undefined);
    for (const l of t.logs.filter((l) => l.level === 'error')) log(`  [${config}] trainer error: ${l.message}`);
    if (flag('keep')) log(`  [${config}] kept the trainer's storage (episodes, adapters): ${storageDir}`);
    else fs.rmSync(storageDir, { recursive: true, force: true });
  }
  res.seconds = (Date.now() - t0) / 1000;
  return res;
}

function summarize(r: ConfigResult) {
  const c3 = Object.fromEntries(r.prefs.map((p) => [p.name, p.correctionsTo3]));
  const shown = r.prefs.reduce((s, p) => s + p.shown, 0);
  return {
    corrections_to_3: c3,
    reached: r.prefs.filter((p) => p.correctionsTo3 !== null).length,
    margin_gain: Object.fromEntries(r.prefs.map((p) => [p.name, r2(p.margins.at(-1)! - p.margins[0])])),
    accept_rate: r2(shown ? r.prefs.reduce((s, p) => s + p.accepted, 0) / shown : NaN),
    retained_chars: r2(r.prefs.reduce((s, p) => s + p.retainedChars, 0) / Math.max(1, r.prefs.reduce((s, p) => s + p.shownChars, 0))),
    bpb_base: r4(r.bpbBase),
    bpb_regression: r4(r.bpbEnd / r.bpbBase - 1),
    rounds: r.rounds.length,
    promoted: r.rounds.filter((x) => x.outcome === 'promoted').length,
    rejected: r.rounds.filter((x) => x.outcome === 'rejected').length,
    round_ms_p50: r.rounds.length ? Math.round(percentile(r.rounds.map((x) => x.ms), 0.5)) : null,
    latency_idle_p50_ms: r2(percentile(r.idleMs, 0.5)),
    latency_idle_p95_ms: r2(percentile(r.idleMs, 0.95)),
    latency_during_p50_ms: r2(percentile(r.duringMs, 0.5)),
    latency_during_p95_ms: r2(percentile(r.duringMs, 0.95)),
    latency_paired_ratio_p50: r2(percentile(r.pairedRatios, 0.5)),
    latency_paired_ratio_p95: r2(percentile(r.pairedRatios, 0.95)),
    inverted_labels_promoted: r.invertedPromoted,
    ...(r.controlPromoted !== undefined ? { true_labels_promoted: r.controlPromoted } : {}),
    seconds: Math.round(r.seconds),
  };
}

async function main() {
  if (!fs.existsSync(path.join(modelDir, 'config.json'))) throw new Error(`no model at ${modelDir} (pass --model DIR; the starter model lands in models/hindsight-starter)`);
  ensureBuilt();
  const t0 = Date.now();
  const cacheDir = path.join(os.tmpdir(), 'hindsight-bench-learn-cache');
  const ev = await Evaluator.create(modelDir, path.join(cacheDir, 'evaluator'));
  log(`bench:learn on ${path.basename(modelDir)}: configs ${configs.join(', ')}; ≤ ${maxRounds} rounds; ${PREFERENCES.length} preferences`);
  const results: ConfigResult[] = [];
  const load0 = os.loadavg();
  try {
    for (const c of configs) results.push(await runConfig(c, ev, cacheDir));
  } finally {
    await ev.release();
  }
  const load = os.loadavg();

  // ---- tables ----
  const rows: string[][] = [['config', ...PREFERENCES.map((p) => `${p.name} (${p.signal})`), 'margin gain', 'accept', 'bpb Δ', 'promoted/rounds', 'lat idle p95', 'lat train p95', 'train/idle same context p50 p95', 'inverted promoted']];
  for (const r of results) {
    const s = summarize(r);
    rows.push([
      r.config,
      ...r.prefs.map((p) => (p.correctionsTo3 === null ? `— (${p.corrections})` : String(p.correctionsTo3))),
      (mean(Object.values(s.margin_gain).map(Number)) || 0).toFixed(1),
      String(s.accept_rate),
      s.bpb_regression === null ? '—' : `${(s.bpb_regression * 100).toFixed(2)} %`,
      `${s.promoted}/${s.rounds}`,
      s.latency_idle_p95_ms === null ? '—' : `${s.latency_idle_p95_ms} ms`,
      s.latency_during_p95_ms === null ? '—' : `${s.latency_during_p95_ms} ms`,
      s.latency_paired_ratio_p50 === null ? '—' : `${s.latency_paired_ratio_p50}× ${s.latency_paired_ratio_p95}×`,
      String(s.inverted_labels_promoted ?? '—'),
    ]);
  }
  const w = rows[0].map((_, j) => Math.max(...rows.map((r) => r[j].length)));
  console.log('corrections until the preference holds 3× in a row on held-out contexts (— = not within the run; in parentheses the corrections made)');
  for (const r of rows) console.log(r.map((x, j) => x.padEnd(w[j])).join('  '));
  for (const r of results) {
    console.log(`margins per round (${r.config}): ${r.prefs.map((p) => `${p.name} ${p.margins.map((m) => m.toFixed(1)).join('→')}`).join('; ')}`);
    const rej = r.rounds.filter((x) => x.reason);
    if (rej.length) console.log(`  rounds not promoted (${r.config}): ${rej.map((x) => `${x.outcome}: ${x.reason}`).join(' | ')}`);
  }

  const main = results.find((r) => r.config === DEFAULT_RULE) ?? results[results.length - 1];
  const ms = summarize(main);
  const json = {
    bench: 'learn',
    model: path.basename(modelDir),
    mode: smoke ? 'smoke' : 'full',
    config: main.config,
    preferences: main.prefs.map((p) => ({ name: p.name, signal: p.signal, corrections_to_3: p.correctionsTo3, corrections: p.corrections, margin_gain: r2(p.margins.at(-1)! - p.margins[0]), margins: p.margins.map(r2), holds_at_end: p.holdsAtEnd })),
    ablations: Object.fromEntries(results.map((r) => [r.config, summarize(r)])),
    bpb_regression: ms.bpb_regression,
    latency: { idle_p50_ms: ms.latency_idle_p50_ms, idle_p95_ms: ms.latency_idle_p95_ms, during_p50_ms: ms.latency_during_p50_ms, during_p95_ms: ms.latency_during_p95_ms, paired_ratio_p50: ms.latency_paired_ratio_p50, paired_ratio_p95: ms.latency_paired_ratio_p95 },
    inverted_labels_promoted: main.invertedPromoted === true,
    load_average: { start: load0.map(r2), end: load.map(r2) },
    cpus: os.cpus().length,
    seconds: Math.round((Date.now() - t0) / 1000),
  };
  const line = JSON.stringify(json);
  console.log(line);
  const out = arg('json-out');
  if (out) fs.writeFileSync(out, line + '\n');
  if (json.inverted_labels_promoted) {
    log(`FAIL: the ${main.config} rule promoted a round trained on inverted labels`);
    process.exitCode = 1;
  }
}

void main().catch((e) => {
  console.error(e);
  process.exit(2);
});
