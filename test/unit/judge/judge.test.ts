// The judge turns settled episodes into rewards and hints with the documented shape:
// accepted +(1−p*) by kept chars, rejected −p*, not shown 0, and the next state's corrections.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { episodes } from '../../../protocol';
import { judge, failureLine } from '../../../server/judge/judge';
import { prefixWithHint, lineComment } from '../../../server/judge/hintPlacement';

function episode(over: Partial<episodes.EpisodeView>, events: episodes.EpisodeEvent[]): episodes.EpisodeView {
  return {
    id: 'e1', createdAt: 0, uri: 'file:///w/a.ts', relPath: 'a.ts', languageId: 'typescript', offset: 10, line: 1,
    prefixExcerpt: 'function f() {\n  return ', suffixExcerpt: '\n}', suggestion: 'computeTotal(items);',
    tokenIds: [1, 2, 3], logprobs: [-0.1, -0.2, -0.3], promptTokenIds: [5, 6], adapterVersion: 0, model: 'tiny',
    outcome: 'pending', status: 'complete', updatedAt: 0, events, ...over,
  };
}

test('accepted and kept gives +(1−p*); rejected gives −p*; not shown gives nothing to train', () => {
  const kept = judge(episode({ outcome: 'accepted' }, [
    { type: 'accepted', at: 1, how: 'command', acceptedText: 'computeTotal(items);', start: 10, end: 30 },
    { type: 'survival', at: 2, afterMs: 600_000, status: 'unchanged', distance: 0, retained: 20, final: true },
  ]));
  assert.equal(kept.reward, 0.75);
  assert.equal(kept.hint, undefined);
  assert.ok(kept.trainable);

  const rejected = judge(episode({ outcome: 'rejected' }, [{ type: 'rejected', at: 1, reason: 'timeout', visibleMs: 10_000 }, { type: 'typedInstead', at: 2, text: '' }]));
  assert.equal(rejected.reward, -0.25);
  assert.equal(rejected.hint, undefined);

  const notShown = judge(episode({ outcome: 'notShown' }, [{ type: 'notShown', at: 1, visibleMs: 100 }]));
  assert.equal(notShown.reward, undefined);
  assert.equal(notShown.trainable, false);
});

test('partial acceptance is weighted by the characters kept', () => {
  const j = judge(episode({ outcome: 'partial' }, [{ type: 'accepted', at: 1, how: 'partial', acceptedText: 'compute', start: 10, end: 17 }]));
  assert.ok(Math.abs(j.reward! - 0.75 * (7 / 20)) < 1e-12);
});

test('typed-instead, edits, errors, failing tests and corrections become hints and lower the reward', () => {
  const typed = judge(episode({ outcome: 'rejected' }, [{ type: 'rejected', at: 1, reason: 'diverged', visibleMs: 900 }, { type: 'typedInstead', at: 2, text: 'sum(items)' }]));
  assert.match(typed.hint!, /wrote this instead: `sum\(items\)`/);

  const broken = judge(episode({ outcome: 'accepted' }, [
    { type: 'accepted', at: 1, how: 'command', acceptedText: 'computeTotal(items);', start: 10, end: 30 },
    { type: 'diagnostic', at: 2, severity: 'error', message: "Cannot find name 'computeTotal'.", code: '2304', line: 1, inRange: true },
    { type: 'testOutcome', at: 3, source: 'terminal', kind: 'test', commandLine: 'npm test', exitCode: 1, outcome: 'fail', outputExcerpt: 'ok 1 - a\nnot ok 2 - b\nAssertionError: expected 3 to equal 4\n' },
  ]));
  assert.equal(broken.reward, -0.75);
  assert.match(broken.hint!, /compiler error: Cannot find name 'computeTotal'/);
  assert.match(broken.hint!, /`npm test` failed with: AssertionError: expected 3 to equal 4/);

  const corrected = judge(episode({ outcome: 'accepted' }, [
    { type: 'accepted', at: 1, how: 'command', acceptedText: 'computeTotal(items);', start: 10, end: 30 },
    { type: 'correction', at: 2, directive: 'use reduce, not a helper' },
  ]));
  assert.ok(corrected.hint!.startsWith('The developer said: use reduce, not a helper'));
  assert.equal(corrected.reward, 0.25);
});

test('a kept commit is a strong positive; a deletion a strong negative; the reward stays in [−1, 1]', () => {
  const accepted: episodes.EpisodeEvent = { type: 'accepted', at: 1, how: 'command', acceptedText: 'computeTotal(items);', start: 10, end: 30 };
  assert.equal(judge(episode({ outcome: 'accepted' }, [accepted, { type: 'commit', at: 2, commit: 'abcdef123456', survived: true, retained: 20 }])).reward, 1);
  assert.equal(judge(episode({ outcome: 'accepted' }, [accepted, { type: 'survival', at: 2, afterMs: 15_000, status: 'deleted', distance: 20, retained: 0, final: false }])).reward, -0.25);
});

test('short hints are dropped, open episodes are not trainable', () => {
  const typed: episodes.EpisodeEvent[] = [{ type: 'typedInstead', at: 2, text: 'x' }];
  const j = judge(episode({ outcome: 'rejected', status: 'open' }, typed));
  assert.equal(j.hint, 'The developer wrote this instead: `x`.');
  assert.equal(j.trainable, false, 'open episodes wait for their next state');
  const strict = judge(episode({ outcome: 'rejected' }, typed), { pStar: 0.25, minHintChars: 40, maxHintChars: 400 });
  assert.equal(strict.hint, undefined, 'a hint of minHintChars or fewer is dropped');
});

test('failureLine picks the telling line and strips colours', () => {
  assert.equal(failureLine('\x1b[31mError: boom\x1b[0m\nmore'), 'Error: boom');
  assert.equal(failureLine('a\nb\n'), 'b');
  assert.equal(failureLine(''), undefined);
});

test('hints go in as a comment line above the cursor line, indented like it', () => {
  assert.equal(prefixWithHint('def f(x):\n    return ', 'use x * 2', 'python'), 'def f(x):\n    # Hint: use x * 2\n    return ');
  assert.equal(prefixWithHint('let a = ', 'two\nlines', 'typescript'), '// Hint: two lines\nlet a = ');
  assert.equal(prefixWithHint('a\r\n\tb', 'h', 'go'), 'a\r\n\t// Hint: h\r\n\tb');
  assert.equal(lineComment('sql'), '--');
});
