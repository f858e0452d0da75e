// The learning loop in a real editor: a generated tiny model serves real suggestions, two are
// accepted and settle (short survival checkpoints), "Hindsight: Train now" runs a round in the
// trainer's learn worker, the promoted adapter version shows in the learning status and in the
// trainer status, the next suggestion is stored with that adapterVersion, and "Roll back adapter"
// returns serving to the base model. Settings: the `learn` run in test/host/runs.ts.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import type { learn } from '../../../protocol';
import { openAtEnd, typeUntilSuggestion, until, withGeneratedModel } from '../helpers';

suite('learning loop with a generated tiny model', function () {
  this.timeout(150_000);

  test('train now promotes an adapter that serving uses at once; roll back returns to the base model', async () => {
    const { api, decisions, ws } = await withGeneratedModel();
    // The run's hindsight.training.schedule ('manual') reaches the trainer with the other settings.
    await until(api, () => api.learn.status()?.state === 'idle' && api.learn.status()?.schedule === 'manual', 60_000, 'the learning loop with the run\'s settings');

    await openAtEnd(ws, 'src/learn.ts', 'export function add(a: number, b: number) {\n  return ');

    // Two accepted suggestions that survive their (1 s) checkpoint: settled, reward +0.75 each.
    const accepted: string[] = [];
    for (let i = 0; i < 2; i++) {
      const id = await typeUntilSuggestion(api);
      await new Promise((r) => setTimeout(r, 300));
      await vscode.commands.executeCommand('editor.action.inlineSuggest.commit');
      await until(api, () => decisions.find((d) => d.id === id && d.event.type === 'accepted'), 10_000, 'accepted');
      accepted.push(id);
    }
    await api.signals.flush();
    await until(api, () => (api.learn.status()?.pending ?? 0) >= 2, 30_000, 'two settled episodes pending');

    // The status bar shows 'training' while the round runs (the trainer state), then 'ready' again.
    const labels: string[] = [];
    const sub = api.onDidChangeState(() => labels.push(api.state().statusBar.label));
    const r = await vscode.commands.executeCommand<learn.TrainNowResult>('hindsight.trainNow');
    assert.equal(r?.started, true, JSON.stringify(r));
    assert.equal(r!.report!.outcome, 'promoted', JSON.stringify(r!.report));
    const version = r!.report!.version!;
    assert.ok(version >= 1);
    const s = await until(api, () => api.learn.status()?.serving === version && api.learn.status(), 10_000, `serving v${version}`);
    assert.ok(s.versions.some((v) => v.version === version && v.valid));
    assert.equal(s.lastPromotion?.version, version);
    assert.ok(s.trained >= 2);
    assert.equal((await api.trainerStatus()).adapterVersion, version);
    await until(api, () => api.state().statusBar.label === 'ready', 10_000, 'ready after training');
    sub.dispose();
    assert.ok(labels.includes('training'), `status bar labels during the round: ${labels.join(', ')}`);

    // The next suggestion comes from the new adapter and is recorded with its version.
    const after = await typeUntilSuggestion(api);
    await api.signals.flush();
    const ep = (await api.signals.query({ id: after })).episodes[0];
    assert.equal(ep.adapterVersion, version);

    const back = await vscode.commands.executeCommand<learn.RollbackResult>('hindsight.rollbackAdapter', { version: 0 });
    assert.deepEqual(back, { from: version, to: 0 });
    await until(api, () => api.learn.status()?.serving === 0, 10_000, 'serving the base model again');
    assert.equal((await api.trainerStatus()).adapterVersion, 0);
  });
});
