// Crash loop: a child writer is SIGKILLed at seeded moments, 30 to 200 times; after each kill the
// store is replayed and every record the child acknowledged (printed after fsync) must be there,
// intact, with nothing corrupt. Note: SIGKILL leaves the OS page cache alive, so this proves the
// framing, ack ordering and torn-tail handling; power loss is what the fsync before ack covers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EpisodeStore } from '../../../server/episodes/store';
import { sampleEpisode } from './helpers';
import { bundleFixture, killRuns, nthLine, runAndKill, seeded } from './childWriter';

const MAX_KILLS = Number(process.env.HINDSIGHT_CRASH_ITERATIONS ?? 200);
const MIN_KILLS = Math.min(MAX_KILLS, 30);

// Kills are timed by acknowledgements, not by the clock, and the loop does at least MIN_KILLS and
// then as many as fit in 40 s: a loaded machine makes it shorter, never wrong.
test(`crash loop: ${MIN_KILLS}–${MAX_KILLS} SIGKILLs, no acknowledged record lost, nothing corrupt`, { timeout: 300_000 }, async () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hs-crash-'));
  const bundle = await bundleFixture('crashWriter', work);
  const dir = path.join(work, 'store');
  const ackedEpisodes = new Set<string>();
  const ackedEvents = new Set<string>();
  const rnd = seeded(1234);
  let tornTails = 0;
  const started = Date.now();

  let kills = 0;
  for (const run of killRuns(MIN_KILLS, MAX_KILLS, 40_000)) {
    kills = run;
    // After 1–8 acknowledgements, then 0–2 ms: most kills land inside a write or an fdatasync.
    const r = await runAndKill(bundle, [dir, String(run)], nthLine(1 + rnd(8), 'A ', 'E '), rnd(3));
    assert.equal(r.exitedWith, undefined, `run ${run}: the writer exited by itself`);
    assert.ok(!r.stalled, `run ${run}: the writer stopped acknowledging appends`);
    r.episodes.forEach((id) => ackedEpisodes.add(id));
    r.events.forEach((id) => ackedEvents.add(id));

    const store = await EpisodeStore.open(dir, { expireAfterMs: Infinity }); // read only: no expiry writes
    assert.ok(!store.replayIssues.some((i) => i.kind === 'corrupt'), `run ${run}: corrupt record: ${JSON.stringify(store.replayIssues)}`);
    if (store.replayIssues.length) tornTails++;
    for (const id of ackedEpisodes) {
      const v = store.get(id);
      assert.ok(v, `run ${run}: acknowledged episode ${id} missing`);
      const [rn, i] = id.split('-').map(Number);
      const expected = sampleEpisode(id, rn * 1000 + i, (i * 7919) % 20000);
      assert.equal(v.suggestion, expected.suggestion);
      assert.deepEqual(v.tokenIds, expected.tokenIds);
      assert.deepEqual(v.logprobs, expected.logprobs);
      assert.equal(v.suffixExcerpt, expected.suffixExcerpt);
      if (ackedEvents.has(id)) assert.equal(v.outcome, 'rejected', `run ${run}: acknowledged event of ${id} missing`);
    }
    await store.close();
  }
  const secs = (Date.now() - started) / 1000;
  console.log(`crash loop: ${kills} kills, ${ackedEpisodes.size} acknowledged episodes, ${ackedEvents.size} events, ${tornTails} torn tails repaired, ${secs.toFixed(1)} s`);
  fs.rmSync(work, { recursive: true, force: true });
});
