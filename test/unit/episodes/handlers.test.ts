import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';
import { episodes } from '../../../protocol';
import { createServerContext } from '../../../server/context';
import { registerEpisodesHandlers } from '../../../server/episodes/handlers';
import { EpisodeStore } from '../../../server/episodes/store';
import { sampleEpisode } from './helpers';

function pair() {
  const a = new PassThrough();
  const b = new PassThrough();
  const server = createMessageConnection(new StreamMessageReader(a), new StreamMessageWriter(b));
  const client = createMessageConnection(new StreamMessageReader(b), new StreamMessageWriter(a));
  return { server, client };
}

test('episodes/* over JSON-RPC: nothing stored until recording is enabled; then append, event, query, counts, export, forget', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hs-handlers-'));
  const { server, client } = pair();
  const control = createServerContext(server);
  registerEpisodesHandlers(server, control.ctx);
  server.listen();
  client.listen();
  await control.initialize({ storageDir: dir, recordingEnabled: false, modelPath: '', clientVersion: 'test' });

  const off = await client.sendRequest(episodes.append, { episode: sampleEpisode('x1') });
  assert.equal(off.stored, false);
  assert.match(off.reason!, /recording is off/);
  assert.equal((await client.sendRequest(episodes.counts)).counts.total, 0);
  const file = EpisodeStore.fileIn(dir);
  assert.equal(fs.existsSync(file) ? fs.statSync(file).size : 0, 0, 'nothing on disk');

  await control.configure({ recordingEnabled: true });
  assert.deepEqual(await client.sendRequest(episodes.append, { episode: sampleEpisode('x1', 10) }), { stored: true });
  assert.deepEqual(await client.sendRequest(episodes.event, { id: 'x1', event: { type: 'notShown', at: 11, visibleMs: 50 } }), { stored: true });
  const q = await client.sendRequest(episodes.query, { status: 'complete' });
  assert.deepEqual(q.episodes.map((e) => e.id), ['x1']);
  const c = await client.sendRequest(episodes.counts);
  assert.equal(c.counts.byOutcome.notShown, 1);
  assert.equal(c.recordingEnabled, true);
  assert.ok(c.bytes > 0);

  const out = path.join(dir, 'out.jsonl');
  assert.deepEqual(await client.sendRequest(episodes.exportJsonl, { path: out }), { path: out, episodes: 1 });
  assert.equal(JSON.parse(fs.readFileSync(out, 'utf8').trim()).id, 'x1');

  // Pushes are debounced: one from the append may still be due while forget runs; wait for the empty one.
  const pushed = new Promise<episodes.CountsResult>((r) => client.onNotification(episodes.countsChanged, (c) => c.counts.total === 0 && r(c)));
  const f = await client.sendRequest(episodes.forget);
  assert.equal(f.deletedEpisodes, 1);
  assert.equal((await pushed).counts.total, 0);
  await assert.rejects(client.sendRequest(episodes.settings, { maxMB: -1 }), /positive number/);
  assert.equal((await client.sendRequest(episodes.settings, { maxMB: 5 })).maxBytes, 5 * 1024 * 1024);
  await control.shutdown();
  client.dispose();
  server.dispose();
});
