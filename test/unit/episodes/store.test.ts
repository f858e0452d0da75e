import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EpisodeStore } from '../../../server/episodes/store';
import { decodeAll, encodeRecord, RecordLog } from '../../../server/episodes/log';
import { sampleEpisode } from './helpers';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'hs-store-'));

test('append, fold events, reopen: views, status, queries and counts survive a restart', async () => {
  const dir = tmp();
  let s = await EpisodeStore.open(dir);
  await s.appendEpisode(sampleEpisode('a', 1000));
  await s.appendEpisode(sampleEpisode('b', 2000));
  await s.appendEpisode(sampleEpisode('c', 3000));
  await s.appendEpisode(sampleEpisode('d', 4000));
  await s.appendEvent('a', { type: 'accepted', at: 1100, how: 'command', acceptedText: 'x', start: 0, end: 1 });
  await s.appendEvent('a', { type: 'survival', at: 1200, afterMs: 15000, status: 'edited', distance: 1, retained: 0.9, currentText: 'y', final: false });
  await s.appendEvent('a', { type: 'survival', at: 1300, afterMs: 600000, status: 'unchanged', distance: 0, retained: 1, final: true });
  await s.appendEvent('b', { type: 'rejected', at: 2100, reason: 'timeout', visibleMs: 10000 });
  await s.appendEvent('c', { type: 'notShown', at: 3100, visibleMs: 100 });
  await s.appendEvent('d', { type: 'rejected', at: 4100, reason: 'diverged', visibleMs: 900 });
  await s.appendEvent('d', { type: 'typedInstead', at: 4200, text: 'other()' });
  await s.appendEvent('d', { type: 'correction', at: 4300, directive: 'use other() here' });
  const seen: string[] = [];
  const off = s.onChange((v) => seen.push(`${v.id}:${v.status}`));
  await s.appendEvent('c', { type: 'correction', at: 3200, directive: 'listener check' });
  off();
  assert.deepEqual(seen, ['c:complete']);
  const unknown = await s.appendEvent('zzz', { type: 'closed', at: 1, reason: 'x' });
  assert.equal(unknown.stored, false);
  await s.close();

  // (Reopened at the time of the events: 'b' must not be expired as left open.)
  s = await EpisodeStore.open(dir, { now: () => 5000 });
  assert.deepEqual(s.replayIssues, []);
  const a = s.get('a')!;
  assert.equal(a.outcome, 'accepted');
  assert.equal(a.status, 'complete');
  assert.equal(a.survival, 'unchanged');
  assert.deepEqual(a.tokenIds, sampleEpisode('a', 1000).tokenIds);
  assert.equal(s.get('b')!.status, 'open', 'rejected, typed-instead not read yet');
  assert.equal(s.get('d')!.status, 'complete');
  assert.deepEqual(s.query({ status: 'complete' }).episodes.map((v) => v.id), ['d', 'c', 'a']);
  assert.deepEqual(s.query({ status: 'open' }).episodes.map((v) => v.id), ['b']);
  assert.deepEqual(s.query({ since: 2000, until: 3000 }).episodes.map((v) => v.id), ['c', 'b']);
  assert.deepEqual(s.query({ outcome: 'rejected', limit: 1 }), { episodes: [s.get('d')!], total: 2 });
  assert.equal(s.query({ id: 'b' }).episodes[0].id, 'b');
  const c = s.counts();
  assert.deepEqual(c.byOutcome, { pending: 0, accepted: 1, partial: 0, rejected: 2, notShown: 1 });
  assert.equal(c.corrected, 2);
  assert.equal(c.bySurvival.unchanged, 1);

  const out = path.join(dir, 'export.jsonl');
  assert.equal(await s.exportJsonl(out), 4);
  const lines = fs.readFileSync(out, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.map((l) => l.id), ['a', 'b', 'c', 'd']);
  assert.equal(lines[3].events.length, 3);

  const f = await s.forget();
  assert.equal(f.deletedEpisodes, 4);
  assert.equal(s.counts().total, 0);
  await s.close();
  s = await EpisodeStore.open(dir);
  assert.equal(s.counts().total, 0, 'forgotten data does not come back');
  await s.close();
});

test('members an Episode does not have are dropped, not stored', async () => {
  const dir = tmp();
  const s = await EpisodeStore.open(dir);
  const ep = { ...sampleEpisode('x', 1000), junk: 'z'.repeat(100_000), __proto__x: { a: 1 } } as unknown as Parameters<typeof s.appendEpisode>[0];
  assert.equal((await s.appendEpisode(ep)).stored, true);
  await s.close();
  const files = (d: string): string[] => fs.readdirSync(d, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? files(path.join(d, e.name)) : [path.join(d, e.name)]));
  const onDisk = files(dir).map((f) => fs.readFileSync(f, 'latin1')).join('');
  assert.ok(!onDisk.includes('junk') && !onDisk.includes('__proto__x') && onDisk.length < 50_000, `${onDisk.length} bytes on disk`);
  const again = await EpisodeStore.open(dir);
  assert.ok(again.get('x'), 'the episode itself is stored');
  assert.ok(!('junk' in again.get('x')!));
  await again.close();
});

test('secrets are redacted before they reach the disk; token ids of redacted text are dropped', async () => {
  const dir = tmp();
  const s = await EpisodeStore.open(dir);
  const secret = ['AKIA', 'IOSFODNN7EXAMPLE'].join('');
  const ep = { ...sampleEpisode('sec'), suggestion: `const key = "${secret}";` };
  await s.appendEpisode(ep);
  await s.appendEvent('sec', { type: 'typedInstead', at: 5, text: `password = "${'hunter2' + 'hunter2'}"` });
  await s.close();
  const raw = fs.readFileSync(EpisodeStore.fileIn(dir), 'utf8');
  assert.ok(!raw.includes(secret), 'key on disk');
  assert.ok(!raw.includes('hunter2hunter2'), 'password on disk');
  const s2 = await EpisodeStore.open(dir);
  const v = s2.get('sec')!;
  assert.equal(v.redacted, true);
  assert.deepEqual(v.tokenIds, []);
  assert.deepEqual(v.promptTokenIds, [1, 2, 3], 'prompt untouched, its tokens kept');
  assert.match(v.suggestion, /\[REDACTED:aws-access-key\]/);
  await s2.close();
});

test('storage budget: oldest episodes are compacted away, newest kept, log stays valid', async () => {
  const dir = tmp();
  const s = await EpisodeStore.open(dir, { maxBytes: 1024 * 1024 });
  s.setMaxBytes(1024 * 1024);
  for (let i = 0; i < 60; i++) await s.appendEpisode(sampleEpisode(`e${String(i).padStart(3, '0')}`, 1000 + i, 40_000));
  assert.ok(s.bytes <= 1024 * 1024, `log ${s.bytes} bytes over budget`);
  const ids = s.query({ limit: 1000 }).episodes.map((v) => v.id);
  assert.ok(ids.includes('e059'), 'newest kept');
  assert.ok(!ids.includes('e000'), 'oldest dropped');
  await s.close();
  const s2 = await EpisodeStore.open(dir);
  assert.deepEqual(s2.replayIssues, []);
  assert.deepEqual(s2.query({ limit: 1000 }).episodes.map((v) => v.id), ids);
  await s2.close();
});

test('torn tail is reported, truncated, and appends continue cleanly', async () => {
  const dir = tmp();
  let s = await EpisodeStore.open(dir);
  await s.appendEpisode(sampleEpisode('one'));
  await s.appendEpisode(sampleEpisode('two'));
  await s.close();
  const file = EpisodeStore.fileIn(dir);
  const full = fs.readFileSync(file);
  fs.writeFileSync(file, full.subarray(0, full.length - 7));
  s = await EpisodeStore.open(dir);
  assert.equal(s.replayIssues.length, 1);
  assert.equal(s.replayIssues[0].kind, 'torn-tail');
  assert.ok(s.get('one') && !s.get('two'));
  await s.appendEpisode(sampleEpisode('three'));
  await s.close();
  s = await EpisodeStore.open(dir);
  assert.deepEqual(s.replayIssues, []);
  assert.deepEqual(s.query().episodes.map((v) => v.id).sort(), ['one', 'three']);
  await s.close();
});

test('fuzz: truncation at every byte, random corruption and garbage never crash replay or lose other records', async () => {
  const recs = Array.from({ length: 12 }, (_, i) => encodeRecord({ t: 'episode', ep: sampleEpisode(`f${i}`) }));
  const buf = Buffer.concat(recs);
  const ends: number[] = [];
  recs.reduce((at, r) => (ends.push(at + r.length), at + r.length), 0);
  // Truncation anywhere: exactly the records that ended before the cut survive.
  for (let cut = 0; cut <= buf.length; cut += 7) {
    const r = decodeAll(buf.subarray(0, cut));
    assert.equal(r.records.length, ends.filter((e) => e <= cut).length, `cut ${cut}`);
    assert.ok(r.issues.every((i) => i.kind === 'torn-tail'));
  }
  // Flip bytes inside records: only the damaged record is lost, and it is reported.
  let seed = 42;
  const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) % n);
  for (let trial = 0; trial < 300; trial++) {
    const b = Buffer.from(buf);
    const k = rnd(recs.length);
    const start = k === 0 ? 0 : ends[k - 1];
    b[start + rnd(recs[k].length)] ^= 1 + rnd(255);
    const r = decodeAll<{ ep: { id: string } }>(b);
    const ids = r.records.map((x) => x.value.ep.id);
    assert.equal(ids.length, recs.length - 1, `trial ${trial}`);
    assert.ok(!ids.includes(`f${k}`));
    assert.equal(r.issues.length, 1);
  }
  // Random garbage: no throw, and nothing decoded from nothing.
  for (let trial = 0; trial < 50; trial++) {
    const g = Buffer.alloc(500 + rnd(3000));
    for (let i = 0; i < g.length; i++) g[i] = rnd(256);
    if (trial % 2) Buffer.from('HSE1').copy(g, rnd(g.length - 4));
    const r = decodeAll(g);
    assert.equal(r.records.length, 0);
  }
  // Garbage spliced between valid records is skipped and reported as corrupt, not as a tail.
  const spliced = Buffer.concat([recs[0], Buffer.from('HSE1\xff\xff\xff\x7fjunkjunk'), recs[1]]);
  const r = decodeAll(spliced);
  assert.equal(r.records.length, 2);
  assert.equal(r.issues[0].kind, 'corrupt');

  // A store opened over a corrupted file keeps working.
  const dir = tmp();
  const file = EpisodeStore.fileIn(dir);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const bad = Buffer.from(buf);
  bad[ends[3] + 20] ^= 0xff;
  fs.writeFileSync(file, Buffer.concat([bad, Buffer.from('HSE1 torn')]));
  const s = await EpisodeStore.open(dir);
  assert.equal(s.counts().total, 11);
  assert.deepEqual(s.replayIssues.map((i) => i.kind), ['corrupt', 'torn-tail']);
  assert.equal((await s.appendEpisode(sampleEpisode('after'))).stored, true);
  await s.close();
  const again = await EpisodeStore.open(dir);
  assert.equal(again.counts().total, 12);
  await again.close();
});

test('concurrent appends are group-committed and all acknowledged in order', async () => {
  const dir = tmp();
  const { log } = await RecordLog.open<{ n: number }>(path.join(dir, 'x.log'));
  const offsets = await Promise.all(Array.from({ length: 50 }, (_, n) => log.append({ n })));
  assert.deepEqual([...offsets].sort((a, b) => a - b), offsets);
  await log.close();
  const r = decodeAll<{ n: number }>(fs.readFileSync(path.join(dir, 'x.log')));
  assert.deepEqual(r.records.map((x) => x.value.n), Array.from({ length: 50 }, (_, n) => n));
});

test('episodes left open (the editor stopped following them) are closed after 30 min without an event, on open and on demand', async () => {
  const dir = tmp();
  const t0 = 1_700_000_000_000;
  let s = await EpisodeStore.open(dir, { now: () => t0 });
  await s.appendEpisode(sampleEpisode('accepted-then-gone', t0));
  await s.appendEvent('accepted-then-gone', { type: 'accepted', at: t0 + 1000, how: 'command', acceptedText: 'x', start: 0, end: 1 });
  await s.appendEpisode(sampleEpisode('never-decided', t0 + 2000));
  await s.appendEpisode(sampleEpisode('recent', t0 + 25 * 60_000));
  await s.appendEpisode(sampleEpisode('settled', t0));
  await s.appendEvent('settled', { type: 'notShown', at: t0 + 10, visibleMs: 5 });
  await s.close();

  // Reopened 31 minutes later: the two stale open episodes settle with a 'closed' event; the
  // recent one may still be followed by a running editor and stays open.
  let now = t0 + 31 * 60_000 + 2000;
  s = await EpisodeStore.open(dir, { now: () => now });
  for (const id of ['accepted-then-gone', 'never-decided']) {
    const v = s.get(id)!;
    assert.equal(v.status, 'complete', id);
    assert.match((v.events.at(-1) as { reason: string }).reason, /^expired: no event for 30 min/);
  }
  assert.equal(s.get('accepted-then-gone')!.outcome, 'accepted');
  assert.equal(s.get('recent')!.status, 'open');
  assert.equal(s.get('settled')!.events.length, 1, 'settled episodes are left alone');
  assert.equal(await s.expireStale(), 0, 'idempotent');
  now += 30 * 60_000;
  assert.equal(await s.expireStale(), 1);
  assert.equal(s.get('recent')!.status, 'complete');
  await s.close();
  s = await EpisodeStore.open(dir, { now: () => now });
  assert.equal(s.counts().open, 0, 'the closing events are durable');
  await s.close();
});
