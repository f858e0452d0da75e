import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bestSubstringMatch, editDistance } from '../../../src/common/editDistance';
import { checkSurvival } from '../../../src/common/survival';

// Plain O(n·m) reference to check the banded version against.
function reference(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++) d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
  return d[a.length][b.length];
}

test('editDistance matches the reference, with and without a band', () => {
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const word = () => Array.from({ length: Math.floor(rnd() * 14) }, () => 'abc'[Math.floor(rnd() * 3)]).join('');
  for (let k = 0; k < 400; k++) {
    const a = word();
    const b = word();
    const ref = reference(a, b);
    assert.equal(editDistance(a, b), ref, `${a} vs ${b}`);
    const limit = Math.floor(rnd() * 6);
    const banded = editDistance(a, b, limit);
    if (ref <= limit) assert.equal(banded, ref, `${a} vs ${b} limit ${limit}`);
    else assert.equal(banded, limit + 1, `${a} vs ${b} limit ${limit}`);
  }
  assert.equal(editDistance('kitten', 'sitting'), 3);
  assert.equal(editDistance('', 'abc'), 3);
});

test('bestSubstringMatch finds an edited occurrence and its span', () => {
  const text = 'const a = 1;\nfunction add(x, y) { return x + y; }\nconst b = 2;';
  const m = bestSubstringMatch('function add(a, b) { return a + b; }', text);
  assert.equal(m.distance, 4);
  assert.equal(text.slice(m.start, m.end), 'function add(x, y) { return x + y; }');
});

test('survival: unchanged, edited (with what it became), deleted, moved away by later edits', () => {
  const inserted = 'return items.filter((x) => x.ok);';
  const before = 'function f(items) {\n  ';
  const after = '\n}\n';
  const doc = before + inserted + after;
  const start = before.length;
  assert.equal(checkSurvival({ text: doc, start, end: start + inserted.length, inserted }).status, 'unchanged');

  const now = 'return items.filter((x) => x.ok && x.live);';
  const edited = before + now + after;
  // The tracker moved the range's end through the insertion: the span is what the text became.
  const e = checkSurvival({ text: edited, start, end: start + now.length, inserted });
  assert.equal(e.status, 'edited');
  assert.equal(e.currentText, 'return items.filter((x) => x.ok && x.live);');
  assert.ok(e.retained > 0.5 && e.retained < 1);

  // With a stale range the search still finds the closest span.
  const stale = checkSurvival({ text: edited, start: 0, end: 3, inserted });
  assert.equal(stale.status, 'edited');
  assert.ok(now.startsWith(stale.currentText!));

  const deleted = before + 'throw new Error("todo");' + after;
  assert.equal(checkSurvival({ text: deleted, start, end: start + inserted.length, inserted }).status, 'deleted');

  // Tracked offset stale by 400 chars (text pasted above): found by the widening search.
  const moved = 'x'.repeat(400) + doc;
  const m = checkSurvival({ text: moved, start, end: start + inserted.length, inserted });
  assert.equal(m.status, 'unchanged');
  assert.equal(m.start, start + 400);

  // Beyond 1500 chars away it is not searched: counted as deleted.
  const far = '\n'.repeat(2000) + doc;
  assert.equal(checkSurvival({ text: far.replace(inserted, '') + '', start, end: start + inserted.length, inserted }).status, 'deleted');
  const farKept = 'y'.repeat(1700) + doc;
  assert.equal(checkSurvival({ text: farKept, start: 0, end: inserted.length, inserted }).status, 'deleted');
});
