// Fuzz: the trainer's JSON-RPC surface in process, wired as server/main.ts wires it (the same
// connection and every area's handlers), over in-memory streams. Every request of the protocol gets
// params of the wrong type, missing fields, ±1e400, odd numbers and strings, extra members and no
// object at all, before and after initialize; then malformed frames (bad or huge Content-Length,
// bodies that are not JSON or cut short, JSON that is no message). Each is answered in time with a
// result or a JSON-RPC error that says what was wrong (never a handler's InternalError), nothing is
// written outside the storage folder, and after the barrage valid requests still work. Seeded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { episodes, lifecycle } from '../../../protocol';
import { sampleEpisode, shownOf } from '../episodes/helpers';
import { Failures, report, rng, SEED, Tally, tempDir } from './fuzz';
import { judge, malformedFrame, noStrayErrors, paramsCase, protocolRequests, RawClient, startTrainer, T, validParams, type ParamsCase } from './rpcHarness';

const CASES = Number(process.env.HINDSIGHT_FUZZ_CASES ?? 1500);
const FRAMES = Number(process.env.HINDSIGHT_FUZZ_FRAMES ?? 400);
const ANSWER_MS = 5000;

/** Files anywhere under `dir` (a request must not write outside the folders it was given). */
function filesUnder(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, encoding: 'utf8' }).sort();
}

test('fuzz: every request with params of the wrong type, missing or odd, is answered with a clear result or error; the trainer keeps serving', { timeout: 90_000 }, async (t) => {
  const started = performance.now();
  const root = tempDir('rpc');
  const storage = path.join(root, 'storage');
  const scratch = path.join(root, 'scratch');
  const elsewhere = path.join(root, 'cwd');
  for (const d of [storage, scratch, elsewhere]) fs.mkdirSync(d);
  const cwd = process.cwd();
  process.chdir(elsewhere); // a relative path a request writes to lands here, where it is seen
  const trainer = startTrainer();
  const { client, control } = trainer;
  const tally = new Tally();
  const failures = new Failures();
  try {
    await noStrayErrors(async () => {
      const requests = protocolRequests();
      const valid = validParams(storage, scratch);
      assert.ok(requests.length >= 20, `found ${requests.length} requests in protocol/`);
      for (const q of requests) if (q.takesParams) assert.ok(valid[q.method], `${q.method}: add valid params to rpcHarness.validParams so it is fuzzed`);
      const fuzzed = requests.filter((q) => q.method !== 'shutdown'); // shutdown ends the areas: last, below
      const r = rng(SEED + 50);

      const run = async (c: ParamsCase, phase: string, i: number) => {
        const what = `${phase} case ${i} ${c.method} (${c.tag}, seed ${SEED + 50})`;
        const ok = await failures.runAsync(what, async () => {
          const m = await client.request(c.method, c.json, ANSWER_MS, what);
          tally.add(`${c.expect === 'invalid' ? 'wrong' : 'odd'} → ${judge(c, m, what)}`);
        });
        if (!ok) tally.add('FAILED');
      };
      const next = (): ParamsCase => {
        const q = r.pick(fuzzed);
        for (;;) {
          const c = paramsCase(r, q, valid[q.method]);
          // initialize and configure with valid-looking junk would move the storage folder or model
          // path (to '0', say): fuzz them with what must be refused.
          if ((q.method === 'initialize' || q.method === 'configure') && c.expect !== 'invalid') continue;
          return c;
        }
      };

      // Before initialize: refused as invalid, or as not initialized, or answered.
      for (let i = 0; i < Math.round(CASES / 6); i++) await run(next(), 'before initialize', i);
      const init = await client.request('initialize', JSON.stringify(valid.initialize[0]), ANSWER_MS);
      assert.ok(init.result, `initialize: ${JSON.stringify(init.error)}`);
      await client.request('episodes/append', JSON.stringify(valid['episodes/append'][0]), ANSWER_MS);

      for (let i = 0; i < CASES; i++) {
        await run(next(), 'initialized', i);
        // Now and then: a valid request still works in the middle of the barrage.
        if (i % 50 === 49) {
          const st = await client.request('status', undefined, ANSWER_MS, `status after case ${i}`);
          assert.ok(st.result, `status after case ${i}: ${JSON.stringify(st.error)}`);
        }
      }

      await failures.runAsync('after the barrage', async () => {
        // Still the same trainer: storage, consent and model as initialize set them.
        assert.equal(control.ctx.storageDir, storage);
        assert.equal(control.ctx.recordingEnabled, true);
        assert.equal(control.ctx.modelPath, '');
        const status = (await client.request('status', undefined, ANSWER_MS)).result as lifecycle.StatusResult;
        assert.equal(status.recordingEnabled, true);
        // The episode store still takes and finds episodes.
        const ep = shownOf(trainer.serving.generations, sampleEpisode('after-the-barrage', T + 50));
        const ack = await client.request('episodes/append', JSON.stringify({ shown: ep }), ANSWER_MS);
        assert.deepEqual(ack.result, { stored: true }, JSON.stringify(ack.error));
        const found = (await client.request('episodes/query', JSON.stringify({ id: ep.id }), ANSWER_MS)).result as episodes.QueryResult;
        assert.equal(found.episodes[0]?.id, ep.id);
        const counts = (await client.request('episodes/counts', undefined, ANSWER_MS)).result as episodes.CountsResult;
        assert.ok(counts.counts.total >= 1);
        // Nothing was written where no request was pointed.
        assert.deepEqual(filesUnder(elsewhere), [], 'files written relative to the working folder');
        const logged = client.notifications.filter((n) => n.method === lifecycle.log.method).map((n) => (n.params as lifecycle.LogParams).message);
        assert.deepEqual(logged.filter((m) => /uncaught|unhandled rejection/.test(m)), [], 'uncaught errors logged');
      });

      // shutdown ignores params it has none of, answers, and the trainer still answers status after.
      const bye = await client.request('shutdown', r.pick(['{}', '{"a":[1]}', '[1,2,3]']), ANSWER_MS);
      assert.ok('result' in bye, JSON.stringify(bye.error));
      assert.ok((await client.request('status', undefined, ANSWER_MS)).result);
      tally.add('shutdown → result');
    });
  } finally {
    process.chdir(cwd);
    await trainer.stop();
  }
  report(t, 'JSON-RPC params (in process)', tally, started);
  failures.check();
});

test('fuzz: malformed frames are answered with a JSON-RPC error and the next valid request is served', { timeout: 60_000 }, async (t) => {
  const started = performance.now();
  const root = tempDir('frames');
  const trainer = startTrainer();
  const { client } = trainer;
  const tally = new Tally();
  const failures = new Failures();
  try {
    await noStrayErrors(async () => {
      const init = await client.request('initialize', JSON.stringify({ storageDir: root, recordingEnabled: false, modelPath: '', clientVersion: 'fuzz' }), ANSWER_MS);
      assert.ok(init.result, JSON.stringify(init.error));
      const r = rng(SEED + 60);
      for (let i = 0; i < FRAMES; i++) {
        if (failures.count >= 8) {
          failures.add(`after case ${i - 1}`, new Error('stopped: the trainer no longer answers (8 failed cases)'));
          break;
        }
        const id = client.id();
        const frame = malformedFrame(r, id);
        const what = `case ${i} (${frame.tag}, seed ${SEED + 60})`;
        const ok = await failures.runAsync(what, async () => {
          const errorsBefore = client.nullIdErrors.length;
          const own = frame.answerId !== undefined && frame.answerId !== null ? client.expect(frame.answerId, ANSWER_MS, `${what}: its own answer`) : undefined;
          own?.catch(() => undefined); // awaited below; a probe that fails first must not leave it unhandled
          // Sent in pieces now and then: the reader must not care where the chunks break.
          if (r.chance(0.3)) {
            for (let k = 0, n = 0; k < frame.bytes.length; k += n) client.write(frame.bytes.subarray(k, k + (n = 1 + r.int(64))));
          } else client.write(frame.bytes);
          // The next valid request is answered (the reader found its feet again).
          const probe = await client.request('status', undefined, 3000, `${what}: the next valid request`);
          assert.ok(probe.result, `${what}: status after it: ${JSON.stringify(probe.error)}`);
          let how: string;
          if (own) {
            const m = await own;
            assert.ok(m.error && [-32600, -32602].includes(m.error.code), `${what}: answered ${JSON.stringify(m).slice(0, 200)}`);
            how = `error ${m.error!.code}`;
          } else {
            const errs = client.nullIdErrors.slice(errorsBefore);
            if (frame.tag !== 'random bytes') assert.ok(errs.length > 0, `${what}: no JSON-RPC error came back`);
            for (const e of errs) assert.ok(e.error && [-32700, -32600].includes(e.error.code) && e.error.message.length > 0, `${what}: ${JSON.stringify(e)}`);
            how = errs.length ? `error ${errs[0].error!.code} (id null)` : 'ignored';
          }
          tally.add(`${frame.tag} → ${how}`);
        });
        if (!ok) tally.add(`${frame.tag} → FAILED`);
      }
      // A request that was not answered must not be answered late either, to some other id.
      assert.deepEqual(client.strays, [], 'answers to ids nobody asked with');
      // Unknown methods are refused by name; notifications with junk are dropped quietly.
      const unknown = await client.request('no/such/method', '{}', ANSWER_MS);
      assert.equal(unknown.error?.code, -32601);
      client.write(RawClient.frame('{"jsonrpc":"2.0","method":"$/cancelRequest","params":null}'));
      client.write(RawClient.frame('{"jsonrpc":"2.0","method":"$/cancelRequest","params":{"id":{}}}'));
      client.write(RawClient.frame('{"jsonrpc":"2.0","method":"configure","params":5}'));
      assert.ok((await client.request('status', undefined, ANSWER_MS)).result);
      tally.add('junk notifications → ignored');
    });
  } finally {
    await trainer.stop();
  }
  report(t, 'JSON-RPC frames (in process)', tally, started);
  failures.check();
});
