// FIM prompt assembly for inline completion: <|fim_prefix|>prefix<|fim_suffix|>suffix<|fim_middle|>
// (Qwen2.5-Coder's format; the model then writes the middle). The token budget is split between
// the text just before the cursor (kept from its end) and just after it (kept from its start);
// whatever one side does not use goes to the other. Pure: takes an encoder, returns ids.
import type { FimTokens } from '../model/tokenizer';

export interface PromptBudget {
  /** Tokens the whole prompt may hold (markers included). */
  maxPromptTokens: number;
  /** Share of the budget reserved for the suffix when both sides are long (0..1). */
  suffixShare: number;
}

export const DEFAULT_BUDGET: PromptBudget = { maxPromptTokens: 1024, suffixShare: 0.25 };

export interface FimPrompt {
  ids: number[];
  /** Tokens of prefix and suffix actually kept. */
  prefixTokens: number;
  suffixTokens: number;
}

/**
 * Build the prompt ids. Without FIM tokens (a plain causal model) only the prefix is used.
 * Prefix text is cut at a line start when trimming, so the first kept token is not half a word.
 */
export function buildFimPrompt(encode: (text: string) => number[], fim: FimTokens | undefined, prefix: string, suffix: string, budget: PromptBudget = DEFAULT_BUDGET): FimPrompt {
  const markers = fim ? 3 : 0;
  const room = budget.maxPromptTokens - markers;
  if (room < 1) throw new Error(`maxPromptTokens ${budget.maxPromptTokens} leaves no room for text (FIM needs ${markers} marker tokens)`);
  const sufIdsAll = fim ? encode(suffix) : [];
  // Encode the prefix from a line boundary near what the budget can hold (4 chars/token is generous).
  const approxChars = room * 8;
  let pre = prefix;
  if (pre.length > approxChars) {
    const cut = pre.length - approxChars;
    const nl = pre.indexOf('\n', cut);
    pre = nl >= 0 ? pre.slice(nl + 1) : pre.slice(cut);
  }
  const preIdsAll = encode(pre);
  const sufWant = Math.min(sufIdsAll.length, Math.max(Math.floor(room * budget.suffixShare), room - preIdsAll.length));
  const preWant = Math.min(preIdsAll.length, room - sufWant);
  const sufIds = sufIdsAll.slice(0, sufWant);
  const preIds = preIdsAll.slice(preIdsAll.length - preWant);
  const ids = fim ? [fim.prefix, ...preIds, fim.suffix, ...sufIds, fim.middle] : preIds;
  return { ids, prefixTokens: preIds.length, suffixTokens: sufIds.length };
}
