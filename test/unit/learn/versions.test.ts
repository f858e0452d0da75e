// Which adapter serves on start: the remembered one, else the newest; a corrupt folder falls back to
// the next older valid one (down to the base model) and is reported. The loop's state file
// survives restarts and a corrupt one is replaced, not fatal.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ADAPTER_WEIGHTS, initAdapter } from '../../../server/train/adapter';
import { AdapterStore } from '../../../server/train/adapterStore';
import { resolveServing, listVersions } from '../../../server/learn/versions';
import { loadState, saveState, stateFile, emptyState } from '../../../server/learn/state';
import { MICRO, SPEC } from '../train/fixtures';
import { tempDir } from './fixtures';
import { readSafetensorsHeader } from '../../../server/model/safetensors';

function storeWith(n: number): AdapterStore {
  const store = new AdapterStore(path.join(tempDir('versions'), 'adapters'));
  for (let i = 1; i <= n; i++) {
    const a = initAdapter(MICRO, SPEC, 'micro', i);
    for (const [k, v] of a.tensors) if (k.includes('lora_B')) v.fill(i / 100);
    store.write(a, MICRO);
  }
  return store;
}

test('the newest valid version serves by default; a remembered older one is honoured; none means the base model', () => {
  const store = storeWith(3);
  assert.equal(resolveServing(store, MICRO, 'micro').version, 3);
  const r = resolveServing(store, MICRO, 'micro', 2);
  assert.equal(r.version, 2);
  assert.equal([...r.adapter!.tensors.values()][1][0], Math.fround(0.02)); // B of v2
  assert.equal(resolveServing(store, MICRO, 'micro', 0).version, 0);
  assert.equal(resolveServing(new AdapterStore(path.join(tempDir('none'), 'adapters')), MICRO, 'micro').version, 0);
});

test('a corrupt latest version falls back to the previous valid one, and the problem is reported', () => {
  const store = storeWith(3);
  fs.truncateSync(path.join(store.dir(3), ADAPTER_WEIGHTS), 20);
  fs.writeFileSync(path.join(store.dir(2), 'adapter_config.json'), '{ not json');
  const r = resolveServing(store, MICRO, 'micro');
  assert.equal(r.version, 1);
  assert.deepEqual(r.problems.map((p) => p.version), [3, 2]);
  assert.match(r.problems[0].problem, /adapter_model\.safetensors/);
  const list = listVersions(store, MICRO, 'micro');
  assert.deepEqual(list.map((v) => [v.version, v.valid]), [[1, true], [2, false], [3, false]]);
  // an adapter trained on another base model is refused too
  assert.equal(resolveServing(store, MICRO, 'other-model').version, 0);
});

test('the listing answers from the index, but serving loads in full: a corrupt version never serves', () => {
  const store = storeWith(3);
  const listing = new AdapterStore(store.root);
  assert.deepEqual(listVersions(listing, MICRO, 'micro').map((v) => v.valid), [true, true, true]);
  assert.equal(listing.fullReads, 0, 'listing loaded an adapter');
  // v3 holds a NaN and v2 a finite value that differs from what was written; both keep size and mtime.
  for (const [v, value] of [[3, NaN], [2, 0.25]] as const) {
    const file = path.join(store.dir(v), ADAPTER_WEIGHTS);
    const { atime, mtime } = fs.statSync(file);
    fs.utimesSync(file, atime, new Date(Math.floor(mtime.getTime() / 1000) * 1000));
    const s = new AdapterStore(store.root);
    listVersions(s, MICRO, 'micro'); // records the rounded mtime
    const t = fs.statSync(file).mtime;
    const info = [...readSafetensorsHeader(file).tensors.values()].find((x) => x.name.includes('lora_B'))!;
    const b = Buffer.alloc(4);
    b.writeFloatLE(value);
    const fd = fs.openSync(file, 'r+');
    fs.writeSync(fd, b, 0, 4, info.offset);
    fs.closeSync(fd);
    fs.utimesSync(file, atime, t);
  }
  const s = new AdapterStore(store.root);
  assert.deepEqual(listVersions(s, MICRO, 'micro').map((v) => v.valid), [true, true, true], 'the listing did not re-read them');
  const r = resolveServing(s, MICRO, 'micro');
  assert.equal(r.version, 1);
  assert.deepEqual(r.problems.map((p) => p.version), [3, 2]);
  assert.match(r.problems[0].problem, /non-finite/);
  assert.match(r.problems[1].problem, /bytes differ from those validated/);
  assert.equal(resolveServing(s, MICRO, 'micro', 2).version, 1, 'a remembered corrupt version is not served either');
  // What serving found is what the listing says from now on.
  assert.deepEqual(listVersions(s, MICRO, 'micro').map((v) => [v.version, v.valid]), [[1, true], [2, false], [3, false]]);
});

test('learn state round-trips through state.json; a corrupt file is reported and replaced by a fresh state', async () => {
  const dir = tempDir('state');
  const file = stateFile(dir);
  assert.deepEqual(loadState(file, () => assert.fail('no warning for a missing file')), emptyState());
  await saveState(file, { ...emptyState(), serving: 2, consumed: ['a', 'b'], skipped: { redacted: 1 }, trained: 5 });
  const s = loadState(file, () => undefined);
  assert.equal(s.serving, 2);
  assert.deepEqual(s.consumed, ['a', 'b']);
  assert.equal(s.skipped.redacted, 1);
  fs.writeFileSync(file, '{"serving": 2, ');
  const warnings: string[] = [];
  assert.deepEqual(loadState(file, (m) => warnings.push(m)), emptyState());
  assert.match(warnings[0], /not valid JSON/);
});
