// serve/*: inline completion requests from the editor to the trainer's serving loop.
// Expected outcomes are values (`kind`), never exceptions: the inline provider must not throw.
import { RequestType } from 'vscode-jsonrpc';

export interface CompleteParams {
  /** Document URI, for logs and per-file caches only. */
  uri: string;
  languageId: string;
  /** Text before the cursor (already trimmed to a budget by the editor side). */
  prefix: string;
  /** Text after the cursor. */
  suffix: string;
  /** Upper bound on generated tokens (default chosen by the server). */
  maxTokens?: number;
  /** 'line' stops at the end of the current line; 'block' allows a multi-line body. */
  mode?: 'line' | 'block';
  /** 0 = greedy (default). */
  temperature?: number;
  topP?: number;
  seed?: number;
  /** Wall-clock budget for generation in ms. */
  timeoutMs?: number;
  /**
   * A directive from the developer ("Correct this"): placed as a comment line above the cursor
   * line, as the OPD teacher sees hints (server/judge/hintPlacement.ts).
   */
  hint?: string;
}

export interface CompleteResult {
  kind: 'success' | 'empty' | 'cancelled' | 'unavailable' | 'failed';
  text: string;
  /**
   * Names the trainer's record of this generation (exact prefix and suffix, prompt ids, token ids,
   * behaviour log-probs, adapter version): an episode refers to it (episodes.Shown) and the editor
   * never carries that data. Present on a suggestion with text (one asked with a hint cannot
   * become an episode).
   */
  completionId?: string;
  /** Adapter version that produced it (0 = base model). */
  adapterVersion: number;
  /** Model folder name, for logs. */
  model: string;
  elapsedMs: number;
  /** Why, when kind is not 'success'. */
  reason?: string;
}
export const complete = new RequestType<CompleteParams, CompleteResult, void>('serve/complete');
