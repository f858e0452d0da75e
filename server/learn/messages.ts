// Messages between the learn worker thread (worker.ts) and the loop on the trainer's main thread
// (loop.ts). In-process only; the editor talks JSON-RPC (protocol/learn.ts).
import type { learn } from '../../protocol';
import type { LoraSpec } from '../model/lora';
import type { RoundRequest } from './engine';

export type ToLearnWorker =
  | { type: 'init'; id: number; modelDir: string; adaptersDir: string; wanted?: number; threads?: number }
  | { type: 'round'; id: number; req: RoundRequest }
  | { type: 'load'; id: number; version: number }
  | { type: 'versions'; id: number };

/** An adapter crossing threads: PEFT-named tensors (structured clone copies them once). */
export interface AdapterPayload {
  version: number;
  tensors: Record<string, Float32Array>;
  spec: LoraSpec;
}

export type InitResult = { model: string; vocabSize: number; serving: number; adapter?: AdapterPayload; problems: { version: number; problem: string }[] };
export type RoundReply = { report: learn.RoundReport; adapter?: AdapterPayload; info?: Omit<learn.VersionInfo, 'valid' | 'version'> };

export type FromLearnWorker =
  | { type: 'reply'; id: number; value?: unknown; error?: string }
  | { type: 'progress'; state: 'training' | 'evaluating'; step: number; steps: number; loss?: number }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; message: string };
