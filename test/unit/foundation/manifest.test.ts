// The extension manifest: every command in the "Hindsight" category with a title, every
// hindsight.* setting described, the untrusted-workspace capability declared.
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '../../../package.json'), 'utf8'));

test('the seven foundation commands are contributed in the Hindsight category', () => {
  const ids = pkg.contributes.commands.map((c: { command: string }) => c.command);
  for (const id of ['enableWorkspace', 'disableWorkspace', 'correctThis', 'showStatus', 'rollbackAdapter', 'forgetWorkspaceData', 'showLogs']) {
    assert.ok(ids.includes(`hindsight.${id}`), `hindsight.${id} missing`);
  }
  for (const c of pkg.contributes.commands) {
    assert.equal(c.category, 'Hindsight', `${c.command} category`);
    assert.ok(c.title && c.title.length > 3, `${c.command} title`);
  }
});

test('settings are described and namespaced', () => {
  const props = pkg.contributes.configuration.properties;
  for (const key of ['hindsight.model.path', 'hindsight.inlineSuggestions.enabled', 'hindsight.languages', 'hindsight.exclude', 'hindsight.training.schedule']) {
    assert.ok(props[key], `${key} missing`);
  }
  for (const [key, p] of Object.entries<any>(props)) {
    assert.ok(key.startsWith('hindsight.'), key);
    assert.ok((p.description ?? p.markdownDescription ?? '').length > 10, `${key} has no description`);
  }
});

test('declares limited support for untrusted workspaces and the engine', () => {
  assert.equal(pkg.capabilities.untrustedWorkspaces.supported, 'limited');
  assert.equal(pkg.engines.vscode, '^1.100.0');
  assert.equal(pkg.main, './dist/extension.js');
});

test('README lists every setting (generated table up to date) and every command title', () => {
  const root = path.join(__dirname, '../../..');
  const r = spawnSync(process.execPath, ['scripts/docs-settings.mjs', '--check'], { cwd: root, encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
  for (const c of pkg.contributes.commands) assert.ok(readme.includes(c.title), `README does not mention the command "${c.title}"`);
});
