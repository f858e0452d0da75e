// Shared test data for the episode store tests: a deterministic episode per id, so a reader can
// check a record is intact without the writer telling it the content.
import type { episodes } from '../../../protocol';
import type { GenerationRecords } from '../../../server/serve/generation';

export function sampleEpisode(id: string, createdAt = 1_700_000_000_000, bulk = 0): episodes.Episode {
  const n = 4 + (hash(id) % 5);
  return {
    id,
    createdAt,
    uri: `file:///ws/src/${id}.ts`,
    relPath: `src/${id}.ts`,
    languageId: 'typescript',
    offset: 120,
    line: 7,
    prefixExcerpt: `function f_${id}() {\n  return `,
    suffixExcerpt: '\n}\n' + 'x'.repeat(bulk),
    suggestion: `compute_${id}(${n});`,
    tokenIds: Array.from({ length: n }, (_, i) => (hash(id) + i) % 151_000),
    logprobs: Array.from({ length: n }, (_, i) => -(((hash(id) + i) % 97) + 1) / 31),
    promptTokenIds: [1, 2, 3],
    adapterVersion: 2,
    model: 'test-model',
    mode: 'line',
  };
}

/**
 * What the editor would send for `ep`: its generation goes into serving's records (as serving keeps
 * it after generating), and the Shown names it. The stored episode then equals `ep` plus the id.
 */
export function shownOf(records: GenerationRecords, ep: episodes.Episode): episodes.Shown {
  const completionId = records.keep(
    { uri: ep.uri, languageId: ep.languageId, prefix: ep.prefixExcerpt, suffix: ep.suffixExcerpt, mode: ep.mode },
    { kind: 'success', text: ep.suggestion, tokenIds: ep.tokenIds, logprobs: ep.logprobs, promptTokenIds: ep.promptTokenIds, ...(ep.healed ? { healed: ep.healed } : {}), adapterVersion: ep.adapterVersion, model: ep.model, elapsedMs: 1 },
  );
  return { id: ep.id, completionId, createdAt: ep.createdAt, uri: ep.uri, relPath: ep.relPath, offset: ep.offset, line: ep.line, suggestion: ep.suggestion };
}

export function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h;
}
