// Inline completion provider (stable API): asks the trainer's serving loop for a FIM suggestion
// (serve/complete) after a debounce (longer while training), drops stale requests, caches per context, never
// re-shows a suggestion just rejected at the same spot, and skips excluded, huge and non-file
// documents. Each item carries its episode id and a command that records acceptance. The trainer
// keeps what was generated; an episode names it by completion id and says only what was shown.
// Never throws into VS Code: failures are logged once per distinct reason and answer nothing.
import { randomUUID } from 'node:crypto';
import * as vscode from 'vscode';
import { serve } from '../../protocol';
import { AdaptiveDebounce, DEFAULT_DEBOUNCE } from '../common/debounce';
import type { EpisodeSink } from '../signals/episodeSink';
import { isExcluded, readCompletionSettings, relPathOf, type CompletionSettings } from '../signals/settings';
import type { SignalsTracker } from '../signals/tracker';
import type { TrainerClient } from '../trainer/client';
import { prefixWindowStart } from '../common/promptWindow';

export const ACCEPT_COMMAND = 'hindsight.acceptedSuggestion';

/**
 * A cached suggestion is shown again only this long (the trainer keeps its generation record for
 * 30 minutes), and only while the same trainer serves the same adapter.
 */
const CACHE_TTL_MS = 10 * 60_000;
interface Cached {
  result: serve.CompleteResult;
  at: number;
}

export interface ProviderStats {
  requests: number;
  served: number;
  cacheHits: number;
  continuations: number;
  suppressedRejected: number;
  skipped: Record<string, number>;
}

export class HindsightInlineProvider implements vscode.InlineCompletionItemProvider {
  private settings: CompletionSettings = readCompletionSettings();
  private readonly debounce = new AdaptiveDebounce({ ...DEFAULT_DEBOUNCE, baseMs: this.settings.debounceMs });
  private readonly cache = new Map<string, Cached>();
  /** The trainer process and adapter the cached suggestions came from. */
  private servedBy = '';
  private readonly reported = new Set<string>();
  private generation = 0;
  readonly stats: ProviderStats = { requests: 0, served: 0, cacheHits: 0, continuations: 0, suppressedRejected: 0, skipped: {} };
  private readonly statsEmitter = new vscode.EventEmitter<ProviderStats>();
  /** Fires when a request to the model ended (shown, empty, failed, unavailable, cancelled): the status view counts them. */
  readonly onDidChangeStats = this.statsEmitter.event;

  constructor(
    private readonly client: TrainerClient,
    private readonly tracker: SignalsTracker,
    private readonly sink: EpisodeSink,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  reloadSettings(): void {
    this.settings = readCompletionSettings();
    this.debounce.setBase(this.settings.debounceMs);
    this.cache.clear();
  }

  /**
   * The trainer's state changed. A new adapter or a restarted trainer empties the cache: an older
   * adapter's suggestion is not shown again as if the new one had made it.
   */
  trainerChanged(s: { training: boolean; pid?: number; adapterVersion?: number }): void {
    this.debounce.setTraining(s.training);
    const by = `${s.pid ?? ''}:${s.adapterVersion ?? ''}`;
    if (by !== this.servedBy) this.cache.clear();
    this.servedBy = by;
  }

  /** Drops cached suggestions (they hold the workspace's code): its data was deleted. */
  clearCache(): void {
    this.cache.clear();
  }

  dispose(): void {
    this.statsEmitter.dispose();
  }

  async provideInlineCompletionItems(
    doc: vscode.TextDocument,
    position: vscode.Position,
    context: vscode.InlineCompletionContext,
    token: vscode.CancellationToken,
  ): Promise<vscode.InlineCompletionItem[] | undefined> {
    try {
      return await this.provide(doc, position, context, token);
    } catch (err) {
      this.reportOnce(`inline completion failed: ${err instanceof Error ? err.message : String(err)}`);
      return undefined;
    }
  }

  private skip(reason: string): undefined {
    this.stats.skipped[reason] = (this.stats.skipped[reason] ?? 0) + 1;
    return undefined;
  }

  private async provide(doc: vscode.TextDocument, position: vscode.Position, context: vscode.InlineCompletionContext, token: vscode.CancellationToken) {
    const s = this.settings;
    if (!s.enabled) return this.skip('disabled');
    if (!this.client.isReady) return this.skip('trainer not running');
    if (isExcluded(doc, s)) return this.skip('excluded');
    const offset = doc.offsetAt(position);
    const size = doc.offsetAt(doc.lineAt(doc.lineCount - 1).range.end);
    if (size > s.maxFileChars) return this.skip('file too large');

    // The developer is typing what we suggested: offer the rest of it under the same episode.
    const uri = doc.uri.toString();
    const cont = this.tracker.lifecycle.continuationOf(uri, offset);
    if (cont && cont.rest.length > 0) {
      this.stats.continuations++;
      this.tracker.shown(cont.id, doc, position, cont.rest);
      return [this.item(cont.id, cont.rest, position)];
    }

    const text = doc.getText();
    const prefix = text.slice(prefixWindowStart(text, offset, s.prefixChars), offset);
    const suffix = text.slice(offset, offset + s.suffixChars);
    const lineText = doc.lineAt(position.line).text;
    const linePrefix = lineText.slice(0, position.character);
    const mode: 'line' | 'block' = lineText.slice(position.character).trim() === '' && linePrefix.trim() === '' ? 'block' : 'line';
    // The whole prompt text: a cached result must come from exactly this prefix and suffix, or its
    // promptTokenIds would not match the episode's excerpts.
    const key = `${uri}|${mode}|${prefix}|${suffix}`;

    const cached = this.cache.get(key);
    let result = cached && Date.now() - cached.at < CACHE_TTL_MS ? cached.result : undefined;
    if (result) this.stats.cacheHits++;
    else {
      // Debounce automatic triggers; a newer request makes this one stale.
      const gen = ++this.generation;
      if (context.triggerKind === vscode.InlineCompletionTriggerKind.Automatic) {
        await new Promise((r) => setTimeout(r, this.debounce.delayMs()));
        if (token.isCancellationRequested || gen !== this.generation) return this.skip('stale');
      }
      this.stats.requests++;
      result = await this.client.sendRequest(serve.complete, { uri, languageId: doc.languageId, prefix, suffix, mode, maxTokens: s.maxTokens, ...(s.temperature > 0 ? { temperature: s.temperature } : {}) }, token);
      if (token.isCancellationRequested || gen !== this.generation) return this.skip('stale');
      if (result.kind !== 'success' || result.text.length === 0) {
        const kind = result.kind === 'success' ? 'empty' : result.kind;
        if (kind === 'unavailable' || kind === 'failed') this.reportOnce(`no suggestion: ${kind}${result.reason ? ` (${result.reason})` : ''}`);
        this.log.debug(`Hindsight: no suggestion at ${relPathOf(doc.uri)}:${position.line + 1} (${kind}${result.reason ? `: ${result.reason}` : ''}, ${result.elapsedMs} ms)`);
        this.skip(kind);
        this.statsEmitter.fire(this.stats);
        return undefined;
      }
      this.cache.delete(key);
      this.cache.set(key, { result, at: Date.now() });
      if (this.cache.size > 200) this.cache.delete(this.cache.keys().next().value!);
    }

    const now = Date.now();
    if (this.tracker.rejections.isRejected(uri, position.line, linePrefix, result.text, now)) {
      this.stats.suppressedRejected++;
      return this.skip('just rejected here');
    }

    const id = randomUUID();
    // A cache hit is the same generation shown again: a new episode naming the same completion id.
    if (result.completionId) void this.sink.append({ id, completionId: result.completionId, createdAt: now, uri, relPath: relPathOf(doc.uri), offset, line: position.line, suggestion: result.text });
    this.tracker.shown(id, doc, position, result.text, now);
    this.stats.served++;
    this.statsEmitter.fire(this.stats);
    return [this.item(id, result.text, position)];
  }

  private item(id: string, text: string, position: vscode.Position): vscode.InlineCompletionItem {
    return new vscode.InlineCompletionItem(text, new vscode.Range(position, position), { command: ACCEPT_COMMAND, title: 'Hindsight: record acceptance', arguments: [id] });
  }

  private reportOnce(message: string): void {
    if (this.reported.has(message)) return;
    this.reported.add(message);
    this.log.warn(`Hindsight: ${message}`);
  }
}
