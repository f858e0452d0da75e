// Fuzz: the real trainer process (server/main.ts, as the extension spawns it) over stdio. Malformed
// frames and params of the wrong type for every request: each is answered (a JSON-RPC error or a
// documented result), nothing crashes or is logged as uncaught, the process keeps serving, and it
// still leaves with code 0 on shutdown + exit, or when stdin closes in the middle of a frame. Seeded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import { lifecycle, type episodes, type serve } from '../../../protocol';
import { FIXTURE_ENV } from '../../../server/testing/completionFixture';
import { Failures, report, rng, SEED, Tally, tempDir } from './fuzz';
import { CLOSED_URL, judge, malformedFrame, paramsCase, protocolRequests, RawClient, T, validParams, type ParamsCase } from './rpcHarness';

const repo = path.join(__dirname, '../../..');
const FRAMES = Number(process.env.HINDSIGHT_FUZZ_STDIO_FRAMES ?? 150);
const PARAMS = Number(process.env.HINDSIGHT_FUZZ_STDIO_CASES ?? 600);
const ANSWER_MS = 5000;

/** server/main.ts in its own process, run from `cwd` (where a stray relative write would land). */
function spawnTrainer(cwd: string): { child: ChildProcessWithoutNullStreams; client: RawClient; stderr: () => string; exited: Promise<number | null> } {
  const loader = pathToFileURL(path.join(repo, 'node_modules/tsx/dist/loader.mjs')).href;
  const child = spawn(process.execPath, ['--import', loader, path.join(repo, 'server/main.ts')], { cwd, env: { ...process.env, HINDSIGHT_HUB_URL: CLOSED_URL, [FIXTURE_ENV]: JSON.stringify({ rules: [], default: 'compute(1);' }) }, stdio: ['pipe', 'pipe', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => (err += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, client: new RawClient(child.stdin, child.stdout), stderr: () => err, exited };
}

test('fuzz: the trainer process answers malformed frames and junk params over stdio, keeps serving, and exits with 0', { timeout: 60_000 }, async (t) => {
  const started = performance.now();
  const root = tempDir('stdio');
  const storage = path.join(root, 'storage');
  const scratch = path.join(root, 'scratch');
  const cwd = path.join(root, 'cwd');
  for (const d of [storage, scratch, cwd]) fs.mkdirSync(d);
  const { child, client, stderr, exited } = spawnTrainer(cwd);
  const tally = new Tally();
  const failures = new Failures();
  try {
    const valid = validParams(storage, scratch);
    const init = await client.request('initialize', JSON.stringify(valid.initialize[0]), 20_000, 'initialize');
    assert.ok(init.result, JSON.stringify(init.error));
    assert.equal((init.result as lifecycle.InitializeResult).pid, child.pid);
    const r = rng(SEED + 80);

    for (let i = 0; i < FRAMES; i++) {
      const frame = malformedFrame(r, client.id());
      const what = `frame case ${i} (${frame.tag}, seed ${SEED + 80})`;
      const ok = await failures.runAsync(what, async () => {
        const errorsBefore = client.nullIdErrors.length;
        const own = frame.answerId !== undefined && frame.answerId !== null ? client.expect(frame.answerId, ANSWER_MS, `${what}: its own answer`) : undefined;
        own?.catch(() => undefined);
        client.write(frame.bytes);
        const probe = await client.request('status', undefined, ANSWER_MS, `${what}: the next valid request`);
        assert.ok(probe.result, `${what}: ${JSON.stringify(probe.error)}`);
        if (own) assert.ok((await own).error, `${what}: its own answer is no error`);
        else if (frame.tag !== 'random bytes') assert.ok(client.nullIdErrors.length > errorsBefore, `${what}: no JSON-RPC error came back`);
        tally.add(`frame → ${own ? 'error with its id' : client.nullIdErrors.length > errorsBefore ? 'error (id null)' : 'ignored'}`);
      });
      if (!ok) tally.add('frame → FAILED');
      if (failures.count >= 5) break; // a deaf trainer fails every later case the same way
    }

    const requests = protocolRequests().filter((q) => q.method !== 'shutdown');
    for (let i = 0; i < PARAMS && failures.count < 5; i++) {
      const q = r.pick(requests);
      let c: ParamsCase;
      do c = paramsCase(r, q, valid[q.method]);
      while ((q.method === 'initialize' || q.method === 'configure') && c.expect !== 'invalid');
      const what = `params case ${i} ${c.method} (${c.tag}, seed ${SEED + 80})`;
      const ok = await failures.runAsync(what, async () => {
        const m = await client.request(c.method, c.json, ANSWER_MS, what);
        tally.add(`params ${c.expect === 'invalid' ? 'wrong' : 'odd'} → ${judge(c, m, what)}`);
      });
      if (!ok) tally.add('params → FAILED');
    }

    await failures.runAsync('after the barrage', async () => {
      // A suggestion (the test double's: no model here) and the episode that shows it.
      const done = (await client.request('serve/complete', JSON.stringify({ uri: 'file:///ws/a.ts', languageId: 'typescript', prefix: 'const x = ', suffix: '\n' }), ANSWER_MS)).result as serve.CompleteResult;
      assert.equal(done.text, 'compute(1);');
      const ep = { id: 'after-stdio', completionId: done.completionId!, createdAt: T + 9, uri: 'file:///ws/a.ts', relPath: 'a.ts', offset: 10, line: 0, suggestion: done.text } satisfies episodes.Shown;
      assert.deepEqual((await client.request('episodes/append', JSON.stringify({ shown: ep }), ANSWER_MS)).result, { stored: true });
      const q = (await client.request('episodes/query', JSON.stringify({ id: ep.id }), ANSWER_MS)).result as episodes.QueryResult;
      assert.equal(q.episodes[0]?.id, ep.id);
      const status = (await client.request('status', undefined, ANSWER_MS)).result as lifecycle.StatusResult;
      assert.equal(status.recordingEnabled, true);
      assert.equal(status.pid, child.pid);
      const logs = client.notifications.filter((n) => n.method === lifecycle.log.method).map((n) => n.params as lifecycle.LogParams);
      assert.deepEqual(logs.filter((l) => /uncaught|unhandled rejection/.test(l.message)).map((l) => l.message.slice(0, 300)), [], 'uncaught errors in the log');
      assert.ok(logs.some((l) => l.level === 'warn' && l.message.startsWith('protocol: ')), 'malformed frames are logged');
      assert.doesNotMatch(stderr(), /TypeError|RangeError|ReferenceError|Uncaught/, 'stderr');
      assert.deepEqual(fs.readdirSync(cwd), [], 'files written relative to the working folder');
      assert.ok((await client.request('shutdown', undefined, ANSWER_MS)).result === null);
      client.write(RawClient.frame('{"jsonrpc":"2.0","method":"exit"}'));
      assert.equal(await exited, 0, `exit code (stderr: ${stderr().slice(-500)})`);
    });
  } finally {
    child.kill('SIGKILL');
    client.dispose();
  }
  report(t, 'JSON-RPC over stdio (server/main.ts)', tally, started);
  failures.check();
});

test('the trainer process leaves with code 0 when stdin closes in the middle of a frame', { timeout: 30_000 }, async () => {
  const root = tempDir('stdio-close');
  const { child, client, exited, stderr } = spawnTrainer(root);
  try {
    const init = await client.request('initialize', JSON.stringify({ storageDir: root, recordingEnabled: false, modelPath: '', clientVersion: 'fuzz' }), 20_000);
    assert.ok(init.result, JSON.stringify(init.error));
    client.write(`Content-Length: 500\r\n\r\n{"jsonrpc":"2.0","id":1,"meth`);
    child.stdin.end();
    assert.equal(await exited, 0, stderr());
  } finally {
    child.kill('SIGKILL');
    client.dispose();
  }
});
