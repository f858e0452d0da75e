// Shared test data for the episode store tests: a deterministic episode per id, so a reader can
// check a record is intact without the writer telling it the content.
import type { episodes } from '../../../protocol';

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

export function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
  return h;
}
