// Adapter versions on disk (AdapterStore folders v0001, …): which one to serve on start (the one
// remembered, else the newest; a corrupt one falls back to the next older valid one, down to the
// base model; every value is read and validated) and a validity listing for the status (from the
// store's index: no tensor is read unless a folder is new or changed). Runs in the learn worker.
import type { learn } from '../../protocol';
import type { ModelConfig } from '../model/config';
import { type Adapter } from '../train/adapter';
import { AdapterStore } from '../train/adapterStore';

export interface Resolved {
  version: number;
  /** Undefined for version 0 (the base model). */
  adapter?: Adapter;
  /** Versions that were tried and refused, with why (for the log and the status). */
  problems: { version: number; problem: string }[];
}

/**
 * The version to serve: `wanted` (0 = base) when it loads, else the next older valid one.
 * `wanted` undefined = the newest. Never throws for a bad folder: it is reported and skipped.
 */
export function resolveServing(store: AdapterStore, cfg: ModelConfig, baseModel: string, wanted?: number): Resolved {
  const all = store.versions();
  const start = wanted ?? all.at(-1) ?? 0;
  const problems: Resolved['problems'] = [];
  for (const v of all.filter((x) => x <= start).reverse()) {
    try {
      return { version: v, adapter: store.load(v, cfg, { baseModel }), problems };
    } catch (e) {
      problems.push({ version: v, problem: (e as Error).message });
    }
  }
  return { version: 0, problems };
}

/**
 * Every stored version with its validity, from the store's index (what validation found when the
 * version was written): a version missing from the index or changed on disk is validated again
 * once; a missing or corrupt index is rebuilt. The serving version is always loaded in full
 * (resolveServing, AdapterStore.load), whatever the listing says.
 */
export function listVersions(store: AdapterStore, cfg: ModelConfig, baseModel: string): learn.VersionInfo[] {
  return store.list(cfg, baseModel);
}
