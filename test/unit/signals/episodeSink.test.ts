import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EpisodeSink } from '../../../src/signals/episodeSink';
import type { episodes } from '../../../protocol';

const shown = (id: string): episodes.Shown => ({ id, completionId: `c-${id}`, createdAt: 1, uri: 'file:///ws/a.ts', relPath: 'a.ts', offset: 0, line: 0, suggestion: 'x' });

// A fake trainer connection: records calls in arrival order and answers after a delay, slower
// for appends, so an event that did not wait for its episode would arrive first.
function fakeClient(store: boolean) {
  const calls: string[] = [];
  const client = {
    isReady: true,
    sendRequest: async (type: { method: string }, params: { shown?: { id: string }; id?: string; event?: { type: string } }) => {
      await new Promise((r) => setTimeout(r, type.method === 'episodes/append' ? 30 : 1));
      calls.push(type.method === 'episodes/append' ? `append ${params.shown!.id}` : `event ${params.id} ${params.event!.type}`);
      return store ? { stored: true } : { stored: false, reason: 'recording is off' };
    },
  };
  const logs: string[] = [];
  const log = { info: (m: string) => logs.push(m), warn: (m: string) => logs.push(m) };
  return { client, calls, logs, log };
}

test('events wait for their episode and keep their order', async () => {
  const f = fakeClient(true);
  const sink = new EpisodeSink(f.client as never, f.log as never);
  void sink.append(shown('a'));
  void sink.event('a', { type: 'rejected', at: 1, reason: 'timeout', visibleMs: 1 });
  void sink.event('a', { type: 'typedInstead', at: 2, text: 'x' });
  await sink.flush();
  assert.deepEqual(f.calls, ['append a', 'event a rejected', 'event a typedInstead']);
});

test('events of an episode that was not stored are dropped; the reason is logged once', async () => {
  const f = fakeClient(false);
  const sink = new EpisodeSink(f.client as never, f.log as never);
  assert.equal(await sink.append(shown('b')), false);
  assert.equal(await sink.event('b', { type: 'notShown', at: 1, visibleMs: 1 }), false);
  await sink.append(shown('c'));
  await sink.flush();
  assert.deepEqual(f.calls, ['append b', 'append c']);
  assert.equal(f.logs.filter((l) => /recording is off/.test(l)).length, 1);
});

test('nothing is sent while the trainer is not running', async () => {
  const f = fakeClient(true);
  f.client.isReady = false;
  const sink = new EpisodeSink(f.client as never, f.log as never);
  assert.equal(await sink.append(shown('d')), false);
  assert.deepEqual(f.calls, []);
});

test('after forgetAll (the workspace data was deleted) events of earlier episodes are dropped silently; new episodes record', async () => {
  const f = fakeClient(true);
  const sink = new EpisodeSink(f.client as never, f.log as never);
  await sink.append(shown('old'));
  sink.forgetAll();
  assert.equal(await sink.event('old', { type: 'notShown', at: 1, visibleMs: 1 }), false);
  assert.equal(await sink.event('from-before-a-reload', { type: 'notShown', at: 1, visibleMs: 1 }), false);
  await sink.append(shown('new'));
  assert.equal(await sink.event('new', { type: 'notShown', at: 2, visibleMs: 1 }), true);
  await sink.flush();
  assert.deepEqual(f.calls, ['append old', 'append new', 'event new notShown']);
  assert.deepEqual(f.logs, [], 'nothing logged for the dropped events');
});
