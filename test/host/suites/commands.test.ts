// Commands: every contributed command is registered; unbuilt features say so plainly; status and
// logs open.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { placeholders } from '../../../src/commands';
import { EXTENSION_ID, hindsight } from '../helpers';

suite('commands', () => {
  test('every command in package.json is registered', async () => {
    await hindsight();
    const contributed: { command: string }[] = vscode.extensions.getExtension(EXTENSION_ID)!.packageJSON.contributes.commands;
    const registered = new Set(await vscode.commands.getCommands(true));
    const missing = contributed.map((c) => c.command).filter((c) => !registered.has(c));
    assert.deepEqual(missing, []);
    assert.ok(contributed.length >= 7);
  });

  test('commands whose feature is not built yet say so instead of pretending', async () => {
    await hindsight();
    for (const id of Object.keys(placeholders)) {
      const r = await vscode.commands.executeCommand<{ available: boolean; message: string }>(id);
      assert.equal(r.available, false, id);
      assert.match(r.message, /not available yet/, id);
    }
  });

  test('"Show status" opens the status view', async () => {
    await hindsight();
    await vscode.commands.executeCommand('hindsight.showStatus');
    const find = () => vscode.window.tabGroups.all.flatMap((g) => g.tabs).find((t) => t.label === 'Hindsight Status');
    const end = Date.now() + 10_000;
    while (!find() && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
    const tab = find();
    assert.ok(tab, `status view tab; tabs: ${vscode.window.tabGroups.all.flatMap((g) => g.tabs).map((t) => t.label).join(', ')}`);
    assert.ok(tab.input instanceof vscode.TabInputWebview);
    await vscode.window.tabGroups.close(tab);
  });

  test('"Show logs" runs', async () => {
    await hindsight();
    await vscode.commands.executeCommand('hindsight.showLogs');
  });
});
