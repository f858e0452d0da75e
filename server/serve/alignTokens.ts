// The suggestion's one invariant: the token ids (and log-probs) a result carries decode to exactly
// the text the editor shows, whatever ended generation. Stop rules and the block-mode trim cut the
// text inside a token (")\n" cut after ")"), and a time or token limit can end in the middle of a
// UTF-8 character; training on the sampled ids would then train on text nobody saw.
// So the ids are cut to the longest run of whole tokens inside the shown text, and the rest of the
// text (")" here) is spelt with the tokenizer's own ids, each scored by the serving model at its
// position (teacher forcing): its log-prob is the behaviour policy's, as for a sampled token.
import type { ModelTokenizer } from '../model/tokenizer';
import { logSumExp } from './sampling';

/** Model access for the spelt tail: logits predicting token n (after prompt + ids[0..n)), then after each forced id. */
export interface TailScorer {
  logitsAt(n: number): Promise<ArrayLike<number>>;
  advance(id: number): Promise<ArrayLike<number>>;
}

export interface Aligned {
  text: string;
  ids: number[];
  logprobs: number[];
}

/**
 * `target` is a prefix of what `ids` spell (ids beyond it, or half a character, may follow).
 * Returns ids/log-probs with decode(ids) === text; text is `target` except where the tokenizer
 * cannot spell the tail on its own, where it shrinks to the whole tokens (never seen so far).
 */
export async function alignToText(target: string, ids: number[], logprobs: number[], tok: Pick<ModelTokenizer, 'decode' | 'encode'>, scorer: TailScorer): Promise<Aligned> {
  // Longest run of whole tokens whose text starts the target (a half character decodes to U+FFFD
  // and does not match).
  let n = ids.length;
  let head = decodeSafe(tok, ids.slice(0, n));
  while (n > 0 && !target.startsWith(head)) head = decodeSafe(tok, ids.slice(0, --n));
  const keptIds = ids.slice(0, n);
  const keptLps = logprobs.slice(0, n);
  const rest = target.slice(head.length);
  if (rest === '') return { text: target, ids: keptIds, logprobs: keptLps };

  const forced = tok.encode(rest);
  if (decodeSafe(tok, [...keptIds, ...forced]) !== target) return { text: head, ids: keptIds, logprobs: keptLps };
  const forcedLps: number[] = [];
  let logits = await scorer.logitsAt(n);
  for (let j = 0; j < forced.length; j++) {
    forcedLps.push(logits[forced[j]] - logSumExp(logits));
    if (j + 1 < forced.length) logits = await scorer.advance(forced[j]);
  }
  return { text: target, ids: [...keptIds, ...forced], logprobs: [...keptLps, ...forcedLps] };
}

function decodeSafe(tok: Pick<ModelTokenizer, 'decode'>, ids: number[]): string {
  // The library refuses an empty list.
  return ids.length === 0 ? '' : tok.decode(ids);
}
