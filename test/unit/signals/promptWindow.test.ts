// The prefix window's start stays put while the developer types, so prompts share their start and
// the serving KV cache is reused; it never exceeds the character budget and starts at a line start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { prefixWindowStart, WINDOW_STEP } from '../../../src/common/promptWindow';

const file = Array.from({ length: 400 }, (_, i) => `const v${i} = f(${i});\n`).join('');

test('short documents start at 0', () => {
  assert.equal(prefixWindowStart('abc\ndef', 7, 4000), 0);
});

test('the start is a line start within the budget, and stays put over many keystrokes', () => {
  let text = file;
  const starts = new Set<number>();
  for (let i = 0; i < 200; i++) {
    text += 'x';
    const offset = text.length;
    const start = prefixWindowStart(text, offset, 4000);
    assert.ok(offset - start <= 4000, `window ${offset - start} chars`);
    assert.ok(offset - start > 4000 - WINDOW_STEP - 40, 'no more than a step (plus a line) is given up');
    assert.equal(text[start - 1], '\n', 'starts at a line start');
    starts.add(start);
  }
  assert.ok(starts.size <= 2, `${starts.size} different starts over 200 keystrokes`);
});

test('a single huge line falls back to the step boundary', () => {
  const text = 'x'.repeat(10_000);
  const start = prefixWindowStart(text, 10_000, 4000);
  assert.equal(start % WINDOW_STEP, 0);
  assert.ok(10_000 - start <= 4000);
});
