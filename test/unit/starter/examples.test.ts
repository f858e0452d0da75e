// The starter model's training rows: FIM splits, the product's prompt layout and hint placement,
// row packing with no padding, and resumable determinism (row k depends on (seed, k) and the cursor).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseSplit, fimIds, RowBuilder, permutation, type Doc, type SpecialIds } from '../../../scripts/starter/examples';
import { seededRandom } from '../../../server/train/random';

// A character-level stand-in encoder: one id per UTF-16 unit, specials above 1000.
const encode = (s: string) => [...s].map((c) => c.charCodeAt(0) % 1000);
const decode = (ids: number[]) => ids.map((i) => (i >= 1000 ? `<${i}>` : String.fromCharCode(i))).join('');
const ids: SpecialIds = { eos: 1000, prefix: 1001, suffix: 1002, middle: 1003 };
const doc = 'def add(a, b):\n    total = a + b\n    return total\n\n\ndef sub(a, b):\n    return a - b\n';

test('a FIM split cuts the window into prefix + middle + suffix, and the middle is never empty', () => {
  const r = seededRandom(3);
  for (let i = 0; i < 200; i++) {
    const s = chooseSplit(doc, r);
    if (!s) continue;
    assert.ok(s.middle.length > 0);
    assert.equal(s.prefix + s.middle + s.suffix, doc);
  }
});

test('PSM and SPM follow the serving layout and end with EOS after the middle', () => {
  const split = { prefix: 'def f():\n    ', middle: 'return 1', suffix: '\n' };
  const psm = fimIds(split, 'psm', 'python', encode, ids, 400, seededRandom(1))!;
  assert.equal(decode(psm), '<1001>def f():\n    <1002>\n<1003>return 1<1000>');
  const spm = fimIds(split, 'spm', 'python', encode, ids, 400, seededRandom(1))!;
  assert.equal(decode(spm), '<1002>\n<1001>def f():\n    <1003>return 1<1000>');
});

test('a hint example puts the judge-style hint as a comment above the cursor line', () => {
  const split = { prefix: 'function f() {\n  ', middle: 'return null;', suffix: '\n}\n' };
  const text = decode(fimIds(split, 'hint', 'typescript', encode, ids, 400, seededRandom(2))!);
  assert.match(text, /^<1001>function f\(\) \{\n {2}\/\/ Hint: The developer (wrote this instead|rewrote this as|said: write) `return null;`.*\n {2}<1002>/);
  const py = decode(fimIds({ prefix: 'if x:\n    ', middle: 'pass', suffix: '' }, 'hint', 'python', encode, ids, 400, seededRandom(2))!);
  assert.match(py, /\n {4}# Hint: .*`pass`/);
});

test('an example over budget keeps the text nearest the cursor', () => {
  const split = { prefix: 'a'.repeat(300) + 'NEAR', middle: 'mid', suffix: 'SOON' + 'b'.repeat(300) };
  const out = fimIds(split, 'psm', 'python', encode, ids, 100, seededRandom(1))!;
  assert.equal(out.length, 100);
  const text = decode(out);
  assert.match(text, /NEAR<1002>SOON/);
  assert.match(text, /<1003>mid<1000>$/);
});

test('rows are exactly full, and rebuilding row k from the saved cursor gives the same ids', () => {
  const docs: Doc[] = Array.from({ length: 30 }, (_, i) => ({ text: doc.replace(/add/g, `add${i}`), lang: i % 2 ? 'python' : 'typescript' }));
  const order = permutation(docs.length, seededRandom(9));
  const a = new RowBuilder(docs, order, encode, ids, 129, 7);
  const first = Array.from({ length: 5 }, (_, k) => a.row(k, seededRandom).ids);
  for (const row of first) assert.equal(row.length, 129);
  const cursor = { ...a.cursor };
  const next = a.row(5, seededRandom).ids;
  const b = new RowBuilder(docs, order, encode, ids, 129, 7, cursor);
  assert.deepEqual(b.row(5, seededRandom).ids, next);
  // another seed mixes differently
  const c = new RowBuilder(docs, order, encode, ids, 129, 8);
  assert.notDeepEqual(Array.from({ length: 5 }, (_, k) => c.row(k, seededRandom).ids), first);
});

test('the annealing mix takes FIM examples only from real files, with the cursor below the first line', () => {
  const docs: Doc[] = [{ text: "'use strict';\nmodule.exports = require('./x');\n", lang: 'javascript' }, { text: doc.repeat(8), lang: 'python' }];
  const b = new RowBuilder(docs, [0, 1], encode, ids, 600, 3);
  const mix = { fimPsm: 1, fimSpm: 0, fimHint: 0, minDocChars: 200 };
  for (let k = 0; k < 30; k++) {
    const text = decode(b.row(k, seededRandom, mix).ids);
    const pre = /^<1001>([\s\S]*?)<1002>/.exec(text);
    assert.ok(pre, 'every row starts with a FIM example');
    assert.ok(!pre[1].startsWith("'use strict'"), 'never from the one-line shim');
    assert.ok(pre[1].includes('\n'), `the cursor is below the window's first line: ${JSON.stringify(pre[1])}`);
  }
});
