// The learning loop end to end on a generated tiny model: a round makes the continuation the judge
// rewarded more likely and the penalised one less likely; the drift bound rejects a candidate and
// leaves no trace; the worker-thread loop promotes, swaps the adapter into a real serving worker
// (the next completion carries the new version), counts skipped episodes by reason, rolls back,
// remembers the rollback across a restart, and falls back when the newest adapter is corrupt.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { judge } from '../../../server/judge/judge';
import { LearnEngine } from '../../../server/learn/engine';
import { screen } from '../../../server/learn/batch';
import { LearnLoop } from '../../../server/learn/loop';
import { RULES } from '../../../server/learn/rule';
import { DEFAULT_SETTINGS, mergeSettings } from '../../../server/learn/schedule';
import { EpisodeStore } from '../../../server/episodes/store';
import { ModelServer } from '../../../server/serve/modelServer';
import { ADAPTER_WEIGHTS } from '../../../server/train/adapter';
import { AdapterStore } from '../../../server/train/adapterStore';
import type { episodes, learn } from '../../../protocol';
import { acceptedView, prompt, rejectedView, tempDir, tinyModel, PREFIX, SUFFIX } from './fixtures';

const m = tinyModel('loop');
const GOOD = 'sum(items)', BAD = 'items[0]';
const settings = mergeSettings(DEFAULT_SETTINGS, { schedule: 'manual', minEpisodes: 4, learningRate: 3e-4, maxDrift: 5, stepsPerRound: 4 });
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);

let engine: LearnEngine;
let base: number[][];
const pairs = () => [GOOD, BAD].map((t) => ({ context: prompt(m.tok), response: m.tok.encode(t) }));

/**
 * 3 × GOOD accepted and kept (+0.75), 3 × BAD rejected (−0.25) with `typed` typed instead (default
 * GOOD: the hindsight rule learns only from the developer's text; '' = nothing typed, for the
 * reward rules); behaviour = base log-probs.
 */
function episodesFor(over: Partial<episodes.EpisodeView> = {}, typed = GOOD): episodes.EpisodeView[] {
  const out: episodes.EpisodeView[] = [];
  for (let i = 0; i < 3; i++) out.push(acceptedView(m.tok, GOOD, base[0], over), rejectedView(m.tok, BAD, typed, base[1], over));
  return out;
}

after(async () => {
  await engine?.release();
  fs.rmSync(path.dirname(m.dir), { recursive: true, force: true }); // ~40 MB of generated weights
});

test('OpenClaw-RL rule: a round makes the rewarded continuation more likely and the penalised one less likely; the version is written', async () => {
  const adapters = path.join(tempDir('engine'), 'adapters');
  engine = await LearnEngine.create(m.dir, { adaptersDir: adapters, rule: RULES.combined }); // OpenClaw-RL's rule and drift gate
  // The training session (the model's full-precision weights) is built for the first score or round, not at start.
  assert.throws(() => engine.trainer, /built for the first round or score/);
  assert.deepEqual(engine.versions(), [], 'listing versions needs no session');
  base = await engine.scoreUnder(undefined, pairs());
  assert.ok(engine.trainer.params.size > 0);
  const items = episodesFor({}, '').map((view) => ({ view, judgement: judge(view), staleness: 0 }));
  const progress: string[] = [];
  const r = await engine.round({ items, heldOut: [], serving: 0, settings }, (p) => progress.push(`${p.state}:${p.step}`));
  assert.equal(r.report.outcome, 'promoted', r.report.reason);
  assert.equal(r.report.version, 1);
  assert.deepEqual(progress, ['training:0', 'training:1', 'training:2', 'training:3', 'training:4', 'evaluating:4']);
  assert.ok(r.report.preferredDelta! > 0);
  const now = await engine.scoreUnder(r.adapter!.tensors, pairs());
  console.log(`log π(good) ${sum(base[0]).toFixed(2)} → ${sum(now[0]).toFixed(2)}, log π(bad) ${sum(base[1]).toFixed(2)} → ${sum(now[1]).toFixed(2)}`);
  assert.ok(sum(now[0]) > sum(base[0]) + 0.5, 'the rewarded continuation became more likely');
  assert.ok(sum(now[1]) < sum(base[1]), 'the penalised continuation became less likely');
  assert.deepEqual(new AdapterStore(adapters).versions(), [1]);

  // A drift bound the candidate cannot meet: rejected with the reason, nothing written, values restored.
  const before = new Map([...engine.trainer.params].map(([k, p]) => [k, p.slice()]));
  // Serving v1 now: the same v0 episodes are one version old (screened as the loop does).
  const stale = items.map(({ view, judgement }) => {
    const sc = screen(view, judgement, { model: 'tiny', vocabSize: engine.folder.cfg.vocabSize, currentVersion: 1, maxStaleness: 8 });
    assert.ok(sc.ok);
    return { view, judgement, staleness: sc.staleness };
  });
  const rej = await engine.round({ items: stale, heldOut: pairs(), serving: 1, settings: { ...settings, maxDrift: 1e-6 } });
  assert.equal(rej.report.outcome, 'rejected');
  assert.equal(rej.report.maxStaleness, 1); // episodes from v0, policy v1: off-policy by one version
  assert.match(rej.report.reason!, /drifts too far from the base model/);
  assert.equal(rej.adapter, undefined);
  assert.deepEqual(new AdapterStore(adapters).versions(), [1]);
  for (const [k, p] of engine.trainer.params) assert.deepEqual(p, before.get(k));

  // Freed between rounds: the next score builds the session again, with the same values and Adam moments.
  const st = engine.trainer.optimizer.state();
  const moments = { step: st.step, m: new Map([...st.m].map(([k, v]) => [k, v.slice()])), v: new Map([...st.v].map(([k, v]) => [k, v.slice()])) };
  assert.ok(moments.step > 0);
  assert.equal(await engine.releaseTrainer(), true);
  assert.throws(() => engine.trainer, /built for the first round or score/);
  assert.equal(await engine.releaseTrainer(), false, 'nothing left to free');
  const again = await engine.scoreUnder(r.adapter!.tensors, pairs());
  assert.deepEqual(again.map(sum).map((x) => x.toFixed(4)), now.map(sum).map((x) => x.toFixed(4)));
  for (const [k, p] of engine.trainer.params) assert.deepEqual(p, before.get(k));
  const st2 = engine.trainer.optimizer.state();
  assert.equal(st2.step, moments.step);
  for (const [k, v] of moments.m) assert.deepEqual(st2.m.get(k), v);
  for (const [k, v] of moments.v) assert.deepEqual(st2.v.get(k), v);
});

/** Waits (bounded) for a condition on the loop's pushed status. */
async function until(get: () => learn.StatusResult | undefined, ok: (s: learn.StatusResult) => boolean, ms = 10_000): Promise<learn.StatusResult> {
  const t0 = Date.now();
  for (;;) {
    const s = get();
    if (s && ok(s)) return s;
    if (Date.now() - t0 > ms) throw new Error(`timed out; last status ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('the worker loop trains on settled episodes, swaps the adapter into serving, rolls back, and remembers it across restarts', async () => {
  const storage = tempDir('storage');
  const store = await EpisodeStore.open(storage);
  const server = await ModelServer.start(m.dir, { quantize: 'none', intraOpThreads: 1 });
  const served: number[] = [];
  const sink = { setAdapter: async (v: number, t: Map<string, Float32Array>, s?: Parameters<ModelServer['setAdapter']>[2]) => { served.push(v); await server.setAdapter(v, t, s); } };
  const logs: string[] = [];
  let last: learn.StatusResult | undefined;
  const busy: boolean[] = [];
  const start = () => LearnLoop.start({ storageDir: storage, modelPath: m.dir, store, serve: () => sink, settings, log: (l, msg) => logs.push(`${l}: ${msg}`), onStatus: (s) => (last = s), onBusy: (b) => busy.push(b), releaseAfterMs: 100 });
  const complete = () => server.complete({ uri: 'file:///w/a.py', languageId: 'python', prefix: PREFIX, suffix: SUFFIX, maxTokens: 3 });
  try {
    let loop = await start();
    assert.equal(loop.status().serving, 0);
    // Six usable episodes, one whose tokens redaction dropped, one from another base model.
    const eps = [...episodesFor(), acceptedView(m.tok, GOOD, base[0], { redacted: true, tokenIds: [], logprobs: [] }), acceptedView(m.tok, GOOD, base[0], { model: 'another-model' })];
    for (const v of eps) {
      const { outcome: _o, status: _s, updatedAt: _u, events, ...ep } = v;
      assert.equal((await store.appendEpisode(ep)).stored, true);
      for (const ev of events) await store.appendEvent(ep.id, ev);
    }
    const pending = await until(() => last, (s) => s.pending === 6);
    assert.deepEqual(pending.skipped, { redacted: 1, otherModel: 1 });

    const res = await loop.trainNow();
    assert.equal(res.started, true);
    assert.equal(res.report!.outcome, 'promoted', res.report!.reason);
    assert.equal(res.report!.version, 1);
    assert.deepEqual(busy, [true, false]);
    const s1 = loop.status();
    assert.equal(s1.serving, 1);
    assert.equal(s1.pending, 0);
    assert.equal(s1.trained, 6);
    assert.equal(s1.lastPromotion?.version, 1);
    assert.deepEqual(s1.versions.map((v) => [v.version, v.valid]), [[0, true], [1, true]]);
    assert.equal(s1.versions[1].episodes, 6);
    assert.equal((await complete()).adapterVersion, 1, 'serving carries the promoted version');
    assert.deepEqual((await loop.trainNow()).started, false); // nothing left: the same episodes are never trained twice
    // No round follows: the training session is freed.
    for (const t0 = Date.now(); !logs.some((l) => /training session freed/.test(l)); ) {
      assert.ok(Date.now() - t0 < 10_000, logs.join('\n'));
      await new Promise((r) => setTimeout(r, 50));
    }

    assert.deepEqual(await loop.rollback(), { from: 1, to: 0 });
    assert.equal((await complete()).adapterVersion, 0);
    await loop.dispose();

    // Restart: the rollback is remembered.
    loop = await start();
    assert.equal(loop.status().serving, 0);
    assert.deepEqual(await loop.rollback(1), { from: 0, to: 1 });
    assert.equal((await complete()).adapterVersion, 1);
    await assert.rejects(loop.rollback(7), /v7 does not exist/);
    await loop.dispose();

    // A corrupt newest version (remembered as serving) falls back to the previous valid one.
    const adapters = new AdapterStore(path.join(storage, 'adapters'));
    fs.cpSync(adapters.dir(1), adapters.dir(2), { recursive: true });
    fs.truncateSync(path.join(adapters.dir(2), ADAPTER_WEIGHTS), 16);
    const stateFile = path.join(storage, 'learn', 'state.json');
    fs.writeFileSync(stateFile, JSON.stringify({ ...JSON.parse(fs.readFileSync(stateFile, 'utf8')), serving: 2 }));
    served.length = 0;
    loop = await start();
    assert.equal(loop.status().serving, 1);
    assert.deepEqual(served, [1]);
    assert.ok(logs.some((l) => /adapter v2 skipped on start/.test(l)), logs.join('\n'));
    assert.deepEqual(loop.status().versions.map((v) => [v.version, v.valid]), [[0, true], [1, true], [2, false]]);
    await loop.dispose();
  } finally {
    await server.dispose();
    await store.close();
  }
});

test('the idle schedule trains by itself once a full batch is waiting and no suggestion came for idleSeconds', async () => {
  const storage = tempDir('idle');
  const store = await EpisodeStore.open(storage);
  const served: number[] = [];
  let last: learn.StatusResult | undefined;
  const loop = await LearnLoop.start({
    storageDir: storage, modelPath: m.dir, store, serve: () => ({ setAdapter: async (v) => void served.push(v) }),
    settings: { ...settings, schedule: 'idle', batchSize: 6, idleSeconds: 0.5 }, log: () => undefined, onStatus: (s) => (last = s),
  });
  try {
    const t0 = Date.now();
    for (const v of episodesFor()) {
      const { outcome: _o, status: _s, updatedAt: _u, events, ...ep } = v;
      await store.appendEpisode(ep);
      for (const ev of events) await store.appendEvent(ep.id, ev);
    }
    const s = await until(() => last, (x) => x.serving === 1, 20_000);
    assert.ok(Date.now() - t0 >= 500, 'waited for the idle period');
    assert.deepEqual(served, [1]);
    assert.equal(s.lastRound?.outcome, 'promoted');
    assert.equal(s.pending, 0);
  } finally {
    await loop.dispose();
    await store.close();
  }
});

test('a round waits before each pass while serving generates a suggestion, and goes on when it ends', async () => {
  const storage = tempDir('yield');
  const store = await EpisodeStore.open(storage);
  const pushed: learn.StatusResult[] = [];
  const busy = new SharedArrayBuffer(4);
  const generating = new Int32Array(busy);
  const loop = await LearnLoop.start({
    storageDir: storage, modelPath: m.dir, store, serve: () => ({ setAdapter: async () => undefined }), servingBusy: busy,
    settings, log: () => undefined, onStatus: (s) => pushed.push(s),
  });
  try {
    for (const v of episodesFor()) {
      const { outcome: _o, status: _s, updatedAt: _u, events, ...ep } = v;
      await store.appendEpisode(ep);
      for (const ev of events) await store.appendEvent(ep.id, ev);
    }
    await until(() => pushed.at(-1), (s) => s.pending === 6);
    Atomics.store(generating, 0, 1); // a suggestion is being generated
    const round = loop.trainNow();
    await new Promise((r) => setTimeout(r, 1200));
    assert.ok(!pushed.some((s) => (s.step ?? 0) >= 1), `no training step while serving generates: ${JSON.stringify(pushed.at(-1))}`);
    const released = Date.now();
    Atomics.store(generating, 0, 0);
    Atomics.notify(generating, 0);
    const r = await round;
    assert.equal(r.report?.outcome, 'promoted', r.report?.reason);
    assert.ok(Date.now() - released < 60_000);
  } finally {
    await loop.dispose();
    await store.close();
  }
});

test('a running round reports its time left and can be cancelled: nothing is kept and its episodes wait', async () => {
  const storage = tempDir('cancel');
  const store = await EpisodeStore.open(storage);
  const served: number[] = [];
  const pushed: learn.StatusResult[] = [];
  const loop = await LearnLoop.start({
    storageDir: storage, modelPath: m.dir, store, serve: () => ({ setAdapter: async (v) => void served.push(v) }),
    settings: { ...settings, stepsPerRound: 100 }, log: () => undefined, onStatus: (s) => pushed.push(s),
  });
  try {
    assert.equal(loop.cancel(), false, 'nothing to cancel');
    for (const v of episodesFor()) {
      const { outcome: _o, status: _s, updatedAt: _u, events, ...ep } = v;
      await store.appendEpisode(ep);
      for (const ev of events) await store.appendEvent(ep.id, ev);
    }
    await until(() => pushed.at(-1), (s) => s.pending === 6);
    const round = loop.trainNow();
    const running = await until(() => pushed.at(-1), (s) => s.state === 'training' && (s.step ?? 0) >= 1, 60_000);
    assert.ok(running.roundStartedAt! <= Date.now());
    assert.ok(running.etaMs! > 0, `an ETA once a step ran: ${JSON.stringify(running)}`);
    assert.equal(loop.cancel(), true);
    assert.equal(pushed.at(-1)?.cancelling, true);
    const r = await round;
    assert.equal(r.report?.outcome, 'cancelled');
    assert.ok(r.report!.steps < 100);
    const s = loop.status();
    assert.equal(s.state, 'idle');
    assert.equal(s.serving, 0);
    assert.equal(s.pending, 6, 'the episodes wait for the next round');
    assert.equal(s.trained, 0);
    assert.deepEqual(s.versions.map((v) => v.version), [0], 'no version written');
    assert.equal(s.etaMs, undefined);
    assert.deepEqual(served, []);
  } finally {
    await loop.dispose();
    await store.close();
  }
});
