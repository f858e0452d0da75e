// Turns decoder graphs into onnxruntime sessions: writes the .onnx file (into a model's cache
// folder, see modelCache.ts, where ORT accepts its external-data pointers into the linked
// .safetensors files), picks execution providers with a CPU fallback, and wraps the forward (KV
// cache) graph. Leaves out: generation (server/serve).
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as crypto from 'node:crypto';
import * as ort from 'onnxruntime-node';
import { Graph } from '../graph/builder';
import type { ModelConfig } from './config';
import { buildDecoder, pastName, presentName, type DecoderOptions, type WeightSet } from './decoder';
import type { TensorInfo } from './safetensors';

export type Provider = 'cpu' | 'webgpu' | 'cuda';

export interface SessionOptions {
  /** Execution providers to try in order; CPU is always the last resort (default ['cpu']). */
  providers?: Provider[];
  /** Intra-op threads (default: ORT's choice = physical cores). */
  intraOpThreads?: number;
  /**
   * Let idle ORT pool threads spin (ORT's default). Serving turns it off: on a 2-core laptop the
   * spinning threads take the core the editor and the JSON-RPC loop need between decode steps.
   */
  spin?: boolean;
  /** ORT's profiler (development, bench:profile): per-node timings written to `<prefix>_<date>.json` on session.endProfiling(). */
  profilePrefix?: string;
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
}

/** The forward graph as a model: logits + present key/values as outputs. */
export function buildForwardGraph(cfg: ModelConfig, weights: WeightSet, opts: DecoderOptions = {}): Graph {
  const g = new Graph(`${cfg.architecture}_forward`);
  const d = buildDecoder(g, cfg, weights, opts);
  g.output(d.logits, 'logits');
  d.presents.forEach((p, l) => {
    g.output(p.key, presentName(l, 'key'));
    g.output(p.value, presentName(l, 'value'));
  });
  return g;
}

/**
 * Hard links (else copies) of `files` in `dir`; returns the files that had to be copied. An entry
 * already there is kept when it is the same file (same inode) or a copy of the same size.
 */
export function linkWeightFiles(dir: string, files: string[]): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const copied: string[] = [];
  for (const f of files) {
    const dst = path.join(dir, path.basename(f));
    const src = fs.statSync(f);
    const have = fs.statSync(dst, { throwIfNoEntry: false });
    if (have && (have.ino === src.ino || have.size === src.size)) continue;
    // Into a temporary name, then renamed: a concurrent load never sees half a copy.
    const tmp = `${dst}.${process.pid}.${crypto.randomBytes(4).toString('hex')}.tmp`;
    try {
      fs.linkSync(f, tmp);
    } catch {
      fs.copyFileSync(f, tmp);
      copied.push(f);
    }
    fs.renameSync(tmp, dst);
  }
  return copied;
}

/**
 * The folder a graph over `files` can be written to: `cacheDir`, holding links to the weight files
 * (ORT resolves external data only inside the .onnx file's folder). Never the weights' own folder.
 * Serving and training use modelCacheDir (modelCache.ts), which keys the folder by model content.
 */
export function modelFileDir(_weightsDir: string, cacheDir: string, files: string[]): string {
  linkWeightFiles(cacheDir, files);
  return cacheDir;
}

/**
 * Write graph bytes into `dir` under a content-addressed name (reused when identical); returns the
 * path. A new file replaces the older ones of its `family` (default: the stem), so graphs of an
 * earlier version or of changed weights (4-bit files hold their weights: hundreds of MB) do not
 * pile up in the cache folder. ORT has read a model file fully once its session exists.
 */
export function writeModelFile(dir: string, stem: string, bytes: Uint8Array, family = stem): string {
  const hash = crypto.createHash('sha256').update(bytes).digest('hex').slice(0, 12);
  const name = `.hindsight-${stem}-${hash}.onnx`;
  const file = path.join(dir, name);
  if (!fs.existsSync(file)) {
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, bytes);
    fs.renameSync(tmp, file);
    for (const old of fs.readdirSync(dir)) if (old !== name && ofFamily(old, family)) fs.rmSync(path.join(dir, old), { force: true });
  }
  return file;
}

/**
 * Whether a file written by writeModelFile belongs to `family`: its stem is the family, or the
 * family and one more part (a content key), so `serve-q4-r16` does not claim `serve-q4-r16-base-…`.
 */
function ofFamily(file: string, family: string): boolean {
  const stem = /^\.hindsight-(.+)-[0-9a-f]{12}\.onnx$/.exec(file)?.[1];
  if (!stem) return false;
  return stem === family || (stem.startsWith(`${family}-`) && !stem.slice(family.length + 1).includes('-'));
}

/** The weight files a set of tensors lives in. */
export function weightFiles(tensors: Map<string, TensorInfo>): string[] {
  return [...new Set([...tensors.values()].map((t) => t.file))];
}

/**
 * ORT session options a compute dtype needs. float64: ORT 1.30's extended optimisations fuse
 * x·sigmoid(x) into com.microsoft QuickGelu, which has only a float kernel, so stop at 'basic'.
 */
export function ortOptionsFor(dtype: 'float32' | 'float64' | 'float16' | undefined): ort.InferenceSession.SessionOptions {
  return dtype === 'float64' ? { graphOptimizationLevel: 'basic' } : {};
}

/** Create a session, trying providers in order and falling back to CPU with a log line. */
export async function createSession(model: string | Uint8Array, opts: SessionOptions = {}): Promise<{ session: ort.InferenceSession; provider: Provider }> {
  const log = opts.log ?? (() => undefined);
  const base: ort.InferenceSession.SessionOptions = {
    graphOptimizationLevel: 'all',
    // ORT plans and caches a memory pattern per set of input shapes; a cache's length changes every
    // step, so the plans are never reused. Off: decode at 1 thread 3 % faster (0.5B, two probes of
    // 6 and 8 interleaved pairs: 22.5 → 21.7 and 21.8 → 21.1 ms a token), 2 threads and prefill equal.
    enableMemPattern: false,
    ...(opts.intraOpThreads ? { intraOpNumThreads: opts.intraOpThreads } : {}),
    ...(opts.profilePrefix ? { enableProfiling: true, profileFilePrefix: opts.profilePrefix } : {}),
    ...(opts.spin === false ? { extra: { session: { intra_op: { allow_spinning: '0' }, inter_op: { allow_spinning: '0' } } } } : {}),
  };
  const tries = [...(opts.providers ?? ['cpu']).filter((p) => p !== 'cpu'), 'cpu' as const];
  for (const provider of tries) {
    try {
      const session = await (typeof model === 'string'
        ? ort.InferenceSession.create(model, { ...base, executionProviders: [provider] })
        : ort.InferenceSession.create(model, { ...base, executionProviders: [provider] }));
      return { session, provider };
    } catch (e) {
      if (provider === 'cpu') throw e;
      log('warn', `execution provider ${provider} failed to start (${(e as Error).message.split('\n')[0]}); falling back to ${tries[tries.indexOf(provider) + 1]}`);
    }
  }
  throw new Error('unreachable');
}

export { pastName, presentName };
