// The pure state machine behind the editor signals (DESIGN §2): shown -> accepted / partial /
// rejected / notShown, then typed-instead for rejections and survival checkpoints for accepted
// text. The host (src/signals/tracker.ts) feeds it plain events and a clock and sends what it
// returns to the store; it never touches 'vscode'. Diagnostics, tests and commits are attributed
// by the host using `liveSpans()`; this file only follows text.
import type { EpisodeEvent } from '../../protocol/episodes';
import type { SignalsConfig } from './signalsConfig';
import { applyChanges, type TextChange, type TrackedRange } from './offsetTracker';
import { checkSurvival } from './survival';

export interface ShownInput {
  id: string;
  uri: string;
  /** Cursor offset when the suggestion (or the rest of it) was offered. */
  offset: number;
  /** The remaining suggestion text offered at `offset`. */
  text: string;
}

export interface Decision {
  id: string;
  event: EpisodeEvent;
}

interface Pending {
  id: string;
  uri: string;
  /** Where the full suggestion starts (offset of the first display). */
  start: number;
  full: string;
  /** Part of `full` the developer already has in the document (typed or accepted word by word). */
  typed: string;
  /** Chars of `typed` that arrived as multi-char chunks (accept-word), i.e. partial acceptance. */
  chunked: number;
  firstShownAt: number;
  /** Deadline for accepting: rejectAfterMs after the last (re)display. */
  deadline: number;
}

interface RejectedSpot {
  id: string;
  uri: string;
  range: TrackedRange;
  dueAt: number;
}

export interface AcceptedSpan {
  id: string;
  uri: string;
  range: TrackedRange;
  inserted: string;
  acceptedAt: number;
  /** Index into survivalCheckpointsMs of the next check. */
  next: number;
}

export class SuggestionLifecycle {
  private readonly pending = new Map<string, Pending>();
  private readonly rejected: RejectedSpot[] = [];
  private readonly accepted = new Map<string, AcceptedSpan>();
  /** Recently rejected suggestions, kept so a late accept command can still be matched. */
  private readonly hidden = new Map<string, Pending>();

  constructor(private cfg: SignalsConfig) {}

  setConfig(cfg: SignalsConfig): void {
    this.cfg = cfg;
  }

  /** Forgets every suggestion it follows (the workspace's data was deleted): no decision follows. */
  clear(): void {
    this.pending.clear();
    this.rejected.length = 0;
    this.accepted.clear();
    this.hidden.clear();
  }

  /**
   * The provider offered `s`. A re-offer of the rest of a pending suggestion after a typed
   * continuation keeps its episode; any other pending suggestion in the document was replaced.
   */
  shown(s: ShownInput, now: number): Decision[] {
    const out: Decision[] = [];
    const same = this.pending.get(s.id);
    if (same) {
      same.deadline = now + this.cfg.rejectAfterMs;
      return out;
    }
    for (const p of [...this.pending.values()]) if (p.uri === s.uri) out.push(...this.hide(p, 'superseded', now));
    this.pending.set(s.id, { id: s.id, uri: s.uri, start: s.offset, full: s.text, typed: '', chunked: 0, firstShownAt: now, deadline: now + this.cfg.rejectAfterMs });
    return out;
  }

  /** The id of the pending suggestion whose rest is `text` at `offset`, if the developer typed a continuation of it. */
  continuationOf(uri: string, offset: number, text?: string): { id: string; rest: string } | undefined {
    for (const p of this.pending.values()) {
      if (p.uri !== uri || p.start + p.typed.length !== offset) continue;
      const rest = p.full.slice(p.typed.length);
      if (text === undefined || text === rest) return { id: p.id, rest };
    }
    return undefined;
  }

  /**
   * The item's command ran: the rest of the suggestion was inserted at the cursor. VS Code keeps
   * ghost text on screen past our rejection timeout, so a late Tab still counts: the episode gets
   * its `accepted` after the `rejected` (the store lets the accept win) and typed-instead is dropped.
   */
  accept(id: string, now: number): Decision[] {
    const p = this.pending.get(id) ?? this.hidden.get(id);
    if (!p || this.accepted.has(id)) return [];
    this.pending.delete(id);
    this.hidden.delete(id);
    const r = this.rejected.findIndex((x) => x.id === id);
    // The rejected spot was moved through later edits; the text was inserted there.
    const start = r >= 0 ? this.rejected[r].range.start : p.start;
    if (r >= 0) this.rejected.splice(r, 1);
    return [this.acceptDecision({ ...p, start }, 'command', p.full, now)];
  }

  /** Document edits: continuation / divergence for pending ones, moves for tracked spans. */
  change(uri: string, changes: readonly TextChange[], now: number): Decision[] {
    const out: Decision[] = [];
    for (const p of [...this.pending.values()]) {
      if (p.uri !== uri) continue;
      const cursor = p.start + p.typed.length;
      const single = changes.length === 1 ? changes[0] : undefined;
      const rest = p.full.slice(p.typed.length);
      if (single && single.rangeLength === 0 && single.rangeOffset === cursor && single.text.length > 0 && rest.startsWith(single.text)) {
        // Typed (or accepted word by word) the next part of the suggestion: a continuation.
        p.typed += single.text;
        if (single.text.length > 1) p.chunked += single.text.length;
        // All of it is in the document: VS Code runs the item's command right after inserting
        // on Tab, so wait a moment for it before calling this an acceptance by typing.
        p.deadline = now + (p.typed === p.full ? this.cfg.acceptGraceMs : this.cfg.rejectAfterMs);
        continue;
      }
      // Edits entirely before the suggestion just move it; anything at or after the cursor hides it.
      const touchesSpot = changes.some((c) => c.rangeOffset + c.rangeLength >= p.start);
      if (!touchesSpot) {
        const delta = changes.reduce((d, c) => d + c.text.length - c.rangeLength, 0);
        p.start += delta;
        continue;
      }
      out.push(...this.hide(p, 'diverged', now, changes));
    }
    out.push(...this.revive(uri, changes, now));
    for (const r of this.rejected) if (r.uri === uri) r.range = growRange(r.range, changes);
    for (const a of this.accepted.values()) if (a.uri === uri) a.range = applyChanges(a.range, changes);
    return out;
  }

  /**
   * VS Code keeps ghost text on screen past our timeout: typing or accepting the next word of a
   * timed-out suggestion brings it back to pending (its typed-instead read is cancelled).
   */
  private revive(uri: string, changes: readonly TextChange[], now: number): Decision[] {
    const c = changes.length === 1 ? changes[0] : undefined;
    if (!c || c.rangeLength !== 0 || c.text.length === 0) return [];
    for (const h of this.hidden.values()) {
      // Only shortly after the timeout (h.deadline): later, the ghost text is long gone.
      if (h.uri !== uri || now - h.deadline > this.cfg.rejectAfterMs) continue;
      const r = this.rejected.findIndex((x) => x.id === h.id);
      const start = r >= 0 ? this.rejected[r].range.start : h.start;
      if (c.rangeOffset !== start + h.typed.length || !h.full.slice(h.typed.length).startsWith(c.text)) continue;
      if (r >= 0) this.rejected.splice(r, 1);
      this.hidden.delete(h.id);
      const p: Pending = { ...h, start, typed: h.typed + c.text, chunked: h.chunked + (c.text.length > 1 ? c.text.length : 0) };
      p.deadline = now + (p.typed === p.full ? this.cfg.acceptGraceMs : this.cfg.rejectAfterMs);
      this.pending.set(p.id, p);
      return [];
    }
    return [];
  }

  /** The cursor moved; a pending suggestion whose spot the cursor left is hidden. */
  cursorMoved(uri: string, offset: number, now: number): Decision[] {
    const out: Decision[] = [];
    for (const p of [...this.pending.values()]) {
      if (p.uri === uri && offset !== p.start + p.typed.length) out.push(...this.hide(p, 'cursorMoved', now));
    }
    return out;
  }

  /** The document was closed: stop following everything in it. */
  closed(uri: string, now: number): Decision[] {
    const out: Decision[] = [];
    for (const p of [...this.pending.values()]) if (p.uri === uri) out.push(...this.hide(p, 'closed', now));
    for (let i = this.rejected.length - 1; i >= 0; i--) {
      const r = this.rejected[i];
      if (r.uri !== uri) continue;
      this.rejected.splice(i, 1);
      out.push({ id: r.id, event: { type: 'closed', at: now, reason: 'document closed before typed-instead was read' } });
    }
    for (const a of [...this.accepted.values()]) {
      if (a.uri !== uri) continue;
      this.accepted.delete(a.id);
      out.push({ id: a.id, event: { type: 'closed', at: now, reason: 'document closed before the last survival check' } });
    }
    return out;
  }

  /**
   * Timers: rejection deadlines, typed-instead reads and survival checkpoints that are due.
   * `textOf(uri)` returns the current document text, or undefined when it is not available.
   */
  tick(now: number, textOf: (uri: string) => string | undefined): Decision[] {
    const out: Decision[] = [];
    for (const p of [...this.pending.values()]) {
      if (now < p.deadline) continue;
      if (p.typed === p.full) {
        this.pending.delete(p.id);
        out.push(this.acceptDecision(p, 'typed', p.full, now));
      } else out.push(...this.hide(p, 'timeout', now));
    }
    for (let i = this.rejected.length - 1; i >= 0; i--) {
      const r = this.rejected[i];
      if (now < r.dueAt) continue;
      this.rejected.splice(i, 1);
      const text = textOf(r.uri);
      if (text === undefined) out.push({ id: r.id, event: { type: 'closed', at: now, reason: 'document not available for typed-instead' } });
      else out.push({ id: r.id, event: { type: 'typedInstead', at: now, text: text.slice(r.range.start, r.range.end) } });
    }
    const checkpoints = this.cfg.survivalCheckpointsMs;
    for (const a of [...this.accepted.values()]) {
      while (a.next < checkpoints.length && now >= a.acceptedAt + checkpoints[a.next]) {
        const afterMs = checkpoints[a.next];
        a.next++;
        const final = a.next >= checkpoints.length;
        const text = textOf(a.uri);
        if (text === undefined) {
          out.push({ id: a.id, event: { type: 'survival', at: now, afterMs, status: 'unknown', distance: -1, retained: 0, final } });
        } else {
          const s = checkSurvival({ text, start: a.range.start, end: a.range.end, inserted: a.inserted, touched: a.range.touched });
          if (s.start !== undefined && s.end !== undefined) a.range = { start: s.start, end: s.end, touched: a.range.touched };
          out.push({
            id: a.id,
            event: { type: 'survival', at: now, afterMs, status: s.status, distance: s.distance, retained: round3(s.retained), ...(s.currentText !== undefined && s.status !== 'unchanged' ? { currentText: s.currentText } : {}), final },
          });
        }
        if (final) this.accepted.delete(a.id);
      }
    }
    return out;
  }

  /** Accepted text still followed (for diagnostics, tests and commit attribution). */
  liveSpans(): AcceptedSpan[] {
    return [...this.accepted.values()];
  }

  /** Keep following an accepted span after its survival checkpoints (diagnostics/commit need it). */
  span(id: string): AcceptedSpan | undefined {
    return this.accepted.get(id);
  }

  pendingIds(): string[] {
    return [...this.pending.keys()];
  }

  /** When the next timer is due (ms epoch), so the host can sleep until then. */
  nextDue(): number | undefined {
    let t: number | undefined;
    const min = (x: number) => (t = t === undefined ? x : Math.min(t, x));
    for (const p of this.pending.values()) min(p.deadline);
    for (const r of this.rejected) min(r.dueAt);
    for (const a of this.accepted.values()) if (a.next < this.cfg.survivalCheckpointsMs.length) min(a.acceptedAt + this.cfg.survivalCheckpointsMs[a.next]);
    return t;
  }

  private acceptDecision(p: Pending, how: 'command' | 'typed' | 'partial', acceptedText: string, now: number): Decision {
    const start = p.start;
    const end = p.start + acceptedText.length;
    this.accepted.set(p.id, { id: p.id, uri: p.uri, range: { start, end, touched: false }, inserted: acceptedText, acceptedAt: now, next: 0 });
    return { id: p.id, event: { type: 'accepted', at: now, how, acceptedText, start, end } };
  }

  private hide(p: Pending, reason: 'timeout' | 'diverged' | 'cursorMoved' | 'superseded' | 'closed', now: number, changes?: readonly TextChange[]): Decision[] {
    this.pending.delete(p.id);
    const visibleMs = Math.max(0, Math.min(now, p.deadline) - p.firstShownAt);
    if (p.chunked > 0) {
      // Some words were accepted (accept-word): a partial acceptance of what is in the document.
      const d = this.acceptDecision(p, 'partial', p.typed, now);
      if (changes) this.accepted.get(p.id)!.range = applyChanges(this.accepted.get(p.id)!.range, changes);
      return [d];
    }
    if (visibleMs < this.cfg.minDisplayMs) return [{ id: p.id, event: { type: 'notShown', at: now, visibleMs } }];
    if (reason === 'timeout') {
      this.hidden.set(p.id, p);
      if (this.hidden.size > 50) this.hidden.delete(this.hidden.keys().next().value!);
    }
    // Follow the spot to read what the developer writes there instead.
    let range: TrackedRange = { start: p.start, end: p.start + p.typed.length, touched: false };
    if (changes) range = growRange(range, changes);
    if (reason !== 'closed') this.rejected.push({ id: p.id, uri: p.uri, range, dueAt: now + this.cfg.typedInsteadAfterMs });
    return [{ id: p.id, event: { type: 'rejected', at: now, reason, visibleMs } }];
  }
}

/** Like applyChanges, but insertions at either edge of the range grow it: the developer's text at that spot. */
export function growRange(range: TrackedRange, changes: readonly TextChange[]): TrackedRange {
  const sorted = [...changes].sort((a, b) => b.rangeOffset - a.rangeOffset);
  let { start, end, touched } = range;
  for (const c of sorted) {
    const cs = c.rangeOffset;
    const ce = cs + c.rangeLength;
    const delta = c.text.length - c.rangeLength;
    if (ce < start || (ce === start && c.rangeLength > 0)) {
      start += delta;
      end += delta;
    } else if (cs > end) {
      continue;
    } else {
      touched = true;
      const ns = Math.min(start, cs);
      end = ce >= end ? cs + c.text.length : end + delta;
      start = ns;
      if (end < start) end = start;
    }
  }
  return { start, end, touched };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
