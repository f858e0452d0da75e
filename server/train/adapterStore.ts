// The adapter versions of a workspace: folders v0001, v0002, … (adapter.ts's PEFT format) written
// atomically and validated when written and when served; an index (adapters/index.json) of what
// validation found for each version, so listing reads no tensors (a cheap stat notices a changed
// file, which is validated again once); retention (prune: the newest N plus protected versions).
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { ModelConfig } from '../model/config';
import { projectionDims, LORA_TARGETS } from '../model/lora';
import { readSafetensorsHeader } from '../model/safetensors';
import { AdapterError, ADAPTER_CONFIG, ADAPTER_WEIGHTS, loadAdapter, saveAdapter, type Adapter, type LoadOptions } from './adapter';

export const ADAPTER_INDEX = 'index.json';

/** [size, mtimeMs] of a file, null when it cannot be stat'ed: a cheap "did it change" check. */
export type FileStamp = [number, number] | null;

/** What validation found for one version (adapters/index.json). */
export interface IndexEntry {
  valid: boolean;
  problem?: string;
  /** base_model_name_or_path of a valid adapter (checked against the serving model when listing). */
  baseModel?: string;
  /** sha256 (hex) of adapter_model.safetensors as validated; a load whose bytes differ under the same stamp is refused (kept when that made the entry invalid). */
  sha256?: string;
  /** adapter_model.safetensors and adapter_config.json when validated; a different stamp means validate again. */
  weights: FileStamp;
  config: FileStamp;
  /** Model geometry it was validated against (geometryKey); another geometry means validate again. */
  geometry: string;
  createdAt?: number;
  parent?: number;
}

export interface AdapterIndex {
  format: 1;
  /** By version number (as a string). */
  versions: Record<string, IndexEntry>;
}

/** One stored version as the index describes it, checked against a base model. */
export interface IndexedVersion {
  version: number;
  valid: boolean;
  problem?: string;
  createdAt?: number;
  parent?: number;
}

export interface StoreOptions {
  log?: (level: 'info' | 'warn' | 'error', message: string) => void;
}

/** The shapes an adapter's tensors must have in `cfg` (besides its own rank and targets). */
export function geometryKey(cfg: ModelConfig): string {
  return [cfg.numLayers, ...LORA_TARGETS.map((t) => `${projectionDims(cfg, t).in}x${projectionDims(cfg, t).out}`)].join(',');
}

function stampOf(file: string): FileStamp {
  try {
    const st = fs.statSync(file);
    return [st.size, st.mtimeMs];
  } catch {
    return null;
  }
}

const sameStamp = (a: FileStamp, b: FileStamp) => (a === null || b === null ? a === b : a[0] === b[0] && a[1] === b[1]);

/** Same validation result for the same files (createdAt and parent aside). */
const sameVerdict = (a: IndexEntry, b: IndexEntry) =>
  a.valid === b.valid && a.problem === b.problem && a.baseModel === b.baseModel && a.sha256 === b.sha256 && a.geometry === b.geometry && sameStamp(a.weights, b.weights) && sameStamp(a.config, b.config);

function sha256File(file: string): string {
  const h = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    for (let n; (n = fs.readSync(fd, buf, 0, buf.length, null)) > 0; ) h.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

function isEntry(e: unknown): e is IndexEntry {
  const x = e as IndexEntry;
  const stamp = (s: unknown) => s === null || (Array.isArray(s) && s.length === 2 && s.every((n) => typeof n === 'number'));
  const optional = (v: unknown, type: string) => v === undefined || typeof v === type;
  return !!x && typeof x === 'object' && typeof x.valid === 'boolean' && typeof x.geometry === 'string' && stamp(x.weights) && stamp(x.config) &&
    optional(x.sha256, 'string') && optional(x.problem, 'string') && optional(x.baseModel, 'string') && optional(x.createdAt, 'number') && optional(x.parent, 'number');
}

/**
 * Adapter versions under one root: v0001, v0002, … (never overwritten; the newest is the highest;
 * numbers are never reused, pruning always keeps the newest). `index.json` records what validation
 * found when each version was written (or first seen), with the files' size and mtime: listing
 * reads the index and stats the files, and validates again (once, recorded) only a version that is
 * new to the index, changed on disk or checked against another model geometry. A missing or corrupt
 * index is rebuilt from the folders. `load` always reads and validates every value, and refuses
 * bytes that differ from the recorded sha256 under an unchanged size and mtime. The index is a
 * cache: failing to write it is logged, never fatal.
 */
export class AdapterStore {
  /** Versions read in full (every tensor decoded and validated) by this instance: load and re-validation. */
  fullReads = 0;
  private readonly log: NonNullable<StoreOptions['log']>;

  constructor(readonly root: string, opts: StoreOptions = {}) {
    this.log = opts.log ?? (() => undefined);
  }

  static dirName(version: number): string {
    return `v${String(version).padStart(4, '0')}`;
  }

  versions(): number[] {
    if (!fs.existsSync(this.root)) return [];
    return fs
      .readdirSync(this.root)
      .flatMap((n) => (/^v\d{4,}$/.test(n) ? [Number(n.slice(1))] : []))
      .sort((a, b) => a - b);
  }

  latest(): number | undefined {
    return this.versions().at(-1);
  }

  dir(version: number): string {
    return path.join(this.root, AdapterStore.dirName(version));
  }

  get indexFile(): string {
    return path.join(this.root, ADAPTER_INDEX);
  }

  /** Save as the next version (validated before it is written) and record it in the index; returns it. */
  write(adapter: Adapter, cfg: ModelConfig, metadata: Record<string, string> = {}): number {
    const version = (this.latest() ?? 0) + 1;
    saveAdapter(this.dir(version), adapter, cfg, { hindsight_version: String(version), ...metadata });
    const dir = this.dir(version);
    const parent = /^\d+$/.test(metadata.parent ?? '') ? Number(metadata.parent) : undefined;
    this.updateIndex((idx) => {
      idx.versions[String(version)] = {
        valid: true,
        baseModel: adapter.baseModel,
        sha256: sha256File(path.join(dir, ADAPTER_WEIGHTS)),
        weights: stampOf(path.join(dir, ADAPTER_WEIGHTS)),
        config: stampOf(path.join(dir, ADAPTER_CONFIG)),
        geometry: geometryKey(cfg),
        createdAt: Date.now(),
        ...(parent !== undefined ? { parent } : {}),
      };
    }, this.versions().length === 1); // older folders without an index: list() rebuilds it, validating each
    return version;
  }

  /**
   * Load one version, reading and validating every value (what serving gets). Refuses bytes that
   * differ from the sha256 recorded under the same size and mtime (a corrupt file validation alone
   * may miss); records a change it finds in the index.
   */
  load(version: number, cfg: ModelConfig, opts: LoadOptions = {}): Adapter {
    this.fullReads++;
    const dir = this.dir(version);
    const weightsFile = path.join(dir, ADAPTER_WEIGHTS);
    const weights = stampOf(weightsFile), config = stampOf(path.join(dir, ADAPTER_CONFIG));
    const read = this.readIndex();
    const known = read.index?.versions[String(version)];
    const record = (e: IndexEntry) => {
      if (known && sameVerdict(known, e)) return;
      if (read.index && (weights || config)) this.updateIndex((idx) => void (idx.versions[String(version)] = { ...e, ...this.facts(known, weights) }), false);
    };
    const geometry = geometryKey(cfg);
    // The files are those validated (same size and mtime): their bytes must be the recorded ones too,
    // also after a load found them corrupt (the recorded sha256 stays with the invalid entry).
    const expected = known && sameStamp(known.weights, weights) && sameStamp(known.config, config) ? known.sha256 : undefined;
    let adapter: Adapter;
    try {
      adapter = loadAdapter(dir, cfg);
      const sha256 = sha256File(weightsFile);
      if (expected && expected !== sha256)
        throw new AdapterError(weightsFile, `its bytes differ from those validated when it was written (sha256 ${sha256.slice(0, 12)}…, recorded ${expected.slice(0, 12)}…) with the same size and time: corrupt`);
      record({ valid: true, baseModel: adapter.baseModel, sha256, weights, config, geometry });
    } catch (e) {
      record({ valid: false, problem: (e as Error).message, ...(expected ? { sha256: expected } : {}), weights, config, geometry });
      throw e;
    }
    if (opts.baseModel !== undefined && adapter.baseModel !== opts.baseModel) throw baseModelError(dir, adapter.baseModel, opts.baseModel);
    return adapter;
  }

  /**
   * Every version folder with its validity against `cfg` and `baseModel`, from the index: a version
   * the index lacks, or whose files' size or mtime changed since, is validated again (once) and the
   * index updated; entries of folders that vanished are dropped. No tensor is read otherwise.
   */
  list(cfg: ModelConfig, baseModel: string): IndexedVersion[] {
    const folders = this.versions();
    const read = this.readIndex();
    const idx: AdapterIndex = read.index ?? { format: 1, versions: {} };
    let dirty = read.state === 'corrupt';
    if (read.state !== 'ok' && folders.length)
      this.log(read.state === 'corrupt' ? 'warn' : 'info', `adapter index ${this.indexFile} ${read.state === 'corrupt' ? `is corrupt (${read.why})` : 'is missing'}; rebuilding it from ${folders.length} version folder(s), validating each once`);
    const geometry = geometryKey(cfg);
    const out: IndexedVersion[] = [];
    for (const version of folders) {
      const dir = this.dir(version);
      const weights = stampOf(path.join(dir, ADAPTER_WEIGHTS)), config = stampOf(path.join(dir, ADAPTER_CONFIG));
      let e = idx.versions[String(version)];
      if (!e || e.geometry !== geometry || !sameStamp(e.weights, weights) || !sameStamp(e.config, config)) {
        if (read.state === 'ok') this.log('info', `adapter v${version} ${!e ? 'is not in the index; validating it' : `${e.geometry !== geometry ? 'was validated for another model geometry' : 'changed on disk since it was validated'}; validating it again`}`);
        e = this.validate(version, cfg, weights, config, e);
        idx.versions[String(version)] = e;
        dirty = true;
      }
      out.push({ version, ...entryFor(e, dir, baseModel), ...(e.createdAt !== undefined ? { createdAt: e.createdAt } : {}), ...(e.parent !== undefined ? { parent: e.parent } : {}) });
    }
    const present = new Set(folders.map(String));
    for (const k of Object.keys(idx.versions))
      if (!present.has(k)) {
        delete idx.versions[k];
        dirty = true;
      }
    if (dirty) this.writeIndex(idx);
    return out;
  }

  /**
   * Retention: delete the versions older than the newest `keep`, except those in `protect` (the
   * serving version, …); `keep` ≤ 0 keeps all. Each folder is renamed away before it is deleted, so
   * a half-deleted one never looks like a version. Returns the versions deleted (oldest first).
   */
  prune(keep: number, protect: Iterable<number> = []): number[] {
    if (!(keep > 0) || !fs.existsSync(this.root)) return [];
    for (const n of fs.readdirSync(this.root))
      if (n.startsWith('.del-'))
        try {
          fs.rmSync(path.join(this.root, n), { recursive: true, force: true });
        } catch {
          /* still in the way: the next prune tries again */
        }
    const all = this.versions();
    const kept = new Set([...all.slice(-keep), ...protect]);
    const removed: number[] = [];
    for (const v of all) {
      if (kept.has(v)) continue;
      const trash = path.join(this.root, `.del-${AdapterStore.dirName(v)}-${process.pid}-${Date.now()}`);
      try {
        fs.renameSync(this.dir(v), trash);
      } catch (e) {
        this.log('warn', `adapter v${v} could not be deleted: ${(e as Error).message}`);
        continue;
      }
      removed.push(v);
      try {
        fs.rmSync(trash, { recursive: true, force: true });
      } catch (e) {
        this.log('warn', `${trash} could not be removed (${(e as Error).message}); the next prune tries again`);
      }
    }
    if (removed.length) this.updateIndex((idx) => removed.forEach((v) => delete idx.versions[String(v)]), false);
    return removed;
  }

  /** The index as stored: 'missing' (no file), 'corrupt' (unreadable JSON or wrong shape; `why`). Bad entries are dropped. */
  readIndex(): { state: 'ok' | 'missing' | 'corrupt'; index?: AdapterIndex; why?: string } {
    let text: string;
    try {
      text = fs.readFileSync(this.indexFile, 'utf8');
    } catch {
      return { state: 'missing' };
    }
    let raw: AdapterIndex;
    try {
      raw = JSON.parse(text);
    } catch (e) {
      return { state: 'corrupt', why: (e as Error).message };
    }
    if (!raw || raw.format !== 1 || !raw.versions || typeof raw.versions !== 'object' || Array.isArray(raw.versions))
      return { state: 'corrupt', why: 'not a format-1 index' };
    const versions: Record<string, IndexEntry> = {};
    for (const [k, e] of Object.entries(raw.versions)) if (/^\d+$/.test(k) && isEntry(e)) versions[k] = e;
    return { state: 'ok', index: { format: 1, versions } };
  }

  /** Validate one version in full (counted in fullReads); keeps the facts of `prev`. */
  private validate(version: number, cfg: ModelConfig, weights: FileStamp, config: FileStamp, prev: IndexEntry | undefined): IndexEntry {
    this.fullReads++;
    const dir = this.dir(version);
    const base = { weights, config, geometry: geometryKey(cfg), ...this.facts(prev, weights, path.join(dir, ADAPTER_WEIGHTS)) };
    try {
      const a = loadAdapter(dir, cfg);
      return { valid: true, baseModel: a.baseModel, sha256: sha256File(path.join(dir, ADAPTER_WEIGHTS)), ...base };
    } catch (e) {
      return { valid: false, problem: (e as Error).message, ...base };
    }
  }

  /** createdAt and parent: the recorded ones, else the weights' mtime and the safetensors metadata's parent. */
  private facts(prev: IndexEntry | undefined, weights: FileStamp, file?: string): Pick<IndexEntry, 'createdAt' | 'parent'> {
    let parent = prev?.parent;
    if (parent === undefined && file) {
      try {
        const p = readSafetensorsHeader(file).metadata.parent;
        if (typeof p === 'string' && /^\d+$/.test(p)) parent = Number(p);
      } catch {
        /* unreadable: no parent */
      }
    }
    const createdAt = prev?.createdAt ?? (weights ? Math.round(weights[1]) : undefined);
    return { ...(createdAt !== undefined ? { createdAt } : {}), ...(parent !== undefined ? { parent } : {}) };
  }

  /**
   * Read, change, write. A corrupt index is left for list() to rebuild (with its log line); a
   * missing one is started only when `create` (else list() rebuilds it too).
   */
  private updateIndex(change: (idx: AdapterIndex) => void, create: boolean): void {
    const read = this.readIndex();
    if (!read.index && !(create && read.state === 'missing')) return;
    const idx = read.index ?? { format: 1, versions: {} };
    change(idx);
    this.writeIndex(idx);
  }

  /** Temp file + rename, so a reader sees the old index or the new one, never half of one. */
  private writeIndex(idx: AdapterIndex): void {
    const tmp = `${this.indexFile}.tmp-${process.pid}`;
    try {
      fs.mkdirSync(this.root, { recursive: true });
      const sorted = Object.fromEntries(Object.entries(idx.versions).sort((a, b) => Number(a[0]) - Number(b[0])));
      fs.writeFileSync(tmp, JSON.stringify({ format: 1, versions: sorted }, null, 1) + '\n');
      fs.renameSync(tmp, this.indexFile);
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      this.log('warn', `adapter index ${this.indexFile} could not be written (${(e as Error).message}); versions are validated again on the next listing`);
    }
  }
}

function baseModelError(dir: string, trainedOn: string | undefined, serving: string): AdapterError {
  return new AdapterError(path.join(dir, ADAPTER_CONFIG), `was trained on base model '${trainedOn ?? ''}', not '${serving}'`);
}

/** An index entry's verdict for `baseModel`. */
function entryFor(e: IndexEntry, dir: string, baseModel: string): { valid: boolean; problem?: string } {
  if (!e.valid) return { valid: false, problem: e.problem ?? 'invalid' };
  if (e.baseModel !== baseModel) return { valid: false, problem: baseModelError(dir, e.baseModel, baseModel).message };
  return { valid: true };
}
