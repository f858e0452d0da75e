// learn/exportGguf over JSON-RPC, as the "Export adapter for llama.cpp / Ollama…" command sends it:
// the trainer writes the files in a worker thread with progress, names them after the model and
// version, and refuses what it cannot do with the reason.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { learn } from '../../../protocol';
import { connectedTrainer } from '../learn/fixtures';
import { readGgufInfo } from '../../../server/export/gguf';
import { openModelFolder } from '../../../server/model/folder';
import { DEFAULT_SERVE_LORA } from '../../../server/model/forwardSession';
import { initAdapter } from '../../../server/train/adapter';
import { AdapterStore } from '../../../server/train/adapterStore';

const STARTER = path.join(__dirname, '../../../models/hindsight-starter');

test('learn/exportGguf: a merged 4-bit model and an adapter + base pair, with progress; clear refusals', async () => {
  const { server, client, control } = connectedTrainer();
  const storage = fs.mkdtempSync(path.join(os.tmpdir(), 'hs-export-storage-'));
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'hs-export-out-'));
  const cfg = openModelFolder(STARTER).cfg;
  const version = new AdapterStore(path.join(storage, 'adapters')).write(initAdapter(cfg, DEFAULT_SERVE_LORA, 'hindsight-starter', 3), cfg);
  const progress: learn.ExportProgress[] = [];
  client.onNotification(learn.exportProgress, (p) => progress.push(p));

  await control.initialize({ storageDir: storage, recordingEnabled: false, modelPath: '', clientVersion: 'test' });
  await assert.rejects(client.sendRequest(learn.exportGguf, { destDir: out, kind: 'merged' }), /no model is configured/);
  await control.configure({ modelPath: STARTER });
  await assert.rejects(client.sendRequest(learn.exportGguf, { destDir: path.join(out, 'nope'), kind: 'merged' }), /is not a folder/);
  await assert.rejects(client.sendRequest(learn.exportGguf, { destDir: out, kind: 'merged', version: 9 }), /adapter v9 does not exist/);
  await assert.rejects(client.sendRequest(learn.exportGguf, { destDir: out, kind: 'adapter', version: 0 }), /no adapter to export/);

  const merged = await client.sendRequest(learn.exportGguf, { destDir: out, kind: 'merged', version, weights: 'q4_0' });
  assert.deepEqual(merged.files.map((f) => path.basename(f.path)), [`hindsight-starter-hindsight-v${version}-q4_0.gguf`]);
  const info = readGgufInfo(merged.files[0].path);
  assert.equal(info.metadata.get('general.file_type'), 2, 'mostly Q4_0');
  assert.equal(info.tensors.find((t) => t.name === 'blk.0.ffn_up.weight')?.type, 2);
  assert.equal(info.tensors.find((t) => t.name === 'blk.0.attn_norm.weight')?.type, 0, 'norms stay F32');
  assert.ok(progress.some((p) => p.fraction === 1 && /merged model/.test(p.what)), JSON.stringify(progress.slice(-2)));

  const pair = await client.sendRequest(learn.exportGguf, { destDir: out, kind: 'adapter', version });
  assert.deepEqual(pair.files.map((f) => path.basename(f.path)).sort(), [`hindsight-starter-f16.gguf`, `hindsight-starter-hindsight-v${version}-lora.gguf`]);
  for (const f of pair.files) assert.equal(fs.statSync(f.path).size, f.bytes);
  assert.deepEqual(fs.readdirSync(out).filter((f) => f.endsWith('.partial')), []);
  await control.shutdown();
  client.dispose();
  server.dispose();
  fs.rmSync(storage, { recursive: true, force: true });
  fs.rmSync(out, { recursive: true, force: true });
});
