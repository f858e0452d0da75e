// Levenshtein edit distance with a band limit, and approximate substring search (Sellers'
// algorithm) used by the survival check. Plain strings only; no 'vscode' here. Leaves out
// token-level or whitespace-normalised distances: survival is lexical by design (DESIGN §2).

/**
 * Edit distance between `a` and `b`, or `limit + 1` as soon as it is known to exceed `limit`
 * (Ukkonen's band: only cells within `limit` of the diagonal can stay under it).
 */
export function editDistance(a: string, b: string, limit = Number.POSITIVE_INFINITY): number {
  if (a === b) return 0;
  if (a.length > b.length) [a, b] = [b, a];
  const n = a.length;
  const m = b.length;
  const cap = Math.min(limit, m);
  if (m - n > cap) return cap + 1;
  if (n === 0) return m;
  const band = Number.isFinite(cap) ? cap : m;
  const big = cap + 1;
  let prev = new Int32Array(n + 1);
  let cur = new Int32Array(n + 1);
  for (let i = 0; i <= n; i++) prev[i] = i <= band ? i : big;
  for (let j = 1; j <= m; j++) {
    const lo = Math.max(1, j - band);
    const hi = Math.min(n, j + band);
    cur[0] = j <= band ? j : big;
    if (lo > 1) cur[lo - 1] = big;
    let rowMin = cur[0];
    const bj = b.charCodeAt(j - 1);
    for (let i = lo; i <= hi; i++) {
      const sub = prev[i - 1] + (a.charCodeAt(i - 1) === bj ? 0 : 1);
      const del = prev[i] + 1;
      const ins = cur[i - 1] + 1;
      let v = sub < del ? sub : del;
      if (ins < v) v = ins;
      if (v > big) v = big;
      cur[i] = v;
      if (v < rowMin) rowMin = v;
    }
    if (hi < n) cur[hi + 1] = big;
    if (rowMin > cap) return cap + 1;
    [prev, cur] = [cur, prev];
  }
  return Math.min(prev[n], cap + 1);
}

export interface SubstringMatch {
  /** Edit distance between the pattern and text.slice(start, end). */
  distance: number;
  start: number;
  end: number;
}

/**
 * Best approximate occurrence of `pattern` anywhere in `text` (Sellers 1980: free start and
 * end in the text). Ties prefer the longest match ending earliest. O(|pattern|·|text|).
 */
export function bestSubstringMatch(pattern: string, text: string): SubstringMatch {
  const m = pattern.length;
  const n = text.length;
  if (m === 0) return { distance: 0, start: 0, end: 0 };
  // Column-wise DP over text positions j; cost[i] = best distance of pattern[0..i) ending at j,
  // from[i] = where that alignment started in text.
  let cost = new Int32Array(m + 1);
  let from = new Int32Array(m + 1);
  let nextCost = new Int32Array(m + 1);
  let nextFrom = new Int32Array(m + 1);
  for (let i = 0; i <= m; i++) {
    cost[i] = i;
    from[i] = 0;
  }
  let best: SubstringMatch = { distance: cost[m], start: 0, end: 0 };
  for (let j = 1; j <= n; j++) {
    nextCost[0] = 0;
    nextFrom[0] = j;
    const tj = text.charCodeAt(j - 1);
    for (let i = 1; i <= m; i++) {
      let v = cost[i - 1] + (pattern.charCodeAt(i - 1) === tj ? 0 : 1);
      let f = from[i - 1];
      const del = cost[i] + 1; // text char not in pattern
      if (del < v) {
        v = del;
        f = from[i];
      }
      const ins = nextCost[i - 1] + 1; // pattern char missing from text
      if (ins < v) {
        v = ins;
        f = nextFrom[i - 1];
      }
      nextCost[i] = v;
      nextFrom[i] = f;
    }
    if (nextCost[m] < best.distance) best = { distance: nextCost[m], start: nextFrom[m], end: j };
    [cost, nextCost] = [nextCost, cost];
    [from, nextFrom] = [nextFrom, from];
  }
  return best;
}
