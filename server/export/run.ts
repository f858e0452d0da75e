// Runs one GGUF export in its own worker thread (worker.ts) and reports its progress: the trainer's
// side of learn/exportGguf. The worker is closed when the export ends, whatever the outcome.
import { WorkerChannel, workerScript } from '../workers/channel';
import type { GgufWeights } from './ggufModel';

export interface ExportJob {
  kind: 'adapter' | 'merged';
  modelDir: string;
  adaptersDir: string;
  /** 0: no adapter (the base model alone). */
  version: number;
  weights: GgufWeights;
  modelFile: string;
  adapterFile?: string;
}
export interface ExportEvent {
  what: string;
  fraction: number;
}
export interface ExportedFile {
  path: string;
  bytes: number;
  what: string;
}

export async function exportInWorker(job: ExportJob, onProgress?: (e: ExportEvent) => void): Promise<ExportedFile[]> {
  const channel = new WorkerChannel<ExportJob, ExportEvent>(workerScript(__dirname, 'exportWorker.js', 'worker.ts'), { name: 'export', onEvent: onProgress });
  try {
    return await channel.call<ExportedFile[]>(job);
  } finally {
    await channel.close();
  }
}
