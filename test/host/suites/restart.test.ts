// Server restart: kill the trainer process while VS Code runs; the extension notices, the status
// bar says it is restarting, a new process comes up and the status bar says it was restarted.
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import { enableWith, hindsight, isAlive, until } from '../helpers';

suite('trainer restart', () => {
  test('a killed trainer comes back and the status bar says so', async () => {
    const api = await hindsight();
    const { outcome } = await enableWith(api, true);
    assert.equal(outcome.enabled, true);
    await until(api, () => api.state().trainer.state === 'ready', 30_000, 'trainer ready');
    const before = await api.trainerStatus();
    const labels: string[] = [];
    const sub = api.onDidChangeState(() => labels.push(api.state().statusBar.label));
    try {
      process.kill(before.pid, 'SIGKILL');
      await until(api, () => api.state().statusBar.label === 'restarting', 10_000, 'status bar: restarting');
      assert.match(api.state().statusBar.text, /restarting/);
      await until(api, () => api.state().trainer.state === 'ready', 30_000, 'trainer ready again');
    } finally {
      sub.dispose();
    }
    const after = await api.trainerStatus();
    assert.notEqual(after.pid, before.pid);
    assert.ok(isAlive(after.pid));
    assert.ok(!isAlive(before.pid));
    const s = api.state();
    assert.equal(s.trainer.restarts, 1);
    assert.match(s.statusBar.text, /ready \(restarted\)/);
    assert.match(s.statusBar.tooltip, /restarted once/);
    assert.ok(labels.includes('restarting') && labels.at(-1) === 'ready', `labels seen: ${labels.join(' → ')}`);
  });
});

suite('trainer gives up', () => {
  test('after five crashes within three minutes it stops restarting, shows error, and re-enabling recovers', async function () {
    this.timeout(90_000);
    const api = await hindsight();
    await enableWith(api, true);
    await until(api, () => api.state().trainer.state === 'ready', 30_000, 'trainer ready');
    // The earlier restart test already used one crash of the five; keep killing until it gives up.
    for (let i = 0; i < 6 && api.state().trainer.state !== 'failed'; i++) {
      const { pid } = await api.trainerStatus();
      process.kill(pid, 'SIGKILL');
      await until(api, () => ['restarting', 'failed'].includes(api.state().trainer.state), 10_000, 'crash noticed');
      if (api.state().trainer.state === 'restarting') await until(api, () => api.state().trainer.state === 'ready', 30_000, 'ready again');
    }
    const s = api.state();
    assert.equal(s.trainer.state, 'failed');
    assert.equal(s.statusBar.label, 'error');
    assert.match(s.trainer.detail ?? '', /crashed 5 times/);
    await assert.rejects(api.trainerStatus(), /not running/);
    // Turning the workspace off and on again starts over with a fresh trainer.
    await vscode.commands.executeCommand('hindsight.disableWorkspace');
    await enableWith(api, true);
    await until(api, () => api.state().trainer.state === 'ready', 30_000, 'ready after re-enabling');
    assert.equal((await api.trainerStatus()).state, 'ready');
  });
});
