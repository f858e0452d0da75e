// Where the prefix sent to the model starts. Taking exactly the last N characters moves the start
// with every keystroke, and then no two prompts share a beginning and the trainer's KV cache of the
// previous prompt is useless. The start instead moves in steps of WINDOW_STEP characters and then
// to the next line start, so a developer typing at the cursor keeps the same prompt start for
// hundreds of keystrokes. Pure: plain text and offsets.

/** Characters the window start moves by at a time. */
export const WINDOW_STEP = 512;

/** Start offset of the prefix window: at most `maxChars` before `offset`, anchored as above. */
export function prefixWindowStart(text: string, offset: number, maxChars: number): number {
  const earliest = offset - maxChars;
  if (earliest <= 0) return 0;
  const stepped = Math.min(offset, Math.ceil(earliest / WINDOW_STEP) * WINDOW_STEP);
  const nl = text.lastIndexOf('\n', offset - 1);
  // The first line start at or after the step boundary, if one comes before the cursor's line start.
  const next = text.indexOf('\n', stepped - 1) + 1;
  return next > 0 && next <= nl + 1 ? next : stepped;
}
