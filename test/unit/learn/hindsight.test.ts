// The hindsight rule end to end on a generated tiny model: a round trained on what the developer
// typed instead makes that text more likely and the rejected suggestion less likely, and is
// promoted through the gate on the goal; a round whose batch says the opposite of the held-out
// episodes (inverted labels) is rejected and leaves no trace.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { judge } from '../../../server/judge/judge';
import { LearnEngine } from '../../../server/learn/engine';
import { LearnLoop, MAX_ATTEMPTS } from '../../../server/learn/loop';
import { EpisodeStore } from '../../../server/episodes/store';
import { RULES } from '../../../server/learn/rule';
import { DEFAULT_SETTINGS, mergeSettings } from '../../../server/learn/schedule';
import { AdapterStore } from '../../../server/train/adapterStore';
import type { episodes } from '../../../protocol';
import { prompt, rejectedView, tempDir, tinyModel } from './fixtures';

const m = tinyModel('hindsight');
const GOOD = 'sum(items)', BAD = 'items[0]';
const settings = mergeSettings(DEFAULT_SETTINGS, { schedule: 'manual', learningRate: 2e-3, stepsPerRound: 4 });
const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
let engine: LearnEngine;

after(async () => {
  await engine?.release();
  fs.rmSync(path.dirname(m.dir), { recursive: true, force: true });
});

const items = (vs: episodes.EpisodeView[]) => vs.map((view) => ({ view, judgement: judge(view), staleness: 0 }));

test('typed instead: the developer\'s text becomes more likely, the suggestion less; promoted with the gate\'s facts', async () => {
  const adapters = path.join(tempDir('hindsight'), 'adapters');
  engine = await LearnEngine.create(m.dir, { adaptersDir: adapters, rule: RULES.hindsight });
  const pairs = [GOOD, BAD].map((t) => ({ context: prompt(m.tok), response: m.tok.encode(t) }));
  const base = await engine.scoreUnder(undefined, pairs);
  const batch = items([0, 1, 2].map(() => rejectedView(m.tok, BAD, GOOD)));
  const r = await engine.round({ items: batch, heldOut: [], serving: 0, settings });
  assert.equal(r.report.outcome, 'promoted', r.report.reason);
  assert.equal(r.report.episodes, 3);
  assert.equal(typeof r.report.bpbRegression, 'number');
  const now = await engine.scoreUnder(r.adapter!.tensors, pairs);
  assert.ok(sum(now[0]) > sum(base[0]) + 1, `the typed text became more likely (${sum(base[0]).toFixed(2)} → ${sum(now[0]).toFixed(2)})`);
  assert.ok(sum(now[1]) < sum(base[1]), 'the rejected suggestion became less likely');
  assert.deepEqual(new AdapterStore(adapters).versions(), [1]);

  // Inverted labels: the batch says BAD over GOOD while waiting episodes say GOOD over BAD.
  const before = new Map([...engine.trainer.params].map(([k, p]) => [k, p.slice()]));
  const inverted = items([0, 1, 2].map(() => rejectedView(m.tok, GOOD, BAD)));
  const waiting = items([0, 1].map(() => rejectedView(m.tok, BAD, GOOD)));
  const rej = await engine.round({ items: inverted, heldOut: [], waiting, serving: 1, settings });
  assert.equal(rej.report.outcome, 'rejected');
  assert.match(rej.report.reason!, /developer's text/);
  assert.equal(rej.report.heldOutPairs, 2);
  assert.ok(rej.report.marginAfter! < rej.report.marginBefore!);
  assert.equal(rej.adapter, undefined);
  assert.deepEqual(new AdapterStore(adapters).versions(), [1]);
  for (const [k, p] of engine.trainer.params) assert.deepEqual(p, before.get(k), 'a rejected candidate leaves no trace');
});

test('a rejected round keeps its episodes for the next round, MAX_ATTEMPTS rounds at most', async () => {
  const storage = tempDir('kept');
  const store = await EpisodeStore.open(storage);
  // A gate no candidate passes: the OpenClaw-RL rule's drift bound at 1e-9 (the worker reads the rule from the environment).
  process.env.HINDSIGHT_LEARN_RULE = 'combined';
  const loop = await LearnLoop.start({ storageDir: storage, modelPath: m.dir, store, serve: () => undefined, settings: { ...settings, minEpisodes: 1, maxDrift: 1e-9 }, log: () => undefined });
  delete process.env.HINDSIGHT_LEARN_RULE;
  try {
    for (const v of [0, 1].map(() => rejectedView(m.tok, BAD, GOOD))) {
      const { outcome: _o, status: _s, updatedAt: _u, events, ...ep } = v;
      await store.appendEpisode(ep);
      for (const ev of events) await store.appendEvent(ep.id, ev);
    }
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      const r = await loop.trainNow();
      assert.equal(r.report?.outcome, 'rejected', r.reason);
      assert.equal(loop.status().pending, attempt < MAX_ATTEMPTS ? 2 : 0, `after rejection ${attempt}`);
    }
    assert.equal(loop.status().skipped.rejectedRounds, 2);
    assert.equal((await loop.trainNow()).started, false, 'dropped episodes do not come back');
  } finally {
    await loop.dispose();
    await store.close();
  }
});
