// The hub download flow against a local HTTP server on 127.0.0.1 that serves a generated model
// with the hub's routes: progress, size checks, resume with Range after a dropped connection,
// cleanup of a corrupt file, an invalid folder, and a clear message when offline.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as path from 'node:path';
import type { AddressInfo } from 'node:net';
import { downloadModel, DownloadError } from '../../../server/download/hub';
import { openModelFolder } from '../../../server/model/folder';
import { smallModel, tempDir } from '../model/fixtures';

interface Hub {
  url: string;
  ranges: string[];
  /** Per file: cut the connection after this many bytes on the next request. */
  dropAfter: Map<string, number>;
  /** Per file: lie about the size in the listing. */
  sizeLie: Map<string, number>;
  close(): Promise<void>;
}

async function startHub(repoDir: string, repo = 'test/tiny'): Promise<Hub> {
  const ranges: string[] = [];
  const dropAfter = new Map<string, number>();
  const sizeLie = new Map<string, number>();
  const server = http.createServer((req, res) => {
    const url = decodeURIComponent(req.url ?? '');
    if (url === `/api/models/${repo}/tree/main`) {
      const files = fs.readdirSync(repoDir).map((p) => ({ type: 'file', path: p, size: sizeLie.get(p) ?? fs.statSync(path.join(repoDir, p)).size }));
      res.setHeader('content-type', 'application/json');
      return res.end(JSON.stringify([...files, { type: 'directory', path: 'docs', size: 0 }]));
    }
    const m = url.match(new RegExp(`^/${repo}/resolve/main/(.+)$`));
    if (!m || !fs.existsSync(path.join(repoDir, m[1]))) {
      res.statusCode = 404;
      return res.end('not found');
    }
    const data = fs.readFileSync(path.join(repoDir, m[1]));
    let start = 0;
    if (req.headers.range) {
      ranges.push(`${m[1]} ${req.headers.range}`);
      start = Number(/bytes=(\d+)-/.exec(req.headers.range)![1]);
      res.statusCode = 206;
      res.setHeader('content-range', `bytes ${start}-${data.length - 1}/${data.length}`);
    }
    const body = data.subarray(start);
    res.setHeader('content-length', body.length);
    const drop = dropAfter.get(m[1]);
    if (drop !== undefined) {
      dropAfter.delete(m[1]);
      res.write(body.subarray(0, drop), () => res.destroy());
      return;
    }
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, ranges, dropAfter, sizeLie, close: () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); }) };
}

function repoFolder() {
  const { dir } = smallModel('hubrepo', {}, { tokenizer: false });
  fs.writeFileSync(path.join(dir, 'tokenizer.json'), '{"model":{}}');
  fs.writeFileSync(path.join(dir, 'README.md'), 'not needed');
  return dir;
}

test('downloads a model folder with progress, skipping files a model does not need', async () => {
  const hub = await startHub(repoFolder());
  try {
    const dest = path.join(tempDir('dl'), 'tiny');
    const seen: number[] = [];
    await downloadModel({ repo: 'test/tiny', dest, baseUrl: hub.url, onProgress: (p) => seen.push(p.bytes / p.total) });
    assert.ok(openModelFolder(dest));
    assert.ok(!fs.existsSync(path.join(dest, 'README.md')));
    assert.ok(!fs.existsSync(`${dest}.partial`));
    assert.equal(seen[seen.length - 1], 1);
    assert.ok(seen.every((v, i) => i === 0 || v >= seen[i - 1]), 'progress only grows');
  } finally {
    await hub.close();
  }
});

test('a dropped connection leaves a partial file that the next run resumes with a Range request', async () => {
  const hub = await startHub(repoFolder());
  try {
    const dest = path.join(tempDir('dl'), 'tiny');
    hub.dropAfter.set('model.safetensors', 10000);
    await assert.rejects(downloadModel({ repo: 'test/tiny', dest, baseUrl: hub.url }), (e: Error) => e instanceof DownloadError && /model\.safetensors: connection lost after 10000 of \d+ bytes.*resume/.test(e.message));
    assert.equal(fs.statSync(path.join(`${dest}.partial`, 'model.safetensors.part')).size, 10000);
    await downloadModel({ repo: 'test/tiny', dest, baseUrl: hub.url });
    assert.deepEqual(hub.ranges, ['model.safetensors bytes=10000-']);
    assert.ok(openModelFolder(dest));
  } finally {
    await hub.close();
  }
});

test('a size that does not match the listing fails and removes the oversized file', async () => {
  const hub = await startHub(repoFolder());
  try {
    const dest = path.join(tempDir('dl'), 'tiny');
    hub.sizeLie.set('config.json', 5);
    await assert.rejects(downloadModel({ repo: 'test/tiny', dest, baseUrl: hub.url }), /config\.json: got \d+ bytes, expected 5 \(file removed\)/);
    assert.ok(!fs.existsSync(path.join(`${dest}.partial`, 'config.json.part')));
    assert.ok(!fs.existsSync(dest));
  } finally {
    await hub.close();
  }
});

test('a folder that does not open as a model is removed; offline gives a clear message', async () => {
  const dir = repoFolder();
  fs.writeFileSync(path.join(dir, 'config.json'), '{"architectures": ["GPT2LMHeadModel"]}');
  const hub = await startHub(dir);
  const dest = path.join(tempDir('dl'), 'tiny');
  try {
    await assert.rejects(downloadModel({ repo: 'test/tiny', dest, baseUrl: hub.url }), /does not open as a model .*unknown architecture GPT2LMHeadModel.*removed/);
    assert.ok(!fs.existsSync(`${dest}.partial`));
  } finally {
    await hub.close();
  }
  // A port nobody listens on: what "offline" looks like to fetch.
  const probe = http.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const closed = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
  await new Promise((r) => probe.close(r));
  await assert.rejects(downloadModel({ repo: 'test/tiny', dest, baseUrl: closed }), (e: Error) => e instanceof DownloadError && e.kind === 'offline' && /cannot reach http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)\. Are you offline\?/.test(e.message));
});
