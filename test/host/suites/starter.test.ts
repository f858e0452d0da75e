// The bundled Hindsight Starter in the real editor, as a new user gets it: no hindsight.model.path,
// default completion settings (greedy, default debounce). The trainer loads the starter from the
// extension's own models/ folder, and typing in a demo-like file shows a suggestion from it.
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { enableWith, hindsight, openAtEnd, until } from '../helpers';

/**
 * File, text before the cursor (its last character is typed), and the suggestion the starter must
 * make there: lines it completes exactly (greedy, prefix-only prompt, token healing), as its
 * bench and a probe of such small files show it does — a field type after `name: ` in a TypeScript
 * interface, and the guard a function opens with after `if ` when the file's other functions do.
 */
const CASES: { file: string; before: string; expect: RegExp }[] = [
  {
    file: 'src/starter_check.ts',
    before: 'export interface Item {\n  sku: string;\n  name: ',
    expect: /^string;$/,
  },
  {
    file: 'py/starter_check.py',
    before: 'def mean(values):\n    if not values:\n        raise ValueError("mean of an empty list")\n    return sum(values) / len(values)\n\n\ndef median(values):\n    if ',
    expect: /^not values:$/,
  },
];

suite('the bundled Hindsight Starter model', function () {
  this.timeout(180_000);

  test('with no model setting, the trainer loads the starter and typing shows its suggestion', async () => {
    delete process.env.HINDSIGHT_TEST_COMPLETION_FIXTURE;
    assert.equal(vscode.workspace.getConfiguration('hindsight').get('model.path'), '', 'no model configured');
    const api = await hindsight();
    const { outcome } = await enableWith(api, true);
    assert.equal(outcome.enabled, true);
    await until(api, () => api.state().trainer.state === 'ready', 60_000, 'the trainer');
    const status = await api.trainerStatus();
    assert.equal(path.basename(status.modelPath ?? ''), 'hindsight-starter', `model ${status.modelPath}`);
    // The model loads after the trainer is ready (slowly on a loaded machine): suggestions start then.
    for (const end = Date.now() + 120_000; (await api.trainerStatus()).model.kind !== 'ready'; ) {
      assert.ok(Date.now() < end, `the model did not load: ${JSON.stringify((await api.trainerStatus()).model)}`);
      await new Promise((r) => setTimeout(r, 250));
    }

    const ws = vscode.workspace.workspaceFolders![0].uri.fsPath;
    for (const c of CASES) {
      await openAtEnd(ws, c.file, c.before.slice(0, -1));
      const before = api.signals.tracker.lastShown?.id;
      await vscode.commands.executeCommand('type', { text: c.before.slice(-1) });
      // The first request may arrive while the model still loads: ask again until it answers.
      let id: string | undefined;
      for (let k = 1, end = Date.now() + 60_000; !id && Date.now() < end; k++) {
        await new Promise((r) => setTimeout(r, 250));
        const shown = api.signals.tracker.lastShown;
        if (shown && shown.id !== before) id = shown.id;
        else if (k % 12 === 0) await vscode.commands.executeCommand('editor.action.inlineSuggest.trigger'); // every 3 s
      }
      assert.ok(id, `no suggestion in ${c.file}; provider ${JSON.stringify(api.signals.provider.stats)}`);
      await api.signals.flush();
      const episode = (await api.signals.query({ id })).episodes[0];
      assert.ok(episode, 'the suggestion was recorded');
      assert.equal(episode.model, 'hindsight-starter');
      assert.match(episode.suggestion, c.expect, `suggestion ${JSON.stringify(episode.suggestion)} after ${JSON.stringify(c.before)}`);
    }
  });
});
