// bench:learn's smoke run: the trainer process (dist/server.js, built when stale) with the bundled
// starter model, driven over its own protocol by the simulated developer for two rounds of the
// default rule, with the inverted-labels check. Asserts that the run completes, reports every
// preference, and that a batch trained on inverted labels is not promoted (the bench's exit code
// says so too). How much is learned is the full bench's business, not a unit test's.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEFAULT_RULE } from '../../../server/learn/rule';

const root = path.join(__dirname, '../../..');

test('bench:learn --smoke: two rounds on the starter over the trainer protocol; inverted labels are not promoted', { timeout: 300_000 }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-learn-smoke-'));
  try {
    const out = path.join(dir, 'learn.json');
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'bench/learn.ts', '--smoke', '--json-out', out], { cwd: root, encoding: 'utf8', timeout: 280_000 });
    assert.equal(r.status, 0, `bench:learn --smoke exited ${r.status}\n${r.stderr.slice(-3000)}`);
    const json = JSON.parse(fs.readFileSync(out, 'utf8')) as { bench: string; mode: string; config: string; preferences: { name: string; margins: number[] }[]; inverted_labels_promoted: boolean; bpb_regression: number | null };
    assert.equal(json.bench, 'learn');
    assert.equal(json.mode, 'smoke');
    assert.equal(json.config, DEFAULT_RULE);
    assert.deepEqual(json.preferences.map((p) => p.name), ['helper', 'quoting', 'api', 'literal']);
    for (const p of json.preferences) assert.equal(p.margins.length, 3, `${p.name}: a margin before training and after each of the 2 rounds`);
    assert.equal(json.inverted_labels_promoted, false);
    assert.ok(Number.isFinite(json.bpb_regression), 'forgetting is measured');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
