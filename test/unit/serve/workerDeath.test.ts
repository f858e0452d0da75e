// A serving worker that stops (a crash, out of memory) must not hang serve/complete: the model
// server answers 'failed' at once, and the serve area starts a new worker on the next request,
// with the adapter that was serving.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import type { Worker } from 'node:worker_threads';
import { makeModel, PRESETS } from '../../../scripts/make-model';
import { ModelServer } from '../../../server/serve/modelServer';
import { registerServeHandlers } from '../../../server/serve/handlers';
import { tempDir } from '../model/fixtures';
import type { serve } from '../../../protocol';

const dir = tempDir('death');
makeModel({ ...PRESETS.tiny, numLayers: 1 }, dir, { seed: 5 });
after(() => fs.rmSync(dir, { recursive: true, force: true }));

const params: serve.CompleteParams = { uri: 'file:///a.py', languageId: 'python', prefix: 'def f():\n    ', suffix: '\n', maxTokens: 4 };

/** Ends the worker thread while it is idle (terminating it mid-run would abort this process). */
async function kill(server: ModelServer): Promise<void> {
  await (server as unknown as { channel: { worker: Worker } }).channel.worker.terminate();
}

/** Fails instead of hanging. */
function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms))]);
}

test('a dead serving worker answers failed at once, and the serve area restarts it on the next request', { timeout: 120_000 }, async () => {
  const server = await ModelServer.start(dir, { intraOpThreads: 1 });
  try {
    assert.notEqual((await server.complete(params)).kind, 'failed');
    await kill(server);
    const r = await within(server.complete(params), 2000, 'complete after the worker died');
    assert.equal(r.kind, 'failed');
    assert.match(r.reason!, /the serving worker stopped \(exit code \d+\).*restarts on the next request/);
    assert.ok(server.dead);
  } finally {
    await server.dispose();
  }

  // Through the serve area: the next request restarts the worker (with the adapter), the one after is served.
  const handlers = new Map<string, (p: unknown, token: unknown) => unknown>();
  const connection = { onRequest: (type: { method: string }, h: (p: unknown, t: unknown) => unknown) => handlers.set(type.method, h) };
  const hooks = { init: [] as (() => void)[], shut: [] as (() => Promise<void> | void)[] };
  const models: string[] = [];
  const ctx = {
    modelPath: dir, cacheDir: '', requireInitialized() {}, log() {}, setAdapterVersion() {},
    setModel: (s: { kind: string }) => models.push(s.kind),
    onInitialized: (f: () => void) => hooks.init.push(f),
    onConfigured: () => undefined,
    onShutdown: (f: () => Promise<void>) => hooks.shut.push(f),
  };
  const area = registerServeHandlers(connection as never, ctx as never, { intraOpThreads: 1 });
  const token = { onCancellationRequested: () => ({ dispose() {} }) };
  const call = () => within(handlers.get('serve/complete')!(params, token) as Promise<serve.CompleteResult>, 20_000, 'serve/complete');
  hooks.init.forEach((f) => f());
  try {
    await area.ready();
    await area.setAdapter(3, new Map());
    assert.equal((await call()).adapterVersion, 3);
    await kill(area.current()!);
    const restarting = await call();
    assert.equal(restarting.kind, 'unavailable');
    assert.match(restarting.reason!, /the serving worker stopped .*; restarting it/);
    await area.ready();
    const served = await call();
    assert.notEqual(served.kind, 'failed', served.reason);
    assert.notEqual(served.kind, 'unavailable', served.reason);
    assert.equal(served.adapterVersion, 3, 'the new worker serves the adapter the old one did');
    assert.deepEqual(models.filter((k) => k !== 'loading'), ['ready', 'ready']);
  } finally {
    for (const f of hooks.shut) await f();
  }
});
