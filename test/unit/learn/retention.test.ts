// Retention (hindsight.training.keepVersions) on a generated tiny model: after a promotion the
// engine deletes the versions older than the newest N, but never the one now serving nor its
// parent (here an old version a rollback chose), says which in the log, and the listing follows
// from the index without reading a tensor. The setting is clamped (0 = keep all).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { judge } from '../../../server/judge/judge';
import { LearnEngine } from '../../../server/learn/engine';
import { RULES } from '../../../server/learn/rule';
import { DEFAULT_SETTINGS, mergeSettings } from '../../../server/learn/schedule';
import { initAdapter } from '../../../server/train/adapter';
import { AdapterStore } from '../../../server/train/adapterStore';
import type { episodes } from '../../../protocol';
import { rejectedView, tempDir, tinyModel } from './fixtures';

const m = tinyModel('retention');
const GOOD = 'sum(items)', BAD = 'items[0]';
let engine: LearnEngine | undefined;

after(async () => {
  await engine?.release();
  fs.rmSync(path.dirname(m.dir), { recursive: true, force: true });
});

const items = (vs: episodes.EpisodeView[]) => vs.map((view) => ({ view, judgement: judge(view), staleness: 0 }));

test('keepVersions: clamped to a whole number ≥ 0, default 10', () => {
  assert.equal(DEFAULT_SETTINGS.keepVersions, 10);
  assert.equal(mergeSettings(DEFAULT_SETTINGS, { keepVersions: -3 }).keepVersions, 0);
  assert.equal(mergeSettings(DEFAULT_SETTINGS, { keepVersions: 2.4 }).keepVersions, 2);
  assert.equal(mergeSettings(DEFAULT_SETTINGS, { keepVersions: Number.NaN }).keepVersions, 10);
});

test('a promotion prunes beyond the newest keepVersions, keeping the serving version and its parent', async () => {
  const adapters = path.join(tempDir('retention'), 'adapters');
  const logs: string[] = [];
  engine = await LearnEngine.create(m.dir, { adaptersDir: adapters, rule: RULES.hindsight, log: (l, msg) => logs.push(`${l}: ${msg}`) });
  // Four stored versions; v1 is the engine's own fresh start (B = 0: the base model), as if rolled back to it.
  const spec = engine.spec;
  for (let i = 1; i <= 4; i++) engine.store.write(initAdapter(engine.folder.cfg, spec, engine.modelName, i === 1 ? 0 : i), engine.folder.cfg, { parent: String(i - 1) });
  const settings = mergeSettings(DEFAULT_SETTINGS, { schedule: 'manual', learningRate: 2e-3, stepsPerRound: 4, keepVersions: 2 });
  const r = await engine.round({ items: items([0, 1, 2].map(() => rejectedView(m.tok, BAD, GOOD))), heldOut: [], serving: 1, settings });
  assert.equal(r.report.outcome, 'promoted', r.report.reason);
  assert.equal(r.report.version, 5);
  assert.deepEqual(new AdapterStore(adapters).versions(), [1, 4, 5], 'newest 2 (v4, v5) + the parent v1');
  assert.ok(logs.some((l) => /pruned adapter version\(s\) v2, v3: hindsight\.training\.keepVersions is 2 \(serving v5, its parent v1 kept\)/.test(l)), logs.join('\n'));
  const listing = new AdapterStore(adapters);
  assert.deepEqual(listing.list(engine.folder.cfg, engine.modelName).map((v) => [v.version, v.valid, v.parent]), [[1, true, 0], [4, true, 3], [5, true, 1]]);
  assert.equal(listing.fullReads, 0);

  // keepVersions 0 keeps everything.
  const again = await engine.round({ items: items([0, 1, 2].map(() => rejectedView(m.tok, BAD, GOOD))), heldOut: [], serving: 5, settings: { ...settings, keepVersions: 0 } });
  assert.equal(again.report.outcome, 'promoted', again.report.reason);
  assert.deepEqual(new AdapterStore(adapters).versions(), [1, 4, 5, 6]);
});
