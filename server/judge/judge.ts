// The judge: reads one settled episode (the suggestion and its next state) and returns the two
// training signals of OpenClaw-RL (DESIGN §1): an evaluative scalar reward, and a directive
// hint (1–3 sentences) when the next state says how the suggestion should have been.
// Editor signals are structured, so the judge is a table of weighted votes, not an LLM; each
// vote is kept in the result so the dashboard can show why. Pure: no I/O, no clock.
import type { episodes } from '../../protocol';

type EpisodeView = episodes.EpisodeView;
type EpisodeEvent = episodes.EpisodeEvent;

export interface JudgeOptions {
  /** Cursor's Tab RL shape: accepted +(1−p*), rejected −p*, not shown 0. */
  pStar: number;
  /** Hints no longer than this many characters are dropped (OpenClaw-RL keeps > 10). */
  minHintChars: number;
  /** Hints are cut to this many characters (a hint is context for the teacher, not a document). */
  maxHintChars: number;
}

export const DEFAULT_JUDGE: JudgeOptions = { pStar: 0.25, minHintChars: 10, maxHintChars: 400 };

export interface Vote {
  signal: EpisodeEvent['type'] | 'outcome';
  value: number;
  why: string;
}

/** Where a target came from (the learning rule weighs them: server/learn/rule.ts). */
export type TargetSource = 'typedInstead' | 'rewritten' | 'corrected' | 'accepted' | 'partial';

/**
 * What the developer's next state shows they wanted at the spot: a text to train towards (the
 * likelihood term), with the suggestion it replaced as the losing side of a preference pair.
 */
export interface Target {
  text: string;
  source: TargetSource;
  /** The served suggestion the developer replaced by `text` (absent when they kept it). */
  rejected?: string;
}

export interface Judgement {
  /** Σ votes, clamped to [−1, 1]; undefined when the episode carries no evaluative signal. */
  reward: number | undefined;
  /** Directive hint for OPD, or undefined. */
  hint: string | undefined;
  /** The developer's own text for the spot, when the next state shows it. */
  target?: Target;
  votes: Vote[];
  /** Whether the episode is worth a training step at all. */
  trainable: boolean;
}

/** Judge a settled episode. Open episodes are judged too (for previews) but marked untrainable. */
export function judge(ep: EpisodeView, opts: JudgeOptions = DEFAULT_JUDGE): Judgement {
  const votes: Vote[] = [];
  const hints: string[] = [];
  const len = Math.max(1, ep.suggestion.length);

  // The decision on the suggestion itself, weighted by what was kept (GitHub: acceptance alone
  // favours short trivial suggestions).
  switch (ep.outcome) {
    case 'accepted':
    case 'partial': {
      const accepted = ep.events.find((e): e is Extract<EpisodeEvent, { type: 'accepted' }> => e.type === 'accepted');
      const keptChars = accepted ? accepted.acceptedText.length : len;
      votes.push({ signal: 'outcome', value: (1 - opts.pStar) * Math.min(1, keptChars / len), why: `${ep.outcome} ${keptChars}/${len} chars` });
      break;
    }
    case 'rejected':
      votes.push({ signal: 'outcome', value: -opts.pStar, why: 'rejected' });
      break;
    default:
      break; // notShown and pending carry no evaluative signal
  }

  const survival = lastOf(ep.events, 'survival');
  // What the suggestion became: an edit, or a rewrite in place (a deleted suggestion whose spot holds the developer's text).
  const rewrite = survival && (survival.status === 'edited' || survival.status === 'deleted') && survival.currentText?.trim() && survival.currentText !== ep.suggestion ? survival.currentText : undefined;
  if (survival && survival.status === 'deleted') {
    votes.push({ signal: 'survival', value: -1, why: `${rewrite !== undefined ? 'rewritten' : 'deleted'} after ${Math.round(survival.afterMs / 1000)} s` });
  } else if (survival && survival.status === 'edited') {
    votes.push({ signal: 'survival', value: -0.25 * (survival.distance / len), why: `edited (distance ${survival.distance})` });
  }
  if (rewrite !== undefined) hints.push(`The developer rewrote this as: ${quote(rewrite)}.`);

  const typed = lastOf(ep.events, 'typedInstead');
  if (typed && typed.text.trim()) hints.push(`The developer wrote this instead: ${quote(typed.text)}.`);

  const errors = ep.events.filter((e): e is Extract<EpisodeEvent, { type: 'diagnostic' }> => e.type === 'diagnostic' && e.inRange && e.severity === 'error');
  if (errors.length) {
    votes.push({ signal: 'diagnostic', value: -1, why: `${errors.length} error(s) in the inserted code` });
    hints.push(`This code caused a compiler error: ${oneLine(errors[0].message)}.`);
  }

  const tests = ep.events.filter((e): e is Extract<EpisodeEvent, { type: 'testOutcome' }> => e.type === 'testOutcome' && e.outcome !== 'unknown');
  const lastTest = tests[tests.length - 1];
  if (lastTest?.outcome === 'fail') {
    votes.push({ signal: 'testOutcome', value: -0.5, why: `${lastTest.kind} failed: ${lastTest.commandLine}` });
    const line = failureLine(lastTest.outputExcerpt);
    if (line) hints.push(`After this code, \`${lastTest.commandLine}\` failed with: ${line}.`);
  } else if (lastTest?.outcome === 'pass') {
    votes.push({ signal: 'testOutcome', value: 0.25, why: `${lastTest.kind} passed: ${lastTest.commandLine}` });
  }

  const commit = lastOf(ep.events, 'commit');
  if (commit?.survived) votes.push({ signal: 'commit', value: 1, why: `kept in commit ${commit.commit.slice(0, 8)}` });

  // The developer's own words are the strongest directive; they also say the code was wrong.
  const corrections = ep.events.filter((e): e is Extract<EpisodeEvent, { type: 'correction' }> => e.type === 'correction');
  if (corrections.length) {
    votes.push({ signal: 'correction', value: -0.5, why: 'corrected by the developer' });
    hints.unshift(`The developer said: ${corrections.map((c) => oneLine(c.directive)).join(' ')}`);
  }

  let reward = votes.length ? clamp(votes.reduce((s, v) => s + v.value, 0), -1, 1) : undefined;
  // A suggestion whose test run failed is never rewarded, whatever else it earned: at best it is
  // as bad as a rejected one.
  if (reward !== undefined && lastTest?.outcome === 'fail') reward = Math.min(reward, -opts.pStar);
  let hint: string | undefined = hints.slice(0, 3).join(' ');
  if (hint.length > opts.maxHintChars) hint = hint.slice(0, opts.maxHintChars - 1) + '…';
  if (hint.length <= opts.minHintChars) hint = undefined;
  const target = targetOf(ep, typed?.text, rewrite, corrections.length > 0, reward);
  const trainable = ep.status === 'complete' && ep.tokenIds.length > 0 && (reward !== undefined || hint !== undefined);
  return { reward, hint, ...(target ? { target } : {}), votes, trainable };
}

/**
 * The developer's text for the spot, strongest evidence first: what they typed instead of a
 * rejected suggestion; what an accepted one became (edited, rewritten, or replaced after "Correct
 * this"); the suggestion itself when it was accepted and kept with nothing against it; the accepted
 * part of a partial accept (only that part is credited).
 */
function targetOf(ep: EpisodeView, typed: string | undefined, rewrite: string | undefined, corrected: boolean, reward: number | undefined): Target | undefined {
  if (ep.outcome === 'rejected') return typed?.trim() && typed !== ep.suggestion ? { text: typed, source: 'typedInstead', rejected: ep.suggestion } : undefined;
  if (ep.outcome !== 'accepted' && ep.outcome !== 'partial') return undefined;
  if (rewrite !== undefined) return { text: rewrite, source: corrected ? 'corrected' : 'rewritten', rejected: ep.suggestion };
  // Kept as it was: a positive target only when nothing spoke against it.
  if (corrected || !(reward !== undefined && reward > 0)) return undefined;
  const survival = lastOf(ep.events, 'survival');
  if (survival && survival.status !== 'unchanged') return undefined;
  if (ep.outcome === 'partial') {
    const acc = lastOf(ep.events, 'accepted');
    return acc?.acceptedText.trim() && ep.suggestion.startsWith(acc.acceptedText) ? { text: acc.acceptedText, source: 'partial' } : undefined;
  }
  return { text: ep.suggestion, source: 'accepted' };
}

function lastOf<T extends EpisodeEvent['type']>(events: EpisodeEvent[], type: T): Extract<EpisodeEvent, { type: T }> | undefined {
  for (let i = events.length - 1; i >= 0; i--) if (events[i].type === type) return events[i] as Extract<EpisodeEvent, { type: T }>;
  return undefined;
}

const clamp = (x: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, x));
const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim();

/** Code quoted the way hints carry it: one line, backticks, at most 160 characters. */
export function quote(code: string): string {
  const s = code.length > 160 ? code.slice(0, 159) + '…' : code;
  return '`' + s.replace(/`/g, "'").replace(/\r?\n/g, '⏎') + '`';
}

/** The most telling line of a failure output: an error/assert line, else the last non-empty one. */
export function failureLine(output: string | undefined): string | undefined {
  if (!output) return undefined;
  const lines = output.split(/\r?\n/).map((l) => l.replace(/\x1b\[[0-9;]*m/g, '').trim()).filter(Boolean);
  const telling = lines.find((l) => /(error|assert|expected|fail|exception|panic)/i.test(l) && !/^\s*(#|ok\b)/.test(l));
  const line = telling ?? lines[lines.length - 1];
  return line ? (line.length > 200 ? line.slice(0, 199) + '…' : line) : undefined;
}
