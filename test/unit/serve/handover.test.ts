// Serving before and after the first adapter: the base model serves through a graph without LoRA
// inputs; the first adapter loads the LoRA graph in a second worker while the first one keeps
// answering, then requests go to the new one. A returning user (adapters on disk) gets the LoRA
// graph from the start, and the base through the LoRA graph (zero B) equals the base graph.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { makeModel, PRESETS, Rng } from '../../../scripts/make-model';
import { registerServeHandlers, type ServeArea } from '../../../server/serve/handlers';
import { loraTensors } from '../../../server/model/lora';
import { openModelFolder } from '../../../server/model/folder';
import { DEFAULT_SERVE_LORA } from '../../../server/model/forwardSession';
import { tempDir, maxAbsDiff } from '../model/fixtures';
import type { serve } from '../../../protocol';

const dir = tempDir('handover');
makeModel({ ...PRESETS.tiny, numLayers: 1 }, dir, { seed: 8, std: 0.5 });
const cacheDir = tempDir('handover-cache');
after(() => {
  fs.rmSync(dir, { recursive: true, force: true });
  fs.rmSync(cacheDir, { recursive: true, force: true });
});

// Greedy, no wall-time budget (a busy machine would cut runs at different tokens).
const params: serve.CompleteParams = { uri: 'file:///a.py', languageId: 'python', prefix: 'def f(x):\n    return x', suffix: '\n', maxTokens: 8, mode: 'block', timeoutMs: 600_000 };

function serveArea(storageDir: string, recordingEnabled = true) {
  const handlers = new Map<string, (p: unknown, token: unknown) => unknown>();
  const connection = { onRequest: (type: { method: string }, h: (p: unknown, t: unknown) => unknown) => handlers.set(type.method, h) };
  const hooks = { init: [] as (() => void)[], shut: [] as (() => Promise<void> | void)[] };
  const logs: string[] = [];
  const versions: number[] = [];
  const ctx = {
    modelPath: dir, cacheDir, storageDir, recordingEnabled, requireInitialized() {}, log: (_: string, m: string) => logs.push(m), setAdapterVersion: (v: number) => versions.push(v), setModel() {},
    onInitialized: (f: () => void) => hooks.init.push(f),
    onConfigured: () => undefined,
    onShutdown: (f: () => Promise<void>) => hooks.shut.push(f),
  };
  const area: ServeArea = registerServeHandlers(connection as never, ctx as never, { intraOpThreads: 1 });
  const token = { onCancellationRequested: () => ({ dispose() {} }) };
  const call = () => handlers.get('serve/complete')!(params, token) as Promise<serve.CompleteResult>;
  hooks.init.forEach((f) => f());
  const close = async () => {
    for (const f of hooks.shut) await f();
  };
  return { area, call, logs, versions, close };
}

const cfg = openModelFolder(dir).cfg;
const rng = new Rng(2);
const learned = new Map(loraTensors(cfg, DEFAULT_SERVE_LORA).map((t) => [t.name, Float32Array.from({ length: t.shape[0] * t.shape[1] }, () => rng.normal() * 0.5)]));

test('the base graph serves until the first adapter, which a second worker takes over without a pause', { timeout: 180_000 }, async () => {
  const s = serveArea(tempDir('handover-storage'));
  try {
    const base = await s.area.ready();
    assert.ok(base);
    assert.deepEqual(base.info.lora.targets, [], 'no LoRA inputs before an adapter exists');
    const before = await base.complete(params);
    assert.ok(before.kind === 'success' || before.kind === 'empty', before.reason);

    const swapping = s.area.setAdapter(1, learned);
    // The handover loads a second worker; meanwhile the base one answers at once.
    const during = await s.call();
    assert.ok(during.kind === 'success' || during.kind === 'empty', during.reason);
    assert.equal(during.adapterVersion, 0);
    assert.equal(s.area.current(), base, 'still the base server while the LoRA graph loads');
    await swapping;

    const adapted = s.area.current()!;
    assert.notEqual(adapted, base);
    assert.equal(adapted.info.lora.targets.length, 7);
    assert.ok(base.dead, 'the base worker closed after the handover');
    const after1 = await adapted.complete(params);
    assert.equal(after1.adapterVersion, 1);
    assert.notDeepEqual(after1.logprobs, before.logprobs, 'the adapter changes what is served');
    assert.equal((await s.call()).adapterVersion, 1);
    assert.deepEqual(s.versions, [1]);
    assert.ok(s.logs.some((m) => /handed over to the LoRA graph/.test(m)));

    // Back to the base model (forget, rollback to v0): zero B in the same LoRA graph, the base's numbers.
    await s.area.setAdapter(0, new Map());
    assert.equal(s.area.current(), adapted, 'no second handover for the base');
    const back = await adapted.complete(params);
    assert.equal(back.adapterVersion, 0);
    assert.deepEqual(back.tokenIds, before.tokenIds);
    assert.ok(maxAbsDiff(back.logprobs, before.logprobs) < 1e-4, `${maxAbsDiff(back.logprobs, before.logprobs)}`);
  } finally {
    await s.close();
  }
});

test('with adapters stored by an earlier session, serving loads the LoRA graph at once (with recording on)', { timeout: 120_000 }, async () => {
  const storage = tempDir('handover-returning');
  fs.mkdirSync(path.join(storage, 'adapters', 'v0001'), { recursive: true });
  // Recording off: no learning loop will serve them, so the base graph.
  const off = serveArea(storage, false);
  try {
    assert.deepEqual((await off.area.ready())!.info.lora.targets, []);
  } finally {
    await off.close();
  }
  const s = serveArea(storage);
  try {
    const first = await s.area.ready();
    assert.equal(first!.info.lora.targets.length, 7);
    await s.area.setAdapter(1, learned);
    assert.equal(s.area.current(), first, 'the adapter is swapped into the same server');
    assert.equal((await s.call()).adapterVersion, 1);
  } finally {
    await s.close();
  }
});
