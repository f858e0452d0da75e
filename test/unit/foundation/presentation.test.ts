// Status bar words for each state: off when not opted in or untrusted, the trainer's state otherwise,
// and the model's state (none / loading / ready / failed) next to it while the trainer runs.
import test from 'node:test';
import assert from 'node:assert/strict';
import { present } from '../../../src/status/presentation';
import type { model } from '../../../protocol';
import { bytesText, countText, modelSentence, modelShort, seconds } from '../../../src/common/modelText';

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

// ---- the model's state next to the trainer's ------------------------------------------------

const facts: model.ModelFacts = { name: 'Qwen2.5-Coder-0.5B', architecture: 'qwen2', parameters: 494_032_768, bytes: 988_097_824, dtype: 'BF16', layers: 24, contextLength: 32768 };
const ready: model.ModelState = { kind: 'ready', path: '/models/qwen', facts, weights: 'q4', compute: 'float32', device: 'cpu', loadMs: 12_345 };
const loading: model.ModelState = { kind: 'loading', path: '/models/qwen', name: 'qwen', step: 'converting the weights to 4-bit', fraction: 0.42, startedAt: 0 };
const failed: model.ModelState = { kind: 'failed', path: '/tmp/x', name: 'x', reason: '/tmp/x/config.json: cannot read (ENOENT)' };
const withModel = (m: model.ModelState, state = 'ready', restarts = 0) =>
  present({ enabled: true, trusted: true, trainer: { state: state as never, restarts, server: { state: 'ready', pid: 1, uptimeMs: 0, recordingEnabled: true, modelPath: '', adapterVersion: 0, model: m } } });

test('ready with a model: its name next to "ready", what it is and how it runs in the tooltip', () => {
  const p = withModel(ready);
  assert.equal(p.label, 'ready');
  assert.equal(p.model, 'ready');
  assert.equal(p.text, '$(check) Hindsight: ready · Qwen2.5-Coder-0.5B');
  assert.equal(p.severity, 'normal');
  assert.match(p.tooltip, /^Hindsight is on for this workspace\.\nModel Qwen2\.5-Coder-0\.5B: 494M parameters, 988\.1 MB \(BF16\), served with 4-bit weights \(float32 compute\) on the CPU; loaded in 12\.3 s\.$/);
  assert.match(modelSentence({ ...ready, weights: 'full', compute: 'float16', device: 'cuda' } as model.ModelState), /served at float16 on the GPU \(CUDA\)/);
  assert.equal(modelShort({ ...ready, facts: { ...facts, name: 'a-very-long-model-folder-name-indeed' } } as model.ModelState), 'a-very-long-model-folder-na…');
});

test('loading: a spinner and the percentage, never a bare "ready"', () => {
  const p = withModel(loading);
  assert.equal(p.text, '$(loading~spin) Hindsight: ready · loading model 42%');
  assert.match(p.tooltip, /Loading the model qwen: converting the weights to 4-bit \(42%\)\. Suggestions start when it is ready\./);
  const early = withModel({ ...loading, step: 'checking the model folder', fraction: undefined } as model.ModelState);
  assert.equal(early.text, '$(loading~spin) Hindsight: ready · loading model');
  assert.doesNotMatch(early.tooltip, /%/);
});

test('failed: a warning with the reason and what to do', () => {
  const p = withModel(failed);
  assert.equal(p.text, '$(warning) Hindsight: ready · model failed');
  assert.equal(p.severity, 'warning');
  assert.match(p.tooltip, /The model in \/tmp\/x could not be loaded: \/tmp\/x\/config\.json: cannot read \(ENOENT\)\. Choose another folder/);
});

test('no model: says there are no suggestions and how to get one', () => {
  const p = withModel({ kind: 'none' });
  assert.equal(p.text, '$(circle-large-outline) Hindsight: ready · no model');
  assert.match(p.tooltip, /No model is set, so there are no suggestions and no training\. Run "Hindsight: Download a model…"/);
});

test('training and restarted keep their own words, with the model next to them; off and errors show no model', () => {
  assert.equal(withModel(ready, 'training').text, '$(sync~spin) Hindsight: training · Qwen2.5-Coder-0.5B');
  assert.equal(withModel(ready, 'ready', 1).text, '$(check) Hindsight: ready (restarted) · Qwen2.5-Coder-0.5B');
  assert.equal(withModel(ready, 'error').text, '$(error) Hindsight: error');
  assert.equal(withModel(ready, 'starting').model, undefined);
});

test('sizes and durations in plain units', () => {
  assert.deepEqual([countText(999), countText(12_400), countText(494_032_768), countText(1_540_000_000)], ['999', '12K', '494M', '1.5B']);
  assert.deepEqual([bytesText(12), bytesText(1500), bytesText(988_097_824), bytesText(3_100_000_000)], ['12 B', '1.5 kB', '988.1 MB', '3.10 GB']);
  assert.deepEqual([seconds(250), seconds(12_345), seconds(125_000)], ['250 ms', '12.3 s', '2 min 5 s']);
});
