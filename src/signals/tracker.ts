// Follows each shown suggestion through the editor: feeds document edits, cursor moves and
// closes to the pure SuggestionLifecycle (accept / reject / typed-instead / survival), keeps
// accepted spans for diagnostics, test outcomes and commits, and sends every decision to the
// store. Leaves out how outcomes are observed (diagnostics.ts, outcomes.ts, commits.ts).
import * as vscode from 'vscode';
import type { episodes } from '../../protocol';
import { applyChanges, type TextChange, type TrackedRange } from '../common/offsetTracker';
import { RejectionMemory } from '../common/rejectionMemory';
import { SuggestionLifecycle, type Decision } from '../common/suggestionLifecycle';
import type { SignalsConfig } from '../common/signalsConfig';
import type { EpisodeSink } from './episodeSink';

/** An accepted suggestion still followed for diagnostics, tests and commits. */
export interface FollowedSpan {
  id: string;
  uri: string;
  relPath: string;
  range: TrackedRange;
  inserted: string;
  acceptedAt: number;
  /** Latest survival status; deleted spans no longer earn outcomes. */
  survival?: episodes.SurvivalStatus;
  /** Keys of diagnostics already attributed (or present before acceptance). */
  seenDiagnostics: Set<string>;
  committed: boolean;
}

interface ShownMeta {
  uri: string;
  relPath: string;
  line: number;
  linePrefix: string;
  text: string;
  at: number;
}

export class SignalsTracker implements vscode.Disposable {
  readonly lifecycle: SuggestionLifecycle;
  readonly rejections: RejectionMemory;
  private readonly shownMeta = new Map<string, ShownMeta>();
  private readonly followed = new Map<string, FollowedSpan>();
  private readonly disposables: vscode.Disposable[] = [];
  private timer: NodeJS.Timeout | undefined;
  private selectionTimer: NodeJS.Timeout | undefined;
  private disposed = false;
  private readonly decisionEmitter = new vscode.EventEmitter<Decision>();
  /** Fires for every decision sent to the store (tests, status). */
  readonly onDecision = this.decisionEmitter.event;
  /** Last shown episode per document, for "Correct this" with no selection match. */
  lastShown: { id: string; uri: string; at: number } | undefined;

  constructor(
    private cfg: SignalsConfig,
    private readonly sink: EpisodeSink,
    private readonly log: vscode.LogOutputChannel,
    rejectionMemoryMs: number,
  ) {
    this.lifecycle = new SuggestionLifecycle(cfg);
    this.rejections = new RejectionMemory(rejectionMemoryMs);
    this.disposables.push(
      this.decisionEmitter,
      vscode.workspace.onDidChangeTextDocument((e) => this.onChange(e)),
      vscode.window.onDidChangeTextEditorSelection((e) => this.onSelection(e)),
      vscode.workspace.onDidCloseTextDocument((d) => this.dispatch(this.lifecycle.closed(d.uri.toString(), Date.now()))),
    );
  }

  get config(): SignalsConfig {
    return this.cfg;
  }

  setConfig(cfg: SignalsConfig): void {
    this.cfg = cfg;
    this.lifecycle.setConfig(cfg);
  }

  /** The provider returned a suggestion (new episode) or the rest of a pending one (same id). */
  shown(id: string, doc: vscode.TextDocument, position: vscode.Position, text: string, now = Date.now()): void {
    const uri = doc.uri.toString();
    if (!this.shownMeta.has(id)) {
      this.shownMeta.set(id, { uri, relPath: vscode.workspace.asRelativePath(doc.uri, false), line: position.line, linePrefix: doc.lineAt(position.line).text.slice(0, position.character), text, at: now });
      if (this.shownMeta.size > 2000) this.shownMeta.delete(this.shownMeta.keys().next().value!);
    }
    this.lastShown = { id, uri, at: now };
    this.dispatch(this.lifecycle.shown({ id, uri, offset: doc.offsetAt(position), text }, now));
  }

  /** The item's command ran after VS Code inserted it (Tab / inlineSuggest.commit). */
  accepted(id: string, now = Date.now()): void {
    this.dispatch(this.lifecycle.accept(id, now));
  }

  /**
   * Drops every suggestion it follows, pending or accepted, and what it remembers of them: the
   * workspace's data was deleted, so no event may follow for those episodes.
   */
  forgetAll(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.lifecycle.clear();
    this.rejections.clear();
    this.shownMeta.clear();
    this.followed.clear();
    this.lastShown = undefined;
  }

  followedSpans(): FollowedSpan[] {
    return [...this.followed.values()];
  }

  followedSpan(id: string): FollowedSpan | undefined {
    return this.followed.get(id);
  }

  /** Records an event for an episode that this tracker did not decide (diagnostics, tests, commits, corrections). */
  record(id: string, event: episodes.EpisodeEvent): Promise<boolean> {
    this.decisionEmitter.fire({ id, event });
    return this.sink.event(id, event);
  }

  private onChange(e: vscode.TextDocumentChangeEvent): void {
    if (e.contentChanges.length === 0) return;
    const uri = e.document.uri.toString();
    const changes: TextChange[] = e.contentChanges.map((c) => ({ rangeOffset: c.rangeOffset, rangeLength: c.rangeLength, text: c.text }));
    for (const f of this.followed.values()) if (f.uri === uri) f.range = applyChanges(f.range, changes);
    this.dispatch(this.lifecycle.change(uri, changes, Date.now()));
  }

  private onSelection(e: vscode.TextEditorSelectionChangeEvent): void {
    // Typing moves the cursor too; wait until the edit itself has been seen before judging. One
    // timer, re-armed: only the latest cursor position matters.
    const doc = e.textEditor.document;
    if (this.selectionTimer) clearTimeout(this.selectionTimer);
    this.selectionTimer = setTimeout(() => {
      this.selectionTimer = undefined;
      const editor = vscode.window.visibleTextEditors.find((x) => x.document === doc);
      if (!editor || doc.isClosed) return;
      this.dispatch(this.lifecycle.cursorMoved(doc.uri.toString(), doc.offsetAt(editor.selection.active), Date.now()));
    }, 50);
  }

  private dispatch(decisions: Decision[]): void {
    if (this.disposed) return; // a timer that fired after dispose() records nothing
    for (const d of decisions) {
      const ev = d.event;
      if (ev.type === 'accepted') {
        const meta = this.shownMeta.get(d.id);
        const doc = vscode.workspace.textDocuments.find((x) => x.uri.toString() === meta?.uri);
        this.followed.set(d.id, {
          id: d.id,
          uri: meta?.uri ?? '',
          relPath: meta?.relPath ?? '',
          range: { start: ev.start, end: ev.end, touched: false },
          inserted: ev.acceptedText,
          acceptedAt: ev.at,
          seenDiagnostics: new Set(doc ? diagnosticKeysNear(doc, ev.start, ev.end, this.cfg.diagnosticsNearLines) : []),
          committed: false,
        });
      } else if (ev.type === 'rejected') {
        const meta = this.shownMeta.get(d.id);
        if (meta) this.rejections.remember({ uri: meta.uri, line: meta.line, linePrefix: meta.linePrefix, text: meta.text, at: ev.at });
      } else if (ev.type === 'survival') {
        const f = this.followed.get(d.id);
        if (f && ev.status !== 'unknown') f.survival = ev.status;
      }
      this.decisionEmitter.fire(d);
      void this.sink.event(d.id, ev);
    }
    this.prune();
    this.schedule();
  }

  /** Wakes up when the next rejection / typed-instead / survival timer is due. */
  private schedule(): void {
    const due = this.lifecycle.nextDue();
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (due === undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      // Several checkpoints of one tick often read the same document: fetch each text once.
      const texts = new Map<string, string | undefined>();
      const textOf = (uri: string) => {
        if (!texts.has(uri)) texts.set(uri, vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri)?.getText());
        return texts.get(uri);
      };
      this.dispatch(this.lifecycle.tick(Date.now(), textOf));
    }, Math.max(0, due - Date.now()) + 5);
  }

  private prune(): void {
    const now = Date.now();
    const keepMs = Math.max(this.cfg.commitWindowMs, this.cfg.outcomeWindowMs, this.cfg.diagnosticsWindowMs);
    for (const [id, f] of this.followed) if (now - f.acceptedAt > keepMs) this.followed.delete(id);
  }

  dispose(): void {
    this.disposed = true;
    if (this.timer) clearTimeout(this.timer);
    if (this.selectionTimer) clearTimeout(this.selectionTimer);
    for (const d of this.disposables) d.dispose();
  }
}

/** Keys identifying diagnostics near [start, end) of `doc` (to ignore those already there). */
export function diagnosticKeysNear(doc: vscode.TextDocument, start: number, end: number, nearLines: number): string[] {
  const first = doc.positionAt(start).line - nearLines;
  const last = doc.positionAt(end).line + nearLines;
  return vscode.languages
    .getDiagnostics(doc.uri)
    .filter((d) => d.range.end.line >= first && d.range.start.line <= last)
    .map(diagnosticKey);
}

export function diagnosticKey(d: vscode.Diagnostic): string {
  const code = typeof d.code === 'object' ? String(d.code.value) : String(d.code ?? '');
  return `${d.severity}|${code}|${d.message}`;
}
