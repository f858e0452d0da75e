// Messages between the serving worker thread and the main thread of the trainer process.
// (In-process only; the editor talks JSON-RPC, see protocol/serve.ts.)
import type { serve } from '../../protocol';
import type { ForwardOptions } from '../model/forwardSession';
import type { LoraSpec } from '../model/lora';

export type ToWorker =
  | { type: 'load'; modelDir: string; options: Omit<ForwardOptions, 'log'> }
  | { type: 'complete'; id: number; params: serve.CompleteParams }
  | { type: 'setAdapter'; id: number; version: number; tensors: Record<string, Float32Array>; spec?: LoraSpec };

export type FromWorker =
  | { type: 'loaded'; name: string; loadMs: number; provider: string; lora: LoraSpec }
  | { type: 'loadFailed'; message: string }
  | { type: 'result'; id: number; result: serve.CompleteResult; reusedTokens: number }
  | { type: 'adapterSet'; id: number; version: number; error?: string }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string };

/** Slots of the shared cancellation ring: ids of requests cancelled recently. */
export const CANCEL_SLOTS = 64;
