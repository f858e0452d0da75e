// Compaction and appends share one writer: appends issued while the store rewrites its log are
// either written before the rewrite (and carried into the new file) or after it (into the new
// file); none is acknowledged and then renamed away. In-process with concurrent appends, then a
// child process SIGKILLed at seeded moments while it compacts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EpisodeStore } from '../../../server/episodes/store';
import { sampleEpisode } from './helpers';
import { bundleFixture, killRuns, nthLine, runAndKill, seeded } from './childWriter';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'hs-compact-'));

test('appends issued during a compaction are all acknowledged and all survive a reopen', async () => {
  const dir = tmp();
  const s = await EpisodeStore.open(dir, { chunkBytes: 512 });
  for (let i = 0; i < 20; i++) await s.appendEpisode(sampleEpisode(`old${i}`, 1000 + i, 20_000));
  // Everything fits the (default) budget, so the rewrite keeps every episode.
  const compaction = s.compact();
  const acks = await Promise.allSettled(Array.from({ length: 27 }, (_, i) => s.appendEpisode(sampleEpisode(`new${i}`, 5000 + i, 2_000))));
  const events = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => s.appendEvent(`old${i}`, { type: 'rejected', at: 9000 + i, reason: 'timeout', visibleMs: 1 })));
  await compaction;
  const failed = [...acks, ...events].filter((a) => a.status === 'rejected');
  assert.deepEqual(failed, [], 'no append fails because of the rewrite');
  await s.close();
  assert.ok(!fs.existsSync(EpisodeStore.fileIn(dir) + '.compact.tmp'), 'no temp file left');

  const again = await EpisodeStore.open(dir);
  assert.deepEqual(again.replayIssues, []);
  for (let i = 0; i < 27; i++) assert.ok(again.get(`new${i}`), `acknowledged new${i} lost`);
  for (let i = 0; i < 20; i++) assert.equal(again.get(`old${i}`)?.outcome, 'rejected', `acknowledged event of old${i} lost`);
  assert.equal(again.counts().total, 47);
  await again.close();
});

const MAX_KILLS = Number(process.env.HINDSIGHT_COMPACT_KILLS ?? 40);
const MIN_KILLS = Math.min(MAX_KILLS, 12);

// At least MIN_KILLS, then up to MAX_KILLS within 12 s.
test(`kill during compaction: ${MIN_KILLS}–${MAX_KILLS} seeded SIGKILLs of a child that compacts while appending; every acknowledged record survives`, { timeout: 180_000 }, async () => {
  const work = tmp();
  const bundle = await bundleFixture('compactWriter', work);
  const dir = path.join(work, 'store');
  const tmpFile = EpisodeStore.fileIn(dir) + '.compact.tmp';
  const episodes = new Set<string>();
  const events = new Set<string>();
  const rnd = seeded(20240611);
  let midRewrite = 0;
  let dropped = 0;
  const started = Date.now();

  let kills = 0;
  for (const run of killRuns(MIN_KILLS, MAX_KILLS, 12_000)) {
    kills = run;
    // Odd runs die a few ms after a compaction started, even runs after some acknowledgements.
    const killAfter = run % 2 ? nthLine(1 + rnd(3), 'C') : nthLine(1 + rnd(60), 'A ', 'E ');
    const r = await runAndKill(bundle, [dir, String(run)], killAfter, run % 2 ? 1 + rnd(10) : rnd(4));
    assert.equal(r.exitedWith, undefined, `run ${run}: the writer exited by itself`);
    assert.ok(!r.stalled, `run ${run}: the writer stopped acknowledging appends`);
    r.episodes.forEach((id) => episodes.add(id));
    r.events.forEach((id) => events.add(id));
    // The temp file exists only between the rewrite's start and its rename.
    if (fs.existsSync(tmpFile)) midRewrite++;

    const store = await EpisodeStore.open(dir, { expireAfterMs: Infinity }); // read only: no expiry writes
    assert.ok(!store.replayIssues.some((i) => i.kind === 'corrupt'), `run ${run}: corrupt record: ${JSON.stringify(store.replayIssues)}`);
    const present = store.query({ limit: Number.MAX_SAFE_INTEGER }).episodes;
    assert.ok(present.length > 0, `run ${run}: compaction emptied the store`);
    // Compaction drops oldest first, so an acknowledged episode may be gone only if it is older
    // than every episode still there.
    const oldest = Math.min(...present.map((v) => v.createdAt));
    dropped = 0;
    for (const id of episodes) {
      const [rn, i] = id.split('-').map(Number);
      const expected = sampleEpisode(id, rn * 1_000_000 + i, (i * 7919) % 20000);
      const v = store.get(id);
      if (!v) {
        assert.ok(expected.createdAt < oldest, `run ${run}: acknowledged episode ${id} lost (newer than the oldest kept)`);
        dropped++;
        continue;
      }
      assert.deepEqual(v.tokenIds, expected.tokenIds, `run ${run}: ${id} damaged`);
      assert.equal(v.suffixExcerpt, expected.suffixExcerpt, `run ${run}: ${id} damaged`);
      if (events.has(id)) assert.equal(v.outcome, 'rejected', `run ${run}: acknowledged event of ${id} lost`);
    }
    await store.close();
  }
  const secs = (Date.now() - started) / 1000;
  console.log(`kill during compaction: ${kills} kills (${midRewrite} inside a rewrite), ${episodes.size} acknowledged episodes and ${events.size} events, 0 lost, ${dropped} dropped oldest-first by the budget, ${secs.toFixed(1)} s`);
  assert.ok(midRewrite > 0, 'no kill landed inside a rewrite: the loop tests nothing');
  fs.rmSync(work, { recursive: true, force: true });
});
