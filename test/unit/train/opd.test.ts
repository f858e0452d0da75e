// OPD advantages: the teacher is the base model (adapter off) with the hint spliced into its
// context, the old policy is the adapter without the hint; the sign follows whether the hint
// makes the response more or less likely, checked against the train graph's own scoring.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { opdAdvantages, withHint, combineAdvantages } from '../../../server/train/opd';
import { ScoreSession } from '../../../server/model/score';
import { Trainer } from '../../../server/train/step';
import { initAdapter } from '../../../server/train/adapter';
import { seededRandom } from '../../../server/train/random';
import { microModel, SPEC } from './fixtures';

const { cfg, weights } = microModel('opd');
const context = [9, 31, 4, 17, 56, 2], response = [23, 8, 41, 12];

test('hint placement splices the hint at the given index (default: right before the response)', () => {
  assert.deepEqual(withHint([1, 2, 3], { tokens: [7, 8] }), [1, 2, 3, 7, 8]);
  assert.deepEqual(withHint([1, 2, 3], { tokens: [7], at: 0 }), [7, 1, 2, 3]);
  assert.deepEqual(withHint([1, 2, 3], { tokens: [7], at: 2 }), [1, 2, 7, 3]);
  assert.throws(() => withHint([1, 2], { tokens: [7], at: 3 }), /outside the context/);
  assert.throws(() => withHint([1, 2], { tokens: [] }), /empty hint/);
});

test('A_opd = clamp(teacher − old, −C, C); its sign follows whether the hint makes the response more or less likely', async () => {
  const scorer = await ScoreSession.create(cfg, weights, { lora: SPEC });
  // Independent scoring through the train graph (zero advantages: only its token log-probs are used)
  const base = initAdapter(cfg, SPEC, 'micro', 1); // B = 0: the base model
  const ref = await Trainer.create(cfg, weights, { spec: SPEC, adapter: base });
  const logprobs = async (ctx: number[]) => (await ref.evaluate([{ context: ctx, response, behaviourLogprobs: response.map(() => 0), advantages: response.map(() => 0) }])).logprobs[0];
  const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
  const plain = await logprobs(context);
  // Among seeded random hints, find one that raises and one that lowers log π(response)
  const r = seededRandom(5);
  let up: { hint: number[]; gain: number } | undefined, down: { hint: number[]; gain: number } | undefined;
  for (let k = 0; k < 40 && !(up && down); k++) {
    const hint = [0, 0, 0].map(() => 2 + Math.floor(r() * 60));
    const gain = sum(await logprobs([...context, ...hint])) - sum(plain);
    if (gain > 0.5 && !up) up = { hint, gain };
    if (gain < -0.5 && !down) down = { hint, gain };
  }
  assert.ok(up && down, 'the micro model has hints that help and hints that hurt');
  for (const [h, sign] of [[up, 1], [down, -1]] as const) {
    const big = await opdAdvantages(scorer, { context, response, hint: { tokens: h.hint } }, undefined, 1e9);
    assert.ok(Math.sign(sum(big.advantages)) === sign, `hint ${h.hint}: Σ A = ${sum(big.advantages)}, gain ${h.gain}`);
    const teacher = await logprobs([...context, ...h.hint]);
    big.teacher.forEach((t, i) => assert.ok(Math.abs(t - teacher[i]) < 1e-4, `teacher[${i}]`));
    big.old.forEach((o, i) => assert.ok(Math.abs(o - plain[i]) < 1e-4, `old[${i}]`));
    const clamped = await opdAdvantages(scorer, { context, response, hint: { tokens: h.hint } });
    clamped.advantages.forEach((a, i) => assert.equal(a, Math.max(-1, Math.min(1, big.teacher[i] - big.old[i]))));
  }
  await ref.release();
  await scorer.release();
});

test('the old policy is the adapter (hint-free); the teacher stays the base model whatever the adapter', async () => {
  const scorer = await ScoreSession.create(cfg, weights, { lora: SPEC });
  const adapter = initAdapter(cfg, SPEC, 'micro', 2);
  for (const [k, v] of adapter.tensors) if (k.includes('lora_B')) v.fill(0.05);
  const hint = { tokens: [5, 6, 7], at: 2 };
  const withAdapter = await opdAdvantages(scorer, { context, response, hint }, adapter.tensors, 1e9);
  const without = await opdAdvantages(scorer, { context, response, hint }, undefined, 1e9);
  assert.deepEqual(withAdapter.teacher, without.teacher);
  assert.notDeepEqual(withAdapter.old, without.old);
  assert.deepEqual(withAdapter.old, await scorer.score(context, response, adapter.tensors));
  const recorded = [-1, -2, -3, -4];
  const given = await opdAdvantages(scorer, { context, response, hint, oldLogprobs: recorded }, adapter.tensors, 1e9);
  assert.deepEqual(given.old, recorded);
  await scorer.release();
});

test('combined advantage: w_rl·r broadcast + w_opd·A_opd', () => {
  assert.deepEqual(combineAdvantages(3, 1, [0.5, -1, 0]), [1.5, 0, 1]);
  assert.deepEqual(combineAdvantages(2, -1, undefined), [-1, -1]);
  assert.deepEqual(combineAdvantages(2, undefined, [0.25, -0.5], { wRl: 1, wOpd: 2 }), [0.5, -1]);
  assert.throws(() => combineAdvantages(3, 1, [1]), /3 tokens/);
});
