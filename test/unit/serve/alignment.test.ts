// One invariant for suggestions: the token ids a result carries decode to exactly the text shown,
// for every way generation ends. The model here is a pure function of the position it predicts, so
// the log-prob of every token, sampled or spelt after a cut (")" of a sampled ")\n"), can be
// checked against that position's log-softmax.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loadTokenizer } from '../../../server/model/tokenizer';
import { QWEN_TOKENIZER_DIR } from '../../../scripts/make-model';
import { generate, type StepModel } from '../../../server/serve/generate';
import { logSumExp } from '../../../server/serve/sampling';
import type { serve } from '../../../protocol';
import { buildFimPrompt } from '../../../server/serve/fim';
import { healPrompt } from '../../../server/serve/tokenHealing';

/** The text healing takes back from this prefix (its last token's). */
const healedText = (prefix: string) => healPrompt(buildFimPrompt((x) => tok.encode(x), tok.fim, prefix, '\n'), true, prefix, tok).healed;

const tok = loadTokenizer(QWEN_TOKENIZER_DIR, [151643]);
const V = 151936;
const EOS = 151643;

/** Logits predicting generated token k: `script[k]` on top (EOS past its end), the rest varying with k. */
function logitsAt(script: number[], k: number): Float32Array {
  const l = new Float32Array(V);
  for (let t = 0; t < V; t++) l[t] = ((t * 31 + k * 17) % 11) * 0.3 - 5;
  l[k < script.length ? script[k] : EOS] = 10;
  return l;
}

/** A model that predicts from the cache length alone, so truncation and re-runs are exact. */
function positional(script: number[]): StepModel<{ ids: number[] }> {
  let promptLen = -1;
  return {
    adapterVersion: 1,
    emptyCache: () => ({ ids: [] }),
    truncate: (c, n) => ({ ids: c.ids.slice(0, n) }),
    async step(ids, cache) {
      const all = [...cache.ids, ...ids];
      if (promptLen < 0) promptLen = all.length;
      return { logits: logitsAt(script, all.length - promptLen), cache: { ids: all } };
    },
  };
}

interface Case {
  name: string;
  /** What the model writes; it is tokenised as the model would sample it. */
  writes: string;
  params: Partial<serve.CompleteParams>;
  shown?: string;
  reason?: string;
  /** Instead of shown and reason: a check of the result. */
  check?: (r: serve.CompleteResult) => void;
  /** Steps of the fake clock (ms per now() call) for the time budget. */
  clockStep?: number;
  /** The model's context ends this many positions after the prompt. */
  contextAfterPrompt?: number;
}

const cases: Case[] = [
  { name: 'newline (line mode)', writes: 'foo(x)\nbar', params: { mode: 'line' }, shown: 'foo(x)', reason: 'newline' },
  { name: 'blank line', writes: 'a = f(1)\n\n    b', params: { mode: 'block' }, shown: 'a = f(1)', reason: 'blank-line' },
  { name: 'dedent', writes: 'b()\n    c = 1\n', params: { mode: 'block', prefix: 'def f():\n    if a:\n        ' }, shown: 'b()', reason: 'dedent' },
  { name: 'closing bracket', writes: 'g(1);\n    }\n', params: { mode: 'block', prefix: 'x = {\n    ', suffix: '' }, shown: 'g(1);', reason: 'closing-bracket' },
  { name: 'repeats the suffix', writes: 'total += 1;\n    return total;\n', params: { mode: 'block', suffix: '\n    return total;\n' }, shown: 'total += 1;', reason: 'repeats-suffix' },
  { name: 'time budget (block mode trims the partial line)', writes: 'a = g(x)\n    b = h(y, z, w)', params: { mode: 'block', timeoutMs: 85, maxTokens: 50 }, shown: 'a = g(x)', reason: 'time budget', clockStep: 10 },
  { name: 'context full (block mode trims the partial line)', writes: 'a = g(x)\n    b = h(y, z, w)', params: { mode: 'block', maxTokens: 50 }, shown: 'a = g(x)', reason: 'context full', contextAfterPrompt: 9 },
  { name: 'max tokens (block mode trims the partial line)', writes: 'a = g(x)\n    b = h(y, z, w)', params: { mode: 'block', maxTokens: 9 }, shown: 'a = g(x)', reason: 'max tokens' },
  // "🦩" is two byte tokens: five tokens end inside the second one, which is held back.
  { name: 'max tokens inside a character (line mode)', writes: 'say("🦩🦩")', params: { mode: 'line', maxTokens: 5 }, shown: 'say("🦩', reason: 'max tokens' },
  { name: 'stop token', writes: 'return x', params: { mode: 'block' }, shown: 'return x', reason: 'stop token' },
  { name: 'repetition', writes: 'f(a, b, b, b, b, b, b)', params: { mode: 'line' }, shown: 'f(a, b', reason: 'repetition' },
  // The model's top token where the comment starts is refused; its next-best goes on from there.
  {
    name: 'hint comment (backs off to the next-best token)',
    writes: 'a = g(x)\n    # Hint: use h\n',
    params: { mode: 'block' },
    check: (r) => {
      assert.notEqual(r.reason, 'hint-comment');
      assert.ok(r.text.startsWith('a = g(x)') && !/#\s*Hint:/.test(r.text), JSON.stringify(r.text));
    },
  },
];

// With token healing the prompt leaves out the prefix's last token and the model's first tokens
// re-spell it: the script then writes that text first, and the ids spell healed + shown text.
for (const heal of [false, true])
  for (const c of cases) {
    test(`ids spell the shown text: ${c.name}${heal ? ' (token healing)' : ''}`, async () => {
      const params: serve.CompleteParams = { uri: 'file:///a.py', languageId: 'python', prefix: 'def f():\n    ', suffix: '\n', ...c.params };
      const healed = heal ? healedText(params.prefix) : '';
      const script = tok.encode(healed + c.writes);
      let t = 0;
      // The prompt's length, for a context that ends a few positions after it.
      const promptLen = c.contextAfterPrompt ? (await generate(positional(script), tok, { ...params, maxTokens: 0 }, { heal })).result.promptTokenIds.length : 0;
      const { result } = await generate(positional(script), tok, params, { heal, ...(c.clockStep ? { now: () => (t += c.clockStep!) } : {}), ...(c.contextAfterPrompt ? { maxPositions: promptLen + c.contextAfterPrompt } : {}) });
      if (c.check) c.check(result);
      else {
        assert.equal(result.reason, c.reason);
        assert.equal(result.text, c.shown);
      }
      assert.equal(result.healed ?? '', result.tokenIds.length ? healed : '');
      assert.equal(result.tokenIds.length === 0 ? '' : tok.decode(result.tokenIds), (result.healed ?? '') + result.text, 'decode(tokenIds) is the healed text + the shown text');
      assert.equal(result.logprobs.length, result.tokenIds.length);
      // Every token's log-prob is the model's at its position, sampled or spelt.
      result.tokenIds.forEach((id, k) => {
        const l = logitsAt(script, k);
        assert.ok(Math.abs(result.logprobs[k] - (l[id] - logSumExp(l))) < 1e-9, `token ${k} (${JSON.stringify(tok.decode([id]))}): log-prob ${result.logprobs[k]}`);
      });
    });
  }
