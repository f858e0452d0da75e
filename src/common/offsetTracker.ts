// Moves a tracked range [start, end) through document edits given as plain data shaped like
// vscode.TextDocumentContentChangeEvent ({ rangeOffset, rangeLength, text }). Used to follow an
// inserted suggestion (survival, diagnostics) and a rejection spot (typed-instead).
// Leaves out undo-stack awareness: an undo is just another edit here.

export interface TextChange {
  /** Offset of the replaced range in the document before this event. */
  rangeOffset: number;
  rangeLength: number;
  /** Replacement text. */
  text: string;
}

export interface TrackedRange {
  start: number;
  end: number;
  /** Set once an edit overlapped the range (content inside changed). */
  touched: boolean;
}

/** Applies one event's changes (all expressed in pre-event offsets, as VS Code sends them). */
export function applyChanges(range: TrackedRange, changes: readonly TextChange[]): TrackedRange {
  // Apply from the end of the document backwards so earlier offsets stay valid.
  const sorted = [...changes].sort((a, b) => b.rangeOffset - a.rangeOffset);
  let r = { ...range };
  for (const c of sorted) r = applyChange(r, c);
  return r;
}

export function applyChange(r: TrackedRange, c: TextChange): TrackedRange {
  const cs = c.rangeOffset;
  const ce = c.rangeOffset + c.rangeLength;
  const delta = c.text.length - c.rangeLength;
  // An insertion exactly at the start counts as before the range, at the end as after it:
  // typing around a suggestion does not edit the suggestion.
  if (ce <= r.start) return { start: r.start + delta, end: r.end + delta, touched: r.touched };
  if (cs >= r.end) return r;
  // Overlap: the range itself changed.
  const start = Math.min(r.start, cs);
  const end = ce >= r.end ? cs + c.text.length : r.end + delta;
  return { start, end: Math.max(start, end), touched: true };
}

/** Moves a single point (e.g. where a rejected suggestion was shown). Insertions at the point push it right only when `stickRight`. */
export function movePoint(offset: number, changes: readonly TextChange[], stickRight = false): number {
  const sorted = [...changes].sort((a, b) => b.rangeOffset - a.rangeOffset);
  let p = offset;
  for (const c of sorted) {
    const ce = c.rangeOffset + c.rangeLength;
    if (ce < p || (ce === p && (c.rangeLength > 0 || stickRight))) p += c.text.length - c.rangeLength;
    else if (c.rangeOffset < p && ce >= p) p = c.rangeOffset; // the point was inside a replaced span
  }
  return p;
}
