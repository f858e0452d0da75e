// scripts/test.mjs itself: on a fixture with one passing, one failing and one skipped test it lists
// the skipped one, prints the plain closing line `1 passed, 1 failed, 1 skipped` and exits non-zero;
// on passing tests it exits 0, and tests left out by --grep are not counted as skipped.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const root = path.join(__dirname, '../../..');
const runner = (...args: string[]) => spawnSync(process.execPath, ['scripts/test.mjs', '--only', 'unit', ...args], { cwd: root, encoding: 'utf8', env: { ...process.env, NODE_TEST_CONTEXT: undefined } });

test('counts a failure, ends with the plain closing line and exits non-zero', { timeout: 60_000 }, () => {
  const r = runner('--unit-dir', 'test/fixtures/runner');
  const lines = r.stdout.trim().split('\n');
  assert.equal(lines.at(-1), '1 passed, 1 failed, 1 skipped', r.stdout + r.stderr);
  assert.notEqual(r.status, 0);
  assert.match(r.stdout, /not ok .* fixture: fails/);
  assert.match(r.stdout, /↷ skipped: fixture: skipped \(skip: not on this machine\)/);
});

test('exits 0 when everything passes', { timeout: 60_000 }, () => {
  const r = runner('--unit-dir', 'test/fixtures/runner', '--grep', 'passes');
  assert.equal(r.stdout.trim().split('\n').at(-1), '1 passed, 0 failed, 0 skipped', r.stdout + r.stderr);
  assert.equal(r.status, 0);
});
