// Lifecycle of the trainer process: initialize, status, configure, shutdown, and the log and
// status notifications it pushes. Part of the one protocol both sides import (protocol/index.ts).
import { NotificationType, NotificationType0, RequestType, RequestType0 } from 'vscode-jsonrpc';
import type { ModelState } from './model';

// ---- lifecycle ---------------------------------------------------------------------------

export interface InitializeParams {
  /** Folder where this workspace's episodes and adapters live (the extension's workspace storage). */
  storageDir: string;
  /** Whether the user opted this workspace in and it is trusted: nothing is recorded otherwise. */
  recordingEnabled: boolean;
  /** Local Hugging Face model folder (config.json, *.safetensors, tokenizer.json), or '' for none. */
  modelPath: string;
  /** Version of the extension, for the log. */
  clientVersion: string;
  /** How the model is served (hindsight.serving.*); defaults when absent. */
  serving?: ServingSettings;
  /**
   * Folder for files generated from a model (.onnx graphs, 4-bit weights), one subfolder per model
   * content: the extension's global storage. Never the model folder itself. Default: the OS temp folder.
   */
  cacheDir?: string;
}

/** hindsight.serving.*: where and how the model runs. */
export interface ServingSettings {
  /** 'cpu' (default), 'webgpu' (bundled: Vulkan/Metal/D3D12), 'cuda' (needs the CUDA install); falls back to CPU. */
  executionProvider: 'cpu' | 'webgpu' | 'cuda';
  /** Intra-op threads for serving; 0 = automatic (leave a core to the editor). */
  threads: number;
  /** 'auto' = 4-bit on CPU, full precision on a GPU; 'q4' or 'full' to force. */
  weights: 'auto' | 'q4' | 'full';
}
export interface InitializeResult {
  serverVersion: string;
  pid: number;
}
export const initialize = new RequestType<InitializeParams, InitializeResult, void>('initialize');

export type TrainerState = 'starting' | 'ready' | 'training' | 'error';
export interface StatusResult {
  state: TrainerState;
  pid: number;
  uptimeMs: number;
  recordingEnabled: boolean;
  /** Model folder in use, or '' when none is loaded. */
  modelPath: string;
  /** Adapter version serving now (0 = base model). */
  adapterVersion: number;
  /** The model: none, loading (with progress), ready (what it is, how it runs) or failed (why). */
  model: ModelState;
  /** Human-readable reason when state is 'error' or a feature is unavailable. */
  detail?: string;
}
export const status = new RequestType0<StatusResult, void>('status');

/** Flush and stop work (areas' onShutdown hooks); the process stays up until `exit`. */
export const shutdown = new RequestType0<void, void>('shutdown');
/** Sent after shutdown answered: the process exits (code 0). Closing stdin has the same effect. */
export const exit = new NotificationType0('exit');

/** Settings that changed in the editor (recording toggled, model path changed). */
export interface ConfigureParams {
  recordingEnabled?: boolean;
  modelPath?: string;
  serving?: ServingSettings;
}
export const configure = new RequestType<ConfigureParams, StatusResult, void>('configure');

// ---- notifications from the server -------------------------------------------------------

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error';
export interface LogParams {
  level: LogLevel;
  message: string;
}
export const log = new NotificationType<LogParams>('log');

/** Pushed whenever state changes so the status bar needs no polling. */
export const statusChanged = new NotificationType<StatusResult>('status/changed');
