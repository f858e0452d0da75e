// The pure parts of bench:starter: chrF against hand-computed values (sacreBLEU's default
// definition), exact-match normalisation, the n-gram baseline's counts, stupid-backoff choice
// (against a brute-force reference, exact and hashed keys) and greedy decoding, and the case picker.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chrf, chrfStatistics, exactMatch, normalizeLine } from '../../../bench/chrf';
import { contextCode, countNgrams, greedyLine, ngramCount, nextToken, type NgramModel } from '../../../bench/ngram';
import { bpbSample, pickLineCases } from '../../../bench/starter';
import { seededRandom } from '../../../server/train/random';

const close = (a: number, b: number, msg?: string) => assert.ok(Math.abs(a - b) < 1e-12, `${msg ?? ''} ${a} ≠ ${b}`);

test('chrF: hand-computed values', () => {
  // "ab" vs "abc": 1-grams P 1, R 2/3; 2-grams P 1, R 1/2; higher orders have no hypothesis n-grams.
  // avg P 1, avg R 7/12 → F2 = 5·P·R / (4P + R) = 7/11.
  close(chrf('ab', 'abc'), 7 / 11);
  // "ab cd" vs "abce" (whitespace removed): P = R per order 3/4, 2/3, 1/2, 0 → both 23/48, so F = 23/48.
  close(chrf('ab cd', 'abce'), 23 / 48);
  // Clipped counts: "aaa" vs "a": 1-grams P 1/3, R 1 → 5·(1/3) / (4/3 + 1) = 5/7.
  close(chrf('aaa', 'a'), 5 / 7);
  assert.deepEqual(chrfStatistics('aaa', 'a').slice(0, 2), [[3, 1, 1], [2, 0, 0]]);
  assert.equal(chrf('x = f(a, b)', 'x = f(a, b)'), 1);
  assert.equal(chrf('x=f(a,b)', ' x = f(a, b) '), 1); // whitespace does not count
  assert.equal(chrf('', 'abc'), 0);
  assert.equal(chrf('xyz', 'abc'), 0);
  assert.equal(chrf('', ''), 0);
});

test('exact match ignores trailing whitespace only', () => {
  assert.equal(normalizeLine('foo()  \r\n'), 'foo()');
  assert.ok(exactMatch('foo() \t', 'foo()'));
  assert.ok(!exactMatch(' foo()', 'foo()'));
  assert.ok(!exactMatch('foo ()', 'foo()'));
});

/** Stupid backoff scored the slow way, with string keys: the reference nextToken must match. */
function bruteForceScores(tokens: number[], order: number, vocab: number, history: number[], alpha = 0.4): number[] {
  const counts = new Map<string, number>();
  for (let n = 1; n <= order; n++)
    for (let i = 0; i + n <= tokens.length; i++) {
      const k = tokens.slice(i, i + n).join(',');
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
  const scores: number[] = [];
  for (let w = 0; w < vocab; w++) {
    scores.push(0);
    for (let n = order; n >= 1; n--) {
      if (history.length < n - 1) continue;
      const ctx = history.slice(history.length - (n - 1));
      const c = counts.get([...ctx, w].join(',')) ?? 0;
      if (!c) continue;
      let total = 0;
      for (let v = 0; v < vocab; v++) total += counts.get([...ctx, v].join(',')) ?? 0;
      scores[w] = alpha ** (order - n) * (c / total);
      break;
    }
  }
  return scores;
}

test('n-gram: counts on a toy sequence', () => {
  const seq = [1, 2, 3, 1, 2, 4, 1, 2, 3];
  const m = countNgrams(seq, 3, 8);
  assert.equal(m.total, 9);
  assert.equal(ngramCount(m, [], 1), 3);
  assert.equal(ngramCount(m, [], 5), 0);
  assert.equal(ngramCount(m, [2], 3), 2);
  assert.equal(ngramCount(m, [1, 2], 3), 2);
  assert.equal(ngramCount(m, [1, 2], 4), 1);
  assert.equal(ngramCount(m, [3, 1], 2), 1);
  assert.deepEqual(Array.from(m.unigramsByCount), [1, 2, 3, 4]); // 1 and 2 tie at 3: smaller id first
  assert.deepEqual(m.tables.map((t) => t.keys.length), [4, 5, 6]); // distinct 1-, 2-, 3-grams
});

test('n-gram: stupid backoff picks the longest seen context, and a lower order can win', () => {
  const m = countNgrams([1, 2, 3, 1, 2, 4, 1, 2, 3], 3, 8);
  const is = (got: { id: number; score: number }, id: number, score: number) => {
    assert.equal(got.id, id);
    close(got.score, score);
  };
  is(nextToken(m, [1, 2]), 3, 2 / 3);
  is(nextToken(m, [5, 2]), 3, 0.4 * (2 / 3)); // (5,2) unseen: back off to (2)
  is(nextToken(m, [7]), 1, 0.16 * (3 / 9)); // down to unigrams (1 and 2 tie: smaller id)
  is(nextToken(m, []), 1, 0.16 * (3 / 9));
  // (1,2) → 3, 4, 5 once each (best 1/3); (2) → 6 twenty times: 0.4 · 20/23 > 1/3.
  const seq = [1, 2, 3, 1, 2, 4, 1, 2, 5];
  for (let i = 0; i < 20; i++) seq.push(0, 2, 6);
  const m2 = countNgrams(seq, 3, 8);
  const best = nextToken(m2, [1, 2]);
  assert.equal(best.id, 6);
  close(best.score, 0.4 * (20 / 23));
});

test('n-gram: nextToken equals brute-force stupid backoff, with exact and hashed keys', () => {
  const r = seededRandom(3);
  const V = 6;
  // A skewed random stream, so contexts have uneven continuations.
  const seq = Array.from({ length: 400 }, () => Math.floor(V * r() * r()));
  const models: [string, NgramModel][] = [['exact', countNgrams(seq, 3, V)], ['hashed', countNgrams(seq, 4, 300_000)]];
  assert.notEqual(contextCode([1, 2, 3], 0, 3, 300_000), 1 * 300_000 ** 2 + 2 * 300_000 + 3); // 300000^4 > 2^53: hashed
  for (const [name, m] of models) {
    for (let trial = 0; trial < 60; trial++) {
      const history = Array.from({ length: m.order - 1 }, () => Math.floor(V * r()));
      const ref = bruteForceScores(seq, m.order, V, history);
      const got = nextToken(m, history);
      const max = Math.max(...ref);
      close(got.score, max, `${name} [${history}]: score`);
      close(ref[got.id], max, `${name} [${history}]: id ${got.id}`);
    }
  }
});

test('n-gram: greedy decoding stops after a line-ending token, before a stop token, at max tokens', () => {
  const m = countNgrams([1, 2, 3, 4, 5, 1, 2, 3, 4, 5], 2, 8);
  const opts = { maxTokens: 10, isStop: () => false, endsLine: () => false };
  assert.deepEqual(greedyLine(m, [1], { ...opts, endsLine: (id) => id === 4 }), [2, 3, 4]);
  assert.deepEqual(greedyLine(m, [1], { ...opts, isStop: (id) => id === 4 }), [2, 3]);
  assert.deepEqual(greedyLine(m, [9, 9, 1], { ...opts, maxTokens: 3 }), [2, 3, 4]);
  assert.deepEqual(greedyLine(countNgrams([], 2, 8), [1], opts), []); // nothing counted
});

test('line cases: contiguous, the rest of one line with 4+ non-space characters, deterministic', () => {
  const docs = [
    { lang: 'python', path: 'a.py', text: 'import os\n\n\ndef main(argv):\n    path = os.path.join(argv[0], "x")\n    return path\n\r\nif __name__ == "__main__":\r\n    main([])\r\n' },
    { lang: 'typescript', path: 'b.ts', text: Array.from({ length: 400 }, (_, i) => `export const value${i} = compute(${i}, 'k${i % 7}');`).join('\n') },
  ];
  const cases = pickLineCases(docs, 30, 5);
  assert.equal(cases.length, 30);
  assert.deepEqual(pickLineCases(docs, 30, 5), cases);
  for (const c of cases) {
    assert.ok(docs[c.doc].text.includes(c.prefix + c.target + c.suffix));
    assert.ok(!/[\r\n]/.test(c.target), JSON.stringify(c.target));
    assert.ok(c.target.replace(/\s/g, '').length >= 4);
    assert.ok(c.suffix === '' || /^\r?\n/.test(c.suffix));
    assert.ok(c.prefix.length <= 1500 + 200 && c.suffix.length <= 500);
    assert.ok(c.prefix === docs[c.doc].text.slice(0, c.prefix.length) || docs[c.doc].text[docs[c.doc].text.indexOf(c.prefix + c.target) - 1] === '\n', 'prefix starts at a line start');
    if (c.placebo) assert.notEqual(c.placebo, c.target.trim());
  }
  assert.equal(new Set(cases.map((c) => `${c.doc}:${c.prefix.length}:${c.target}`)).size, 30);
});

test('bits-per-byte sample: windows of whole lines, about the requested size, deterministic', () => {
  const docs = Array.from({ length: 20 }, (_, d) => ({ text: Array.from({ length: 200 }, (_, i) => `line ${d}.${i} = value(${i})`).join('\n') }));
  const s = bpbSample(docs, 5000, 1);
  assert.deepEqual(bpbSample(docs, 5000, 1), s);
  const bytes = s.reduce((n, t) => n + Buffer.byteLength(t), 0);
  assert.ok(bytes >= 5000 && bytes < 5000 + 1600, `${bytes}`);
  for (const t of s) {
    assert.ok(t.length <= 1600);
    const d = docs.find((x) => x.text.includes(t))!.text;
    const at = d.indexOf(t);
    assert.ok(at === 0 || d[at - 1] === '\n', 'starts at a line start');
    assert.ok(t.endsWith('\n') || at + t.length === d.length, 'ends at a line end');
  }
});
