// The simulated developer of bench:learn. At a training context it asks for a suggestion the way
// the inline provider does (serve/complete, greedy, line or block mode by the cursor's line),
// records the episode (episodes/append, like src/completions/provider.ts) and reacts through the
// events the extension would send: a suggestion that follows the preference is accepted and kept;
// one that does not is corrected through the preference's signal —
//   typedInstead       rejected, then the developer types their text at the spot;
//   editedAfterAccept  accepted (Tab), then edited into their text;
//   correctThis        accepted, "Correct this" with a directive, the hinted re-suggestion applied
//                      when it is right, else the developer edits the code themselves;
//   failingTest        accepted, a test run fails with a telling message, the developer fixes it.
// Survival events come from the extension's own pure check (src/common/survival.ts) on the
// simulated document, so what is recorded is what the extension would record. Held-out contexts
// are only probed: a probe is never recorded, so it never becomes training data.
import { randomUUID } from 'node:crypto';
import type { episodes, serve } from '../../protocol';
import { checkSurvival } from '../../src/common/survival';
import type { Context, Preference, Signal } from './preferences';
import type { TrainerProcess } from './trainer';
import type { Evaluator } from './evaluate';
import type { EpisodeStore } from '../../server/episodes/store';

export const MAX_TOKENS = 48; // hindsight.completions.maxTokens

/** The provider's mode rule: block on an empty line, else line. */
export function modeOf(c: Context): 'line' | 'block' {
  const lineStart = c.prefix.lastIndexOf('\n') + 1;
  const linePrefix = c.prefix.slice(lineStart);
  const lineRest = c.suffix.split('\n')[0];
  return linePrefix.trim() === '' && lineRest.trim() === '' ? 'block' : 'line';
}

export function completeParams(p: Preference, c: Context, hint?: string): serve.CompleteParams {
  return { uri: `file:///bench/${c.file}`, languageId: p.languageId, prefix: c.prefix, suffix: c.suffix, mode: hint ? 'block' : modeOf(c), maxTokens: MAX_TOKENS, ...(hint ? { hint } : {}) };
}

export interface Interaction {
  preference: string;
  /** Served text ('' when nothing was shown). */
  shown: string;
  /** Whether the developer had to correct it (a correction = a training signal recorded). */
  corrected: boolean;
  accepted: boolean;
  /** Characters of the suggestion still in the code at the end (0 when rejected). */
  retainedChars: number;
  /** The events recorded, by type (what the trainer was told). */
  events: string[];
  /** How the final text was captured by the survival check (edited / deleted / unchanged). */
  survival?: string;
  latencyMs: number;
  adapterVersion: number;
}

/** What the developer wants at this context: the preferred text, or with inverted labels the other one. */
const wanted = (c: Context, inverted: boolean) => (inverted ? c.rejected : c.preferred);

export async function interact(t: TrainerProcess, p: Preference, c: Context, o: { inverted?: boolean; now?: () => number } = {}): Promise<Interaction> {
  const inverted = !!o.inverted;
  const now = o.now ?? Date.now;
  const params = completeParams(p, c);
  const t0 = performance.now();
  const r = await t.complete(params);
  const latencyMs = performance.now() - t0;
  const base: Interaction = { preference: p.name, shown: '', corrected: false, accepted: false, retainedChars: 0, events: [], latencyMs, adapterVersion: r.adapterVersion };
  if (r.kind !== 'success' || !r.text.length) return base; // nothing shown, nothing recorded (as the provider does)

  const id = randomUUID();
  const offset = c.prefix.length;
  // As the provider does: the trainer keeps what it generated; the episode says what was shown.
  await t.append({ id, completionId: r.completionId!, createdAt: now(), uri: params.uri, relPath: c.file, offset, line: c.prefix.split('\n').length - 1, suggestion: r.text });
  const out: Interaction = { ...base, shown: r.text };
  const send = async (ev: episodes.EpisodeEvent) => {
    await t.event(id, ev);
    out.events.push(ev.type);
  };
  const follows = inverted ? r.text.trim().startsWith(c.rejected) : p.holds(r.text);
  const accept = () => send({ type: 'accepted', at: now(), how: 'command', acceptedText: r.text, start: offset, end: offset + r.text.length });
  /** The final survival checkpoint, computed by the extension's own rule on the document as the developer left it. */
  const survive = async (finalText: string) => {
    const doc = c.prefix + finalText + c.suffix;
    // The tracked range follows in-place edits (src/common/offsetTracker.ts): it now spans the developer's text.
    const s = checkSurvival({ text: doc, start: offset, end: offset + finalText.length, inserted: r.text, touched: finalText !== r.text });
    out.survival = s.status;
    out.retainedChars = Math.round(s.retained * r.text.length);
    await send({ type: 'survival', at: now(), afterMs: 600_000, status: s.status, distance: s.distance, retained: Math.round(s.retained * r.text.length), ...(s.currentText !== undefined ? { currentText: s.currentText } : {}), final: true });
  };

  if (follows) {
    out.accepted = true;
    await accept();
    await survive(r.text);
    return out;
  }
  out.corrected = true;
  const target = wanted(c, inverted);
  const signal: Signal = p.signal;
  switch (signal) {
    case 'typedInstead':
      await send({ type: 'rejected', at: now(), reason: 'diverged', visibleMs: 1500 });
      await send({ type: 'typedInstead', at: now(), text: target });
      break;
    case 'editedAfterAccept':
      out.accepted = true;
      await accept();
      await survive(target);
      break;
    case 'correctThis': {
      out.accepted = true;
      await accept();
      const directive = inverted ? `Use console.log here, not the logger.` : p.hint!(c);
      await send({ type: 'correction', at: now(), directive });
      // The extension asks again at the spot with the directive as a hint (src/signals/correctThis.ts).
      const again = await t.complete(completeParams(p, c, directive));
      const right = again.kind === 'success' && (inverted ? again.text.trim().startsWith(c.rejected) : p.holds(again.text));
      await survive(right ? again.text : target);
      break;
    }
    case 'failingTest': {
      out.accepted = true;
      await accept();
      const output = inverted ? `AssertionError [ERR_ASSERTION]: expected the server to listen on port 3000` : p.hint!(c);
      await send({ type: 'testOutcome', at: now(), source: 'terminal', kind: 'test', commandLine: 'npm test', exitCode: 1, outcome: 'fail', outputExcerpt: output });
      await survive(target);
      break;
    }
  }
  if (!out.accepted) out.retainedChars = 0;
  return out;
}

/** Greedy suggestion at a held-out context (not recorded): does it follow the preference? */
export async function probe(t: TrainerProcess, p: Preference, c: Context): Promise<{ holds: boolean; text: string; latencyMs: number }> {
  const t0 = performance.now();
  const r = await t.complete(completeParams(p, c));
  return { holds: r.kind === 'success' && p.holds(r.text), text: r.text, latencyMs: performance.now() - t0 };
}

/**
 * An episode as if the model had served `served` at this spot (ids and behaviour log-probs as
 * serving records them, from the bench's evaluator at the base model), rejected by the developer,
 * who typed `typed` instead; written straight into a store the trainer has not opened yet. The
 * inverted-labels check needs a pair whose served side is the preferred text, which greedy serving
 * does not produce on demand, and the editor's protocol can only name generations serving made.
 */
export async function writeRejected(store: EpisodeStore, ev: Evaluator, p: Preference, c: Context, served: string, typed: string): Promise<void> {
  const rec = await ev.served(undefined, c.prefix, c.suffix, served);
  const id = randomUUID();
  const ack = await store.appendEpisode({
    id, createdAt: Date.now(), uri: `file:///bench/${c.file}`, relPath: c.file, languageId: p.languageId, offset: c.prefix.length, line: c.prefix.split('\n').length - 1,
    prefixExcerpt: c.prefix, suffixExcerpt: c.suffix, suggestion: served, ...rec, adapterVersion: 0, model: ev.folder.name, mode: modeOf(c),
  });
  if (!ack.stored) throw new Error(`episode not stored: ${ack.reason}`);
  await store.appendEvent(id, { type: 'rejected', at: Date.now(), reason: 'diverged', visibleMs: 1500 });
  await store.appendEvent(id, { type: 'typedInstead', at: Date.now(), text: typed });
}
