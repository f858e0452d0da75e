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
import { GenerationRecords } from '../../../server/serve/generation';
import { sampleEpisode, shownOf } from './helpers';

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
  const records = new GenerationRecords();
  registerEpisodesHandlers(server, control.ctx, records);
  server.listen();
  client.listen();
  await control.initialize({ storageDir: dir, recordingEnabled: false, modelPath: '', clientVersion: 'test' });

  const off = await client.sendRequest(episodes.append, { shown: shownOf(records, sampleEpisode('x1')) });
  assert.equal(off.stored, false);
  assert.match(off.reason!, /recording is off/);
  assert.equal((await client.sendRequest(episodes.counts)).counts.total, 0);
  const file = EpisodeStore.fileIn(dir);
  assert.equal(fs.existsSync(file) ? fs.statSync(file).size : 0, 0, 'nothing on disk');

  await control.configure({ recordingEnabled: true });
  const shown = shownOf(records, sampleEpisode('x1', 10));
  assert.deepEqual(await client.sendRequest(episodes.append, { shown }), { stored: true });
  assert.deepEqual(await client.sendRequest(episodes.event, { id: 'x1', event: { type: 'notShown', at: 11, visibleMs: 50 } }), { stored: true });
  const q = await client.sendRequest(episodes.query, { status: 'complete' });
  assert.deepEqual(q.episodes.map((e) => e.id), ['x1']);
  // The stored episode is the editor's Shown joined with serving's record of the generation.
  const { outcome: _o, status: _s, updatedAt: _u, events: _e, ...stored } = q.episodes[0];
  assert.deepEqual(stored, { ...sampleEpisode('x1', 10), completionId: shown.completionId });
  const c = await client.sendRequest(episodes.counts);
  assert.equal(c.counts.byOutcome.notShown, 1);
  assert.equal(c.recordingEnabled, true);
  assert.ok(c.bytes > 0);

  const out = path.join(dir, 'out.jsonl');
  assert.deepEqual(await client.sendRequest(episodes.exportJsonl, { path: out }), { path: out, episodes: 1 });
  assert.equal(JSON.parse(fs.readFileSync(out, 'utf8').trim()).id, 'x1');

  // Pushes are debounced: one from the append may still be due while forget runs; wait for the empty one.
  const pushed = new Promise<episodes.CountsResult>((r) => client.onNotification(episodes.countsChanged, (c) => c.counts.total === 0 && r(c)));
  const kept = shownOf(records, sampleEpisode('x2', 20));
  const f = await client.sendRequest(episodes.forget);
  assert.equal(f.deletedEpisodes, 1);
  assert.equal(records.size, 0, 'the generation records (workspace code) are forgotten too');
  assert.match((await client.sendRequest(episodes.append, { shown: kept })).reason!, /no longer holds generation/);
  assert.equal((await pushed).counts.total, 0);
  await assert.rejects(client.sendRequest(episodes.settings, { maxMB: -1 }), /positive number/);
  assert.equal((await client.sendRequest(episodes.settings, { maxMB: 5 })).maxBytes, 5 * 1024 * 1024);
  await control.shutdown();
  client.dispose();
  server.dispose();
});

test('episodes/append: an episode is made only from a generation serving still holds, shown as generated, asked without a hint', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hs-shown-'));
  const { server, client } = pair();
  const control = createServerContext(server);
  let clock = 1_000_000;
  const records = new GenerationRecords(3, 60_000, () => clock);
  registerEpisodesHandlers(server, control.ctx, records);
  server.listen();
  client.listen();
  await control.initialize({ storageDir: dir, recordingEnabled: true, modelPath: '', clientVersion: 'test' });
  const append = (shown: episodes.Shown) => client.sendRequest(episodes.append, { shown });

  assert.match((await append({ ...shownOf(records, sampleEpisode('a')), completionId: 'made-up' })).reason!, /no longer holds generation made-up/);
  const edited = shownOf(records, sampleEpisode('b'));
  assert.match((await append({ ...edited, suggestion: edited.suggestion + ' // mine' })).reason!, /shown text is not the text of generation/);
  const hinted = records.keep({ uri: 'file:///x.ts', languageId: 'typescript', prefix: 'a', suffix: '', hint: 'use the logger' }, { kind: 'success', text: 'log()', tokenIds: [1], logprobs: [-1], promptTokenIds: [2], adapterVersion: 0, model: 'm', elapsedMs: 1 });
  assert.match((await append({ id: 'h', completionId: hinted, createdAt: 1, uri: 'file:///x.ts', relPath: 'x.ts', offset: 1, line: 0, suggestion: 'log()' })).reason!, /"Correct this" hint/);

  // Two episodes may show one generation (the editor's cache): both are stored, naming it.
  const once = shownOf(records, sampleEpisode('c'));
  assert.deepEqual(await append(once), { stored: true });
  assert.deepEqual(await append({ ...once, id: 'c-again', createdAt: once.createdAt + 5 }), { stored: true });
  const views = (await client.sendRequest(episodes.query, {})).episodes;
  assert.deepEqual(views.filter((v) => v.completionId === once.completionId).map((v) => v.id).sort(), ['c', 'c-again']);

  // Records are bounded by count (oldest first) and by age.
  const old = shownOf(records, sampleEpisode('d'));
  shownOf(records, sampleEpisode('e'));
  shownOf(records, sampleEpisode('f'));
  shownOf(records, sampleEpisode('g'));
  assert.match((await append(old)).reason!, /no longer holds/, 'pushed out by newer ones');
  const late = shownOf(records, sampleEpisode('h'));
  clock += 60_001;
  assert.match((await append(late)).reason!, /no longer holds/, 'too old');
  assert.equal((await client.sendRequest(episodes.counts)).counts.total, 2, 'only the two good ones are stored');
  await control.shutdown();
  client.dispose();
  server.dispose();
});
