// Stopping the learning loop while a round runs (Disable, a model change, shutdown) is
// cooperative: the worker finishes the session run it is in, sees the cancel flag between steps,
// answers the round as cancelled (nothing written) and leaves by itself. It is never terminated
// under onnxruntime, which aborts the whole trainer process.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LearnLoop } from '../../../server/learn/loop';
import { DEFAULT_SETTINGS, mergeSettings } from '../../../server/learn/schedule';
import { EpisodeStore } from '../../../server/episodes/store';
import { AdapterStore } from '../../../server/train/adapterStore';
import type { learn } from '../../../protocol';
import { acceptedView, rejectedView, tempDir, tinyModel } from './fixtures';

const m = tinyModel('stop');
after(() => fs.rmSync(path.dirname(m.dir), { recursive: true, force: true }));

async function until(get: () => learn.StatusResult | undefined, ok: (s: learn.StatusResult) => boolean, ms = 60_000): Promise<learn.StatusResult> {
  const t0 = Date.now();
  for (;;) {
    const s = get();
    if (s && ok(s)) return s;
    if (Date.now() - t0 > ms) throw new Error(`timed out; last status ${JSON.stringify(s)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test('dispose during a round: the round ends cancelled, nothing is written, the worker leaves by itself', { timeout: 180_000 }, async () => {
  const storage = tempDir('stop');
  const store = await EpisodeStore.open(storage);
  let last: learn.StatusResult | undefined;
  const logs: string[] = [];
  // Many steps: the round is certainly running a session when dispose comes.
  const settings = mergeSettings(DEFAULT_SETTINGS, { schedule: 'manual', minEpisodes: 4, stepsPerRound: 500, maxDrift: 5 });
  const loop = await LearnLoop.start({ storageDir: storage, modelPath: m.dir, store, serve: () => undefined, settings, log: (l, msg) => logs.push(`${l}: ${msg}`), onStatus: (s) => (last = s) });
  try {
    for (let i = 0; i < 3; i++)
      for (const v of [acceptedView(m.tok, 'sum(items)'), rejectedView(m.tok, 'items[0]', 'sum(items)')]) {
        const { outcome: _o, status: _s, updatedAt: _u, events, ...ep } = v;
        await store.appendEpisode(ep);
        for (const ev of events) await store.appendEvent(ep.id, ev);
      }
    await until(() => last, (s) => s.pending === 6);
    const round = loop.trainNow();
    await until(() => last, (s) => s.state === 'training' && (s.step ?? 0) >= 1);
    await loop.dispose();
    const res = await round;
    assert.equal(res.started, true);
    assert.equal(res.report?.outcome, 'cancelled', `the round was answered, not cut off: ${res.report?.reason}`);
    assert.ok(res.report!.steps < 500);
    assert.deepEqual(new AdapterStore(path.join(storage, 'adapters')).versions(), [], 'a cancelled round writes no version');
    assert.ok(!logs.some((l) => /worker stopped|exited/.test(l)), logs.join('\n'));
  } finally {
    await loop.dispose();
    await store.close();
  }
});
