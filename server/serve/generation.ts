// The generation record: what serving keeps of each suggestion it generates (the exact prefix and
// suffix, prompt ids, token ids, behaviour log-probs, model and adapter version), named by a
// completion id. The editor gets the text and the id; when it shows the suggestion it appends an
// episode that names the id (episodes.Shown), and the store joins the two. So training data never
// travels through the editor, and a suggestion the editor re-shows from its cache is the same
// generation, with the adapter version that really produced it.
import { randomUUID } from 'node:crypto';
import type { serve } from '../../protocol';

/** A completion as generate() returns it: the wire result plus what training needs of it. */
export interface Generation extends Omit<serve.CompleteResult, 'completionId'> {
  /** Generated token ids, exactly as sampled (stop tokens excluded). */
  tokenIds: number[];
  /** log π(token) under the serving policy, one per token id: the trainer's behaviour log-probs. */
  logprobs: number[];
  /** Prompt token ids the suggestion was generated from. */
  promptTokenIds: number[];
  /** Token healing: the end of the prefix the token ids re-spell (decode(tokenIds) === healed + text). */
  healed?: string;
}

export interface GenerationRecord extends Generation {
  id: string;
  /** When it was generated (epoch ms). */
  at: number;
  uri: string;
  languageId: string;
  /** Exactly the prompt text the editor sent. */
  prefix: string;
  suffix: string;
  mode: 'line' | 'block';
  /** The "Correct this" hint its prompt carried: such a generation is not an episode (shown.ts). */
  hint?: string;
}

/** What the episode store needs of serving. */
export interface GenerationLookup {
  generation(id: string): GenerationRecord | undefined;
  /** Drops every record (they hold the workspace's code): "Forget this workspace's data". */
  clear(): void;
}

/** Records kept: more than the editor's suggestion cache holds (src/completions/provider.ts). */
export const MAX_RECORDS = 256;
/** A record older than this is dropped; the editor's cache forgets its entries sooner. */
export const RECORD_TTL_MS = 30 * 60_000;

/** The recent generations, oldest dropped first. */
export class GenerationRecords implements GenerationLookup {
  private readonly records = new Map<string, GenerationRecord>();

  constructor(private readonly max = MAX_RECORDS, private readonly ttlMs = RECORD_TTL_MS, private readonly now: () => number = Date.now) {}

  /** Keeps a generation and returns its completion id. */
  keep(params: serve.CompleteParams, g: Generation): string {
    const id = randomUUID();
    const at = this.now();
    const hint = params.hint?.trim();
    this.records.set(id, { ...g, id, at, uri: params.uri, languageId: params.languageId, prefix: params.prefix, suffix: params.suffix, mode: params.mode ?? 'line', ...(hint ? { hint } : {}) });
    this.prune(at);
    return id;
  }

  generation(id: string): GenerationRecord | undefined {
    this.prune(this.now());
    return this.records.get(id);
  }

  clear(): void {
    this.records.clear();
  }

  get size(): number {
    return this.records.size;
  }

  // Map order is insertion order: the oldest come first.
  private prune(now: number): void {
    for (const [id, r] of this.records) {
      if (this.records.size <= this.max && now - r.at <= this.ttlMs) break;
      this.records.delete(id);
    }
  }
}

/** The wire result: the text and its completion id; the record's training data stays here. */
export function toWire(g: Generation, completionId?: string): serve.CompleteResult {
  return { kind: g.kind, text: g.text, ...(completionId ? { completionId } : {}), adapterVersion: g.adapterVersion, model: g.model, elapsedMs: g.elapsedMs, ...(g.reason ? { reason: g.reason } : {}) };
}
