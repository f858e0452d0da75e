// Activation: the extension loads in a real VS Code, starts off, and spawns no trainer until opted in.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { EXTENSION_ID, hindsight } from '../helpers';

suite('activation', () => {
  test('activates on startup and exposes its API', async () => {
    const ext = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(ext, 'extension present');
    const api = await hindsight();
    assert.ok(ext.isActive);
    assert.equal(typeof api.state, 'function');
  });

  test('is off by default in a fresh trusted workspace, with no trainer process', async () => {
    const api = await hindsight();
    const s = api.state();
    assert.equal(vscode.workspace.isTrusted, true);
    assert.equal(s.trusted, true);
    assert.equal(s.enabled, false);
    assert.equal(s.trainer.state, 'stopped');
    assert.equal(s.statusBar.label, 'off');
    assert.match(s.statusBar.text, /Hindsight: off/);
    await assert.rejects(api.trainerStatus(), /not running/);
  });
});
