// Not opted in (the `signalsOff` run) or untrusted (the `untrusted` run): no trainer, no
// suggestion, nothing recorded, and "Correct this" says nothing was stored. The server-side refusal when recording
// is off is covered by test/unit/episodes/handlers.test.ts.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { hindsight, until } from '../helpers';

suite('editor signals when not opted in or untrusted', () => {
  test('no suggestion, no episode, Correct this records nothing', async () => {
    const api = await hindsight();
    assert.equal(api.state().enabled, false);
    const file = path.join(vscode.workspace.workspaceFolders![0].uri.fsPath, 'src', 'off.ts');
    fs.writeFileSync(file, 'const accepted = ');
    const doc = await vscode.workspace.openTextDocument(file);
    const editor = await vscode.window.showTextDocument(doc);
    const end = doc.lineAt(0).range.end;
    editor.selection = new vscode.Selection(end, end);
    const skipped = api.signals.provider.stats.skipped['trainer not running'] ?? 0;
    await vscode.commands.executeCommand('editor.action.inlineSuggest.trigger');
    await until(api, () => (api.signals.provider.stats.skipped['trainer not running'] ?? 0) > skipped, 10_000, 'the provider to decline');
    assert.equal(api.signals.provider.stats.served, 0);
    assert.equal(api.signals.tracker.lastShown, undefined);
    assert.equal(api.state().trainer.state, 'stopped');
    const r = await vscode.commands.executeCommand<{ recorded: boolean; message: string }>('hindsight.correctThis', { directive: 'this should not be stored anywhere' });
    assert.equal(r.recorded, false);
    assert.match(r.message, /off for this workspace|nothing was recorded/);
    const f = await vscode.commands.executeCommand<{ deleted: boolean; message: string }>('hindsight.forgetWorkspaceData', { confirm: true });
    assert.match(f.message, /nothing was stored for this workspace|deleted the recorded episodes|no folder/);
  });
});
