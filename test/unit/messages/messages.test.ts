// User-facing words that must be true in every state, one assertion per branch: what "Forget this
// workspace's data" asks and says it deleted, what "Use a local model folder…" says after checking
// the folder, and why "Correct this" has no corrected version (never "stop token").
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { forgetMessage, forgetQuestion } from '../../../src/optin/forgetText';
import { folderAcceptedMessage, folderRefusedMessage, NEEDS_TRAINER } from '../../../src/model/folderText';
import { noCorrectionReason } from '../../../src/common/correctionText';

const none = { folder: '/s', episodes: 0, versions: [], state: false, other: [], bytes: 0 };

test('forget: the question names everything it deletes and where', () => {
  const q = forgetQuestion('/s');
  assert.equal(q.accept, 'Delete');
  assert.match(q.detail, /from \/s:/);
  assert.match(q.detail, /recorded episodes/);
  assert.match(q.detail, /adapters trained on them, and the learning state/);
  assert.match(q.detail, /cannot be undone/);
});

test('forget: says exactly what it deleted, and nothing when nothing was there', () => {
  assert.equal(forgetMessage(none), 'Hindsight: nothing was stored for this workspace in /s; nothing to delete.');
  assert.equal(
    forgetMessage({ ...none, episodes: 12, versions: [1, 2], state: true, bytes: 34_567 }),
    'Hindsight deleted 12 episodes, 2 trained adapters (v1, v2) and the learning state, 34.6 kB, from /s. No data derived from this workspace is left there, and no trained adapter is in use.',
  );
  assert.equal(forgetMessage({ ...none, episodes: 1, bytes: 900 }), 'Hindsight deleted 1 episode, 900 bytes, from /s. No data derived from this workspace is left there, and no trained adapter is in use.');
  // The trainer was not running: the store's folder went as files, uncounted.
  assert.match(forgetMessage({ ...none, episodes: undefined, versions: [3], bytes: 2_500_000 }), /^Hindsight deleted the recorded episodes and 1 trained adapter \(v3\), 2\.5 MB, from \/s\./);
  assert.match(forgetMessage({ ...none, state: true, other: ['cache.tmp'] }), /^Hindsight deleted the learning state and 1 other file \(cache\.tmp\), from \/s\./);
});

const facts = { name: 'tiny', architecture: 'qwen2', parameters: 9_800_000, bytes: 39_200_000, dtype: 'F32', layers: 2, contextLength: 32768 };

test('model folder: refused with the reason and the setting unchanged; accepted with what it is', () => {
  assert.equal(folderRefusedMessage('/x', '/x/config.json: cannot read (ENOENT)'), 'Hindsight cannot use /x as a model: /x/config.json: cannot read (ENOENT). hindsight.model.path was not changed.');
  assert.equal(folderAcceptedMessage('/m/tiny', facts, false), 'Hindsight will use tiny (qwen2, 10M parameters, 39.2 MB (F32)) from /m/tiny. It is loading now; the status bar shows when it is ready.');
  assert.equal(folderAcceptedMessage('/m/tiny', facts, true), 'Hindsight already uses tiny (qwen2, 10M parameters, 39.2 MB (F32)) from /m/tiny.');
  assert.match(NEEDS_TRAINER, /^Enable Hindsight for this workspace first/);
});

test('"Correct this": why there is no corrected version, for every outcome, in plain words', () => {
  const r = (kind: 'success' | 'empty' | 'cancelled' | 'unavailable' | 'failed', text = '', reason?: string) => ({ kind, text, ...(reason ? { reason } : {}) });
  assert.equal(noCorrectionReason(r('success', 'better()'), 'old()'), undefined);
  assert.equal(noCorrectionReason(r('success', 'old()'), 'old()'), 'the model offered the same code again');
  assert.equal(noCorrectionReason(r('success', '  \n'), 'old()'), 'the model had nothing to offer at that spot');
  assert.equal(noCorrectionReason(r('empty', '', 'stop token'), 'old()'), 'the model had nothing to offer at that spot');
  assert.equal(noCorrectionReason(r('cancelled'), 'old()'), 'the request was cancelled');
  assert.equal(noCorrectionReason(r('unavailable', '', 'model is loading'), 'old()'), 'no model is ready (model is loading)');
  assert.equal(noCorrectionReason(r('unavailable'), 'old()'), 'no model is ready');
  assert.equal(noCorrectionReason(r('failed', '', 'out of memory'), 'old()'), 'the model request failed (out of memory)');
  assert.equal(noCorrectionReason(r('failed'), 'old()'), 'the model request failed');
  assert.doesNotMatch(noCorrectionReason(r('empty', '', 'stop token'), 'x')!, /stop token/, 'the serving loop\'s stop reason never reaches the user');
});
