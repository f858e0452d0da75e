// Episode store benchmark: durable append latency (each append fsync'd before it resolves),
// group-commit throughput (appends issued together share one fsync), replay speed on open, and
// compaction time. Checks the store read back what it wrote before timing anything else.
// Usage: node --import tsx bench/store.ts [--episodes N]
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EpisodeStore } from '../server/episodes/store';
import { sampleEpisode } from '../test/unit/episodes/helpers';

const argIdx = process.argv.indexOf('--episodes');
const N = argIdx >= 0 ? Number(process.argv[argIdx + 1]) : 2000;

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hs-bench-store-'));
  let store = await EpisodeStore.open(dir);

  // 1. Sequential durable appends (what one suggestion at a time costs).
  const seq: number[] = [];
  const SEQ = Math.min(300, N);
  for (let i = 0; i < SEQ; i++) {
    const t = performance.now();
    await store.appendEpisode(sampleEpisode(`s${i}`, i, 1500));
    seq.push(performance.now() - t);
  }

  // 2. Group commit: N episodes + N events issued together.
  const t2 = performance.now();
  await Promise.all(Array.from({ length: N }, (_, i) => store.appendEpisode(sampleEpisode(`g${i}`, 10_000 + i, 1500))));
  await Promise.all(Array.from({ length: N }, (_, i) => store.appendEvent(`g${i}`, { type: 'rejected', at: i, reason: 'timeout', visibleMs: 10_000 })));
  const groupMs = performance.now() - t2;
  const bytes = store.bytes;
  await store.close();

  // 3. Replay on open — and check it is all there.
  const t3 = performance.now();
  store = await EpisodeStore.open(dir);
  const replayMs = performance.now() - t3;
  const total = store.counts().total;
  if (total !== SEQ + N || store.replayIssues.length) throw new Error(`replay mismatch: ${total} episodes, issues ${JSON.stringify(store.replayIssues)}`);
  if (store.get(`g${N - 1}`)?.outcome !== 'rejected') throw new Error('event lost');

  // 4. Compaction to half the size.
  store.setMaxBytes(Math.max(1024 * 1024, Math.floor(bytes / 2)));
  const t4 = performance.now();
  await store.compact();
  const compactMs = performance.now() - t4;
  const kept = store.counts().total;
  await store.close();
  fs.rmSync(dir, { recursive: true, force: true });

  const rows: [string, string][] = [
    ['sequential append (fsync each), p50', `${pct(seq, 0.5).toFixed(2)} ms`],
    ['sequential append, p99', `${pct(seq, 0.99).toFixed(2)} ms`],
    [`group commit, ${2 * N} records`, `${groupMs.toFixed(0)} ms (${((2 * N) / (groupMs / 1000)).toFixed(0)} records/s)`],
    [`replay ${SEQ + N} episodes, ${(bytes / 1048576).toFixed(1)} MB`, `${replayMs.toFixed(0)} ms`],
    [`compaction to ${(bytes / 2 / 1048576).toFixed(1)} MB`, `${compactMs.toFixed(0)} ms, kept ${kept}`],
  ];
  for (const [k, v] of rows) console.log(`${k.padEnd(44)} ${v}`);
  console.log(
    JSON.stringify({
      bench: 'store',
      appendP50Ms: +pct(seq, 0.5).toFixed(3),
      appendP99Ms: +pct(seq, 0.99).toFixed(3),
      groupRecordsPerS: Math.round((2 * N) / (groupMs / 1000)),
      replayMs: Math.round(replayMs),
      replayEpisodes: SEQ + N,
      logBytes: bytes,
      compactMs: Math.round(compactMs),
    }),
  );
}

void main().catch((err) => {
  console.error(err);
  process.exit(1);
});
