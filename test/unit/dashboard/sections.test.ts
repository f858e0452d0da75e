// The status view's rows (webview-ui/sections.ts): what each section says for a given StatusModel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { webview } from '../../../protocol';
import { episodeRows, etaText, isLoadingModel, isTraining, learningRows, loopText, modelRows, stateRows, suggestionRow, type Row } from '../../../webview-ui/sections';
import { suggestionCounts } from '../../../src/dashboard/suggestionCounts';

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
  assert.deepEqual(row(rows, 'Skipped')?.items, [{ text: 'secrets redacted', badge: '2' }]);
  const last = rows.find((r) => r.name === 'Last round')!;
  assert.match(last.value!, /^rejected on 16 episodes, 8 steps,.* — drift 0\.9 > 0\.5$/);
  assert.equal(last.warn, true);
  assert.match(rows.find((r) => r.name === 'Last promotion')!.value!, /^promoted as v2 on 16 episodes/);
  const versions = rows.find((r) => r.name === 'Versions')!.items!;
  assert.deepEqual(versions.map((v) => v.text), ['v3 (invalid: corrupt)', 'v2', 'v1', 'base model']);
  assert.deepEqual(versions.filter((v) => v.current).map((v) => `${v.text} ${v.badge}`), ['v2 serving']);
  assert.equal(row(learningRows({ ...learning, state: 'idle', lastRound: undefined, lastPromotion: undefined }), 'Last promotion')?.value, 'none yet');
});

const facts = { name: 'tiny', architecture: 'qwen2', parameters: 9_800_000, bytes: 39_200_000, dtype: 'F32', layers: 2, contextLength: 32768 };

test('state: the model row in each state, and the folder row only where there is a folder', () => {
  assert.deepEqual(modelRows({ kind: 'none' }), [{ name: 'Model', value: 'none — no suggestions until one is set (hindsight.model.path)', warn: true }]);
  assert.deepEqual(modelRows({ kind: 'loading', path: '/m/tiny', name: 'tiny', step: 'converting the weights to 4-bit', fraction: 0.5, startedAt: 0 }), [
    { name: 'Model', value: 'loading tiny: converting the weights to 4-bit (50%)' },
    { name: 'Model folder', value: '/m/tiny' },
  ]);
  assert.equal(modelRows({ kind: 'loading', path: '/m/tiny', name: 'tiny', step: 'starting ONNX Runtime', startedAt: 0 })[0].value, 'loading tiny: starting ONNX Runtime');
  assert.deepEqual(modelRows({ kind: 'failed', path: '/m/x', name: 'x', reason: 'config.json: not valid JSON' })[0], { name: 'Model', value: 'x could not be loaded: config.json: not valid JSON', warn: true });
  const ready = modelRows({ kind: 'ready', path: '/m/tiny', facts, weights: 'full', compute: 'float32', device: 'cpu', loadMs: 850 });
  assert.deepEqual(ready.map((r) => r.value), ['tiny — 10M parameters, 39.2 MB (F32)', 'the CPU, served at float32; loaded in 850 ms', '/m/tiny']);
  // In the State section: model rows when the trainer reported them, the folder setting otherwise.
  assert.equal(row(stateRows({ ...base, model: { kind: 'none' } }), 'Model')?.warn, true);
  assert.equal(row(stateRows(base), 'Model folder')?.value, '/m');
  assert.equal(isLoadingModel({ ...base, model: { kind: 'loading', path: '/m', name: 'm', step: 's', startedAt: 0 } }), true);
  assert.equal(isLoadingModel(base), false);
});

test('suggestions: requests and what they came to, failures flagged; nothing before the first request', () => {
  assert.deepEqual(suggestionCounts({ requests: 0, served: 0, skipped: {} }), {});
  const c = suggestionCounts({ requests: 10, served: 5, skipped: { empty: 2, failed: 1, unavailable: 1, cancelled: 1, stale: 4 } }).suggestions!;
  assert.deepEqual(c, { requested: 10, shown: 5, empty: 2, failed: 1, unavailable: 1, cancelled: 1 });
  const r = suggestionRow(c);
  assert.deepEqual(r.items?.map((i) => `${i.text}=${i.badge}`), ['requested=10', 'shown=5', 'empty=2', 'failed=1', 'no model=1', 'superseded=1']);
  assert.equal(r.warn, true);
  assert.equal(suggestionRow({ ...c, failed: 0 }).warn, false);
});

test('learning: time left while a round runs, "cancelling…" once asked, a cancelled round is not a warning', () => {
  assert.equal(loopText({ ...learning, etaMs: 125_000 }), 'training — step 3 of 8, loss 0.1235 — about 2 min left');
  assert.equal(loopText({ ...learning, etaMs: 125_000, cancelling: true }), 'training — step 3 of 8, loss 0.1235 — cancelling…');
  assert.equal(loopText({ ...learning, state: 'idle', step: undefined, steps: undefined, etaMs: 5 }), 'idle');
  assert.deepEqual([etaText(400), etaText(42_000), etaText(7.4 * 60_000), etaText(2.5 * 3600_000)], ['about 1 s left', 'about 42 s left', 'about 7 min left', 'about 2.5 h left']);
  const cancelled = learningRows({ ...learning, lastRound: { at: 0, outcome: 'cancelled', reason: 'cancelled from the editor', episodes: 16, steps: 2, ms: 1 } });
  assert.equal(row(cancelled, 'Last round')?.warn, false);
  assert.match(row(cancelled, 'Last round')!.value!, /^cancelled on 16 episodes, 2 steps/);
});
