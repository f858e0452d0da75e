// Crash loop: a child writer is SIGKILLed at random moments >= 200 times; after each kill the
// store is replayed and every record the child acknowledged (printed after fsync) must be there,
// intact, with nothing corrupt. Note: SIGKILL leaves the OS page cache alive, so this proves the
// framing, ack ordering and torn-tail handling; power loss is what the fsync before ack covers.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { build } from 'esbuild';
import { EpisodeStore } from '../../../server/episodes/store';
import { sampleEpisode } from './helpers';

const ITERATIONS = Number(process.env.HINDSIGHT_CRASH_ITERATIONS ?? 200);

test(`crash loop: ${ITERATIONS} SIGKILLs, no acknowledged record lost, nothing corrupt`, { timeout: 120_000 }, async () => {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'hs-crash-'));
  const bundle = path.join(work, 'writer.cjs');
  // Bundle the child once: starting tsx 200 times would take minutes.
  await build({ entryPoints: [path.join(__dirname, 'fixtures', 'crashWriter.ts')], bundle: true, platform: 'node', format: 'cjs', target: 'node20', outfile: bundle, logLevel: 'silent' });
  const dir = path.join(work, 'store');
  const ackedEpisodes = new Set<string>();
  const ackedEvents = new Set<string>();
  let seed = 1234;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
  let tornTails = 0;
  const started = Date.now();

  for (let run = 1; run <= ITERATIONS; run++) {
    const child = spawn(process.execPath, [bundle, dir, String(run)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let buffered = '';
    let ready!: () => void;
    const readyP = new Promise<void>((r) => (ready = r));
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (line === 'READY') ready();
        else if (line.startsWith('A ')) ackedEpisodes.add(line.slice(2));
        else if (line.startsWith('E ')) ackedEvents.add(line.slice(2));
      }
    });
    const exited = new Promise<void>((r) => child.on('close', () => r()));
    await readyP;
    await new Promise((r) => setTimeout(r, rnd(25)));
    child.kill('SIGKILL');
    await exited;

    const store = await EpisodeStore.open(dir);
    assert.ok(!store.replayIssues.some((i) => i.kind === 'corrupt'), `run ${run}: corrupt record: ${JSON.stringify(store.replayIssues)}`);
    if (store.replayIssues.length) tornTails++;
    for (const id of ackedEpisodes) {
      const v = store.get(id);
      assert.ok(v, `run ${run}: acknowledged episode ${id} missing`);
      const [r, i] = id.split('-').map(Number);
      const expected = sampleEpisode(id, r * 1000 + i, (i * 7919) % 20000);
      assert.equal(v.suggestion, expected.suggestion);
      assert.deepEqual(v.tokenIds, expected.tokenIds);
      assert.deepEqual(v.logprobs, expected.logprobs);
      assert.equal(v.suffixExcerpt, expected.suffixExcerpt);
      if (ackedEvents.has(id)) assert.equal(v.outcome, 'rejected', `run ${run}: acknowledged event of ${id} missing`);
    }
    await store.close();
  }
  const secs = (Date.now() - started) / 1000;
  console.log(`crash loop: ${ITERATIONS} kills, ${ackedEpisodes.size} acknowledged episodes, ${ackedEvents.size} events, ${tornTails} torn tails repaired, ${secs.toFixed(1)} s`);
  assert.ok(ackedEpisodes.size > ITERATIONS, 'the child must have written something between kills');
  fs.rmSync(work, { recursive: true, force: true });
});
