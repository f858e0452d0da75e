// An episode from what the editor showed (episodes.Shown) and serving's generation record of it
// (server/serve/generation.ts): the editor says where and when, the record says what was generated
// from what. Refused, with the reason, when the record is gone or the shown text is not its text.
import type { episodes } from '../../protocol';
import type { GenerationLookup } from '../serve/generation';

export function episodeOf(shown: episodes.Shown, generations: GenerationLookup): { episode: episodes.Episode } | { reason: string } {
  const g = generations.generation(shown.completionId);
  if (!g) return { reason: `the trainer no longer holds generation ${shown.completionId} (it restarted, or the suggestion is more than 30 minutes old): episode not recorded` };
  if (g.text !== shown.suggestion) return { reason: `the shown text is not the text of generation ${shown.completionId}: episode not recorded` };
  // Its prompt carried the hint, the editor's prefix does not: the ids would not match the excerpts.
  if (g.hint) return { reason: `generation ${shown.completionId} was asked with a "Correct this" hint: it is not an episode` };
  return {
    episode: {
      id: shown.id,
      completionId: g.id,
      createdAt: shown.createdAt,
      uri: shown.uri,
      relPath: shown.relPath,
      languageId: g.languageId,
      offset: shown.offset,
      line: shown.line,
      prefixExcerpt: g.prefix,
      suffixExcerpt: g.suffix,
      suggestion: g.text,
      tokenIds: g.tokenIds,
      logprobs: g.logprobs,
      promptTokenIds: g.promptTokenIds,
      ...(g.healed ? { healed: g.healed } : {}),
      adapterVersion: g.adapterVersion,
      model: g.model,
      mode: g.mode,
    },
  };
}
