// The shipped Hindsight Starter: the committed folder opens as a model (config, 16-bit weights of
// the right shapes, tokenizer with FIM ids and EOS where the config says), its tokenizer round-trips
// code exactly, and the pretraining script runs end to end on a tiny fixture (`--smoke`) and
// writes a folder that opens the same way.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openModelFolder } from '../../../server/model/folder';
import { loadTokenizer } from '../../../server/model/tokenizer';
import { SPECIAL_TOKENS, VOCAB_SIZE } from '../../../scripts/starter/recipe';

const root = path.resolve(__dirname, '..', '..', '..');
const STARTER = path.join(root, 'models', 'hindsight-starter');

test('the shipped starter folder opens as a Qwen2 model with 16-bit weights and a FIM tokenizer', () => {
  const folder = openModelFolder(STARTER);
  assert.equal(folder.cfg.architecture, 'qwen2');
  assert.equal(folder.cfg.vocabSize, VOCAB_SIZE);
  for (const t of folder.tensors.values()) assert.ok(t.dtype === 'F16' || t.dtype === 'BF16', `${t.name} is ${t.dtype}`);
  const bytes = fs.readdirSync(STARTER).reduce((s, f) => s + fs.statSync(path.join(STARTER, f)).size, 0);
  assert.ok(bytes <= 40e6, `the folder is ${(bytes / 1e6).toFixed(1)} MB (limit 40 MB)`);
  const tok = loadTokenizer(STARTER, folder.cfg.eosTokenId);
  assert.ok(tok.fim, 'FIM ids');
  assert.equal(tok.tokenId('<|endoftext|>'), folder.cfg.eosTokenId[0]);
  assert.ok(tok.maxId < folder.cfg.vocabSize);
  for (const s of SPECIAL_TOKENS) assert.ok(tok.stopIds.has(tok.tokenId(s)!), `${s} ends a suggestion`);
  const card = fs.readFileSync(path.join(STARTER, 'README.md'), 'utf8');
  assert.match(card, /licen[cs]e/i);
});

test('the starter tokenizer round-trips code in every language it was trained on', () => {
  const tok = loadTokenizer(STARTER);
  const samples = [
    'def area(r: float) -> float:\n\treturn 3.14159 * r ** 2  # héllo\r\n',
    "export const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);\n",
    'function f() {\n  return `${a}…${b}` + "✓ 日本";\n}\n',
    '',
  ];
  for (const s of samples) assert.equal(s ? tok.decode(tok.encode(s)) : '', s);
});

/** A fixture corpus folder (train.jsonl, heldout.jsonl) of small Python and TypeScript files. */
function fixtureCorpus(dir: string): string {
  const corpus = path.join(dir, 'corpus');
  fs.mkdirSync(corpus);
  const doc = (i: number, lang: string, text: string) => JSON.stringify({ source: `fixture@${i}`, lang, path: `f${i}`, text });
  const py = (i: number) => `def f${i}(x):\n    if x > ${i}:\n        return x * ${i}\n    return None\n`;
  const ts = (i: number) => `export function g${i}(a: number): number {\n  const total = a + ${i};\n  return total;\n}\n`;
  fs.writeFileSync(path.join(corpus, 'train.jsonl'), Array.from({ length: 40 }, (_, i) => (i % 2 ? doc(i, 'python', py(i)) : doc(i, 'typescript', ts(i)))).join('\n') + '\n');
  const held = [doc(98, 'typescript', Array.from({ length: 12 }, (_, i) => ts(100 + i)).join('\n')), doc(99, 'python', Array.from({ length: 12 }, (_, i) => py(100 + i)).join('\n'))];
  fs.writeFileSync(path.join(corpus, 'heldout.jsonl'), held.join('\n') + '\n');
  return corpus;
}

test('bench:starter --quick evaluates the shipped model on a fixture corpus and ends with its JSON line', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'starter-bench-'));
  try {
    const out = execFileSync(process.execPath, ['--import', 'tsx', 'bench/starter.ts', '--quick', '--model', STARTER, '--corpus', fixtureCorpus(dir)], { cwd: root, encoding: 'utf8' });
    const last = JSON.parse(out.trim().split('\n').pop()!);
    assert.equal(last.bench, 'starter');
    for (const k of ['params', 'heldout_bpb', 'line_exact_match', 'line_chrf', 'random_line_exact_match', 'baseline_line_exact_match', 'hint_copy_rate'])
      assert.ok(typeof last[k] === 'number' && Number.isFinite(last[k]), `${k} = ${last[k]}`);
    assert.ok(last.heldout_bpb > 0 && last.heldout_bpb < 8, `bpb ${last.heldout_bpb}`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('pretraining runs end to end on a fixture corpus and writes a folder that opens (--smoke)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'starter-smoke-'));
  try {
    const corpus = fixtureCorpus(dir);
    const out = path.join(dir, 'out');
    const log = execFileSync(process.execPath, ['--import', 'tsx', 'scripts/starter/pretrain.ts', '--smoke', '--corpus', corpus, '--run', path.join(dir, 'run'), '--out', out, '--threads', '1'], { cwd: root, encoding: 'utf8' });
    assert.match(log, /step 3\/3 · loss \d+\.\d+/);
    const folder = openModelFolder(out);
    assert.equal(folder.cfg.numLayers, 2);
    const summary = JSON.parse(fs.readFileSync(path.join(out, 'training.json'), 'utf8'));
    assert.equal(summary.steps, 3);
    assert.ok(Number.isFinite(summary.final_loss_ema));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
