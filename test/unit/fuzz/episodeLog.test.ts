// Fuzz: a damaged episode log (random bytes inserted or written over records, flipped bits,
// truncation, half-written records, text lines, bytes that are not UTF-8, fake record headers, and
// records with a valid checksum holding junk). The store opens every time, keeps every record the
// damage did not touch, reports what it skipped, gives sane counts, and takes new appends that a
// reopen finds. Seeded: a failure replays from its seed and case number.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { crc32 } from 'node:zlib';
import type { episodes } from '../../../protocol';
import { EpisodeStore, type LogRecord } from '../../../server/episodes/store';
import { decodeAll, encodeRecord, HEADER_BYTES, MAGIC } from '../../../server/episodes/log';
import { sampleEpisode } from '../episodes/helpers';
import { Failures, junk, report, rng, SEED, stringify, Tally, tempDir, within, type Rng } from './fuzz';

const CASES = Number(process.env.HINDSIGHT_FUZZ_CASES ?? 400);
const T0 = 1_700_000_000_000;
const OUTCOMES = ['pending', 'accepted', 'partial', 'rejected', 'notShown'];
const SURVIVALS = ['unchanged', 'edited', 'deleted', 'unknown'];

/** The log as pieces: original records (tainted once a byte of theirs changed) and inserted bytes. */
interface Piece {
  bytes: Buffer;
  /** Index of the original record, for record pieces. */
  rec?: number;
  tainted?: boolean;
  /** Inserted bytes that are not a record replay can use: they must be reported. */
  junk?: boolean;
}

const total = (ps: Piece[]) => ps.reduce((n, p) => n + p.bytes.length, 0);

/** Splits the pieces at `at` (a split record is tainted: it no longer has its bytes in one run). */
function splitAt(ps: Piece[], at: number): number {
  let pos = 0;
  for (let i = 0; i < ps.length; i++) {
    const p = ps[i];
    if (at === pos) return i;
    if (at < pos + p.bytes.length) {
      const k = at - pos;
      ps.splice(i, 1, { ...p, bytes: p.bytes.subarray(0, k), tainted: p.rec !== undefined || p.tainted }, { ...p, bytes: p.bytes.subarray(k), tainted: p.rec !== undefined || p.tainted });
      return i + 1;
    }
    pos += p.bytes.length;
  }
  return ps.length;
}

function insert(ps: Piece[], at: number, bytes: Buffer, junk = true): void {
  ps.splice(splitAt(ps, at), 0, { bytes, junk });
}

/** Writes `fn(bytes)` over [from, to): every record with a byte there is tainted. */
function overwrite(ps: Piece[], from: number, to: number, fn: (b: Buffer) => Buffer): void {
  const a = splitAt(ps, from);
  const b = splitAt(ps, to);
  for (let i = a; i < b; i++) ps[i] = { ...ps[i], bytes: fn(Buffer.from(ps[i].bytes)), tainted: ps[i].rec !== undefined || ps[i].tainted };
  // Both halves of a record split above were already tainted by splitAt.
}

/** A boundary between records (where an insertion leaves every record whole). */
function boundary(r: Rng, ps: Piece[]): number {
  const ends = [0];
  let pos = 0;
  for (const p of ps) ends.push((pos += p.bytes.length));
  return r.pick(ends);
}

/** A record with a valid checksum around arbitrary payload bytes. */
function frame(payload: Buffer): Buffer {
  const h = Buffer.alloc(HEADER_BYTES);
  MAGIC.copy(h, 0);
  h.writeUInt32LE(payload.length, 4);
  h.writeUInt32LE(crc32(payload), 8);
  return Buffer.concat([h, payload]);
}

const EVENT_TYPES = ['accepted', 'rejected', 'notShown', 'typedInstead', 'survival', 'diagnostic', 'testOutcome', 'commit', 'correction', 'closed'];

/** One kind of damage applied to the pieces; returns its tag. */
function damage(r: Rng, ps: Piece[], ids: string[]): string {
  const size = total(ps);
  switch (r.int(11)) {
    case 0: {
      const at = r.int(size + 1);
      overwrite(ps, at, size, (b) => b.subarray(0, 0));
      return 'truncated';
    }
    case 1: insert(ps, r.int(size + 1), r.bytes(1 + r.int(200))); return 'random bytes inserted';
    case 2: {
      const from = r.int(size);
      overwrite(ps, from, Math.min(size, from + 1 + r.int(64)), (b) => Buffer.from(b.map((x) => x ^ (1 + r.int(255)))));
      return 'bytes overwritten';
    }
    case 3: {
      for (let k = 0; k < 1 + r.int(4); k++) {
        const at = r.int(size);
        const bit = 1 << r.int(8);
        overwrite(ps, at, at + 1, (b) => Buffer.from([b[0] ^ bit]));
      }
      return 'bits flipped';
    }
    case 4: {
      // Bytes that are not UTF-8 inside a record's JSON (its checksum no longer matches).
      const recs = ps.filter((p) => p.rec !== undefined && !p.tainted);
      if (!recs.length) return 'nothing to damage';
      const p = r.pick(recs);
      let at = 0;
      for (const q of ps) {
        if (q === p) break;
        at += q.bytes.length;
      }
      const k = at + HEADER_BYTES + 1 + r.int(p.bytes.length - HEADER_BYTES - 2);
      overwrite(ps, k, k + 1, () => Buffer.from([r.pick([0xff, 0xfe, 0xc0, 0x80])]));
      return 'invalid UTF-8 in a record';
    }
    case 5: {
      // A record whose checksum matches bytes that are not UTF-8 (decoded with U+FFFD; JSON may still parse).
      const payload = Buffer.from(JSON.stringify({ t: 'episode', ep: { ...sampleEpisode(`bad-utf8-${r.int(1e6)}`, T0), suggestion: 'XX' } }));
      const k = payload.indexOf('XX');
      payload[k] = 0xff;
      payload[k + 1] = r.chance(0.5) ? 0xfe : 0x22; // 0x22 (") ends the string early: not JSON any more
      insert(ps, boundary(r, ps), frame(payload), false); // reported only when it no longer parses
      return 'valid checksum, not UTF-8';
    }
    case 6: {
      // Valid checksums around junk: not JSON, not a record, an episode or event of the wrong shape.
      const id = r.pick(ids);
      const unusable: unknown[] = [
        null, 5, [], 'episode', { t: 'episode' }, { t: 'episode', ep: { id: 5 } }, { t: 'episode', ep: null }, { t: 'x', ep: sampleEpisode('x', T0) },
        { t: 'event', id: 'no-such-episode', ev: { type: 'closed', at: T0, reason: 'x' } },
        { t: 'event', id, ev: null }, { t: 'event', id, ev: [] },
        { t: 'event', id, ev: { type: r.pick(['nope', 'constructor', '__proto__', 'toString']), at: T0 } },
      ];
      if (r.chance(0.6)) {
        insert(ps, boundary(r, ps), r.chance(0.15) ? frame(Buffer.from('{"t":"episode",')) : frame(Buffer.from(stringify(r.pick(unusable)))));
        return 'valid checksum, unusable record';
      }
      // Shaped like a record, fields of the wrong type: kept or skipped, the counts must stay counts.
      const shaped: unknown[] = [
        junk(r, 2), { t: 'episode', ep: junk(r, 2) }, { t: 'event', id, ev: junk(r, 2) },
        { t: 'event', id, ev: { type: r.pick(EVENT_TYPES), at: junk(r, 1), status: junk(r, 1), how: junk(r, 1), final: junk(r, 1), outcome: junk(r, 1), survived: junk(r, 1) } },
      ];
      insert(ps, boundary(r, ps), frame(Buffer.from(stringify(r.pick(shaped)))), false);
      return 'valid checksum, junk fields';
    }
    case 7: {
      const line = r.pick(['{"t":"episode","ep":{"id":"x"', '\n', '{"id":"line"}\n', 'HSE1', '\r\n\r\n', '\u0000\u0000\u0000\u0000']);
      insert(ps, r.int(size + 1), Buffer.from(line, 'utf8'));
      return 'text line inserted';
    }
    case 8: {
      // Many fake record headers (MAGIC, a length, a wrong checksum): replay must not slow to a crawl.
      const n = 50 + r.int(500);
      const fakes = Buffer.concat(Array.from({ length: n }, () => {
        const h = Buffer.alloc(HEADER_BYTES + r.int(40));
        MAGIC.copy(h, 0);
        h.writeUInt32LE(r.chance(0.5) ? r.int(4096) : r.int(2 ** 32), 4);
        h.writeUInt32LE(r.int(2 ** 32), 8);
        return h;
      }));
      insert(ps, boundary(r, ps), fakes);
      return 'fake record headers';
    }
    case 9: {
      const rec = encodeRecord({ t: 'episode', ep: sampleEpisode(`torn-${r.int(1e6)}`, T0) } satisfies LogRecord);
      insert(ps, size, rec.subarray(0, 1 + r.int(rec.length - 1)));
      return 'half-written record at the end';
    }
    default: {
      const recs = ps.filter((p) => p.rec !== undefined && !p.tainted);
      if (recs.length) insert(ps, boundary(r, ps), Buffer.from(r.pick(recs).bytes), false);
      return 'record repeated';
    }
  }
}

/** Counts must stay counts: the documented keys, finite non-negative integers. */
function assertSaneCounts(c: episodes.Counts, what: string): void {
  assert.deepEqual(Object.keys(c.byOutcome).sort(), [...OUTCOMES].sort(), `${what}: byOutcome keys ${Object.keys(c.byOutcome)}`);
  assert.deepEqual(Object.keys(c.bySurvival).sort(), [...SURVIVALS].sort(), `${what}: bySurvival keys ${Object.keys(c.bySurvival)}`);
  const nums = [c.total, c.open, c.complete, c.withDiagnostics, c.testPass, c.testFail, c.committed, c.corrected, ...Object.values(c.byOutcome), ...Object.values(c.bySurvival)];
  assert.ok(nums.every((n) => Number.isInteger(n) && n >= 0), `${what}: counts ${JSON.stringify(c)}`);
  assert.equal(c.open + c.complete, c.total, `${what}: open + complete ≠ total`);
}

test('fuzz: a damaged episode log opens, keeps every intact record, reports what it skipped, and takes appends', { timeout: 120_000 }, async (t) => {
  const started = performance.now();
  // The undamaged log: ten episodes and their events, as the store writes them.
  const baseDir = tempDir('log-base');
  const s0 = await EpisodeStore.open(baseDir, { now: () => T0 });
  const ids = Array.from({ length: 10 }, (_, i) => `ep${i}`);
  for (const [i, id] of ids.entries()) {
    await s0.appendEpisode(sampleEpisode(id, T0 + i));
    if (i % 3 === 0) await s0.appendEvent(id, { type: 'accepted', at: T0 + 100 + i, how: 'command', acceptedText: 'x', start: 0, end: 1 });
    if (i % 3 === 0) await s0.appendEvent(id, { type: 'survival', at: T0 + 200 + i, afterMs: 15_000, status: 'edited', distance: 2, retained: 0.8, final: i % 2 === 0 });
    if (i % 3 === 1) await s0.appendEvent(id, { type: 'rejected', at: T0 + 100 + i, reason: 'diverged', visibleMs: 900 });
    if (i % 3 === 1) await s0.appendEvent(id, { type: 'typedInstead', at: T0 + 200 + i, text: 'other();' });
    if (i % 4 === 2) await s0.appendEvent(id, { type: 'diagnostic', at: T0 + 300 + i, severity: 'error', message: 'bad', line: 3, inRange: true });
  }
  await s0.close();
  const good = fs.readFileSync(EpisodeStore.fileIn(baseDir));
  const original = decodeAll<LogRecord>(good);
  assert.deepEqual(original.issues, []);

  const r = rng(SEED + 40);
  const tally = new Tally();
  const failures = new Failures();
  for (let i = 0; i < CASES; i++) {
    const pieces: Piece[] = original.records.map((rec, k) => ({ bytes: good.subarray(rec.offset, rec.offset + rec.bytes), rec: k }));
    const done = Array.from({ length: 1 + r.int(3) }, () => damage(r, pieces, ids));
    const tag = done.join(' + ');
    const damaged = Buffer.concat(pieces.map((p) => p.bytes));
    // Bytes left in the file that are no record (damaged records, inserted junk) must show up in a report.
    const mustReport = pieces.some((p) => p.bytes.length > 0 && (p.tainted || p.junk));
    const intact = new Set(pieces.filter((p) => p.rec !== undefined && !p.tainted).map((p) => p.rec!));
    const what = `case ${i} (${tag}, seed ${SEED + 40})`;
    const dir = tempDir('log');
    fs.mkdirSync(path.dirname(EpisodeStore.fileIn(dir)), { recursive: true });
    fs.writeFileSync(EpisodeStore.fileIn(dir), damaged);
    const ok = await failures.runAsync(what, async () => {
      const logged: string[] = [];
      const opened = performance.now();
      const s = await within(EpisodeStore.open(dir, { now: () => T0, log: (_, m) => logged.push(m) }), 5000, `${what}: open`);
      assert.ok(performance.now() - opened < 2000, `${what}: replay took ${Math.round(performance.now() - opened)} ms`);
      try {
        // Every record the damage left whole is back: episodes, and the events of episodes that are.
        for (const k of intact) {
          const rec = original.records[k].value;
          if (rec.t === 'episode') assert.ok(s.get(rec.ep.id), `${what}: intact episode ${rec.ep.id} lost`);
          else if (intact.has(original.records.findIndex((x) => x.value.t === 'episode' && x.value.ep.id === rec.id)))
            assert.ok(s.get(rec.id)!.events.some((e) => JSON.stringify(e) === JSON.stringify(rec.ev)), `${what}: intact ${rec.ev.type} event of ${rec.id} lost`);
        }
        if (mustReport) assert.ok(s.replayIssues.length > 0 || logged.length > 0, `${what}: damage not reported`);
        for (const issue of s.replayIssues) assert.ok(issue.offset >= 0 && issue.bytes > 0 && issue.detail.length > 0, `${what}: issue ${JSON.stringify(issue)}`);
        assertSaneCounts(s.counts(), what);
        const all = s.query({ limit: 10_000 });
        assert.equal(all.total, s.counts().total, what);
        // New appends land after the damage and survive a reopen.
        assert.deepEqual(await s.appendEpisode(sampleEpisode(`new${i}`, T0 + 5000)), { stored: true }, what);
        assert.deepEqual(await s.appendEvent(`new${i}`, { type: 'notShown', at: T0 + 5001, visibleMs: 10 }), { stored: true }, what);
      } finally {
        await s.close();
      }
      const again = await within(EpisodeStore.open(dir, { now: () => T0 }), 5000, `${what}: reopen`);
      try {
        assert.ok(!again.replayIssues.some((x) => x.kind === 'torn-tail'), `${what}: the torn tail was not cut off before appending: ${JSON.stringify(again.replayIssues)}`);
        assert.equal(again.get(`new${i}`)?.outcome, 'notShown', `${what}: the new episode or its event is missing after reopening`);
        for (const k of intact) {
          const rec = original.records[k].value;
          if (rec.t === 'episode') assert.ok(again.get(rec.ep.id), `${what}: intact episode ${rec.ep.id} lost after reopening`);
        }
        assertSaneCounts(again.counts(), `${what} (reopened)`);
      } finally {
        await again.close();
      }
      tally.add(`${done.length > 1 ? 'mixed damage' : tag} → opened, ${s.replayIssues.length ? 'issues reported' : logged.length ? 'skips logged' : 'nothing to report'}`);
    });
    if (!ok) tally.add(`${tag} → FAILED`);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  report(t, 'episode log', tally, started);
  failures.check();
});
