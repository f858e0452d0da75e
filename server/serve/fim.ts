// FIM prompt assembly for inline completion: <|fim_prefix|>prefix<|fim_suffix|>suffix<|fim_middle|>
// (Qwen2.5-Coder's format; the model then writes the middle). The token budget is split between
// the text just before the cursor (kept from its end, cut at line starts that stay put as the
// developer types) and just after it (kept from its start); whatever one side does not use goes to
// the other. Pure: takes an encoder, returns ids.
import type { FimTokens } from '../model/tokenizer';

export interface PromptBudget {
  /** Tokens the whole prompt may hold (markers included). */
  maxPromptTokens: number;
  /** Share of the budget reserved for the suffix when both sides are long (0..1). */
  suffixShare: number;
}

export const DEFAULT_BUDGET: PromptBudget = { maxPromptTokens: 1024, suffixShare: 0.25 };

/** The default budget, shrunk so prompt + suggestion stay within the positions the model was trained on. */
export function promptBudget(maxPositions: number, maxTokens: number): PromptBudget {
  return { ...DEFAULT_BUDGET, maxPromptTokens: Math.max(16, Math.min(DEFAULT_BUDGET.maxPromptTokens, maxPositions - maxTokens)) };
}

export interface FimPrompt {
  ids: number[];
  /** Tokens of prefix and suffix actually kept. */
  prefixTokens: number;
  suffixTokens: number;
}

/** Lines dropped at a time from the front of a prefix that is over budget (see anchoredPrefix). */
export const PREFIX_LINE_STEP = 8;

/**
 * Build the prompt ids. Without FIM tokens (a plain causal model) only the prefix is used.
 * An over-long prefix loses whole lines from its front, PREFIX_LINE_STEP at a time, so the prompt's
 * start stays put while the developer types at its end and the KV cache of that start is reused
 * from one keystroke to the next (cutting tokens from the front would shift it every keystroke).
 */
export function buildFimPrompt(encode: (text: string) => number[], fim: FimTokens | undefined, prefix: string, suffix: string, budget: PromptBudget = DEFAULT_BUDGET): FimPrompt {
  const markers = fim ? 3 : 0;
  const room = budget.maxPromptTokens - markers;
  if (room < 1) throw new Error(`maxPromptTokens ${budget.maxPromptTokens} leaves no room for text (FIM needs ${markers} marker tokens)`);
  const sufIdsAll = fim ? encode(suffix) : [];
  const sufWant = Math.min(sufIdsAll.length, Math.floor(room * budget.suffixShare));
  const preIds = anchoredPrefix(encode, prefix, room - sufWant);
  // Whatever the prefix does not use goes to the suffix.
  const sufIds = sufIdsAll.slice(0, Math.min(sufIdsAll.length, room - preIds.length));
  const ids = fim ? [fim.prefix, ...preIds, fim.suffix, ...sufIds, fim.middle] : preIds;
  return { ids, prefixTokens: preIds.length, suffixTokens: sufIds.length };
}

/**
 * The prefix's ids within `budget` tokens: the whole prefix when it fits, else the longest tail
 * that starts PREFIX_LINE_STEP·k lines in (the smallest such k that fits; binary search, since
 * fitting is monotonic in k). A single line longer than the budget keeps its last tokens.
 */
function anchoredPrefix(encode: (text: string) => number[], prefix: string, budget: number): number[] {
  if (budget <= 0) return [];
  // Candidate starts: every PREFIX_LINE_STEP-th line start, counted from the prefix's own start.
  const starts = [0];
  for (let i = 0, line = 0; (i = prefix.indexOf('\n', i) + 1) > 0 && i < prefix.length; ) if (++line % PREFIX_LINE_STEP === 0) starts.push(i);
  // Cheap pre-filter: more than ~8 characters per token never fits.
  let lo = 0;
  while (lo < starts.length - 1 && prefix.length - starts[lo] > budget * 8) lo++;
  const ids = (k: number) => encode(prefix.slice(starts[k]));
  let best = ids(lo);
  if (best.length <= budget) return best;
  let hi = starts.length - 1;
  const last = ids(hi);
  if (last.length > budget) return last.slice(last.length - budget);
  best = last;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    const m = ids(mid);
    if (m.length <= budget) {
      hi = mid;
      best = m;
    } else lo = mid;
  }
  return best;
}
