// The status view's rows (webview-ui/sections.ts): what each section says for a given StatusModel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { webview } from '../../../protocol';
import { episodeRows, isTraining, learningRows, loopText, stateRows, type Row } from '../../../webview-ui/sections';

type Learning = NonNullable<webview.StatusModel['learning']>;
const base: webview.StatusModel = { label: 'ready', summary: 'on', enabled: true, trusted: true, trainerPid: 42, restarts: 1, modelPath: '/m', adapterVersion: 2, storagePath: '/s' };
const learning: Learning = {
  state: 'training', schedule: 'idle', serving: 2, pending: 5, trained: 32, step: 3, steps: 8, loss: 0.123456,
  skipped: { redacted: 2, stale: 0 },
  versions: [{ version: 1, valid: true }, { version: 2, valid: true }, { version: 3, valid: false, problem: 'corrupt' }],
  lastRound: { at: 0, outcome: 'rejected', reason: 'drift 0.9 > 0.5', episodes: 16, steps: 8, ms: 1 },
  lastPromotion: { at: -1, outcome: 'promoted', version: 2, episodes: 16, steps: 8, ms: 1 },
};
const row = (rows: Row[], name: string) => rows.find((r) => r.name === name);

test('state: serving version, restarts flagged, untrusted says so', () => {
  const rows = stateRows(base);
  assert.equal(row(rows, 'Adapter serving')?.value, 'v2');
  assert.equal(row(rows, 'Trainer process')?.value, 'pid 42');
  assert.equal(row(rows, 'Restarts after a crash')?.warn, true);
  assert.equal(row(stateRows({ ...base, enabled: false, trusted: false, adapterVersion: 0 }), 'Workspace')?.value, 'off (untrusted workspace)');
});

test('episodes: outcome badges and storage share of the budget', () => {
  const zero = { unchanged: 0, edited: 0, deleted: 0, unknown: 0 };
  const rows = episodeRows({
    counts: { total: 9, open: 1, complete: 8, byOutcome: { accepted: 3, partial: 1, rejected: 4, notShown: 1, pending: 0 }, bySurvival: { ...zero, unchanged: 2 }, withDiagnostics: 1, testPass: 2, testFail: 0, committed: 1, corrected: 0 },
    recordingEnabled: true, bytes: 190 * 1048576, maxBytes: 200 * 1048576, replayIssues: ['torn tail'],
  });
  assert.deepEqual(row(rows, 'By outcome')?.items?.map((i) => `${i.text}=${i.badge}`), ['accepted=3', 'partly accepted=1', 'rejected=4', 'not shown=1', 'pending=0']);
  assert.equal(row(rows, 'Storage')?.value, '190.0 of 200 MB (95%)');
  assert.equal(row(rows, 'Storage')?.warn, true);
  assert.equal(row(rows, 'Log repairs')?.value, 'torn tail');
});

test('learning: progress, skipped reasons, rejected round, versions with the serving one marked', () => {
  assert.equal(isTraining(learning), true);
  assert.equal(loopText(learning), 'training — step 3 of 8, loss 0.1235');
  const rows = learningRows(learning);
  assert.deepEqual(row(rows, 'Skipped')?.items, [{ text: 'redacted', badge: '2' }]);
  const last = rows.find((r) => r.name === 'Last round')!;
  assert.match(last.value!, /^rejected on 16 episodes, 8 steps,.* — drift 0\.9 > 0\.5$/);
  assert.equal(last.warn, true);
  assert.match(rows.find((r) => r.name === 'Last promotion')!.value!, /^promoted as v2 on 16 episodes/);
  const versions = rows.find((r) => r.name === 'Versions')!.items!;
  assert.deepEqual(versions.map((v) => v.text), ['v3 (invalid: corrupt)', 'v2', 'v1', 'base model']);
  assert.deepEqual(versions.filter((v) => v.current).map((v) => `${v.text} ${v.badge}`), ['v2 serving']);
  assert.equal(row(learningRows({ ...learning, state: 'idle', lastRound: undefined, lastPromotion: undefined }), 'Last promotion')?.value, 'none yet');
});
