// When a ghost-text suggestion should end, decided on the text generated so far (pure). Token-level
// limits (EOS / control ids, max tokens, wall time) live in generate.ts; this file holds the shape
// rules: 'line' mode ends at the first line break; 'block' mode ends at a blank line, at a line that
// dedents below the cursor line, at a closing bracket that dedents to it, or where the generated
// line repeats the first line of the suffix (the model re-typing what is already there). In both
// modes a loop — the same piece of code four times in a row ("b, b, b, b", "type type type type") —
// ends the suggestion after its first time: small models fall into them under greedy decoding. And
// a comment that starts "Hint:" ends it before the comment: that is the form in which hints reach a
// teacher prompt (server/judge/hintPlacement.ts), and a model that saw such lines in training (the
// starter's hint-conditioned examples) would otherwise write them for the developer.
export interface StopContext {
  mode: 'line' | 'block';
  /** Indentation width of the line the cursor is on (tabs count as 4). */
  baseIndent: number;
  /** Text after the cursor, to spot the model re-typing it. */
  suffix: string;
}

export interface StopCheck {
  /** Stop now. */
  stop: boolean;
  /** Length of the generated text to keep (≤ text.length). */
  keep: number;
  reason?: 'newline' | 'blank-line' | 'dedent' | 'closing-bracket' | 'repeats-suffix' | 'repetition' | 'hint-comment';
}

export function indentWidth(line: string): number {
  let w = 0;
  for (const ch of line) {
    if (ch === ' ') w += 1;
    else if (ch === '\t') w += 4;
    else break;
  }
  return w;
}

export function stopContextFor(prefix: string, suffix: string, mode: 'line' | 'block'): StopContext {
  const lastLine = prefix.slice(prefix.lastIndexOf('\n') + 1);
  return { mode, baseIndent: indentWidth(lastLine), suffix };
}

/**
 * Check the generated text. Only complete lines (and, for brackets and dedents, a line whose first
 * non-blank character has arrived) are judged, so a rule never fires on a half-written line.
 */
export function checkStop(text: string, ctx: StopContext): StopCheck {
  const t = text.replace(/\r\n/g, '\n');
  const crlf = t.length !== text.length;
  const mapBack = (i: number) => (crlf ? indexInOriginal(text, i) : i);
  if (ctx.mode === 'line') {
    const nl = t.indexOf('\n');
    if (nl >= 0) return { stop: true, keep: trimEnd(text, mapBack(nl)), reason: 'newline' };
  }
  const hint = HINT_COMMENT.exec(t);
  // (generate() first tries the model's next-best token where the comment starts: hintCommentAt.)
  if (hint) {
    let keep = mapBack(hint[1].length);
    while (keep > 0 && /\s/.test(text[keep - 1])) keep--;
    return { stop: true, keep, reason: 'hint-comment' };
  }
  const firstSuffixLine = ctx.suffix.replace(/\r\n/g, '\n').split('\n').find((l) => l.trim() !== '')?.trim();
  const lines = t.split('\n');
  let offset = 0;
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const complete = i < lines.length - 1;
    const started = line.trim() !== '';
    if (i > 0 && ctx.mode === 'block') {
      if (!started && complete && offset > 0) return { stop: true, keep: trimEnd(text, mapBack(offset - 1)), reason: 'blank-line' };
      if (started) {
        const ind = indentWidth(line);
        if (ind < ctx.baseIndent) return { stop: true, keep: trimEnd(text, mapBack(offset - 1)), reason: 'dedent' };
        if (ind === ctx.baseIndent && /^[)\]}]/.test(line.trim()) && i > 0) return { stop: true, keep: trimEnd(text, mapBack(offset - 1)), reason: 'closing-bracket' };
      }
    }
    if (complete && started && firstSuffixLine && line.trim() === firstSuffixLine && firstSuffixLine.length > 1)
      return { stop: true, keep: i === 0 ? 0 : trimEnd(text, mapBack(offset - 1)), reason: 'repeats-suffix' };
    offset += line.length + 1;
  }
  const loop = repeatedTail(text);
  if (loop) return { stop: true, keep: trimEnd(text, text.length - (REPEATS - 1) * loop), reason: 'repetition' };
  return { stop: false, keep: text.length };
}

/**
 * A comment leader, then "Hint:": group 1 is what comes before it (kept, trailing blanks and a line
 * break trimmed), group 2 the blanks before the leader.
 */
const HINT_COMMENT = /^([\s\S]*?)([^\S\n]*)(?:\/\/|#|--|\/\*+|;+)[^\S\n]*Hint:/;

/** Where the leader of a "Hint:" comment starts in `text`, or undefined. */
export function hintCommentAt(text: string): number | undefined {
  const m = HINT_COMMENT.exec(text);
  return m ? m[1].length + m[2].length : undefined;
}

/** How many times in a row a piece must occur to count as a loop. */
export const REPEATS = 4;
const MAX_UNIT = 32;

/**
 * Length of the piece `text` ends with REPEATS times in a row (the shortest), or 0. A piece must
 * hold a letter or digit, so indentation, separator lines ("=====") and runs of brackets are code.
 */
export function repeatedTail(text: string): number {
  for (let len = 1; len <= MAX_UNIT && len * REPEATS <= text.length; len++) {
    const unit = text.slice(text.length - len);
    if (!/[A-Za-z0-9]/.test(unit)) continue;
    let k = 1;
    while (k < REPEATS && text.startsWith(unit, text.length - (k + 1) * len)) k++;
    if (k === REPEATS) return len;
  }
  return 0;
}

/** Index in a CRLF text of position i in its LF-normalised form. */
function indexInOriginal(text: string, i: number): number {
  let n = 0;
  for (let k = 0; k < text.length; k++) {
    if (n === i) return k;
    if (text[k] === '\r' && text[k + 1] === '\n') continue;
    n++;
  }
  return text.length;
}

/** Cut at `i` and drop trailing spaces/tabs/CR so the suggestion does not end in whitespace. */
function trimEnd(text: string, i: number): number {
  let k = i;
  while (k > 0 && /[ \t\r]/.test(text[k - 1])) k--;
  return k;
}
