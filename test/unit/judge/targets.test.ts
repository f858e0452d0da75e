// The developer's own text as a training target: for each signal the judge names the target, its
// source and the suggestion it replaced, with the reward it gives; the hindsight rule turns that
// into likelihood rows (which tokens are trained — the mask — and with which weight).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { episodes } from '../../../protocol';
import { judge } from '../../../server/judge/judge';
import { buildTargetRows, setPairWeights, placeboHint, type ScoreMany } from '../../../server/learn/batch';
import { DEFAULT_RULE, parseRule, RULES } from '../../../server/learn/rule';
import { checkSurvival } from '../../../src/common/survival';

const SUGGESTION = 'Math.min(Math.max(v, 0), 255);';
const IDS = [11, 12, 13];

function episode(outcome: episodes.EpisodeOutcome, events: episodes.EpisodeEvent[], over: Partial<episodes.EpisodeView> = {}): episodes.EpisodeView {
  return {
    id: `e-${outcome}-${events.map((e) => e.type).join('-')}`, createdAt: 0, uri: 'file:///w/a.ts', relPath: 'a.ts', languageId: 'typescript', offset: 30, line: 2,
    prefixExcerpt: 'function f(v: number) {\n  return ', suffixExcerpt: '\n}', suggestion: SUGGESTION,
    tokenIds: IDS, logprobs: [-1, -1, -1], promptTokenIds: [1, 2, 3, 4], adapterVersion: 0, model: 'm',
    outcome, status: 'complete', updatedAt: 0, events, ...over,
  };
}
const accepted = (how: 'command' | 'partial' = 'command', text = SUGGESTION): episodes.EpisodeEvent => ({ type: 'accepted', at: 1, how, acceptedText: text, start: 30, end: 30 + text.length });
const survival = (status: episodes.SurvivalStatus, currentText?: string, distance = 0): episodes.EpisodeEvent => ({ type: 'survival', at: 2, afterMs: 600_000, status, distance, retained: 0, ...(currentText !== undefined ? { currentText } : {}), final: true });

test('rejected, then typed instead: the typed text is the target, the suggestion the losing side; reward −p*', () => {
  const j = judge(episode('rejected', [{ type: 'rejected', at: 1, reason: 'diverged', visibleMs: 900 }, { type: 'typedInstead', at: 2, text: 'clamp(v, 0, 255);' }]));
  assert.deepEqual(j.target, { text: 'clamp(v, 0, 255);', source: 'typedInstead', rejected: SUGGESTION });
  assert.equal(j.reward, -0.25);
  // Nothing typed, or the same text again: no target.
  assert.equal(judge(episode('rejected', [{ type: 'rejected', at: 1, reason: 'timeout', visibleMs: 9000 }, { type: 'typedInstead', at: 2, text: '' }])).target, undefined);
});

test('accepted, then edited: the edited text is the target; a rewrite beyond half the suggestion is captured too', () => {
  const edited = judge(episode('accepted', [accepted(), survival('edited', 'Math.min(Math.max(v, 1), 255);', 1)]));
  assert.deepEqual(edited.target, { text: 'Math.min(Math.max(v, 1), 255);', source: 'rewritten', rejected: SUGGESTION });
  assert.ok(Math.abs(edited.reward! - (0.75 - 0.25 / SUGGESTION.length)) < 1e-12);

  // The extension's survival check: the tracked range was rewritten in place → deleted, with the rewrite.
  const doc = 'function f(v: number) {\n  return toByte(v);\n}';
  const s = checkSurvival({ text: doc, start: 33, end: 33 + 'toByte(v);'.length, inserted: SUGGESTION, touched: true });
  assert.equal(s.status, 'deleted');
  assert.equal(s.currentText, 'toByte(v);');
  assert.equal(checkSurvival({ text: doc, start: 33, end: 43, inserted: SUGGESTION }).currentText, undefined, 'an untouched range says nothing');
  // A one-character suggestion rewritten in place: the "}" further down is not the suggestion surviving.
  const tiny = checkSurvival({ text: 'f() {\n  return 8443;\n}\n', start: 15, end: 20, inserted: '}', touched: true });
  assert.deepEqual([tiny.status, tiny.currentText], ['deleted', '8443;']);
  const rewritten = judge(episode('accepted', [accepted(), survival('deleted', s.currentText, s.distance)]));
  assert.deepEqual(rewritten.target, { text: 'toByte(v);', source: 'rewritten', rejected: SUGGESTION });
  assert.equal(rewritten.reward, -0.25); // +0.75 accepted, −1 gone
  assert.match(rewritten.hint!, /rewrote this as: `toByte\(v\);`/);
  assert.equal(judge(episode('accepted', [accepted(), survival('deleted')])).target, undefined, 'deleted outright: no target');
});

test('"Correct this", then the corrected code: source corrected; the correction alone is a hint, not a target', () => {
  const correction: episodes.EpisodeEvent = { type: 'correction', at: 2, directive: 'use the clamp helper from util' };
  const j = judge(episode('accepted', [accepted(), correction, survival('deleted', 'clamp(v, 0, 255);', 20)]));
  assert.deepEqual(j.target, { text: 'clamp(v, 0, 255);', source: 'corrected', rejected: SUGGESTION });
  assert.equal(j.reward, -0.75);
  const only = judge(episode('accepted', [accepted(), correction, survival('unchanged', SUGGESTION)]));
  assert.equal(only.target, undefined);
  assert.match(only.hint!, /The developer said: use the clamp helper/);
});

test('a failing test is never rewarded; the fix that follows is the target', () => {
  const fail: episodes.EpisodeEvent = { type: 'testOutcome', at: 2, source: 'terminal', kind: 'test', commandLine: 'npm test', exitCode: 1, outcome: 'fail', outputExcerpt: 'AssertionError: expected 8443' };
  const kept = judge(episode('accepted', [accepted(), fail, survival('unchanged', SUGGESTION)]));
  assert.equal(kept.reward, -0.25, '+0.75 − 0.5 would be positive: capped at −p*');
  assert.equal(kept.target, undefined, 'kept despite the failure: not a positive target');
  const fixed = judge(episode('accepted', [accepted(), fail, survival('deleted', '8443);', 9)]));
  assert.deepEqual(fixed.target, { text: '8443);', source: 'rewritten', rejected: SUGGESTION });
  assert.equal(fixed.reward, -0.75); // +0.75 − 0.5 − 1
});

test('accepted and kept: the suggestion itself (its served tokens); a partial accept credits only the accepted prefix', () => {
  assert.deepEqual(judge(episode('accepted', [accepted(), survival('unchanged', SUGGESTION)])).target, { text: SUGGESTION, source: 'accepted' });
  assert.deepEqual(judge(episode('partial', [accepted('partial', 'Math.min(')])).target, { text: 'Math.min(', source: 'partial' });
});

test('rows: target and rejected rows on the student\'s own prompt; weights = source weight ± b·σ(−β·Δ), fading as Δ grows', async () => {
  const tok = { encode: (s: string) => [...s].map((c) => c.charCodeAt(0) % 50), decode: (ids: number[]) => ids.map((i) => String.fromCharCode(i + 60)).join(''), fim: undefined };
  const views = [
    episode('rejected', [{ type: 'rejected', at: 1, reason: 'diverged', visibleMs: 900 }, { type: 'typedInstead', at: 2, text: 'clamp(v);' }], { id: 'typed' }),
    episode('accepted', [accepted(), survival('unchanged', SUGGESTION)], { id: 'kept' }),
    episode('accepted', [accepted(), survival('deleted')], { id: 'deleted' }),
  ];
  const items = views.map((view) => ({ view, judgement: judge(view), staleness: 0 }));
  const calls: number[] = [];
  const score: ScoreMany = async (pairs, adapter) => {
    assert.equal(adapter, undefined, 'references come from the base model');
    calls.push(pairs.length);
    return pairs.map((p) => p.response.map(() => -2));
  };
  const rule = parseRule('hindsight:pair=1'); // the pair term (off by default) with its rows and weights
  const rows = await buildTargetRows(items, [], rule, tok, score, 512);
  assert.deepEqual(rows.map((r) => `${r.id}:${r.role}`), ['typed:target', 'typed:rejected', 'kept:target']);
  const [t, r, k] = rows;
  assert.deepEqual(t.context, [1, 2, 3, 4]);
  assert.deepEqual(t.response, tok.encode('clamp(v);'), 'the mask covers exactly the typed text');
  assert.deepEqual(r.response, IDS, 'the losing side is the served tokens');
  assert.deepEqual(k.response, IDS, 'a kept suggestion trains its served tokens');
  assert.equal(t.ref, -2 * t.response.length);
  assert.deepEqual(k.advantages, IDS.map(() => rule.targets.accepted));
  // σ(0) = ½ at the start; then Δ = +20 nats → σ(−β·20) = σ(−2).
  setPairWeights(rows, rows.map((x) => [x.ref ?? 0]), rule);
  assert.deepEqual(t.advantages, t.response.map(() => 1 + 0.5));
  assert.deepEqual(r.advantages, r.response.map(() => -0.5));
  const lp = rows.map((x) => x.response.map(() => -2));
  lp[0] = lp[0].map((x, i) => (i === 0 ? x + 10 : x));
  lp[1] = lp[1].map((x, i) => (i === 0 ? x - 10 : x));
  const s = setPairWeights(rows, lp, rule)!;
  assert.ok(Math.abs(s - 1 / (1 + Math.exp(2))) < 1e-12);
  assert.ok(Math.abs(t.advantages[0] - (1 + s)) < 1e-12 && Math.abs(r.advantages[0] + s) < 1e-12);

  // By default the developer's text is trained alone, with no losing side.
  assert.deepEqual((await buildTargetRows(items, [], RULES.hindsight, tok, score, 512)).map((x) => `${x.id}:${x.role}`), ['typed:target', 'kept:target']);
  // Negative-only and contrast rows only when the rule asks for them.
  const neg = await buildTargetRows(items, [], parseRule('hindsight:negative=0.5,pair=0'), tok, score, 512);
  assert.deepEqual(neg.map((x) => `${x.id}:${x.role}:${x.advantages[0]}`), ['typed:target:1', 'kept:target:0.25', 'deleted:negative:-0.125']);
  assert.ok(placeboHint('import x\nconst a = 1;\nfunction f() {').startsWith('The developer wrote this instead: `'));
});

test('learning rules parse with overrides and refuse unknown keys', () => {
  const r = parseRule('hindsight:pair=0,replay=4,target.accepted=0,gate=drift');
  assert.equal(r.pair, 0);
  assert.equal(r.replay, 4);
  assert.equal(r.targets.accepted, 0);
  assert.equal(r.gate, 'drift');
  assert.equal(parseRule(undefined).name, DEFAULT_RULE);
  assert.equal(parseRule('combined').objective, 'ppo');
  assert.throws(() => parseRule('nope'), /unknown learning rule/);
  assert.throws(() => parseRule('hindsight:foo=1'), /unknown key/);
});
