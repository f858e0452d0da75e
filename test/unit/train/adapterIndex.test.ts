// The adapter store's index (adapters/index.json): listing reads the index and stats the files, no
// tensors; a version whose files changed is validated again, once; a missing or corrupt index is
// rebuilt from the folders (with a log line); bytes changed under the same size and mtime are
// refused on load (sha256); retention deletes the oldest versions beyond the newest N except the
// protected ones, and the index follows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ADAPTER_CONFIG, ADAPTER_WEIGHTS, initAdapter } from '../../../server/train/adapter';
import { AdapterStore, ADAPTER_INDEX } from '../../../server/train/adapterStore';
import { readSafetensorsHeader } from '../../../server/model/safetensors';
import { MICRO, SPEC, tempDir } from './fixtures';

const logs: string[] = [];
const log = (level: string, message: string) => void logs.push(`${level}: ${message}`);

/** A store with versions 1..n (B filled with i/100), each written with its parent (i − 1). */
function storeWith(n: number): AdapterStore {
  const store = new AdapterStore(path.join(tempDir('index'), 'adapters'), { log });
  for (let i = 1; i <= n; i++) {
    const a = initAdapter(MICRO, SPEC, 'micro', i);
    for (const [k, v] of a.tensors) if (k.includes('lora_B')) v.fill(i / 100);
    store.write(a, MICRO, { parent: String(i - 1) });
  }
  return store;
}

/** A fresh instance over the same folder (its fullReads counter at 0). */
const reopen = (s: AdapterStore) => new AdapterStore(s.root, { log });
const weightsOf = (s: AdapterStore, v: number) => path.join(s.dir(v), ADAPTER_WEIGHTS);
const T = 1_700_000_000; // a fixed mtime (s), so a rewrite can keep size and time

/** Overwrite the first value of the first lora_B tensor in place (size unchanged). */
function poke(file: string, value: number): void {
  const info = [...readSafetensorsHeader(file).tensors.values()].find((t) => t.name.includes('lora_B'))!;
  const b = Buffer.alloc(4);
  b.writeFloatLE(value);
  const fd = fs.openSync(file, 'r+');
  fs.writeSync(fd, b, 0, 4, info.offset);
  fs.closeSync(fd);
}

const index = (s: AdapterStore) => JSON.parse(fs.readFileSync(path.join(s.root, ADAPTER_INDEX), 'utf8'));

test('writing records each version in the index; listing reads no tensor', () => {
  const store = storeWith(3);
  const idx = index(store);
  assert.deepEqual(Object.keys(idx.versions), ['1', '2', '3']);
  assert.equal(idx.versions['2'].valid, true);
  assert.match(idx.versions['2'].sha256, /^[0-9a-f]{64}$/);
  assert.equal(idx.versions['2'].parent, 1);
  assert.equal(idx.versions['2'].weights[0], fs.statSync(weightsOf(store, 2)).size);

  const s = reopen(store);
  const list = s.list(MICRO, 'micro');
  assert.deepEqual(list.map((v) => [v.version, v.valid, v.parent]), [[1, true, 0], [2, true, 1], [3, true, 2]]);
  assert.ok(list.every((v) => typeof v.createdAt === 'number'));
  assert.equal(s.fullReads, 0, 'listing read tensors');
  // Another base model: refused from the index, still without reading.
  const other = s.list(MICRO, 'other-model');
  assert.ok(other.every((v) => !v.valid && /trained on base model 'micro', not 'other-model'/.test(v.problem!)));
  assert.equal(s.fullReads, 0);
});

test('bytes corrupted under the same size and mtime: the listing does not re-read them, load refuses them (sha256)', () => {
  const store = storeWith(3);
  const file = weightsOf(store, 2);
  fs.utimesSync(file, T, T);
  const s = reopen(store);
  s.list(MICRO, 'micro'); // the new mtime: validated once
  assert.equal(s.fullReads, 1);
  // A finite value, so only the recorded sha256 can tell; size and mtime as before.
  poke(file, 0.5);
  fs.utimesSync(file, T, T);
  assert.equal(s.list(MICRO, 'micro')[1].valid, true, 'the index answered (nothing re-read)');
  assert.equal(s.fullReads, 1);
  assert.throws(() => s.load(2, MICRO, { baseModel: 'micro' }), /bytes differ from those validated when it was written/);
  // The load's finding is recorded: the listing says so from now on, still without reading.
  const after = s.list(MICRO, 'micro');
  assert.equal(after[1].valid, false);
  assert.match(after[1].problem!, /sha256/);
  assert.equal(s.fullReads, 2); // the load only
});

test('a changed file is validated again once and recorded; a vanished folder leaves the index', () => {
  const store = storeWith(3);
  poke(weightsOf(store, 3), NaN);
  fs.utimesSync(weightsOf(store, 3), T, T);
  const s = reopen(store);
  let list = s.list(MICRO, 'micro');
  assert.equal(list[2].valid, false);
  assert.match(list[2].problem!, /non-finite/);
  assert.equal(s.fullReads, 1);
  assert.ok(logs.some((l) => /adapter v3 changed on disk since it was validated; validating it again/.test(l)));
  list = s.list(MICRO, 'micro');
  assert.equal(s.fullReads, 1, 'validated once, not on every listing');
  assert.equal(index(store).versions['3'].valid, false);
  // The config changes too (size and mtime): validated again.
  fs.writeFileSync(path.join(store.dir(1), ADAPTER_CONFIG), '{ not json');
  assert.match(s.list(MICRO, 'micro')[0].problem!, /adapter_config\.json: cannot read/);
  assert.equal(s.fullReads, 2);
  // Another model geometry: validated again (shapes differ).
  const wide = { ...MICRO, hiddenSize: 48 };
  assert.ok(reopen(store).list(wide, 'micro').every((v) => !v.valid));
  fs.rmSync(store.dir(2), { recursive: true });
  assert.deepEqual(s.list(MICRO, 'micro').map((v) => v.version), [1, 3]);
  assert.deepEqual(Object.keys(index(store).versions), ['1', '3']);
});

test('a missing or corrupt index is rebuilt from the folders, each validated once, with a log line', () => {
  const store = storeWith(3);
  poke(weightsOf(store, 2), Infinity);
  const file = path.join(store.root, ADAPTER_INDEX);
  for (const [broken, why] of [[undefined, /is missing; rebuilding it from 3 version folder\(s\)/], ['{"format":1,"vers', /is corrupt \(.*\); rebuilding it from 3/], ['[]', /is corrupt \(not a format-1 index\)/]] as const) {
    if (broken === undefined) fs.rmSync(file);
    else fs.writeFileSync(file, broken);
    logs.length = 0;
    const s = reopen(store);
    const list = s.list(MICRO, 'micro');
    assert.deepEqual(list.map((v) => [v.version, v.valid]), [[1, true], [2, false], [3, true]]);
    assert.deepEqual(list.map((v) => v.parent), [0, 1, 2], 'parents come back from the safetensors metadata');
    assert.equal(s.fullReads, 3);
    assert.ok(logs.some((l) => why.test(l)), logs.join('\n'));
    assert.deepEqual(Object.keys(index(store).versions), ['1', '2', '3']);
    s.list(MICRO, 'micro');
    assert.equal(s.fullReads, 3, 'rebuilt once');
  }
  // A version written over folders the index lacks (or a corrupt index) leaves the rebuild to the listing.
  for (const broken of [undefined, '{ "format": 1, "versions": ']) {
    if (broken === undefined) fs.rmSync(file);
    else fs.writeFileSync(file, broken);
    const v = store.write(initAdapter(MICRO, SPEC, 'micro', 9), MICRO);
    if (broken === undefined) assert.equal(fs.existsSync(file), false, 'a write started an index over unindexed folders');
    else assert.equal(fs.readFileSync(file, 'utf8'), broken, 'a write overwrote the corrupt index');
    logs.length = 0;
    const s = reopen(store);
    assert.deepEqual(s.list(MICRO, 'micro').map((x) => x.valid), [true, false, ...Array(v - 2).fill(true)]);
    assert.equal(s.fullReads, v);
    assert.ok(logs.some((l) => new RegExp(`rebuilding it from ${v} version folder`).test(l)), logs.join('\n'));
  }
  // No folders and no index: nothing to say.
  logs.length = 0;
  assert.deepEqual(new AdapterStore(path.join(tempDir('empty'), 'adapters'), { log }).list(MICRO, 'micro'), []);
  assert.deepEqual(logs, []);
});

test('retention: the newest N stay, protected versions stay, the index follows; numbers are never reused', () => {
  const store = storeWith(6);
  assert.deepEqual(store.prune(0), [], '0 keeps all');
  assert.deepEqual(store.prune(2, [1]), [2, 3, 4]);
  assert.deepEqual(store.versions(), [1, 5, 6]);
  assert.deepEqual(fs.readdirSync(store.root).sort(), [ADAPTER_INDEX, 'v0001', 'v0005', 'v0006'], 'nothing half-deleted left');
  assert.deepEqual(Object.keys(index(store).versions), ['1', '5', '6']);
  const s = reopen(store);
  assert.deepEqual(s.list(MICRO, 'micro').map((v) => [v.version, v.valid]), [[1, true], [5, true], [6, true]]);
  assert.equal(s.fullReads, 0);
  assert.equal(store.write(initAdapter(MICRO, SPEC, 'micro', 7), MICRO), 7);
  assert.deepEqual(store.prune(1), [1, 5, 6]);
  assert.deepEqual(store.versions(), [7]);
});
