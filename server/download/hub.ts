// Downloads a model folder from the Hugging Face hub (or any server with the same routes: the
// tests use one on 127.0.0.1): lists the repo's files with their sizes, fetches the ones a model
// folder needs into `<dest>.partial/`, resumes partial files with HTTP Range, verifies every size,
// and moves the folder into place only when it opens as a model. Consent is asked by the editor
// before this runs; this module never starts on its own. Leaves out: auth tokens (public repos).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { openModelFolder } from '../model/folder';

export const DEFAULT_REPO = 'Qwen/Qwen2.5-Coder-0.5B';
export const HUB_URL = 'https://huggingface.co';

export interface DownloadOptions {
  repo?: string;
  revision?: string;
  /** Final model folder; its parent must exist or be creatable. */
  dest: string;
  baseUrl?: string;
  onProgress?: (p: DownloadProgress) => void;
  signal?: AbortSignal;
  fetch?: typeof fetch;
}

export interface DownloadProgress {
  file: string;
  fileBytes: number;
  fileTotal: number;
  bytes: number;
  total: number;
}

export class DownloadError extends Error {
  constructor(message: string, readonly kind: 'offline' | 'http' | 'size' | 'invalid' | 'cancelled') {
    super(message);
    this.name = 'DownloadError';
  }
}

interface RemoteFile {
  path: string;
  size: number;
}

/** Files a model folder needs: config, tokenizer, weights (and the shard index). */
export function wantedFile(p: string): boolean {
  return /^(config\.json|generation_config\.json|tokenizer\.json|tokenizer_config\.json|model\.safetensors\.index\.json|[^/]+\.safetensors)$/.test(p);
}

async function get(fetcher: typeof fetch, url: string, init: RequestInit, base: string): Promise<Response> {
  try {
    return await fetcher(url, init);
  } catch (e) {
    if ((e as Error).name === 'AbortError' || init.signal?.aborted) throw new DownloadError('download cancelled', 'cancelled');
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    throw new DownloadError(
      `cannot reach ${base} (${cause?.code ?? cause?.message ?? (e as Error).message}). Are you offline? You can download the model folder another way and set hindsight.model.path to it.`,
      'offline',
    );
  }
}

/** The repo's files with sizes (hub tree API). */
export async function listFiles(opts: DownloadOptions): Promise<RemoteFile[]> {
  const base = opts.baseUrl ?? HUB_URL;
  const repo = opts.repo ?? DEFAULT_REPO;
  const res = await get(opts.fetch ?? fetch, `${base}/api/models/${repo}/tree/${opts.revision ?? 'main'}`, { signal: opts.signal }, base);
  if (!res.ok) throw new DownloadError(`listing ${repo} failed: HTTP ${res.status} ${res.statusText}`, 'http');
  const entries = (await res.json()) as { type: string; path: string; size: number; lfs?: { size: number } }[];
  const files = entries.filter((e) => e.type === 'file' && wantedFile(e.path)).map((e) => ({ path: e.path, size: e.lfs?.size ?? e.size }));
  if (!files.some((f) => f.path === 'config.json') || !files.some((f) => f.path.endsWith('.safetensors')))
    throw new DownloadError(`${repo} has no config.json or *.safetensors: not a model folder Hindsight can load`, 'invalid');
  return files;
}

/** Download (or finish downloading) a model folder; returns its path. */
export async function downloadModel(opts: DownloadOptions): Promise<string> {
  const base = opts.baseUrl ?? HUB_URL;
  const repo = opts.repo ?? DEFAULT_REPO;
  const rev = opts.revision ?? 'main';
  const fetcher = opts.fetch ?? fetch;
  const files = await listFiles(opts);
  const partial = `${opts.dest}.partial`;
  fs.mkdirSync(partial, { recursive: true });
  const total = files.reduce((a, f) => a + f.size, 0);
  let doneBytes = 0;
  for (const f of files) {
    const final = path.join(partial, f.path);
    if (fs.existsSync(final) && fs.statSync(final).size === f.size) {
      doneBytes += f.size;
      continue;
    }
    const part = `${final}.part`;
    let have = fs.existsSync(part) ? fs.statSync(part).size : 0;
    if (have > f.size) {
      fs.rmSync(part);
      have = 0;
    }
    const res = await get(fetcher, `${base}/${repo}/resolve/${rev}/${f.path}`, { signal: opts.signal, headers: have ? { Range: `bytes=${have}-` } : {} }, base);
    if (res.status === 200) have = 0; // server ignored the range: start over
    else if (res.status !== 206 && !(res.status === 416 && have === f.size)) throw new DownloadError(`${f.path}: HTTP ${res.status} ${res.statusText}`, 'http');
    const fd = fs.openSync(part, have ? 'a' : 'w');
    let got = have;
    try {
      if (res.body && res.status !== 416) {
        const reader = res.body.getReader();
        for (;;) {
          let chunk: ReadableStreamReadResult<Uint8Array>;
          try {
            chunk = await reader.read();
          } catch (e) {
            if (opts.signal?.aborted) throw new DownloadError('download cancelled (partial files kept for resuming)', 'cancelled');
            throw new DownloadError(`${f.path}: connection lost after ${got} of ${f.size} bytes (${(e as Error).message}); run the download again to resume`, 'offline');
          }
          if (chunk.done) break;
          fs.writeSync(fd, chunk.value);
          got += chunk.value.byteLength;
          opts.onProgress?.({ file: f.path, fileBytes: got, fileTotal: f.size, bytes: doneBytes + got, total });
        }
      }
    } finally {
      fs.closeSync(fd);
    }
    if (got !== f.size) {
      if (got > f.size) fs.rmSync(part); // corrupt: never resume from it
      throw new DownloadError(`${f.path}: got ${got} bytes, expected ${f.size}${got < f.size ? '; run the download again to resume' : ' (file removed)'}`, 'size');
    }
    fs.mkdirSync(path.dirname(final), { recursive: true });
    fs.renameSync(part, final);
    doneBytes += f.size;
  }
  try {
    openModelFolder(partial);
  } catch (e) {
    fs.rmSync(partial, { recursive: true, force: true });
    throw new DownloadError(`the downloaded folder does not open as a model (${(e as Error).message}); it was removed`, 'invalid');
  }
  fs.rmSync(opts.dest, { recursive: true, force: true });
  fs.renameSync(partial, opts.dest);
  return opts.dest;
}
