// A small seeded PRNG (mulberry32) so adapter initialisation, test inputs and batch order are
// reproducible bit for bit from a seed. Not for anything security related.

/** Uniform [0, 1) numbers from a 32-bit seed. */
export function seededRandom(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** n uniform(lo, hi) numbers. */
export function randomArray(n: number, seed: number, lo = -1, hi = 1): Float64Array {
  const r = seededRandom(seed);
  return Float64Array.from({ length: n }, () => lo + (hi - lo) * r());
}
