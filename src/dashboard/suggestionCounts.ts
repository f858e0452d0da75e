// The status view's suggestion counts from the inline provider's statistics: requests sent to the
// model and what they came to, empty and failed answers included. Pure.
import type { webview } from '../../protocol';
import type { ProviderStats } from '../completions/provider';

/** `{ suggestions }` once a request was sent; `{}` before (nothing to show yet). */
export function suggestionCounts(s: Pick<ProviderStats, 'requests' | 'served' | 'skipped'>): { suggestions?: webview.SuggestionCounts } {
  if (s.requests === 0) return {};
  const n = (k: string) => s.skipped[k] ?? 0;
  return { suggestions: { requested: s.requests, shown: s.served, empty: n('empty'), failed: n('failed'), unavailable: n('unavailable'), cancelled: n('cancelled') } };
}
