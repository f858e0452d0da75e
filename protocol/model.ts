// The model as the editor shows it, next to the trainer state: none / loading (with progress) /
// ready (name, size, precision, device) / failed (reason). The trainer pushes it inside
// status/changed, so "ready" never hides a model that is still loading or failed to load.
// model/check opens a folder as a model without loading it: the editor validates a folder the
// user picked before it saves hindsight.model.path.
import { RequestType } from 'vscode-jsonrpc';

/** What a model folder holds, read from its headers (no tensor bytes). */
export interface ModelFacts {
  /** Folder name. */
  name: string;
  /** 'qwen2' | 'llama'. */
  architecture: string;
  /** Parameter count (every tensor the checkpoint holds). */
  parameters: number;
  /** Bytes of its *.safetensors files on disk. */
  bytes: number;
  /** Stored precision of most weights: 'BF16', 'F16' or 'F32'. */
  dtype: string;
  layers: number;
  /** Longest context the config allows (max_position_embeddings). */
  contextLength: number;
}

export type ModelState =
  /** No model configured: no suggestions and no training. */
  | { kind: 'none' }
  | {
      kind: 'loading';
      path: string;
      name: string;
      /** What it is doing now, in plain words ("converting weights to 4-bit"). */
      step: string;
      /** 0..1 when the step can tell. */
      fraction?: number;
      /** When the load started (ms since epoch), for "for 12 s". */
      startedAt: number;
    }
  | {
      kind: 'ready';
      path: string;
      facts: ModelFacts;
      /** Weights as served: 'q4' (4-bit, converted on this machine) or 'full' (as stored). */
      weights: 'q4' | 'full';
      /** Compute precision: 'float32' | 'float16'. */
      compute: string;
      /** Execution provider that started: 'cpu' | 'webgpu' | 'cuda'. */
      device: string;
      loadMs: number;
    }
  | { kind: 'failed'; path: string; name: string; reason: string };

export interface CheckParams {
  path: string;
}
export type CheckResult = { ok: true; facts: ModelFacts } | { ok: false; reason: string };
/** Opens a folder as a model (config.json, *.safetensors, tokenizer.json) and says what it holds or why not. */
export const check = new RequestType<CheckParams, CheckResult, void>('model/check');
