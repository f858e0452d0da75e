// The export worker thread: writes GGUF files (ggufModel.ts) off the trainer's main thread, so a
// 0.5B model's seconds of reading and converting never stall the JSON-RPC loop or suggestions.
// One request, progress events, one reply; run.ts starts and closes it.
import * as os from 'node:os';
import { openModelFolder } from '../model/folder';
import { AdapterStore } from '../train/adapterStore';
import { serveRequests } from '../workers/port';
import { exportAdapterGguf, exportModelGguf } from './ggufModel';
import type { ExportEvent, ExportJob, ExportedFile } from './run';

try {
  os.setPriority(0, 19); // below serving: a suggestion wins the CPU over an export
} catch {
  /* not permitted: normal priority */
}

const emit = serveRequests<ExportJob, ExportEvent>(
  (job) => {
    const folder = openModelFolder(job.modelDir);
    const adapter = job.version > 0 ? new AdapterStore(job.adaptersDir).load(job.version, folder.cfg) : undefined;
    const files: ExportedFile[] = [];
    const step = (what: string) => (f: number) => emit({ what, fraction: f });
    if (job.kind === 'merged') {
      const r = exportModelGguf(folder, job.modelFile, { weights: job.weights, adapter, name: `${folder.name}${adapter ? `-hindsight-v${job.version}` : ''}`, progress: step('writing the merged model') });
      files.push({ path: job.modelFile, bytes: r.bytes, what: adapter ? `the model with adapter v${job.version} merged in` : 'the base model' });
    } else {
      if (adapter && job.adapterFile) {
        emit({ what: 'writing the adapter', fraction: 0 });
        const r = exportAdapterGguf(adapter, folder.cfg, job.adapterFile, `${folder.name}-hindsight-v${job.version}`);
        files.push({ path: job.adapterFile, bytes: r.bytes, what: `adapter v${job.version} (GGUF LoRA)` });
      }
      const r = exportModelGguf(folder, job.modelFile, { weights: job.weights, progress: step('writing the base model') });
      files.push({ path: job.modelFile, bytes: r.bytes, what: 'the base model the adapter applies to' });
    }
    return files;
  },
  () => undefined,
);
