// The trainer process's environment: the editor's own, plus
// - ELECTRON_RUN_AS_NODE=1: in desktop VS Code process.execPath is Electron; this makes it plain Node;
// - glibc.malloc.hugetlb=1: glibc backs large allocations with transparent huge pages. Serving reads
//   every 4-bit weight once per token (≈300 MB at 0.5B); with 4 KiB pages that is a TLB miss every
//   4 KiB. Measured: decode 7-8 % faster at 0.5B, prefill unchanged.
// - glibc.malloc.mmap_threshold=1 MiB: every allocation from 1 MiB up gets its own mapping, which
//   goes back to the system when freed. A training step's activations (megabytes each, freed after
//   the run) otherwise stay in glibc's heaps in fragments. Measured at 0.5B: a train step's peak
//   12.8 → 8.4 GB resident, a released training session leaves 0.59 GB instead of 7.6 GB, the steps
//   as fast.
// - glibc.malloc.trim_threshold=64 MiB: a fixed mmap threshold also fixes the heap's trim threshold
//   at 128 KiB, and each decode step's small buffers then grow and shrink the heap (decode 4-9 %
//   slower). With 64 MiB decode and prefill are as before (eight process pairs: medians within 1 %).
// C libraries other than glibc (and glibc before 2.35) ignore the variable; a value the user set for
// any of these tunables is kept.
const TRAINER_TUNABLES: [string, string][] = [
  ['glibc.malloc.hugetlb', '1'],
  ['glibc.malloc.mmap_threshold', String(1 << 20)],
  ['glibc.malloc.trim_threshold', String(64 << 20)],
];

/** The environment's own tunables, and those of ours it does not set (as `name=value`). */
function tunables(env: NodeJS.ProcessEnv): { own: string[]; missing: string[] } {
  const own = (env.GLIBC_TUNABLES ?? '').split(':').filter(Boolean);
  const missing = TRAINER_TUNABLES.filter(([name]) => !own.some((t) => t.startsWith(`${name}=`))).map(([name, value]) => `${name}=${value}`);
  return { own, missing };
}

export function trainerProcessEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const { own, missing } = tunables(base);
  return { ...base, ELECTRON_RUN_AS_NODE: '1', GLIBC_TUNABLES: [...own, ...missing].join(':') };
}

/** Whether an environment already has every tunable trainerProcessEnv adds (the user's values count). */
export function hasTrainerTunables(env: NodeJS.ProcessEnv = process.env): boolean {
  return tunables(env).missing.length === 0;
}
