// Line-completion metrics for bench:starter (pure): exact match after trimming trailing whitespace,
// and sentence-level chrF as sacreBLEU 2.x computes it by default — character n-grams of order
// 1..6 over the text with all whitespace removed, precision and recall averaged over the orders
// both sides have n-grams of ("effective order"), then F-beta with beta = 2 (recall weighs more).
// Reported on a 0..1 scale (sacreBLEU prints 0..100).

export const CHRF_ORDER = 6;
export const CHRF_BETA = 2;

/** What line exact match compares: the text without trailing whitespace (spaces, tabs, CR, LF). */
export function normalizeLine(s: string): string {
  return s.replace(/\s+$/u, '');
}

export function exactMatch(hypothesis: string, reference: string): boolean {
  return normalizeLine(hypothesis) === normalizeLine(reference);
}

/** Counts of the character n-grams of order n (by code point). */
function charNgrams(chars: string[], n: number): Map<string, number> {
  const out = new Map<string, number>();
  for (let i = 0; i + n <= chars.length; i++) {
    const g = chars.slice(i, i + n).join('');
    out.set(g, (out.get(g) ?? 0) + 1);
  }
  return out;
}

/** Per order: [hypothesis n-grams, reference n-grams, matched n-grams (clipped counts)]. */
export function chrfStatistics(hypothesis: string, reference: string, order = CHRF_ORDER): [number, number, number][] {
  const hyp = Array.from(hypothesis.replace(/\s+/gu, ''));
  const ref = Array.from(reference.replace(/\s+/gu, ''));
  const stats: [number, number, number][] = [];
  for (let n = 1; n <= order; n++) {
    const h = charNgrams(hyp, n), r = charNgrams(ref, n);
    let match = 0;
    for (const [g, c] of h) match += Math.min(c, r.get(g) ?? 0);
    stats.push([Math.max(0, hyp.length - n + 1), Math.max(0, ref.length - n + 1), match]);
  }
  return stats;
}

/** Sentence chrF in [0, 1] (sacreBLEU's default: no word n-grams, effective-order averaging). */
export function chrf(hypothesis: string, reference: string, order = CHRF_ORDER, beta = CHRF_BETA): number {
  let prec = 0, rec = 0, effective = 0;
  for (const [nh, nr, m] of chrfStatistics(hypothesis, reference, order)) {
    if (nh > 0 && nr > 0) {
      prec += m / nh;
      rec += m / nr;
      effective++;
    }
  }
  if (!effective) return 0;
  prec /= effective;
  rec /= effective;
  if (prec + rec === 0) return 0;
  const b2 = beta * beta;
  return ((1 + b2) * prec * rec) / (b2 * prec + rec);
}
