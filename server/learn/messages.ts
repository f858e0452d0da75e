// Messages between the learn worker thread (worker.ts) and the loop on the trainer's main thread
// (loop.ts), carried by the worker channel. In-process only; the editor talks JSON-RPC (protocol/learn.ts).
import type { LearnRule } from './rule';
import type { learn } from '../../protocol';
import type { LoraSpec } from '../model/lora';
import type { RoundRequest } from './engine';

/** Requests over the worker channel (server/workers/channel.ts); each gets one reply. */
export type ToLearnWorker =
  | { type: 'init'; modelDir: string; adaptersDir: string; wanted?: number; threads?: number; cacheDir?: string }
  | { type: 'round'; req: RoundRequest }
  | { type: 'load'; version: number }
  | { type: 'versions' }
  /** Free the training session until the next round (LearnEngine.releaseTrainer); replies whether one was built. */
  | { type: 'release' };

/** An adapter crossing threads: PEFT-named tensors (structured clone copies them once). */
export interface AdapterPayload {
  version: number;
  tensors: Record<string, Float32Array>;
  spec: LoraSpec;
}

/** `rule`: what the engine's learning rule needs of an episode (the loop screens waiting episodes by it). */
export type InitResult = { model: string; vocabSize: number; serving: number; adapter?: AdapterPayload; problems: { version: number; problem: string }[]; rule: Pick<LearnRule, 'objective' | 'negative'> };
export type RoundReply = { report: learn.RoundReport; adapter?: AdapterPayload; info?: Omit<learn.VersionInfo, 'valid' | 'version'> };

/** Events: no reply expected. */
export type FromLearnWorker =
  | { type: 'progress'; state: 'training' | 'evaluating'; step: number; steps: number; loss?: number }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string };
