// "Hindsight: Download a model" in the real editor, against a hub on 127.0.0.1 that serves a
// generated tiny model with the hub's routes (the `modelDownload` run writes it to <run dir>/hubrepo):
// it asks first (naming files and size), a "no" fetches nothing, a "yes" downloads, verifies,
// sets hindsight.model.path and the trainer loads it; an unreachable hub fails with a clear message.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { enableWith, hindsight, until } from '../helpers';

const REPO = 'test/tiny-coder';

function serveHub(repoDir: string): Promise<{ url: string; requests: string[]; close(): void }> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    const url = decodeURIComponent(req.url ?? '');
    requests.push(url);
    if (url === `/api/models/${REPO}/tree/main`) {
      const files = fs.readdirSync(repoDir).map((p) => ({ type: 'file', path: p, size: fs.statSync(path.join(repoDir, p)).size }));
      res.setHeader('content-type', 'application/json');
      return res.end(JSON.stringify(files));
    }
    const m = url.match(/^\/test\/tiny-coder\/resolve\/main\/(.+)$/);
    if (!m || !fs.existsSync(path.join(repoDir, m[1]))) {
      res.statusCode = 404;
      return res.end('not found');
    }
    res.end(fs.readFileSync(path.join(repoDir, m[1])));
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, close: () => { server.closeAllConnections(); server.close(); } }),
    ),
  );
}

suite('model download', function () {
  this.timeout(90_000);
  const config = () => vscode.workspace.getConfiguration('hindsight');

  test('asks first, downloads with verification, and the trainer loads the downloaded model', async () => {
    const ws = vscode.workspace.workspaceFolders![0].uri.fsPath;
    const hub = await serveHub(path.join(path.dirname(ws), 'hubrepo'));
    try {
      await config().update('model.hubUrl', hub.url, vscode.ConfigurationTarget.Global);
      await config().update('model.repo', REPO, vscode.ConfigurationTarget.Global);
      const api = await hindsight();
      assert.equal((await enableWith(api, true)).outcome.enabled, true);
      await until(api, () => api.state().trainer.state === 'ready', 30_000, 'the trainer');

      const asked: { message: string; detail: string }[] = [];
      api.testing.setDownloadPrompt(async (message, detail) => (asked.push({ message, detail }), false));
      const declined = await vscode.commands.executeCommand<{ ok: boolean; message: string }>('hindsight.downloadModel');
      assert.equal(declined.ok, false);
      assert.match(asked[0].message, /^Download test\/tiny-coder \(\d+(\.\d+)? (kB|MB)\)\?$/);
      assert.match(asked[0].detail, /model\.safetensors/);
      assert.match(asked[0].detail, /none of your code or data is sent/);
      assert.ok(!hub.requests.some((r) => r.includes('/resolve/')), `a "no" downloads nothing: ${hub.requests}`);

      api.testing.setDownloadPrompt(async () => true);
      const done = await vscode.commands.executeCommand<{ ok: boolean; modelPath: string; message: string }>('hindsight.downloadModel');
      assert.equal(done.ok, true, done.message);
      assert.ok(fs.existsSync(path.join(done.modelPath, 'model.safetensors')));
      assert.ok(!fs.existsSync(`${done.modelPath}.partial`), 'the partial folder was moved into place');
      assert.equal(config().get('model.path'), done.modelPath);
      await until(api, () => api.state().trainer.server?.modelPath === done.modelPath || undefined, 30_000, 'the trainer to load the downloaded model');
    } finally {
      hub.close();
    }
  });

  test('an unreachable hub fails with a message that says so and offers a local folder', async () => {
    const api = await hindsight();
    await config().update('model.hubUrl', 'http://127.0.0.1:9', vscode.ConfigurationTarget.Global);
    api.testing.setDownloadPrompt(async () => assert.fail('must not ask when the hub cannot be reached'));
    const failed = await vscode.commands.executeCommand<{ ok: boolean; message: string }>('hindsight.downloadModel');
    assert.equal(failed.ok, false);
    assert.match(failed.message, /could not look up test\/tiny-coder: cannot reach http:\/\/127\.0\.0\.1:9 .*offline/);
  });
});
