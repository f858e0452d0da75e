// Untrusted workspace (its own code-server run, trust enabled, folder not trusted): enabling is
// refused with the reason, nothing starts, the status bar stays off.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { enableWith, hindsight } from '../helpers';

suite('untrusted workspace', () => {
  test('the workspace really is untrusted', () => {
    assert.equal(vscode.workspace.isTrusted, false);
  });

  test('enabling is refused, says why, and asks no consent', async () => {
    const api = await hindsight();
    const { outcome, shown } = await enableWith(api, true);
    assert.equal(outcome.enabled, false);
    assert.equal(outcome.reason, 'untrusted');
    assert.match(outcome.message ?? '', /not trusted/);
    assert.equal(shown.length, 0, 'no consent dialog in an untrusted workspace');
    const s = api.state();
    assert.equal(s.enabled, false);
    assert.equal(s.trainer.state, 'stopped');
    assert.equal(s.statusBar.label, 'off');
    assert.match(s.statusBar.tooltip, /not trusted/);
    await assert.rejects(api.trainerStatus(), /not running/);
  });
});
