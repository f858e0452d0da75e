// The generated-files cache: one folder per model content (not per path or mtime), hard links to
// the weights, stale folders pruned (models gone, or beyond the most recent few), nothing written
// into the model folder.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openWeights } from '../../../server/model/safetensors';
import { loadConfig } from '../../../server/model/config';
import { contentKey, modelCacheDir, pruneCache } from '../../../server/model/modelCache';
import type { ModelFolder } from '../../../server/model/folder';
import { smallModel, tempDir } from './fixtures';

const folderOf = (dir: string, name = path.basename(dir)): ModelFolder => ({ dir, name, cfg: loadConfig(dir), tensors: openWeights(dir), tokenizerFile: '' });

test('the cache key follows the content: a copy shares it, changed weights or config do not', () => {
  const { dir } = smallModel('key-a');
  const copy = tempDir('key-copy');
  for (const f of fs.readdirSync(dir)) fs.copyFileSync(path.join(dir, f), path.join(copy, f));
  const touched = new Date(Date.now() - 3600_000);
  fs.utimesSync(path.join(copy, 'model.safetensors'), touched, touched);
  assert.equal(contentKey(folderOf(copy)), contentKey(folderOf(dir)), 'same bytes in another folder, another mtime');
  const other = smallModel('key-b', {}, { seed: 8 }).dir;
  assert.notEqual(contentKey(folderOf(other)), contentKey(folderOf(dir)), 'other weights');
  const cfg = JSON.parse(fs.readFileSync(path.join(copy, 'config.json'), 'utf8'));
  fs.writeFileSync(path.join(copy, 'config.json'), JSON.stringify({ ...cfg, rope_theta: 1234 }));
  assert.notEqual(contentKey(folderOf(copy)), contentKey(folderOf(dir)), 'another config');
});

test('a cache folder links the weights, records its source, and leaves the model folder alone', () => {
  const { dir } = smallModel('cache-dir', {}, { shards: 2 });
  const before = fs.readdirSync(dir).sort();
  const root = tempDir('cache-root');
  const at = modelCacheDir(root, folderOf(dir, 'my model'));
  assert.match(path.basename(at), /^my_model-[0-9a-f]{16}$/);
  const shards = fs.readdirSync(at).filter((f) => f.endsWith('.safetensors'));
  assert.equal(shards.length, 2);
  for (const f of shards) assert.equal(fs.statSync(path.join(at, f)).ino, fs.statSync(path.join(dir, f)).ino);
  assert.equal(JSON.parse(fs.readFileSync(path.join(at, '.source.json'), 'utf8')).dir, path.resolve(dir));
  assert.equal(modelCacheDir(root, folderOf(dir, 'my model')), at, 'reused');
  assert.deepEqual(fs.readdirSync(dir).sort(), before);
});

test('pruning: folders of models that are gone go; of those present, the two most recent stay; recent ones are never touched; folders not named as ours stay', () => {
  const root = tempDir('prune');
  const now = Date.now();
  const day = 24 * 3600_000;
  const present = tempDir('prune-src');
  const key = (name: string) => `${name}-${Buffer.from(name).toString('hex').padEnd(16, '0').slice(0, 16)}`;
  const entry = (name: string, source: string, usedAt: number) => {
    fs.mkdirSync(path.join(root, key(name)));
    fs.writeFileSync(path.join(root, key(name), '.source.json'), JSON.stringify({ dir: source, usedAt }));
  };
  entry('in-use', present, now - 5 * day);
  entry('gone-old', path.join(present, 'deleted'), now - 2 * day);
  entry('gone-recent', path.join(present, 'deleted'), now - 3600_000);
  entry('a', present, now - 2 * day);
  entry('b', present, now - 3 * day);
  entry('c', present, now - 4 * day);
  fs.mkdirSync(path.join(root, key('legacy'))); // ours, from before .source.json: its source is unknown
  fs.mkdirSync(path.join(root, 'notes')); // not ours
  fs.mkdirSync(path.join(root, 'old-model-cache'));
  const removed = pruneCache(root, path.join(root, key('in-use')), now).sort();
  assert.deepEqual(removed, ['c', 'gone-old', 'legacy'].map((n) => path.join(root, key(n))).sort());
  assert.deepEqual(fs.readdirSync(root).sort(), [...['a', 'b', 'gone-recent', 'in-use'].map(key), 'notes', 'old-model-cache'].sort());
});
