// Where files generated from a model go (.onnx graphs, 4-bit weights): one folder per model
// content under a cache root (the extension's global storage; the OS temp folder for tests and
// benches), never the user's model folder. ORT 1.30 resolves external data only inside the .onnx
// file's own folder (no absolute paths, no symlinks leading out), so that folder holds hard links
// to the weight files — free on the same filesystem — or, across filesystems, copies (once).
// Folders of models no longer present, or unused for long, are removed.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { ModelFolder } from './folder';
import { linkWeightFiles, weightFiles } from './session';

/** Cache root when the editor sent none. */
export const defaultCacheRoot = () => path.join(os.tmpdir(), 'hindsight-models');

/** Bytes sampled from each weight file for the content key: its start (header) and 16 spread chunks. */
const SAMPLE = 64 * 1024;
const SAMPLES = 16;

/**
 * A key for what the model computes: config.json and the weight files' names, sizes and sampled
 * bytes (reading whole files would cost seconds per load; a changed checkpoint changes its header
 * offsets or its bytes). Not its path or mtime: the same model in two folders shares one cache.
 */
export function contentKey(folder: Pick<ModelFolder, 'dir' | 'tensors'>): string {
  const h = crypto.createHash('sha256');
  h.update(fs.readFileSync(path.join(folder.dir, 'config.json')));
  for (const file of weightFiles(folder.tensors).sort()) {
    const size = fs.statSync(file).size;
    h.update(`${path.basename(file)}\0${size}\0`);
    const fd = fs.openSync(file, 'r');
    try {
      const buf = Buffer.alloc(SAMPLE);
      for (let i = 0; i <= SAMPLES; i++) {
        const at = i === 0 ? 0 : Math.floor(((size - SAMPLE) * i) / SAMPLES);
        const n = fs.readSync(fd, buf, 0, SAMPLE, Math.max(0, at));
        h.update(buf.subarray(0, n));
      }
    } finally {
      fs.closeSync(fd);
    }
  }
  return h.digest('hex').slice(0, 16);
}

/** The cache folder of this model (created, weight files linked in), marked as just used. */
export function modelCacheDir(root: string, folder: ModelFolder, log?: (level: 'info' | 'warn', message: string) => void): string {
  const dir = path.join(root, `${folder.name.replace(/[^\w.-]+/g, '_').slice(0, 60)}-${contentKey(folder)}`);
  const copied = linkWeightFiles(dir, weightFiles(folder.tensors));
  if (copied.length) log?.('info', `model files copied (another filesystem, no hard link) into ${dir}: ${copied.map((f) => path.basename(f)).join(', ')}`);
  fs.writeFileSync(path.join(dir, '.source.json'), JSON.stringify({ dir: path.resolve(folder.dir), usedAt: Date.now() }));
  pruneCache(root, dir);
  return dir;
}

/** How many cache folders of models still present are kept besides the one in use. */
const KEEP = 2;
/** A folder used within this long is never removed (another window may be loading it). */
const MIN_IDLE_MS = 24 * 3600_000;

/** Names modelCacheDir gives: `<model name>-<content key>`. Other folders are not ours and stay. */
const CACHE_NAME = /-[0-9a-f]{16}$/;

/** Removes folders whose model folder is gone, and the least recently used beyond KEEP. */
export function pruneCache(root: string, inUse: string, now = Date.now()): string[] {
  const entries = fs
    .readdirSync(root, { withFileTypes: true })
    .filter((e) => e.isDirectory() && CACHE_NAME.test(e.name) && path.join(root, e.name) !== inUse)
    .map((e) => {
      const dir = path.join(root, e.name);
      try {
        const s = JSON.parse(fs.readFileSync(path.join(dir, '.source.json'), 'utf8')) as { dir?: string; usedAt?: number };
        return { dir, source: s.dir, usedAt: s.usedAt ?? 0 };
      } catch {
        return { dir, source: undefined, usedAt: 0 };
      }
    })
    .filter((e) => now - e.usedAt > MIN_IDLE_MS)
    .sort((a, b) => b.usedAt - a.usedAt);
  const removed: string[] = [];
  let kept = 0;
  for (const e of entries) {
    const present = e.source !== undefined && fs.existsSync(e.source);
    if (present && kept < KEEP) {
      kept++;
      continue;
    }
    fs.rmSync(e.dir, { recursive: true, force: true });
    removed.push(e.dir);
  }
  return removed;
}
