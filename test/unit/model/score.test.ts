// The score graph gives log π(target_t | context, target_<t) equal to the reference's log-softmax,
// with LoRA inputs, and masks everything outside the target.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as ort from 'onnxruntime-node';
import { Graph } from '../../../server/graph/builder';
import { openWeights } from '../../../server/model/safetensors';
import { buildScore, scoreInputs, ScoreSession } from '../../../server/model/score';
import { loadReference, referenceLogits, logSoftmax } from '../../reference/forward';
import { loraTensors, type LoraSpec } from '../../../server/model/lora';
import { Rng } from '../../../scripts/make-model';
import { smallModel, ids64, positions, maxAbsDiff } from './fixtures';

test('scoreInputs aligns targets with the positions that predict them', () => {
  assert.deepEqual(scoreInputs([1, 2, 3], [4, 5]), { inputIds: [1, 2, 3, 4], targetIds: [2, 3, 4, 5], mask: [0, 0, 1, 1] });
  assert.throws(() => scoreInputs([], [1]), /context must hold at least one token/);
});

test('token log-probs match the reference, with and without a LoRA adapter', async () => {
  const { dir, cfg } = smallModel('score');
  const spec: LoraSpec = { rank: 2, alpha: 4, targets: ['q_proj', 'up_proj'] };
  const rng = new Rng(5);
  const adapter = new Map(loraTensors(cfg, spec).map((t) => [t.name, Float32Array.from({ length: t.shape[0] * t.shape[1] }, () => rng.normal() * 0.3)]));
  const s = await ScoreSession.create(cfg, { tensors: openWeights(dir), mode: 'inline' }, { lora: spec });
  const context = [5, 9, 33, 2], target = [70, 4, 4];
  const ref = loadReference(dir);
  for (const a of [undefined, adapter]) {
    const got = await s.score(context, target, a);
    const rows = referenceLogits(ref, [...context, ...target].slice(0, -1), a && { spec, tensors: a });
    const want = target.map((y, i) => logSoftmax(rows[context.length - 1 + i])[y]);
    assert.ok(maxAbsDiff(got, want) < 1e-4, `score diff ${maxAbsDiff(got, want)}`);
  }
  await s.release();
});

test('masked positions are exactly zero and float64 scores need no float32 inputs', async () => {
  const { dir, cfg } = smallModel('score64');
  const g = new Graph('score64');
  const v = buildScore(g, cfg, { tensors: openWeights(dir), mode: 'inline' }, { dtype: 'float64' });
  assert.equal(v.tokenLogprobs.dtype, 'float64');
  assert.deepEqual(v.tokenLogprobs.shape, ['B', 'T']);
  g.output(v.tokenLogprobs, 'lp');
  const s = await ort.InferenceSession.create(g.encode(), { graphOptimizationLevel: 'basic' });
  const { inputIds, targetIds, mask } = scoreInputs([1, 2, 3], [4, 5]);
  const out = await s.run({ input_ids: ids64(inputIds), position_ids: positions(0, 4), target_ids: ids64(targetIds), target_mask: new ort.Tensor('float64', Float64Array.from(mask), [1, 4]) });
  const lp = out.lp.data as Float64Array;
  assert.equal(Math.abs(lp[0]), 0); // 0 · (negative log-prob) is -0
  assert.equal(Math.abs(lp[1]), 0);
  assert.ok(lp[2] < 0 && lp[3] < 0);
});
