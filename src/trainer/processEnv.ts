// The trainer process's environment: the editor's own, plus
// - ELECTRON_RUN_AS_NODE=1: in desktop VS Code process.execPath is Electron; this makes it plain Node;
// - glibc.malloc.hugetlb=1: glibc backs large allocations with transparent huge pages. Serving reads
//   every 4-bit weight once per token (≈300 MB at 0.5B); with 4 KiB pages that is a TLB miss every
//   4 KiB. Measured: decode 7-8 % faster at 0.5B, prefill unchanged. C libraries other than glibc
//   (and glibc before 2.35) ignore the variable; a value the user set for the tunable is kept.
export const HUGE_PAGES_TUNABLE = 'glibc.malloc.hugetlb';

export function trainerProcessEnv(base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const tunables = base.GLIBC_TUNABLES ?? '';
  const set = tunables.split(':').some((t) => t.startsWith(`${HUGE_PAGES_TUNABLE}=`));
  return {
    ...base,
    ELECTRON_RUN_AS_NODE: '1',
    GLIBC_TUNABLES: set ? tunables : [tunables, `${HUGE_PAGES_TUNABLE}=1`].filter(Boolean).join(':'),
  };
}
