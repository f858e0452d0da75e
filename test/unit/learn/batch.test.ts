// Batch building: every unusable episode gets a named reason (redacted, other model, stale, …),
// staleness is |serving − episode version|, the hint lands as a comment above the cursor line in
// the teacher's FIM prompt with the student's suffix and markers untouched, and advantages are
// r broadcast + clamped OPD.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { judge } from '../../../server/judge/judge';
import { buildBatch, screen, teacherContext } from '../../../server/learn/batch';
import type { Scorer } from '../../../server/train/opd';
import { loadTokenizer } from '../../../server/model/tokenizer';
import { QWEN_TOKENIZER_DIR } from '../../../scripts/make-model';
import { acceptedView, rejectedView, prompt, view, PREFIX } from './fixtures';

const tok = loadTokenizer(QWEN_TOKENIZER_DIR, [151643]);
const opts = { model: 'tiny', vocabSize: 151936, currentVersion: 3, maxStaleness: 2 };
const check = (v: Parameters<typeof judge>[0]) => screen(v, judge(v), opts);

test('usable episodes pass with their staleness; older adapters within the cap are fine', () => {
  assert.deepEqual(check(acceptedView(tok, 'sum(items)', undefined, { adapterVersion: 3 })), { ok: true, staleness: 0 });
  assert.deepEqual(check(acceptedView(tok, 'sum(items)', undefined, { adapterVersion: 1 })), { ok: true, staleness: 2 });
});

test('each unusable episode is refused with its reason, never silently', () => {
  const reason = (v: Parameters<typeof judge>[0]) => {
    const s = check(v);
    return s.ok ? 'ok' : s.reason;
  };
  assert.equal(reason(acceptedView(tok, 'sum(items)', undefined, { adapterVersion: 0 })), 'stale');
  assert.equal(reason(acceptedView(tok, 'sum(items)', undefined, { adapterVersion: 3, model: 'other' })), 'otherModel');
  assert.equal(reason(acceptedView(tok, 'sum(items)', undefined, { adapterVersion: 3, redacted: true, tokenIds: [], logprobs: [] })), 'redacted');
  assert.equal(reason(acceptedView(tok, 'sum(items)', undefined, { adapterVersion: 3, redacted: true, promptTokenIds: [] })), 'redacted');
  assert.equal(reason(acceptedView(tok, 'sum(items)', undefined, { adapterVersion: 3, promptTokenIds: [] })), 'noTokens');
  assert.equal(reason(acceptedView(tok, 'sum(items)', undefined, { adapterVersion: 3, tokenIds: [999_999], logprobs: [-1] })), 'badTokens');
  assert.equal(reason(view({ adapterVersion: 3, outcome: 'notShown', tokenIds: [5], logprobs: [-1], promptTokenIds: [5] }, [{ type: 'notShown', at: 1, visibleMs: 50 }])), 'notTrainable');
  assert.equal(reason(view({ adapterVersion: 3, status: 'open', outcome: 'pending', tokenIds: [5], logprobs: [-1], promptTokenIds: [5] }, [])), 'notTrainable');
});

test('a likelihood rule refuses an episode that shows no text the developer wanted; a reward rule keeps it', () => {
  const nothingTyped = view({ adapterVersion: 3, suggestion: 'items[0]', outcome: 'rejected', tokenIds: tok.encode('items[0]'), logprobs: tok.encode('items[0]').map(() => -1), promptTokenIds: prompt(tok) }, [{ type: 'rejected', at: 1, reason: 'timeout', visibleMs: 10_000 }]);
  const typed = rejectedView(tok, 'items[0]', 'sum(items)', undefined, { adapterVersion: 3 });
  const under = (v: Parameters<typeof judge>[0], rule: { objective: 'nll' | 'ppo'; negative: number }) => {
    const s = screen(v, judge(v), { ...opts, rule });
    return s.ok ? 'ok' : s.reason;
  };
  assert.equal(under(nothingTyped, { objective: 'nll', negative: 0 }), 'noTarget');
  assert.equal(under(nothingTyped, { objective: 'nll', negative: 0.5 }), 'ok'); // its negative reward is used
  assert.equal(under(nothingTyped, { objective: 'ppo', negative: 0 }), 'ok');
  assert.equal(under(typed, { objective: 'nll', negative: 0 }), 'ok');
});

test('the teacher prompt holds the hint as a comment above the cursor line; suffix and markers are the student\'s', () => {
  const student = prompt(tok);
  const teacher = teacherContext(student, 'Use sum().', 'python', tok);
  const fim = tok.fim!;
  const s = student.indexOf(fim.suffix), t = teacher.indexOf(fim.suffix);
  assert.deepEqual(teacher.slice(t), student.slice(s)); // suffix + <|fim_middle|> unchanged
  assert.equal(teacher[0], fim.prefix);
  assert.equal(tok.decode(teacher.slice(1, t)), 'def total(items):\n    # Hint: Use sum().\n    return ');
  assert.equal(tok.decode(student.slice(1, s)), PREFIX);
});

test('advantages: the reward broadcast to every token, plus clamped OPD where the judge wrote a hint', async () => {
  const calls: number[][] = [];
  // A fake teacher: 0.5 above behaviour on the first token, 3 below on the others (clamped to −1).
  const scorer: Scorer = { score: async (ctx, target, adapter) => { assert.equal(adapter, undefined); calls.push(ctx); return target.map((_, i) => (i === 0 ? -4.5 : -8)); } };
  const good = acceptedView(tok, 'sum(items)', undefined, { adapterVersion: 3 });
  const bad = rejectedView(tok, 'items[0]', 'sum(items)', undefined, { adapterVersion: 2 });
  const batch = await buildBatch([good, bad].map((v) => ({ view: v, judgement: judge(v), staleness: 3 - v.adapterVersion })), scorer, tok);
  assert.equal(calls.length, 1); // only the hinted episode asks the teacher
  assert.ok(tok.decode(calls[0]).includes('# Hint: The developer wrote this instead: `sum(items)`.'));
  assert.deepEqual(batch[0].advantages, good.tokenIds.map(() => 0.75));
  assert.equal(batch[0].preferred, true);
  assert.deepEqual(batch[1].advantages, bad.tokenIds.map((_, i) => -0.25 + (i === 0 ? 0.5 : -1)));
  assert.equal(batch[1].preferred, false);
  assert.equal(batch[1].staleness, 1);
  assert.deepEqual(batch[1].context, bad.promptTokenIds);
  assert.deepEqual(batch[1].behaviourLogprobs, bad.logprobs);
});

test('with the round\'s student policy given, OPD compares teacher and student scored by the same graph, not the serving log-probs', async () => {
  const student = new Map([['lora', new Float32Array([1])]]);
  const seen: ({ adapter: boolean; hinted: boolean })[] = [];
  // Teacher −2 per token, student −2.5 per token: A^opd = +0.5 whatever serving recorded.
  const scorer: Scorer = {
    score: async (ctx, target, adapter) => {
      const hinted = tok.decode(ctx).includes('# Hint:');
      seen.push({ adapter: adapter === student, hinted });
      return target.map(() => (adapter === student ? -2.5 : -2));
    },
  };
  const bad = rejectedView(tok, 'items[0]', 'sum(items)', undefined, { adapterVersion: 3 });
  const [ep] = await buildBatch([{ view: bad, judgement: judge(bad), staleness: 0 }], scorer, tok, 1, student);
  assert.deepEqual(seen, [{ adapter: true, hinted: false }, { adapter: false, hinted: true }]);
  assert.deepEqual(ep.opd, bad.tokenIds.map(() => 0.5));
  assert.deepEqual(ep.behaviourLogprobs, bad.logprobs, 'the PPO ratio keeps the behaviour log-probs');
});
