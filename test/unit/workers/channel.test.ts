// The worker channel both workers use: replies by id, errors as rejections, events; a worker that
// dies rejects everything pending with a clear error (and nothing hangs afterwards); close waits
// for the request the worker is running instead of tearing the thread down under it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { WorkerChannel, WorkerExited } from '../../../server/workers/channel';
import type { EchoRequest } from './fixtures/echoWorker';

const script = path.join(__dirname, 'fixtures', 'echoWorker.ts');
const open = (events: string[] = [], exits: WorkerExited[] = []) => new WorkerChannel<EchoRequest, string>(script, { name: 'echo', onEvent: (e) => events.push(e), onExit: (e) => exits.push(e) });

test('requests get their own replies, errors reject, events arrive', async () => {
  const events: string[] = [];
  const ch = open(events);
  const [a, b] = await Promise.all([ch.call({ type: 'echo', value: 1 }), ch.call({ type: 'echo', value: { x: 2 } })]);
  assert.deepEqual([a, b], [1, { x: 2 }]);
  await assert.rejects(ch.call({ type: 'fail' }), /nope/);
  assert.deepEqual(events, ['echoing 1', 'echoing {"x":2}']);
  assert.equal(await ch.close(), 'closed');
  assert.ok(events.includes('released'), 'close ran release');
});

test('a worker that dies rejects every pending request with why, and later requests fail at once', async () => {
  const exits: WorkerExited[] = [];
  const ch = open([], exits);
  const dying = ch.call({ type: 'die' });
  const queued = ch.call({ type: 'echo', value: 'after' });
  await assert.rejects(dying, (e: Error) => e instanceof WorkerExited && /the echo worker stopped \(exit code 1\): .*boom/.test(e.message));
  await assert.rejects(queued, WorkerExited);
  assert.equal(exits.length, 1, 'the owner hears of it once');
  assert.ok(ch.dead);
  await assert.rejects(ch.call({ type: 'echo', value: 1 }), WorkerExited);
  assert.equal(await ch.close(), 'closed');
});

test('close waits for the running request (no teardown under it), then the worker leaves by itself', async () => {
  const events: string[] = [];
  const exits: WorkerExited[] = [];
  const ch = open(events, exits);
  const busy = ch.call<string>({ type: 'block', ms: 400 });
  await new Promise((r) => setTimeout(r, 50));
  const closing = ch.close();
  await assert.rejects(ch.call({ type: 'echo', value: 1 }), /closing/);
  assert.equal(await busy, 'done', 'the running request finished and was answered');
  assert.equal(await closing, 'closed');
  assert.deepEqual(events, ['released']);
  assert.deepEqual(exits, [], 'an asked-for exit is not a crash');
});

test('a worker still busy after the grace period is left to finish, not terminated', async () => {
  const ch = open();
  const busy = ch.call<string>({ type: 'block', ms: 1200 });
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(await ch.close(100), 'left running');
  assert.equal(await busy, 'done');
  assert.equal(await ch.close(5000), 'closed');
});

test('an idle worker does not keep the process alive; one with a request in flight does', { timeout: 60_000 }, () => {
  // A child that opens a channel, gets a reply after 300 ms of blocked work, and never closes it.
  const code = `
    const { WorkerChannel } = require(${JSON.stringify(path.join(__dirname, '../../../server/workers/channel.ts'))});
    const ch = new WorkerChannel(${JSON.stringify(script)}, { name: 'echo' });
    ch.call({ type: 'block', ms: 300 }).then((v) => console.log('reply', v));`;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '-e', code], { encoding: 'utf8', timeout: 30_000 });
  assert.equal(r.signal, null, 'the process left by itself (not killed by the timeout)');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /reply done/, 'the request in flight kept it alive until its reply');
});
