// bench:learn — what a training round costs while Hindsight keeps serving: loop start (worker +
// train graph), round time (batch with OPD scoring, K steps, gate), adapter swap into serving,
// and what serving sees meanwhile: suggestion latency idle vs during the round, and the longest
// stall of the trainer's main (JSON-RPC) event loop. Episodes are real completions of a generated
// model (random weights). Checks first that the promoted version is what serving then reports.
// Prints a table, then one JSON line. Usage: npm run bench:learn [-- --preset tiny] [--episodes 16]
import * as fs from 'node:fs';
import * as path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { episodes, serve } from '../protocol';
import { makeModel, PRESETS } from '../scripts/make-model';
import { EpisodeStore } from '../server/episodes/store';
import { LearnLoop } from '../server/learn/loop';
import { DEFAULT_SETTINGS, mergeSettings } from '../server/learn/schedule';
import { ModelServer } from '../server/serve/modelServer';
import { tempDir } from '../test/unit/learn/fixtures';

const argv = process.argv.slice(2);
const arg = (k: string) => (argv.includes(`--${k}`) ? argv[argv.indexOf(`--${k}`) + 1] : undefined);
const preset = arg('preset') ?? 'tiny';
const nEpisodes = Number(arg('episodes') ?? 16);
const log = (s: string) => process.stderr.write(`${s}\n`);
const pct = (xs: number[], p: number) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];

async function main() {
  const dir = path.join(tempDir('bench'), preset);
  makeModel(PRESETS[preset], dir, { seed: 1, std: preset === 'tiny' ? 0.2 : 0.02 });
  const storage = tempDir('bench-storage');
  const store = await EpisodeStore.open(storage);
  const server = await ModelServer.start(dir, { quantize: 'q4' });
  const files = ['src/a.ts', 'src/b.py'];
  const params = (i: number): serve.CompleteParams => ({ uri: `file:///w/${files[i % 2]}`, languageId: i % 2 ? 'python' : 'typescript', prefix: i % 2 ? `def f${i}(items):\n    return ` : `export function f${i}(a: number) {\n  return `, suffix: '\n', maxTokens: 8, temperature: 1, seed: i });

  // Real episodes: alternately accepted (kept) and rejected (with what was typed instead).
  log(`generating ${nEpisodes} episodes with ${preset}…`);
  for (let i = 0, made = 0; made < nEpisodes && i < nEpisodes * 4; i++) {
    const r = await server.complete(params(i));
    if (r.kind !== 'success' || !r.tokenIds.length) continue;
    const p = params(i);
    const ep: episodes.Episode = { id: `b${i}`, createdAt: Date.now(), uri: p.uri, relPath: files[i % 2], languageId: p.languageId, offset: p.prefix.length, line: 1, prefixExcerpt: p.prefix, suffixExcerpt: p.suffix, suggestion: r.text, tokenIds: r.tokenIds, logprobs: r.logprobs, promptTokenIds: r.promptTokenIds, adapterVersion: r.adapterVersion, model: r.model };
    await store.appendEpisode(ep);
    if (made % 2 === 0) {
      await store.appendEvent(ep.id, { type: 'accepted', at: Date.now(), how: 'command', acceptedText: r.text, start: 0, end: r.text.length });
      await store.appendEvent(ep.id, { type: 'survival', at: Date.now(), afterMs: 600_000, status: 'unchanged', distance: 0, retained: r.text.length, final: true });
    } else {
      await store.appendEvent(ep.id, { type: 'rejected', at: Date.now(), reason: 'timeout', visibleMs: 10_000 });
      await store.appendEvent(ep.id, { type: 'typedInstead', at: Date.now(), text: p.languageId === 'python' ? 'sum(items)' : 'a + 1;' });
    }
    made++;
  }

  let swapMs = 0;
  const sink = { setAdapter: async (v: number, t: Map<string, Float32Array>, s?: Parameters<ModelServer['setAdapter']>[2]) => { const t0 = performance.now(); await server.setAdapter(v, t, s); swapMs = performance.now() - t0; } };
  const settings = mergeSettings(DEFAULT_SETTINGS, { schedule: 'manual', minEpisodes: 1, batchSize: nEpisodes, maxDrift: 100 });
  let t0 = performance.now();
  const loop = await LearnLoop.start({ storageDir: storage, modelPath: dir, store, serve: () => sink, settings, log: () => undefined });
  const startMs = performance.now() - t0;

  const latencies = async (until: () => boolean, min: number) => {
    const out: number[] = [];
    for (let i = 0; out.length < min || !until(); i++) {
      const t = performance.now();
      await server.complete({ ...params(100 + i), temperature: 0 });
      out.push(performance.now() - t);
    }
    return out;
  };
  const hIdle = monitorEventLoopDelay({ resolution: 5 });
  hIdle.enable();
  const idle = await latencies(() => true, 8);
  hIdle.disable();

  const h = monitorEventLoopDelay({ resolution: 5 });
  h.enable();
  t0 = performance.now();
  let done = false;
  const round = loop.trainNow().finally(() => (done = true));
  const during = await latencies(() => done, 3);
  const res = await round;
  const roundMs = performance.now() - t0;
  h.disable();

  // Correctness first: the promoted version is what serving now reports.
  const after = await server.complete(params(999));
  const version = res.report?.version;
  const ok = res.report?.outcome === 'promoted' && after.adapterVersion === version;
  if (!ok) log(`WARNING: round ${JSON.stringify(res)}; serving reports v${after.adapterVersion}`);

  const rows: [string, string][] = [
    ['model', `${preset} (${PRESETS[preset].numLayers} layers, hidden ${PRESETS[preset].hiddenSize})`],
    ['episodes in the round', String(res.report?.episodes ?? 0)],
    ['loop start (worker + train graph)', `${startMs.toFixed(0)} ms`],
    ['round (batch + OPD, K steps, gate, write)', `${roundMs.toFixed(0)} ms (worker's own: ${res.report?.ms} ms, ${res.report?.steps} steps)`],
    ['outcome', `${res.report?.outcome}${res.report?.reason ? `: ${res.report.reason}` : ''}; loss ${res.report?.lossBefore?.toFixed(4)} → ${res.report?.lossAfter?.toFixed(4)}, drift ${res.report?.drift?.toFixed(4)}`],
    ['adapter swap into serving', `${swapMs.toFixed(1)} ms`],
    ['suggestion latency idle (p50 / max)', `${pct(idle, 0.5).toFixed(0)} / ${Math.max(...idle).toFixed(0)} ms (n=${idle.length})`],
    ['suggestion latency during the round (p50 / max)', `${pct(during, 0.5).toFixed(0)} / ${Math.max(...during).toFixed(0)} ms (n=${during.length})`],
    ['main event loop: longest stall idle / during the round', `${(hIdle.max / 1e6).toFixed(1)} / ${(h.max / 1e6).toFixed(1)} ms`],
    ['serving reports the promoted version', ok ? `yes (v${version})` : 'NO'],
  ];
  const w = Math.max(...rows.map((r) => r[0].length));
  for (const [k, v] of rows) console.log(`${k.padEnd(w)}  ${v}`);
  console.log(JSON.stringify({ bench: 'learn', preset, ok, episodes: res.report?.episodes, startMs: Math.round(startMs), roundMs: Math.round(roundMs), swapMs: +swapMs.toFixed(1), idleP50Ms: Math.round(pct(idle, 0.5)), duringP50Ms: Math.round(pct(during, 0.5)), duringMaxMs: Math.round(Math.max(...during)), eventLoopIdleMaxMs: +(hIdle.max / 1e6).toFixed(1), eventLoopMaxMs: +(h.max / 1e6).toFixed(1), outcome: res.report?.outcome }));
  await loop.dispose();
  await server.dispose();
  await store.close();
  fs.rmSync(path.dirname(dir), { recursive: true, force: true });
  fs.rmSync(storage, { recursive: true, force: true });
}

void main().catch((e) => {
  console.error(e);
  process.exit(1);
});
