// What "Roll back adapter" offers (newest first, base last, serving marked, invalid left out) and
// the messages after a rollback or "Train now" (one assertion per branch), and a round's progress line.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { learn } from '../../../protocol';
import { nothingToRollBackMessage, versionPicks, rollbackMessage, trainNowMessage } from '../../../src/learn/picks';
import { etaWords, roundProgressText } from '../../../src/common/progressText';

test('versions are offered newest first with the base model last; invalid folders are not offered', () => {
  const picks = versionPicks({
    serving: 2,
    versions: [
      { version: 0, valid: true },
      { version: 1, valid: true, episodes: 16, loss: 0.1234, parent: 0 },
      { version: 2, valid: true, episodes: 8, drift: 0.05, parent: 1 },
      { version: 3, valid: false, problem: 'adapter_model.safetensors: truncated' },
    ],
  });
  assert.deepEqual(picks.map((p) => [p.version, p.label, p.description]), [
    [2, 'Adapter v2', 'serving now'],
    [1, 'Adapter v1', ''],
    [0, 'Base model (no adapter)', ''],
  ]);
  assert.equal(picks[1].detail, '16 episodes · loss 0.123 · from base model');
});

test('rollback messages say what happened', () => {
  assert.equal(rollbackMessage({ from: 3, to: 2 }), 'Hindsight: now serving the adapter v2 (was the adapter v3). New suggestions use it; training continues from it.');
  assert.equal(rollbackMessage({ from: 0, to: 0 }), 'Hindsight: already serving the base model.');
});

test('nothing to roll back to: the same versions the status view lists, invalid ones with their problem', () => {
  assert.equal(nothingToRollBackMessage({ serving: 0, versions: [{ version: 0, valid: true }] }), 'Hindsight: no adapter has been trained yet; the base model is serving.');
  assert.equal(
    nothingToRollBackMessage({ serving: 0, versions: [{ version: 0, valid: true }, { version: 1, valid: false, problem: 'trained for another model (tiny)' }] }),
    'Hindsight: there is nothing else to serve: the stored adapter v1 (trained for another model (tiny)) cannot be loaded; the base model is serving.',
  );
  assert.match(
    nothingToRollBackMessage({ serving: 2, versions: [{ version: 0, valid: false }, { version: 1, valid: false }, { version: 2, valid: true }, { version: 3, valid: false, problem: 'truncated' }] }),
    /the stored adapters v1; v3 \(truncated\) cannot be loaded; the adapter v2 is serving\.$/,
  );
});

const report = (over: Partial<learn.RoundReport>): learn.RoundReport => ({ at: 0, outcome: 'promoted', episodes: 16, steps: 4, ms: 1, ...over });

test('"Train now" says what happened, and what keeps serving only as it is', () => {
  assert.equal(trainNowMessage({ started: false, reason: '1 usable settled episode(s); a round needs at least 4' }, 0), 'Hindsight: no training round started: 1 usable settled episode(s); a round needs at least 4.');
  assert.equal(trainNowMessage({ started: false }, 0), 'Hindsight: no training round started: nothing to train on.');
  assert.equal(trainNowMessage({ started: true, report: report({ version: 4, lossBefore: 0.5, lossAfter: 0.25 }) }, 4), 'Hindsight: adapter v4 trained on 16 episodes and now serving (loss 0.500 → 0.250).');
  assert.equal(trainNowMessage({ started: true, report: report({ version: 1, episodes: 1 }) }, 1), 'Hindsight: adapter v1 trained on 1 episode and now serving.');
  // Rejected: with an adapter serving, and with none (never "the previous adapter" when there was none).
  assert.equal(trainNowMessage({ started: true, report: report({ outcome: 'rejected', reason: 'drifts too far' }) }, 2), 'Hindsight: the round on 16 episodes was rejected: drifts too far. Nothing changed. Adapter v2 keeps serving.');
  assert.equal(trainNowMessage({ started: true, report: report({ outcome: 'rejected', reason: 'drifts too far' }) }, 0), 'Hindsight: the round on 16 episodes was rejected: drifts too far. Nothing changed. Suggestions still come from the base model.');
  assert.equal(trainNowMessage({ started: true, report: report({ outcome: 'failed', reason: 'the training worker stopped' }) }, 0), 'Hindsight: the round on 16 episodes failed: the training worker stopped. Nothing changed. Suggestions still come from the base model.');
  assert.equal(trainNowMessage({ started: true, report: report({ outcome: 'cancelled', reason: 'cancelled from the editor' }) }, 3), 'Hindsight: the training round on 16 episodes was cancelled; nothing changed. Adapter v3 keeps serving. Its episodes wait for the next round.');
  for (const m of [trainNowMessage({ started: true, report: report({ outcome: 'rejected' }) }, 0), trainNowMessage({ started: true, report: report({ outcome: 'cancelled' }) }, 0)]) assert.doesNotMatch(m, /previous adapter|undefined/);
});

test('the round\'s progress line: step, checking, cancelling, time left', () => {
  assert.equal(roundProgressText({ state: 'training', step: 0, steps: 4 }), 'preparing the batch');
  assert.equal(roundProgressText({ state: 'training', step: 2, steps: 4, etaMs: 95_000 }), 'step 2 of 4, about 2 min left');
  assert.equal(roundProgressText({ state: 'evaluating', step: 4, steps: 4, etaMs: 12_400 }), 'checking the new adapter, about 12 s left');
  assert.equal(roundProgressText({ state: 'training', step: 1, steps: 4, cancelling: true }), 'cancelling…');
  assert.equal(roundProgressText({ state: 'idle' }), '');
  assert.equal(etaWords(300), '1 s');
  assert.equal(etaWords(2 * 3600_000), '2.0 h');
});
