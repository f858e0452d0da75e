// Where a hint goes in the teacher's context: as a comment on its own line just above the line
// the suggestion was made on, indented like it. A code model reads comments as intent, and the
// FIM structure (prefix, suffix) stays intact. Leaves out tokenisation (server/serve/fim.ts).

const LINE_COMMENT: Record<string, string> = {
  python: '#', shellscript: '#', ruby: '#', perl: '#', r: '#', yaml: '#', toml: '#', makefile: '#', dockerfile: '#',
  powershell: '#', elixir: '#', julia: '#', nim: '#', coffeescript: '#',
  sql: '--', lua: '--', haskell: '--', ada: '--',
  clojure: ';;', lisp: ';;', scheme: ';;',
  latex: '%', tex: '%', erlang: '%', matlab: '%',
  vb: "'",
};

/** The line-comment marker for a VS Code language id ('//' for the C family and unknown ids). */
export function lineComment(languageId: string): string {
  return LINE_COMMENT[languageId] ?? '//';
}

/**
 * The prefix with `hint` inserted as a comment line above the cursor's line.
 * Multi-line hints are folded onto one comment line; the text after the cursor is untouched.
 */
export function prefixWithHint(prefix: string, hint: string, languageId: string): string {
  const lineStart = prefix.lastIndexOf('\n') + 1;
  const current = prefix.slice(lineStart);
  const indent = /^[ \t]*/.exec(current)![0];
  const eol = prefix.includes('\r\n') ? '\r\n' : '\n';
  const text = hint.replace(/\s*\r?\n\s*/g, ' ').trim();
  return `${prefix.slice(0, lineStart)}${indent}${lineComment(languageId)} Hint: ${text}${eol}${current}`;
}
