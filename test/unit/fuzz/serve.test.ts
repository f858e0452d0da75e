// Fuzz: serve/complete against a loaded (tiny, generated) model, through the trainer's JSON-RPC
// connection. Params of the wrong type are refused before the serving worker sees them; params of
// the right type with odd values (no tokens, a billion tokens, zero or huge temperature, top-p 0,
// odd seeds, long single-line prefixes, control-token text, lone surrogates, odd hints) are answered
// within their time budget with a documented outcome, and the worker keeps serving. Seeded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { makeModel, PRESETS } from '../../../scripts/make-model';
import { ErrorCodes, lifecycle, type serve } from '../../../protocol';
import { MAX_COMPLETE_TIMEOUT_MS } from '../../../server/rpc';
import { Failures, junk, NASTY_NUMBERS, NASTY_STRINGS, report, rng, SEED, SLIP, stringify, Tally, tempDir, wrongTyped, INF } from './fuzz';
import { noStrayErrors, startTrainer } from './rpcHarness';

const CASES = Number(process.env.HINDSIGHT_FUZZ_SERVE_CASES ?? 80);
const KINDS = new Set(['success', 'empty', 'cancelled', 'unavailable', 'failed']);
const BASE: serve.CompleteParams = { uri: 'file:///w/a.py', languageId: 'python', prefix: 'def total(items):\n    return ', suffix: '\n', maxTokens: 6, timeoutMs: 300 };

const longLine = (n: number) => Array.from({ length: n }, (_, i) => String.fromCharCode(33 + ((i * 7919) % 90))).join('');

test('fuzz: serve/complete with a loaded model answers odd params within their budget and keeps serving', { timeout: 120_000 }, async (t) => {
  const started = performance.now();
  const root = tempDir('serve');
  const modelDir = path.join(root, 'tiny');
  makeModel({ ...PRESETS.tiny, numLayers: 1 }, modelDir, { seed: 5 });
  const trainer = startTrainer();
  const { client } = trainer;
  const tally = new Tally();
  const failures = new Failures();
  try {
    await noStrayErrors(async () => {
      const init = await client.request('initialize', JSON.stringify({ storageDir: path.join(root, 'storage'), recordingEnabled: false, modelPath: modelDir, clientVersion: 'fuzz', serving: { executionProvider: 'cpu', threads: 1, weights: 'full' }, cacheDir: path.join(root, 'model-cache') } satisfies lifecycle.InitializeParams), 5000);
      assert.ok(init.result, JSON.stringify(init.error));
      // Wait for the model (status/changed says ready).
      for (let i = 0; i < 300; i++) {
        const s = (await client.request('status', undefined, 5000)).result as lifecycle.StatusResult;
        if (s.model.kind === 'ready') break;
        assert.notEqual(s.model.kind, 'failed', JSON.stringify(s.model));
        await new Promise((r) => setTimeout(r, 50));
      }
      const first = (await client.request('serve/complete', JSON.stringify(BASE), 10_000)).result as serve.CompleteResult;
      assert.ok(first.kind === 'success' || first.kind === 'empty', JSON.stringify(first));

      const r = rng(SEED + 70);
      const odd = (): { p: Record<string, unknown>; tag: string; wrong: boolean } => {
        const p: Record<string, unknown> = { ...BASE };
        switch (r.int(9)) {
          case 0: { const k = r.pick(Object.keys(BASE).concat(['mode', 'temperature', 'topP', 'seed', 'hint'])); p[k] = wrongTyped(r, (BASE as unknown as Record<string, unknown>)[k] ?? (k === 'hint' || k === 'mode' ? 'x' : 0)); return { p, tag: `${k} of the wrong type`, wrong: true }; }
          case 1: p.maxTokens = r.pick([0, 1, 2.5, 1e9, 1e308, 2 ** 53]); return { p, tag: 'maxTokens', wrong: false };
          case 2: p.timeoutMs = r.pick([0, 1, 50, MAX_COMPLETE_TIMEOUT_MS + 1, INF, 1e12, -1]); return { p, tag: 'timeoutMs', wrong: typeof p.timeoutMs !== 'number' || p.timeoutMs < 0 || p.timeoutMs > MAX_COMPLETE_TIMEOUT_MS };
          case 3: p.temperature = r.pick([0, 0.7, 5, 1e308, 5e-324]); p.topP = r.pick([0, 1e-300, 0.5, 1, 7, -3]); p.seed = r.pick(NASTY_NUMBERS); return { p, tag: 'sampling', wrong: false };
          case 4: p.prefix = r.pick([...NASTY_STRINGS, longLine(100_000), '<|fim_suffix|><|endoftext|><|fim_middle|>', '\ud800\udfff\ud800 = ']); return { p, tag: 'prefix', wrong: false };
          case 5: p.suffix = r.pick([...NASTY_STRINGS, longLine(50_000), '<|endoftext|>']); return { p, tag: 'suffix', wrong: false };
          case 6: p.hint = r.pick([...NASTY_STRINGS, '*/ <|fim_middle|> #', '\n\n\n']); p.mode = r.pick(['line', 'block']); return { p, tag: 'hint', wrong: false };
          case 7: p.languageId = r.pick(NASTY_STRINGS); p.uri = r.pick(NASTY_STRINGS); return { p, tag: 'languageId/uri', wrong: false };
          default: { const v = junk(r, 2); return { p: { ...BASE, extra: v }, tag: 'extra member', wrong: false }; }
        }
      };
      for (let i = 0; i < CASES; i++) {
        const c = odd();
        const what = `case ${i} (${c.tag}, seed ${SEED + 70})`;
        const ok = await failures.runAsync(what, async () => {
          const budget = typeof c.p.timeoutMs === 'number' && c.p.timeoutMs >= 0 && c.p.timeoutMs <= MAX_COMPLETE_TIMEOUT_MS ? c.p.timeoutMs : 2000;
          const t0 = performance.now();
          const m = await client.request('serve/complete', stringify(c.p), budget + 8000, what);
          const ms = performance.now() - t0;
          if (m.error) {
            assert.equal(m.error.code, ErrorCodes.InvalidParams, `${what}: ${JSON.stringify(m.error)}`);
            assert.ok(!SLIP.test(m.error.message), `${what}: ${m.error.message}`);
            tally.add(`${c.tag} → InvalidParams`);
            return;
          }
          assert.ok(!c.wrong, `${what}: accepted ${stringify(c.p).slice(0, 200)}`);
          const res = m.result as serve.CompleteResult;
          assert.ok(KINDS.has(res.kind), `${what}: kind ${res.kind}`);
          assert.ok(res.kind !== 'failed' || !SLIP.test(res.reason ?? ''), `${what}: failed with ${res.reason}`);
          assert.equal(!!res.completionId, res.kind === 'success' && res.text.length > 0, `${what}: a completion id exactly when there is text`);
          const g = res.completionId ? trainer.serving.generations.generation(res.completionId) : undefined;
          if (g) {
            assert.equal(g.text, res.text, what);
            assert.equal(g.tokenIds.length, g.logprobs.length, what);
            assert.ok(g.tokenIds.every((id) => Number.isInteger(id) && id >= 0) && g.logprobs.every((x) => x === null || x <= 0), `${what}: ids/log-probs`);
          }
          // Tokenising a long prompt comes before the budget starts; the rest of the answer keeps to it.
          assert.ok(ms < budget + 5000, `${what}: answered after ${Math.round(ms)} ms (budget ${budget})`);
          tally.add(`${c.tag} → ${res.kind}`);
        });
        if (!ok) tally.add(`${c.tag} → FAILED`);
      }
      const last = (await client.request('serve/complete', JSON.stringify(BASE), 10_000)).result as serve.CompleteResult;
      assert.ok(last.kind === 'success' || last.kind === 'empty', `still serving: ${JSON.stringify(last)}`);
      assert.equal(first.text, last.text, 'the same (greedy) suggestion as before the barrage');
      if (first.completionId) assert.deepEqual(trainer.serving.generations.generation(first.completionId)?.tokenIds, trainer.serving.generations.generation(last.completionId!)?.tokenIds);
      const logged = client.notifications.filter((n) => n.method === lifecycle.log.method).map((n) => (n.params as lifecycle.LogParams).message);
      assert.deepEqual(logged.filter((m) => /uncaught|unhandled rejection|worker stopped/.test(m)), []);
    });
  } finally {
    await trainer.stop();
  }
  report(t, 'serve/complete with a model', tally, started);
  failures.check();
});
