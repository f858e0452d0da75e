// User text is never control tokens: every added-token string of the real Qwen tokenizer, written
// into the prefix, the suffix or a hint, stays text. The prompt holds exactly one of each FIM
// marker, where buildFimPrompt put it, and decodes back to the user's text; the teacher's hint
// lands above the cursor line, not after a "<|fim_suffix|>" the user typed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { loadTokenizer } from '../../../server/model/tokenizer';
import { QWEN_TOKENIZER_DIR } from '../../../scripts/make-model';
import { buildFimPrompt } from '../../../server/serve/fim';
import { teacherContext } from '../../../server/learn/batch';

const tok = loadTokenizer(QWEN_TOKENIZER_DIR, [151643]);
const added: { id: number; content: string }[] = JSON.parse(fs.readFileSync(path.join(QWEN_TOKENIZER_DIR, 'tokenizer.json'), 'utf8')).added_tokens;
const addedIds = new Set(added.map((t) => t.id));
const fim = tok.fim!;
const count = (ids: number[], id: number) => ids.filter((x) => x === id).length;

test('every added-token string encodes as plain text and round-trips', () => {
  assert.ok(added.length >= 20, `${added.length} added tokens`);
  for (const { id, content } of added) {
    for (const text of [content, `x${content}y`, ` ${content}\n`, `${content}${content}`]) {
      const ids = tok.encode(text);
      assert.ok(!ids.some((x) => addedIds.has(x)), `${JSON.stringify(text)} encoded to control id(s) ${ids.filter((x) => addedIds.has(x))}`);
      assert.equal(tok.decode(ids), text);
    }
    assert.equal(tok.tokenId(content), id, 'the id itself is still there for the code that means it');
  }
});

test('text without control strings encodes exactly as the library does', () => {
  const library = (tok as unknown as { tok: { encode(t: string, o: object): { ids: number[] } } }).tok;
  const code = fs.readFileSync(path.join(__dirname, '../../../server/serve/generate.ts'), 'utf8');
  for (const text of [code, 'def f(x):\r\n\treturn x  # héllo 世界 🚀\n\n    pass', '  ∀x ∈ ℝ: «ok» — ✓\u00a0\n', '<|not_a_token|> <| |> <|fim_prefix', ' '.repeat(17)]) {
    assert.deepEqual(tok.encode(text), library.encode(text, { add_special_tokens: false }).ids, JSON.stringify(text.slice(0, 40)));
  }
});

test('FIM prompt with every control string in prefix and suffix: one marker of each, text intact', () => {
  for (const { content } of added) {
    const prefix = `s = "${content}"\n# ${content}\ndef f():\n    `;
    const suffix = `\n    return "${content}"\n`;
    const p = buildFimPrompt((s) => tok.encode(s), fim, prefix, suffix);
    assert.equal(p.ids[0], fim.prefix, content);
    assert.equal(p.ids[p.prefixTokens + 1], fim.suffix, content);
    assert.equal(p.ids.at(-1), fim.middle, content);
    for (const marker of [fim.prefix, fim.suffix, fim.middle]) assert.equal(count(p.ids, marker), 1, `${content}: marker ${marker}`);
    const inner = [...p.ids.slice(1, p.prefixTokens + 1), ...p.ids.slice(p.prefixTokens + 2, -1)];
    assert.ok(!inner.some((x) => addedIds.has(x)), `${content}: a control id inside the user's text`);
    assert.equal(tok.decode(p.ids), `<|fim_prefix|>${prefix}<|fim_suffix|>${suffix}<|fim_middle|>`);
  }
});

test('the teacher context: hints and prefixes with control strings keep the hint above the cursor line', () => {
  for (const { content } of added) {
    const prefix = `a = "${content}"\ndef f():\n    `;
    const student = buildFimPrompt((s) => tok.encode(s), fim, prefix, '\nprint(1)\n').ids;
    const teacher = teacherContext(student, `do not write ${content} here`, 'python', tok);
    for (const marker of [fim.prefix, fim.suffix, fim.middle]) assert.equal(count(teacher, marker), 1, `${content}: marker ${marker}`);
    const t = teacher.indexOf(fim.suffix);
    assert.equal(tok.decode(teacher.slice(1, t)), `a = "${content}"\ndef f():\n    # Hint: do not write ${content} here\n    `, content);
    assert.deepEqual(teacher.slice(t), student.slice(student.indexOf(fim.suffix)), `${content}: suffix and markers are the student's`);
  }
});
