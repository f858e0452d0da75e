// The model's tokenizer.json through @huggingface/tokenizers (pure JS, matches the Rust tokenizer),
// plus what generation needs from it: FIM token ids, the ids that end a ghost-text suggestion, and
// incremental decoding that never emits half a UTF-8 character. Leaves out: chat templates.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Tokenizer } from '@huggingface/tokenizers' with { 'resolution-mode': 'import' };
// The package is dual (ESM + CJS); TypeScript sees only its ESM types from this CJS module, so the
// class comes through require (esbuild bundles dist/tokenizers.cjs) and the type through import type.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { Tokenizer: TokenizerClass } = require('@huggingface/tokenizers') as { Tokenizer: new (json: object, config: object) => Tokenizer };
import { describe, ModelFolderError } from './config';

export interface FimTokens {
  prefix: number;
  suffix: number;
  middle: number;
}

export class ModelTokenizer {
  /** FIM ids when the vocabulary has them (Qwen2.5-Coder: <|fim_prefix|>, <|fim_suffix|>, <|fim_middle|>). */
  readonly fim: FimTokens | undefined;
  /** Ids that end a suggestion: EOS and every added control token (FIM, chat, repo/file markers). */
  readonly stopIds: Set<number>;

  /** Largest id the tokenizer can produce (vocabulary and added tokens). */
  readonly maxId: number;
  /** Ids of added tokens (control tokens and markers): never produced from text by encode(). */
  private readonly addedIds: Set<number>;

  constructor(private tok: Tokenizer, eosIds: number[], vocab: Record<string, number> = {}) {
    let maxId = -1;
    for (const id of Object.values(vocab)) if (id > maxId) maxId = id;
    for (const id of tok.get_added_tokens_decoder().keys()) if (id > maxId) maxId = id;
    this.maxId = maxId;
    this.addedIds = new Set(tok.get_added_tokens_decoder().keys());
    const id = (s: string) => tok.token_to_id(s);
    const [p, s, m] = [id('<|fim_prefix|>'), id('<|fim_suffix|>'), id('<|fim_middle|>')];
    this.fim = p !== undefined && s !== undefined && m !== undefined ? { prefix: p, suffix: s, middle: m } : undefined;
    this.stopIds = new Set(eosIds);
    for (const [tid, t] of tok.get_added_tokens_decoder()) if (/^<[|｜].*[|｜]>$|^<\/?(tool_call|tool_response|think)>$/.test(t.content)) this.stopIds.add(tid);
  }

  /**
   * Text → ids by the tokenizer's model alone (normalizer, pre-tokenizer, BPE), with no BOS/EOS:
   * a control-token string in the user's code ("<|fim_suffix|>", "<|endoftext|>") stays text and
   * never becomes that token's id. The library's encode() matches added tokens first and has no
   * switch to skip it, so this runs the same steps it runs between two added tokens. FIM prompts
   * put the marker ids in by hand; tokenId() gives a control token's id.
   */
  encode(text: string): number[] {
    if (text.length === 0) return [];
    const { normalizer, pre_tokenizer, model } = this.tok;
    if (!model) throw new Error('tokenizer has no model');
    const normalized = normalizer ? normalizer(text) : text;
    const words = pre_tokenizer ? pre_tokenizer(normalized, { section_index: 0 }) : [normalized];
    const ids: number[] = [];
    const push = (piece: string) => {
      const id = model.tokens_to_ids.get(piece) ?? model.unk_token_id;
      if (id === undefined) throw new Error(`tokenizer has no id for ${JSON.stringify(piece)} and no unknown token`);
      ids.push(id);
    };
    for (const piece of model(words)) {
      // A merge that spells a whole added token (only without a splitting pre-tokenizer): its
      // characters one by one instead, so it cannot be that token.
      if (this.addedIds.has(model.tokens_to_ids.get(piece) ?? -1)) for (const p of model(Array.from(piece))) push(p);
      else push(piece);
    }
    return ids;
  }

  decode(ids: number[]): string {
    return this.tok.decode(ids, { skip_special_tokens: false, clean_up_tokenization_spaces: false });
  }

  tokenId(token: string): number | undefined {
    return this.tok.token_to_id(token);
  }
}

/** The tokenizer library's error, cut short: it may quote the whole offending value. */
const libraryMessage = (e: unknown) => {
  const m = e instanceof Error ? e.message : String(e);
  return m.length > 300 ? `${m.slice(0, 300)}…` : m;
};

/** Load tokenizer.json (+ tokenizer_config.json when present) from a model folder. */
export function loadTokenizer(dir: string, eosIds: number[] = []): ModelTokenizer {
  const file = path.join(dir, 'tokenizer.json');
  const read = (f: string, required: boolean): object => {
    let text: string;
    try {
      text = fs.readFileSync(f, 'utf8');
    } catch (e) {
      if (!required) return {};
      throw new ModelFolderError(f, `cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
    }
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new ModelFolderError(f, `not valid JSON (${(e as Error).message})`);
    }
  };
  const json = read(file, true);
  const vocab = (json as { model?: { vocab?: Record<string, number> } } | null)?.model?.vocab ?? {};
  let tok: Tokenizer;
  try {
    tok = new TokenizerClass(json, read(path.join(dir, 'tokenizer_config.json'), false));
  } catch (e) {
    throw new ModelFolderError(file, `not a tokenizer the library can load (${libraryMessage(e)})`);
  }
  // The library takes any JSON value as an id; serving feeds them to the model as int64 indices.
  let ids: unknown[];
  try {
    ids = [...Object.values(vocab), ...tok.get_added_tokens_decoder().keys()];
  } catch (e) {
    throw new ModelFolderError(file, `not a tokenizer the library can load (${libraryMessage(e)})`);
  }
  const bad = ids.findIndex((id) => !(typeof id === 'number' && Number.isInteger(id) && id >= 0));
  if (bad >= 0) throw new ModelFolderError(file, `has a token id that is not a non-negative integer: ${describe(ids[bad])}`);
  let model: ModelTokenizer;
  try {
    model = new ModelTokenizer(tok, eosIds, vocab);
  } catch (e) {
    throw new ModelFolderError(file, `not a tokenizer the library can load (${libraryMessage(e)})`);
  }
  // Loaded must mean usable: a damaged pre-tokenizer or normalizer can load and then encode code to
  // nothing (serving would answer "nothing before the cursor" forever) or throw on the first prompt.
  let probe: number[];
  try {
    probe = model.encode(PROBE_TEXT);
  } catch (e) {
    throw new ModelFolderError(file, `cannot encode text (${libraryMessage(e)})`);
  }
  if (!probe.length) throw new ModelFolderError(file, 'encodes a line of code to no tokens (is its pre_tokenizer or normalizer damaged?)');
  return model;
}

/** What loadTokenizer encodes once to check the tokenizer works. */
const PROBE_TEXT = 'def f(x):\n    return x + 1\n';

/**
 * Turns a growing list of ids into text pieces. Decodes the whole tail since the last emitted
 * boundary so multi-token characters come out whole; holds back while the text ends in U+FFFD.
 */
export class IncrementalDecoder {
  private ids: number[] = [];
  private emitted = '';
  constructor(private tok: ModelTokenizer) {}

  /** Add one id; returns the new text it completes ('' while a character is still partial). */
  push(id: number): string {
    this.ids.push(id);
    const text = this.tok.decode(this.ids);
    if (text.endsWith('\uFFFD')) return '';
    const piece = text.slice(this.emitted.length);
    this.emitted = text;
    return piece;
  }

  get text(): string {
    return this.emitted;
  }
}
