// Token healing: the prompt leaves out the prefix's last token, the first generated tokens must
// re-spell its text, the editor is shown only what comes after it, and the record keeps
// decode(tokenIds) === healed + text with the model's own (unmasked) log-probs. Also the
// prefix-only prompt layout a model folder may choose (hindsight.json), and what healing means
// for a developer's text trained as a target.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadTokenizer } from '../../../server/model/tokenizer';
import { QWEN_TOKENIZER_DIR, makeModel, PRESETS } from '../../../scripts/make-model';
import { generate, type StepModel } from '../../../server/serve/generate';
import { logSumExp } from '../../../server/serve/sampling';
import { HealingMask } from '../../../server/serve/tokenHealing';
import { openModelFolder, SERVING_FILE } from '../../../server/model/folder';
import { ModelFolderError } from '../../../server/model/config';
import { targetTokens } from '../../../server/learn/batch';
import { tempDir } from '../model/fixtures';
import type { serve } from '../../../protocol';

const tok = loadTokenizer(QWEN_TOKENIZER_DIR, [151643]);
const V = 151936;
const EOS = 151643;
const id = (s: string) => {
  const ids = tok.encode(s);
  assert.equal(ids.length, 1, `${JSON.stringify(s)} is one token`);
  return ids[0];
};

/** A model whose k-th generated position ranks `prefs[k]` first, second, … (then EOS), counting prompt ids it was run on. */
function ranked(prefs: number[][]): StepModel<{ ids: number[] }> & { prompt: number[] } {
  let promptLen = -1;
  const m = {
    adapterVersion: 0,
    prompt: [] as number[],
    emptyCache: () => ({ ids: [] as number[] }),
    truncate: (c: { ids: number[] }, n: number) => ({ ids: c.ids.slice(0, n) }),
    async step(ids: number[], cache: { ids: number[] }) {
      const all = [...cache.ids, ...ids];
      if (promptLen < 0) {
        promptLen = all.length;
        m.prompt = all;
      }
      const k = all.length - promptLen;
      const l = new Float32Array(V).fill(-5);
      (prefs[k] ?? [EOS]).forEach((t, r) => (l[t] = 10 - r));
      return { logits: l, cache: { ids: all } };
    },
  };
  return m;
}

const params = (prefix: string, over: Partial<serve.CompleteParams> = {}): serve.CompleteParams => ({ uri: 'file:///a.py', languageId: 'python', prefix, suffix: '\n', mode: 'line', ...over });

test('a cursor inside a word: the last prefix token is re-spelt, the editor sees the rest', async () => {
  const prefix = 'def endSuite(self, na'; // … "," " na"
  // Unconstrained, the model would write "t"; healing allows only tokens that re-spell " na".
  const m = ranked([[id('t'), id(' name')], [id('):')]]);
  const { result } = await generate(m, tok, params(prefix));
  assert.equal(result.healed, ' na');
  assert.equal(result.text, 'me):');
  assert.deepEqual(result.tokenIds, [id(' name'), id('):')]);
  assert.equal(tok.decode(result.tokenIds), result.healed + result.text);
  // The prompt is the FIM prompt of the prefix without " na", and the model ran on exactly it.
  assert.equal(tok.decode(result.promptTokenIds), '<|fim_prefix|>def endSuite(self,<|fim_suffix|>\n<|fim_middle|>');
  assert.deepEqual(m.prompt, result.promptTokenIds);
  // The recorded log-prob is the model's own over the whole vocabulary, not the masked one.
  const l = new Float32Array(V).fill(-5);
  l[id('t')] = 10;
  l[id(' name')] = 9;
  assert.ok(Math.abs(result.logprobs[0] - (9 - logSumExp(l))) < 1e-9);
});

test('healing may take several tokens, which do not count against maxTokens', async () => {
  const prefix = 'def endSuite(self, na';
  // " n" spells part of " na"; then "ame" finishes it and goes on.
  const m = ranked([[id(' n')], [id('x'), id('ame')], [id('):')], [id(' #')]]);
  const { result } = await generate(m, tok, params(prefix, { maxTokens: 2 }));
  assert.deepEqual(result.tokenIds.map((t) => tok.decode([t])), [' n', 'ame', '):']);
  assert.equal(result.text, 'me):');
  assert.equal(result.reason, 'max tokens');
});

test('a stop token cannot end the suggestion before the healed text is re-spelt', async () => {
  const m = ranked([[id(' n')], [EOS, id('x'), id('a')], [id('me')], [EOS]]);
  const { result } = await generate(m, tok, params('def endSuite(self, na'));
  assert.deepEqual(result.tokenIds.map((t) => tok.decode([t])), [' n', 'a', 'me']);
  assert.equal(result.healed, ' na');
  assert.equal(result.text, 'me');
  assert.equal(result.reason, 'stop token');
});

test('a stop token right after the healed text shows nothing and records nothing', async () => {
  const m = ranked([[id(' na')], [EOS]]);
  const { result } = await generate(m, tok, params('def endSuite(self, na'));
  assert.equal(result.kind, 'empty');
  assert.deepEqual(result.tokenIds, []);
  assert.equal(result.healed, undefined);
});

test('heal: false keeps the prompt whole and the model free', async () => {
  const m = ranked([[id('t')], [EOS]]);
  const { result } = await generate(m, tok, params('def endSuite(self, na'), { heal: false });
  assert.equal(result.text, 't');
  assert.equal(result.healed, undefined);
  assert.equal(tok.decode(result.promptTokenIds), '<|fim_prefix|>def endSuite(self, na<|fim_suffix|>\n<|fim_middle|>');
});

test('HealingMask: only tokens that finish or spell part of what is left keep their logits', () => {
  const mask = new HealingMask(tok, ' na');
  const l = new Float32Array(V).fill(1);
  const out = mask.apply(l);
  for (const s of [' na', ' name', ' n', ' ']) assert.equal(out[id(s)], 1, `${JSON.stringify(s)} allowed`);
  for (const s of ['na', ' nb', 't', 'me']) assert.equal(out[id(s)], -Infinity, `${JSON.stringify(s)} masked`);
  assert.equal(out[EOS], -Infinity, 'no stop token while healing');
  mask.push(id(' n'));
  assert.ok(mask.active);
  assert.equal(mask.apply(l)[id('ame')], 1);
  mask.push(id('ame'));
  assert.ok(!mask.active);
  assert.equal(mask.apply(l), l, 'done: logits pass through');
});

test('healed indentation is not lengthened: after "  " a token may finish it with code, not with more blanks', () => {
  const mask = new HealingMask(tok, '  ');
  const l = new Float32Array(V).fill(1);
  const out = mask.apply(l);
  for (const s of ['  ', ' ']) assert.equal(out[id(s)], 1, `${JSON.stringify(s)} allowed`);
  for (const s of ['    ', '   ', '  \n']) assert.equal(out[id(s)], -Infinity, `${JSON.stringify(s)} masked`);
});

test("prefix layout: the prompt is the prefix's tokens alone; an empty prefix asks nothing of the model", async () => {
  const m = ranked([[id('bar'), id('.bar')], [EOS]]);
  const { result } = await generate(m, tok, params('x = foo.ba'), { prompt: 'prefix' });
  assert.equal(tok.decode(result.promptTokenIds), 'x = foo');
  assert.deepEqual(m.prompt, result.promptTokenIds);
  assert.equal(result.healed, '.ba');
  assert.equal(result.text, 'r');
  assert.deepEqual(result.tokenIds, [id('.bar')]);
  const empty = ranked([[id('bar')]]);
  const none = await generate(empty, tok, params(''), { prompt: 'prefix' });
  assert.equal(none.result.kind, 'empty');
  assert.deepEqual(empty.prompt, [], 'the model never ran');
});

test("a model folder's hindsight.json chooses the prompt layout; a bad one is a clear error", () => {
  const dir = tempDir('serving-choices');
  makeModel(PRESETS.tiny, dir);
  assert.equal(openModelFolder(dir).prompt, undefined);
  fs.writeFileSync(path.join(dir, SERVING_FILE), JSON.stringify({ prompt: 'prefix' }));
  assert.equal(openModelFolder(dir).prompt, 'prefix');
  fs.writeFileSync(path.join(dir, SERVING_FILE), JSON.stringify({ prompt: 'middle' }));
  assert.throws(() => openModelFolder(dir), (e: Error) => e instanceof ModelFolderError && /"prompt" must be "fim" or "prefix"/.test(e.message));
  fs.writeFileSync(path.join(dir, SERVING_FILE), '{ nope');
  assert.throws(() => openModelFolder(dir), (e: Error) => e instanceof ModelFolderError && /not valid JSON/.test(e.message));
});

test("after a healed prompt, the developer's text as a target re-spells the healed text too", () => {
  const served = { text: 'me):', ids: [id(' name'), id('):')], healed: ' na' };
  assert.deepEqual(targetTokens('me):', served, 10, 512, tok), served.ids, 'the served text: its own ids');
  assert.equal(tok.decode(targetTokens('me, value):', served, 10, 512, tok)), ' name, value):');
  assert.equal(tok.decode(targetTokens('me):', { text: 'x', ids: [1] }, 10, 512, tok)), 'me):', 'no healing: the text alone');
});
