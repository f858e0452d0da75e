// Settled episodes → TrainEpisodes. Screening (pure, synchronous) decides for each episode whether
// it can be trained on and, when not, names the reason, so nothing is dropped silently. Building
// (async, through an injected Scorer) adds the OpenClaw-RL advantages: A_t = r + OPD_t, where the
// OPD teacher is the base model (adapter off) with the judge's hint in its FIM prompt.
// Leaves out: running the scorer (worker.ts) and choosing which episodes form a round (loop.ts).
//
// Where the hint goes: the stored prompt ids are what the policy actually saw (after the serving
// budget trimmed prefix and suffix). We keep them, decode only the prefix segment (between
// <|fim_prefix|> and <|fim_suffix|>), insert the hint as a comment line above the cursor line
// (judge/hintPlacement.ts) and re-encode that segment alone. Suffix, markers and truncation stay
// token-for-token the student's, so teacher and student differ only by the hint. Inserting hint
// tokens at a token index instead would need the cursor line's start as a token boundary, which
// BPE merges ("\n    " is one token) usually hide.
import type { episodes } from '../../protocol';
import type { Judgement } from '../judge/judge';
import { prefixWithHint } from '../judge/hintPlacement';
import type { FimTokens } from '../model/tokenizer';
import { combineAdvantages, opdAdvantages, type AdvantageWeights, type Scorer } from '../train/opd';
import type { LearnRule } from './rule';
import type { TrainEpisode } from '../train/step';

type EpisodeView = episodes.EpisodeView;

/** Why an episode is not trained on. Counted in learn/status (in words: src/common/skipText.ts). */
export type SkipReason = 'notTrainable' | 'redacted' | 'noTokens' | 'otherModel' | 'stale' | 'badTokens' | 'noSignal' | 'noTarget';

export interface ScreenOptions {
  /** Name of the base model now loaded (Episode.model carries the serving model's folder name). */
  model: string;
  vocabSize: number;
  /** Adapter version serving now. */
  currentVersion: number;
  /** Largest |currentVersion − episode.adapterVersion| still trained on. */
  maxStaleness: number;
  /** The learning rule's needs: a likelihood rule learns only from the developer's text (or, with `negative` > 0, a negative reward). */
  rule?: Pick<LearnRule, 'objective' | 'negative'>;
}

export type Screened = { ok: true; staleness: number } | { ok: false; reason: SkipReason };

/**
 * Can this settled episode be trained on? Older adapters are fine (the PPO ratio uses the episode's
 * own behaviour log-probs, an off-policy correction), up to maxStaleness versions away.
 */
export function screen(view: EpisodeView, j: Judgement, o: ScreenOptions): Screened {
  if (!j.trainable) {
    if (view.status === 'complete' && view.redacted && !view.tokenIds.length) return { ok: false, reason: 'redacted' };
    return { ok: false, reason: view.tokenIds.length ? 'notTrainable' : 'noTokens' };
  }
  if (!view.tokenIds.length || !view.promptTokenIds.length || view.logprobs.length !== view.tokenIds.length)
    return { ok: false, reason: view.redacted ? 'redacted' : 'noTokens' };
  if (view.model !== o.model) return { ok: false, reason: 'otherModel' };
  const staleness = Math.abs(o.currentVersion - view.adapterVersion);
  if (staleness > o.maxStaleness) return { ok: false, reason: 'stale' };
  for (const id of view.promptTokenIds) if (!(Number.isInteger(id) && id >= 0 && id < o.vocabSize)) return { ok: false, reason: 'badTokens' };
  for (const id of view.tokenIds) if (!(Number.isInteger(id) && id >= 0 && id < o.vocabSize)) return { ok: false, reason: 'badTokens' };
  if (!(j.reward ?? 0) && !j.hint) return { ok: false, reason: 'noSignal' };
  // Without this the episode would wait for a round that cannot use it, and count as trained on.
  if (o.rule?.objective === 'nll' && !j.target && !(o.rule.negative > 0 && (j.reward ?? 0) < 0)) return { ok: false, reason: 'noTarget' };
  return { ok: true, staleness };
}

/** What batch building needs of the tokenizer. */
export interface BatchTokenizer {
  encode(text: string): number[];
  decode(ids: number[]): string;
  fim: FimTokens | undefined;
}

/**
 * The teacher's context: the student's prompt ids with the hint as a comment line above the cursor
 * line (see the header for why the prefix segment is re-encoded rather than spliced by index).
 */
export function teacherContext(promptIds: number[], hint: string, languageId: string, tok: BatchTokenizer): number[] {
  const fim = tok.fim;
  let start = 0, end = promptIds.length;
  if (fim && promptIds[0] === fim.prefix) {
    start = 1;
    const s = promptIds.indexOf(fim.suffix, 1);
    if (s < 0) throw new Error('prompt ids start with <|fim_prefix|> but hold no <|fim_suffix|>; cannot place the hint');
    end = s;
  }
  const prefix = tok.decode(promptIds.slice(start, end));
  return [...promptIds.slice(0, start), ...tok.encode(prefixWithHint(prefix, hint, languageId)), ...promptIds.slice(end)];
}

export interface BuiltEpisode extends TrainEpisode {
  id: string;
  reward: number | undefined;
  hint: string | undefined;
  staleness: number;
  /** Mean advantage > 0: the next state preferred this response (used by the promotion gate). */
  preferred: boolean;
  /** Per-token OPD advantages (clamped), when there was a hint. */
  opd?: number[];
}

export interface BatchItem {
  view: EpisodeView;
  judgement: Judgement;
  staleness: number;
}

/**
 * Build the TrainEpisodes of screened items; OPD teacher log-probs come from `scorer` (adapter off).
 * `student` (the policy at the start of the round) scores log π_old for OPD with the same graph and
 * precision as the teacher, so A^opd measures the hint alone — serving may run 4-bit weights,
 * whose behaviour log-probs differ from the full-precision teacher's by quantisation error. The
 * PPO ratio still uses the behaviour log-probs: they are the policy that actually sampled.
 */
export async function buildBatch(items: BatchItem[], scorer: Scorer, tok: BatchTokenizer, opdClip = 1, student?: Map<string, Float32Array>, weights?: AdvantageWeights): Promise<BuiltEpisode[]> {
  const out: BuiltEpisode[] = [];
  for (const { view, judgement: j, staleness } of items) {
    const context = view.promptTokenIds, response = view.tokenIds, behaviour = view.logprobs;
    let opd: number[] | undefined;
    if (j.hint && weights?.wOpd !== 0) {
      const tctx = teacherContext(context, j.hint, view.languageId, tok);
      const old = student ? await scorer.score(context, response, student) : behaviour;
      // The hint goes where teacherContext put it: pass the whole teacher context as the "hint" at 0
      // so opd.ts's splice is the identity and its checks (lengths, clamp) still apply.
      opd = (await opdAdvantages(scorer, { context: [], response, hint: { tokens: tctx, at: 0 }, oldLogprobs: old }, undefined, opdClip)).advantages;
    }
    const advantages = combineAdvantages(response.length, j.reward, opd, weights);
    const mean = advantages.reduce((s, a) => s + a, 0) / advantages.length;
    out.push({ id: view.id, context, response, behaviourLogprobs: behaviour, advantages, reward: j.reward, hint: j.hint, staleness, preferred: mean > 0, ...(opd ? { opd } : {}) });
  }
  return out;
}

// ---- the hindsight rule: the developer's text as a target ------------------------------------
//
// Each usable episode becomes likelihood rows (objective kind 'nll': ℓ = −Σ w_t·log π(y_t) / N):
//   target    the developer's text after the student's own prompt, w = rule.targets[source]
//             (typed instead, rewritten, corrected: 1; accepted and kept, accepted prefix: less)
//             + the pair term b·σ(−β·Δ) when it replaced a suggestion;
//   rejected  that suggestion's served tokens, w = −b·σ(−β·Δ), where
//             Δ = (Σ log π(target) − Σ log π_base(target)) − (Σ log π(rejected) − Σ log π_base(rejected)),
//             so the pair's push fades once the policy prefers the developer's text (DPO's gradient,
//             weights recomputed from the previous step's log-probs);
//   negative  served tokens of an episode with a negative reward and no target, w = rule.negative·r;
//   contrast  served tokens of a hint-only episode, w = rule.contrast·clamp(log π_base(y|x+hint) −
//             log π_base(y|x+placebo), −1, 1): a placebo hint of the same form cancels what any
//             comment above the cursor does to the teacher, leaving what this hint says;
//   anchor    the workspace's own code as plain text (the end of earlier prompts' prefixes),
//             w = rule.anchor: what the developer writes anyway, so the adapter keeps predicting it.

export type RowRole = 'target' | 'rejected' | 'negative' | 'contrast' | 'anchor';

export interface TargetRow extends TrainEpisode {
  /** Episode the row came from. */
  id: string;
  role: RowRole;
  /** Constant part of the per-token weight. */
  fixed: number[];
  /** Target and rejected rows of one pair share this index. */
  pair?: number;
  /** Σ log π_base(response), for the pair term. */
  ref?: number;
  /** Replayed from an earlier round. */
  replay?: boolean;
}

/** Scores (context, response) pairs under an adapter (undefined = the base model). */
export type ScoreMany = (pairs: { context: number[]; response: number[] }[], adapter?: Map<string, Float32Array>) => Promise<number[][]>;

/** Longest developer text trained as a target, in tokens. */
export const MAX_TARGET_TOKENS = 64;

/**
 * The target's tokens, cut to MAX_TARGET_TOKENS and to what fits after the context in `maxPositions`.
 * After a healed prompt the context lacks the prefix's last token, so the target re-spells it too.
 */
export function targetTokens(text: string, served: { text: string; ids: number[]; healed?: string }, contextLength: number, maxPositions: number, tok: BatchTokenizer): number[] {
  const ids = text === served.text ? served.ids : tok.encode((served.healed ?? '') + text);
  return ids.slice(0, Math.max(0, Math.min(MAX_TARGET_TOKENS, maxPositions - contextLength)));
}

/** A hint of the same form that says nothing about this spot: another line of the prefix, quoted. */
export function placeboHint(prefixText: string): string {
  const lines = prefixText.split('\n').map((l) => l.trim()).filter((l) => l.length > 3);
  const other = lines.length > 1 ? lines[Math.floor(lines.length / 2)] : 'pass';
  return `The developer wrote this instead: \`${other.slice(0, 80)}\`.`;
}

/** Tokens of each anchor text (the end of a prompt's prefix segment). */
export const ANCHOR_TOKENS = 256;

export async function buildTargetRows(items: BatchItem[], replay: BatchItem[], rule: LearnRule, tok: BatchTokenizer, score: ScoreMany, maxPositions: number, anchors: BatchItem[] = []): Promise<TargetRow[]> {
  const rows: TargetRow[] = [];
  let pairs = 0;
  const add = (list: BatchItem[], isReplay: boolean) => {
    for (const { view, judgement: j } of list) {
      const context = view.promptTokenIds;
      const zeros = (n: number) => new Array<number>(n).fill(0);
      const row = (role: RowRole, response: number[], w: number, extra: Partial<TargetRow> = {}): TargetRow => ({
        id: view.id, role, context, response, behaviourLogprobs: zeros(response.length), advantages: response.map(() => w), fixed: response.map(() => w), ...(isReplay ? { replay: true } : {}), ...extra,
      });
      const t = j.target;
      const w = t ? rule.targets[t.source] ?? 0 : 0;
      if (t && (w > 0 || (rule.pair > 0 && t.rejected !== undefined))) {
        const ids = targetTokens(t.text, { text: view.suggestion, ids: view.tokenIds, healed: view.healed }, context.length, maxPositions, tok);
        if (!ids.length) continue;
        if (rule.pair > 0 && t.rejected !== undefined && view.tokenIds.length) {
          rows.push(row('target', ids, w, { pair: pairs }), row('rejected', view.tokenIds, 0, { pair: pairs }));
          pairs++;
        } else if (w > 0) rows.push(row('target', ids, w));
      } else if (!isReplay && !t && (j.reward ?? 0) < 0 && rule.negative > 0) {
        rows.push(row('negative', view.tokenIds, rule.negative * j.reward!));
      } else if (!isReplay && !t && j.hint && rule.contrast > 0) {
        rows.push(row('contrast', view.tokenIds, 0));
      }
    }
  };
  add(items, false);
  add(replay, true);
  if (rule.anchor > 0) {
    const seen = new Set<string>();
    for (const { view } of anchors) {
      if (seen.size >= rule.anchors || seen.has(view.relPath)) continue;
      seen.add(view.relPath);
      const ids = tok.encode(prefixSegment(view.promptTokenIds, tok)).slice(-(ANCHOR_TOKENS + 1));
      if (ids.length < 9) continue;
      const response = ids.slice(1);
      rows.push({ id: view.id, role: 'anchor', context: ids.slice(0, 1), response, behaviourLogprobs: response.map(() => 0), advantages: response.map(() => rule.anchor), fixed: response.map(() => rule.anchor) });
    }
  }

  // Base-model references: Σ log π_base of each pair row; hinted vs placebo teacher for contrast rows.
  const pairRows = rows.filter((r) => r.pair !== undefined);
  const refs = await score(pairRows.map((r) => ({ context: r.context, response: r.response })), undefined);
  pairRows.forEach((r, i) => (r.ref = refs[i].reduce((s, x) => s + x, 0)));
  for (const r of rows.filter((x) => x.role === 'contrast')) {
    const it = items.find((i) => i.view.id === r.id)!;
    const hint = it.judgement.hint!;
    const prefixText = prefixSegment(r.context, tok);
    const [withHint, withPlacebo] = await score([
      { context: teacherContext(r.context, hint, it.view.languageId, tok), response: r.response },
      { context: teacherContext(r.context, placeboHint(prefixText), it.view.languageId, tok), response: r.response },
    ], undefined);
    r.fixed = withHint.map((x, t) => rule.contrast * Math.min(1, Math.max(-1, x - withPlacebo[t])));
    r.advantages = r.fixed.slice();
  }
  return rows;
}

/** The decoded prefix segment of a FIM prompt (the whole prompt without FIM markers). */
export function prefixSegment(promptIds: number[], tok: BatchTokenizer): string {
  const fim = tok.fim;
  if (!fim || promptIds[0] !== fim.prefix) return tok.decode(promptIds);
  const s = promptIds.indexOf(fim.suffix, 1);
  return tok.decode(promptIds.slice(1, s < 0 ? promptIds.length : s));
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/**
 * Sets each row's weights (`advantages`, the likelihood graph's per-token weights) for the next
 * step from `logprobs` (per row, the policy's log-probs at the current parameters): fixed part +
 * the pair term ±b·σ(−β·Δ). Returns the pairs' mean σ(−β·Δ) (1/2 at the base model, → 0 once learned).
 */
export function setPairWeights(rows: TargetRow[], logprobs: number[][], rule: LearnRule): number | undefined {
  const sum = (xs: number[]) => xs.reduce((s, x) => s + x, 0);
  const byPair = new Map<number, { t?: number; r?: number }>();
  rows.forEach((row, i) => {
    if (row.pair === undefined) return;
    const e = byPair.get(row.pair) ?? {};
    if (row.role === 'target') e.t = i;
    else e.r = i;
    byPair.set(row.pair, e);
  });
  let sig = 0, n = 0;
  for (const { t, r } of byPair.values()) {
    if (t === undefined || r === undefined) continue;
    const delta = sum(logprobs[t]) - rows[t].ref! - (sum(logprobs[r]) - rows[r].ref!);
    const s = sigmoid(-rule.beta * delta);
    sig += s;
    n++;
    rows[t].advantages = rows[t].fixed.map((w) => w + rule.pair * s);
    rows[r].advantages = rows[r].fixed.map((w) => w - rule.pair * s);
  }
  return n ? sig / n : undefined;
}
