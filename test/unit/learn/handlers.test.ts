// learn/* over JSON-RPC: the loop is off (and trainNow refuses, with the reason) until recording is
// enabled; once on it starts with the settings sent by learn/configure, and stops again when
// recording is turned off. learn/forget deletes every adapter and the loop's state, says what it
// deleted, and the loop starts again from nothing; learn/cancel with no round running says so.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { learn } from '../../../protocol';
import { connectedTrainer, tempDir, tinyModel } from './fixtures';

const connected = connectedTrainer;

test('learn/*: off until recording is enabled, then running with the configured settings, off again when recording stops', async () => {
  const m = tinyModel('handlers');
  const { server, client, control, area } = connected();
  const pushed: learn.StatusResult[] = [];
  client.onNotification(learn.statusChanged, (s) => pushed.push(s));
  try {
    await control.initialize({ storageDir: tempDir('handlers-storage'), recordingEnabled: false, modelPath: m.dir, clientVersion: 'test' });
    await area.ready();
    const off = await client.sendRequest(learn.status);
    assert.equal(off.state, 'off');
    assert.match(off.detail!, /recording is off/);
    const refused = await client.sendRequest(learn.trainNow);
    assert.equal(refused.started, false);
    assert.match(refused.reason!, /not running: recording is off/);
    await assert.rejects(client.sendRequest(learn.rollback, {}), /not running/);

    assert.equal((await client.sendRequest(learn.configure, { schedule: 'manual', minEpisodes: 3 })).schedule, 'manual');
    await control.configure({ recordingEnabled: true });
    assert.ok(await area.ready(), 'the loop started');
    const on = await client.sendRequest(learn.status);
    assert.equal(on.state, 'idle');
    assert.equal(on.schedule, 'manual');
    assert.deepEqual(on.versions.map((v) => v.version), [0]);
    const few = await client.sendRequest(learn.trainNow);
    assert.equal(few.started, false);
    assert.match(few.reason!, /0 usable settled episode\(s\); a round needs at least 3/);
    assert.ok(pushed.some((s) => s.state === 'idle'));

    await control.configure({ recordingEnabled: false });
    assert.equal(await area.ready(), undefined);
    assert.equal((await client.sendRequest(learn.status)).state, 'off');
  } finally {
    await control.shutdown();
    client.dispose();
    server.dispose();
    fs.rmSync(path.dirname(m.dir), { recursive: true, force: true });
  }
});

test('learn/forget: adapters and the learning state are deleted and reported; the loop starts afresh and writes nothing back', async () => {
  const m = tinyModel('forget');
  const { server, client, control, area } = connected();
  const storage = tempDir('forget-storage');
  try {
    await control.initialize({ storageDir: storage, recordingEnabled: true, modelPath: m.dir, clientVersion: 'test' });
    const first = await area.ready();
    assert.ok(first, 'the loop started');
    // What earlier rounds left: two adapter folders (one unreadable) and the loop's memory.
    for (const v of ['v0001', 'v0002']) {
      fs.mkdirSync(path.join(storage, 'adapters', v), { recursive: true });
      fs.writeFileSync(path.join(storage, 'adapters', v, 'adapter_model.safetensors'), 'x'.repeat(100));
    }
    fs.mkdirSync(path.join(storage, 'learn'), { recursive: true });
    fs.writeFileSync(path.join(storage, 'learn', 'state.json'), JSON.stringify({ consumed: ['e1'], skipped: {}, trained: 1, versions: {}, serving: 2 }));

    assert.deepEqual(await client.sendRequest(learn.cancel), { cancelled: false });
    const r = await client.sendRequest(learn.forget);
    assert.deepEqual(r.versions, [1, 2]);
    assert.equal(r.state, true);
    assert.ok(r.bytes >= 200, `bytes ${r.bytes}`);
    assert.ok(!fs.existsSync(path.join(storage, 'adapters')) && !fs.existsSync(path.join(storage, 'learn')));
    const again = await area.ready();
    assert.ok(again && again !== first, 'a fresh loop');
    const s = await client.sendRequest(learn.status);
    assert.equal(s.state, 'idle');
    assert.equal(s.trained, 0);
    assert.deepEqual(s.versions.map((v) => v.version), [0]);
    assert.equal(control.ctx.status().adapterVersion, 0);
    const nothing = await client.sendRequest(learn.forget);
    assert.deepEqual(nothing, { versions: [], state: false, bytes: 0 });
  } finally {
    await control.shutdown();
    client.dispose();
    server.dispose();
    assert.ok(!fs.existsSync(path.join(storage, 'learn', 'state.json')), 'nothing written back on shutdown either');
    fs.rmSync(path.dirname(m.dir), { recursive: true, force: true });
  }
});

test('a training worker that stops by itself is started again with a new loop; the status says what happened meanwhile', { timeout: 120_000 }, async () => {
  const m = tinyModel('restart');
  const { server, client, control, area } = connected();
  const logs: string[] = [];
  const log = control.ctx.log.bind(control.ctx);
  control.ctx.log = (level, message) => {
    logs.push(`${level}: ${message}`);
    log(level, message);
  };
  try {
    await control.initialize({ storageDir: tempDir('restart-storage'), recordingEnabled: true, modelPath: m.dir, clientVersion: 'test' });
    const first = await area.ready();
    assert.ok(first, 'the loop started');
    await (first as unknown as { worker: { worker: Worker } }).worker.worker.terminate();
    await until(async () => (await client.sendRequest(learn.status)).state === 'error', 10_000, 'the loop in error');
    assert.match((await client.sendRequest(learn.status)).detail!, /the training worker stopped/);
    await until(async () => (await area.ready()) !== first && (await client.sendRequest(learn.status)).state === 'idle', 60_000, 'a new loop, idle');
    assert.ok(logs.some((l) => /restarting the training worker in 1 s/.test(l)), logs.join('\n'));
  } finally {
    await control.shutdown();
    client.dispose();
    server.dispose();
    fs.rmSync(path.dirname(m.dir), { recursive: true, force: true });
  }
});

async function until(ok: () => Promise<boolean>, ms: number, what: string): Promise<void> {
  const t0 = Date.now();
  while (!(await ok())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
