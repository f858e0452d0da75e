// Messages between the serving worker thread and the main thread of the trainer process, carried
// by the worker channel (server/workers/channel.ts: ids, replies, events). In-process only; the
// editor talks JSON-RPC, see protocol/serve.ts.
import type { model, serve } from '../../protocol';
import type { ForwardOptions } from '../model/forwardSession';
import type { LoraSpec } from '../model/lora';
import type { Generation } from './generation';

/** Requests; each gets one reply (Loaded, Completed, or nothing for setAdapter). */
export type ToWorker =
  | { type: 'load'; modelDir: string; options: Omit<ForwardOptions, 'log' | 'progress'> }
  /** `cancelId` is what the main thread writes into the cancellation ring to stop it. */
  | { type: 'complete'; cancelId: number; params: serve.CompleteParams }
  | { type: 'setAdapter'; version: number; tensors: Record<string, Float32Array>; spec?: LoraSpec };

/** Events: no reply expected. */
export type FromWorker =
  | { type: 'loadProgress'; step: string; fraction?: number }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string };

export interface Loaded {
  name: string;
  loadMs: number;
  provider: string;
  lora: LoraSpec;
  facts: model.ModelFacts;
  weights: 'q4' | 'full';
  compute: string;
}

export interface Completed {
  result: Generation;
  reusedTokens: number;
}

/** Slots of the shared cancellation ring: ids of requests cancelled recently. */
export const CANCEL_SLOTS = 64;
