// Server restart: kill the trainer process while VS Code runs; the extension notices, the status
// bar says it is restarting, a new process comes up and the status bar says it was restarted.
import * as assert from 'node:assert/strict';
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
