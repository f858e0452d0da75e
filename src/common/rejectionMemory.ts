// Remembers suggestions the developer just rejected so the provider never shows the same one
// again at the same spot (DESIGN §5). A spot is (document, line, text before the cursor on that
// line); the same suggestion re-offered after typing part of it counts as the same one.

export interface RejectedSuggestion {
  uri: string;
  line: number;
  /** Text of the line before the cursor when it was shown. */
  linePrefix: string;
  /** The suggestion text. */
  text: string;
  at: number;
}

export class RejectionMemory {
  private readonly items: RejectedSuggestion[] = [];
  constructor(private readonly ttlMs = 120_000, private readonly capacity = 200) {}

  remember(item: RejectedSuggestion): void {
    this.items.push(item);
    if (this.items.length > this.capacity) this.items.splice(0, this.items.length - this.capacity);
  }

  /** True when `text` offered at this spot is (the rest of) a suggestion rejected within the TTL. */
  isRejected(uri: string, line: number, linePrefix: string, text: string, now: number): boolean {
    if (text.length === 0) return false;
    for (let i = this.items.length - 1; i >= 0; i--) {
      const r = this.items[i];
      if (now - r.at > this.ttlMs) continue;
      if (r.uri !== uri || r.line !== line) continue;
      if (!linePrefix.startsWith(r.linePrefix)) continue;
      // Same completed result: what was typed since plus what is offered equals what was rejected.
      const typed = linePrefix.slice(r.linePrefix.length);
      if (typed + text === r.text) return true;
    }
    return false;
  }

  clear(): void {
    this.items.length = 0;
  }

  prune(now: number): void {
    for (let i = this.items.length - 1; i >= 0; i--) if (now - this.items[i].at > this.ttlMs) this.items.splice(i, 1);
  }

  get size(): number {
    return this.items.length;
  }
}
