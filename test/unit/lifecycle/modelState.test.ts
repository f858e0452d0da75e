// The model state the trainer pushes next to its own (status/changed): none without a model,
// loading with its steps, ready with what the model is and how it runs, failed with the folder's
// reason; model/check opens a folder as a model without loading it; generated files go to the
// cache folder keyed by model content, never into the model folder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';
import { lifecycle, model } from '../../../protocol';
import { createServerContext } from '../../../server/context';
import { registerLifecycleHandlers } from '../../../server/lifecycle/handlers';
import { registerServeHandlers } from '../../../server/serve/handlers';
import { makeModel, PRESETS } from '../../../scripts/make-model';
import { tempDir } from '../model/fixtures';

function pair() {
  const a = new PassThrough(), b = new PassThrough();
  const server = createMessageConnection(new StreamMessageReader(a), new StreamMessageWriter(b));
  const client = createMessageConnection(new StreamMessageReader(b), new StreamMessageWriter(a));
  return { server, client };
}

test('model state: none → loading (steps) → failed with the reason → loading → ready with facts; files only in the cache', async () => {
  const { server, client } = pair();
  const control = createServerContext(server);
  registerLifecycleHandlers(server, control, () => undefined);
  const serve = registerServeHandlers(server, control.ctx, { intraOpThreads: 1 });
  server.listen();
  client.listen();
  const states: model.ModelState[] = [];
  client.onNotification(lifecycle.statusChanged, (s) => states.push(s.model));
  const root = tempDir('model-state');
  const cacheDir = path.join(root, 'cache');
  const good = path.join(root, 'tiny');
  makeModel({ ...PRESETS.tiny, numLayers: 1 }, good, { seed: 5 });
  const before = fs.readdirSync(good).sort();
  try {
    await control.initialize({ storageDir: path.join(root, 'storage'), recordingEnabled: false, modelPath: '', clientVersion: 'test', cacheDir });
    await serve.ready();
    assert.deepEqual((await client.sendRequest(lifecycle.status)).model, { kind: 'none' });

    const broken = path.join(root, 'broken');
    fs.mkdirSync(broken);
    await client.sendRequest(lifecycle.configure, { modelPath: broken });
    await serve.ready();
    const failed = (await client.sendRequest(lifecycle.status)).model;
    assert.equal(failed.kind, 'failed');
    assert.ok(failed.kind === 'failed' && /config\.json: cannot read/.test(failed.reason) && failed.name === 'broken', JSON.stringify(failed));

    states.length = 0;
    await client.sendRequest(lifecycle.configure, { modelPath: good });
    await serve.ready();
    const ready = (await client.sendRequest(lifecycle.status)).model;
    assert.equal(ready.kind, 'ready', JSON.stringify(ready));
    if (ready.kind !== 'ready') return;
    assert.equal(ready.path, good);
    assert.equal(ready.facts.name, 'tiny');
    assert.equal(ready.facts.architecture, 'qwen2');
    assert.equal(ready.facts.layers, 1);
    assert.equal(ready.facts.dtype, 'F32');
    assert.ok(ready.facts.parameters > 151936 * 64 && ready.facts.bytes > ready.facts.parameters * 4 - 1, JSON.stringify(ready.facts));
    assert.equal(ready.device, 'cpu');
    assert.equal(ready.weights, 'full'); // a tiny model stays at full precision ('auto')
    await new Promise((r) => setTimeout(r, 50)); // the last push
    const steps = states.filter((s) => s.kind === 'loading').map((s) => (s.kind === 'loading' ? s.step : ''));
    for (const step of ['checking the model folder', 'preparing the model files', 'starting ONNX Runtime']) assert.ok(steps.includes(step), `loading steps: ${steps.join(', ')}`);
    assert.equal(states.at(-1)?.kind, 'ready');

    // Generated files went to one cache folder of links, keyed by the model's content.
    assert.deepEqual(fs.readdirSync(good).sort(), before, 'nothing written into the model folder');
    const [entry] = fs.readdirSync(cacheDir);
    assert.match(entry, /^tiny-[0-9a-f]{16}$/);
    const files = fs.readdirSync(path.join(cacheDir, entry));
    assert.ok(files.includes('model.safetensors') && files.some((f) => f.endsWith('.onnx')), files.join(', '));
    assert.equal(fs.statSync(path.join(cacheDir, entry, 'model.safetensors')).ino, fs.statSync(path.join(good, 'model.safetensors')).ino, 'a hard link, not a copy');

    await client.sendRequest(lifecycle.configure, { modelPath: '' });
    await serve.ready();
    assert.deepEqual((await client.sendRequest(lifecycle.status)).model, { kind: 'none' });
  } finally {
    await control.shutdown();
    client.dispose();
    server.dispose();
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test('model/check: a model folder is described, anything else is refused with the reason', async () => {
  const { server, client } = pair();
  const control = createServerContext(server);
  registerLifecycleHandlers(server, control, () => undefined);
  server.listen();
  client.listen();
  const root = tempDir('model-check');
  try {
    const good = path.join(root, 'good');
    makeModel({ ...PRESETS.tiny, numLayers: 1 }, good, { seed: 5 });
    const ok = await client.sendRequest(model.check, { path: good });
    assert.ok(ok.ok && ok.facts.name === 'good' && ok.facts.layers === 1, JSON.stringify(ok));

    const missing = await client.sendRequest(model.check, { path: path.join(root, 'nope') });
    assert.ok(!missing.ok && /is not a folder/.test(missing.reason), JSON.stringify(missing));
    const empty = path.join(root, 'empty');
    fs.mkdirSync(empty);
    const noConfig = await client.sendRequest(model.check, { path: empty });
    assert.ok(!noConfig.ok && /config\.json: cannot read/.test(noConfig.reason), JSON.stringify(noConfig));
    fs.rmSync(path.join(good, 'tokenizer.json'));
    const noTokenizer = await client.sendRequest(model.check, { path: good });
    assert.ok(!noTokenizer.ok && /tokenizer\.json: missing/.test(noTokenizer.reason), JSON.stringify(noTokenizer));
  } finally {
    client.dispose();
    server.dispose();
    fs.rmSync(root, { recursive: true, force: true });
  }
});
