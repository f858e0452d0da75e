// Survival check for an accepted suggestion (DESIGN §2): is the inserted text still present,
// edited, or gone? Present when the best approximate match near the tracked range has edit
// distance <= 0.5 x length; the search widens from 50 to 1500 chars around the range.
// Pure: takes the document text and the tracked range, not a vscode.TextDocument.
import { bestSubstringMatch, editDistance } from './editDistance';

export type SurvivalStatus = 'unchanged' | 'edited' | 'deleted';

export interface SurvivalInput {
  /** Full current document text. */
  text: string;
  /** Where the inserted text is now, tracked through later edits (see offsetTracker). */
  start: number;
  end: number;
  /** The text that was inserted when the suggestion was accepted. */
  inserted: string;
  /** Margins tried in turn, in chars either side of the range (default 50, 200, 500, 1500). */
  margins?: number[];
  /** Fraction of the inserted length allowed as edit distance (default 0.5). */
  maxRatio?: number;
  /**
   * An edit overlapped the tracked range (offsetTracker's `touched`): the developer rewrote the
   * suggestion in place. When it no longer resembles the suggestion it is still 'deleted' (no
   * look-alike elsewhere is searched for), but the range's text comes back as `currentText` (what the
   * developer wrote there instead; at most MAX_REWRITE_CHARS), so a big rewrite is not lost.
   */
  touched?: boolean;
}

/** Longest in-place rewrite returned as `currentText` of a deleted suggestion. */
export const MAX_REWRITE_CHARS = 2000;

export interface SurvivalResult {
  status: SurvivalStatus;
  /** Edit distance of the best match (pattern length + 1 when nothing matched). */
  distance: number;
  /** 1 - distance / length, in [0, 1]: share of the suggestion that survived. */
  retained: number;
  /** What the inserted text looks like now (the matched span); for a deleted one, an in-place rewrite (see `touched`). */
  currentText?: string;
  start?: number;
  end?: number;
}

export const DEFAULT_SURVIVAL_MARGINS = [50, 200, 500, 1500];

export function checkSurvival(input: SurvivalInput): SurvivalResult {
  const { text, inserted } = input;
  const margins = input.margins ?? DEFAULT_SURVIVAL_MARGINS;
  const maxRatio = input.maxRatio ?? 0.5;
  const len = inserted.length;
  if (len === 0) return { status: 'unchanged', distance: 0, retained: 1, currentText: '', start: input.start, end: input.start };
  const threshold = Math.floor(maxRatio * len);
  // Fast path: untouched in place.
  if (text.slice(input.start, input.end) === inserted) {
    return { status: 'unchanged', distance: 0, retained: 1, currentText: inserted, start: input.start, end: input.end };
  }
  // The tracked range (moved through every edit) is what the text became, when it still
  // resembles the suggestion; the search only recovers from edits we could not follow.
  let best = { distance: len + 1, start: -1, end: -1 };
  if (input.start >= 0 && input.end <= text.length && input.end >= input.start) {
    const d = editDistance(inserted, text.slice(input.start, input.end), threshold);
    if (d <= threshold) best = { distance: d, start: input.start, end: input.end };
  }
  // A range the developer edited in place (touched) is authoritative: when it no longer resembles the
  // suggestion it was rewritten, and a look-alike elsewhere (a short suggestion such as "}" matches
  // anywhere) must not count as the suggestion surviving.
  const rewritten = input.touched && best.distance > threshold && input.start >= 0 && input.end > input.start && input.end <= text.length;
  for (const margin of best.distance <= threshold || rewritten ? [] : margins) {
    const lo = Math.max(0, Math.min(input.start, text.length) - margin);
    const hi = Math.min(text.length, Math.max(input.end, input.start) + margin);
    const m = bestSubstringMatch(inserted, text.slice(lo, hi));
    if (m.distance < best.distance) best = { distance: m.distance, start: lo + m.start, end: lo + m.end };
    if (best.distance <= threshold) break;
    if (hi - lo >= text.length) break; // already searched everything
  }
  if (best.distance > threshold) {
    const { start, end } = input;
    const rewrite = input.touched && start >= 0 && end > start && end <= text.length && end - start <= MAX_REWRITE_CHARS && text.slice(start, end).trim() ? text.slice(start, end) : undefined;
    return { status: 'deleted', distance: best.distance, retained: 0, ...(rewrite !== undefined ? { currentText: rewrite, start, end } : {}) };
  }
  const currentText = text.slice(best.start, best.end);
  return {
    status: best.distance === 0 ? 'unchanged' : 'edited',
    distance: best.distance,
    retained: Math.max(0, 1 - best.distance / len),
    currentText,
    start: best.start,
    end: best.end,
  };
}
