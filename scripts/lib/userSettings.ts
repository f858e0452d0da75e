// `npm start` keeps its private VS Code's user settings.json the user's: it sets only its own keys
// (the harness defaults, git, the demo model) and leaves every other key — and any of its own the
// user has since changed or removed in the Settings UI — as the user left them. What it wrote last
// time is remembered beside its state (`memoryFile`), which tells a value it wrote from one the
// user chose. Edits go through jsonc-parser, so comments and formatting survive.
import fs from 'node:fs';
import path from 'node:path';
import { applyEdits, modify, parse, type ParseError } from 'jsonc-parser';

export interface MergeResult {
  /** Own keys written (new, or still as last written and now with a new value). */
  written: string[];
  /** Own keys left as the user set (changed or removed since npm start wrote them, or set before it ever did). */
  kept: string[];
}

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);

export function mergeOwnSettings(file: string, own: Record<string, unknown>, memoryFile: string): MergeResult {
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const errors: ParseError[] = [];
  const current = (text.trim() ? parse(text, errors, { allowTrailingComma: true }) : {}) as Record<string, unknown> | undefined;
  if (errors.length || !current || typeof current !== 'object' || Array.isArray(current))
    throw new Error(`${file} is not a JSON object (with comments) that npm start can edit; fix or delete it — npm start does not overwrite it`);
  const memory = readMemory(memoryFile);
  let out = text.trim() ? text : '{}\n';
  const written: string[] = [];
  const kept: string[] = [];
  const remembered: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(own)) {
    const has = Object.prototype.hasOwnProperty.call(current, key);
    const ours = Object.prototype.hasOwnProperty.call(memory, key);
    // The user's: changed or removed since we wrote it, or there before we ever wrote it.
    const users = ours ? !(has ? same(current[key], memory[key]) : false) : has;
    if (users) {
      kept.push(key);
      if (ours) remembered[key] = memory[key];
      continue;
    }
    remembered[key] = value;
    if (has && same(current[key], value)) continue;
    out = applyEdits(out, modify(out, [key], value, { formattingOptions: { insertSpaces: true, tabSize: 2, eol: '\n' } }));
    written.push(key);
  }
  if (out !== text) {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, out);
  }
  fs.mkdirSync(path.dirname(memoryFile), { recursive: true });
  fs.writeFileSync(memoryFile, JSON.stringify(remembered, null, 2));
  return { written, kept };
}

function readMemory(file: string): Record<string, unknown> {
  try {
    const v = JSON.parse(fs.readFileSync(file, 'utf8'));
    return v && typeof v === 'object' && !Array.isArray(v) ? v : {};
  } catch {
    return {};
  }
}
