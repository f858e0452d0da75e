// Status bar words for each state: off when not opted in or untrusted, the trainer's state otherwise.
import test from 'node:test';
import assert from 'node:assert/strict';
import { present } from '../../../src/status/presentation';

const trainer = (state: any, restarts = 0, detail?: string) => ({ state, restarts, detail });

test('off unless enabled and trusted, whatever the trainer does', () => {
  assert.equal(present({ enabled: false, trusted: true, trainer: trainer('stopped') }).label, 'off');
  const untrusted = present({ enabled: true, trusted: false, trainer: trainer('ready') });
  assert.equal(untrusted.label, 'off');
  assert.match(untrusted.tooltip, /not trusted/);
});

test('maps each trainer state to a label and severity', () => {
  const on = (state: string, restarts = 0) => present({ enabled: true, trusted: true, trainer: trainer(state, restarts, 'why') });
  assert.equal(on('starting').label, 'starting');
  assert.equal(on('ready').label, 'ready');
  assert.equal(on('ready').text, '$(check) Hindsight: ready');
  assert.equal(on('training').label, 'training');
  assert.equal(on('restarting').label, 'restarting');
  assert.equal(on('restarting').severity, 'warning');
  assert.equal(on('error').severity, 'error');
  assert.equal(on('failed').label, 'error');
  assert.match(on('failed').tooltip, /why/);
});

test('says so after a restart', () => {
  const p = present({ enabled: true, trusted: true, trainer: trainer('ready', 2) });
  assert.equal(p.text, '$(check) Hindsight: ready (restarted)');
  assert.match(p.tooltip, /restarted 2 times/);
});
