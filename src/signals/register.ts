// Wires the inline provider and every editor signal to VS Code and the trainer, and registers the
// commands this area owns: the accept hook, "Correct this…" and "Export episodes". Returns a small
// API (queries, counts, flush, dropping in-flight episodes) for the status view, "Forget this
// workspace's data" (src/optin/forgetData.ts) and tests.
import * as os from 'node:os';
import * as vscode from 'vscode';
import { episodes, serve } from '../../protocol';
import { ACCEPT_COMMAND, HindsightInlineProvider } from '../completions/provider';
import { CommitWatcher } from './commits';
import { correctThis, type CorrectThisArgs } from './correctThis';
import { watchDiagnostics } from './diagnostics';
import { EpisodeSink } from './episodeSink';
import { attribute, watchOutcomes } from './outcomes';
import { readCompletionSettings, readSignalsConfig } from './settings';
import { SignalsTracker } from './tracker';
import type { TrainerClient } from '../trainer/client';

export interface SignalsApi {
  query(params: episodes.QueryParams): Promise<episodes.QueryResult>;
  counts(): Promise<episodes.CountsResult>;
  /** Waits until every episode/event sent so far is acknowledged by the store. */
  flush(): Promise<void>;
  /** Latest counts pushed by the store (undefined until the first push or query). */
  lastCounts(): episodes.CountsResult | undefined;
  onDidChangeCounts: vscode.Event<episodes.CountsResult>;
  tracker: SignalsTracker;
  provider: HindsightInlineProvider;
  commits: CommitWatcher;
  /** Feeds a test/build outcome as if observed (used by tests of the attribution path). */
  attributeOutcome: typeof attribute;
  /**
   * The workspace's data is being deleted: stop following every suggestion shown so far, drop
   * cached ones, and wait until what was already sent is acknowledged (so nothing lands after).
   */
  dropInFlight(): Promise<void>;
}

export function registerCompletionsAndSignals(context: vscode.ExtensionContext, client: TrainerClient, log: vscode.LogOutputChannel): SignalsApi {
  const sink = new EpisodeSink(client, log);
  const tracker = new SignalsTracker(readSignalsConfig(), sink, log, readCompletionSettings().rejectionMemoryMs);
  const provider = new HindsightInlineProvider(client, tracker, sink, log);
  const commits = new CommitWatcher(tracker, log);
  const countsEmitter = new vscode.EventEmitter<episodes.CountsResult>();
  let latest: episodes.CountsResult | undefined;
  const setCounts = (c: episodes.CountsResult) => {
    latest = c;
    countsEmitter.fire(c);
  };

  const sendStorageBudget = () => {
    if (!client.isReady) return;
    const maxMB = vscode.workspace.getConfiguration('hindsight').get<number>('storage.maxMB', 200);
    void client.sendRequest(episodes.settings, { maxMB }).then(setCounts, (err) => log.warn(`Hindsight: storage settings not applied: ${err}`));
  };

  context.subscriptions.push(
    tracker,
    commits,
    countsEmitter,
    provider,
    vscode.languages.registerInlineCompletionItemProvider({ pattern: '**' }, provider),
    watchDiagnostics(tracker),
    watchOutcomes(tracker, log),
    client.onNotification(episodes.countsChanged, setCounts),
    client.onDidStart(sendStorageBudget),
    client.onDidChangeState((s) => provider.trainerChanged({ training: s.state === 'training', pid: s.server?.pid, adapterVersion: s.server?.adapterVersion })),
    tracker.onDecision((d) => {
      if (d.event.type === 'accepted') void commits.check();
    }),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if (e.affectsConfiguration('hindsight.signals') || e.affectsConfiguration('hindsight.completions') || e.affectsConfiguration('hindsight.languages') || e.affectsConfiguration('hindsight.exclude') || e.affectsConfiguration('hindsight.inlineSuggestions')) {
        tracker.setConfig(readSignalsConfig());
        provider.reloadSettings();
        commits.reschedule();
      }
      if (e.affectsConfiguration('hindsight.storage.maxMB')) sendStorageBudget();
    }),
    vscode.commands.registerCommand(ACCEPT_COMMAND, (id: string) => tracker.accepted(id)),
    vscode.commands.registerCommand('hindsight.correctThis', (args?: CorrectThisArgs) => correctThis(tracker, sink, args, (p) => client.sendRequest(serve.complete, p))),
    vscode.commands.registerCommand('hindsight.exportEpisodes', (args?: { path?: string }) => exportEpisodes(context, client, args?.path)),
  );

  return {
    query: (p) => client.sendRequest(episodes.query, p),
    counts: async () => {
      const c = await client.sendRequest(episodes.counts);
      setCounts(c);
      return c;
    },
    flush: () => sink.flush(),
    lastCounts: () => latest,
    onDidChangeCounts: countsEmitter.event,
    tracker,
    provider,
    commits,
    attributeOutcome: attribute,
    dropInFlight: async () => {
      tracker.forgetAll();
      provider.clearCache();
      sink.forgetAll();
      await sink.flush();
    },
  };
}

async function exportEpisodes(context: vscode.ExtensionContext, client: TrainerClient, path?: string) {
  if (!client.isReady) {
    const message = 'Hindsight: turn Hindsight on for this workspace to export its episodes (the trainer reads the store).';
    void vscode.window.showWarningMessage(message);
    return { exported: false, message };
  }
  let target = path;
  if (!target) {
    // Outside the workspace by default (the home folder): an export inside it is easily committed.
    const uri = await vscode.window.showSaveDialog({ defaultUri: vscode.Uri.joinPath(vscode.Uri.file(os.homedir()), 'hindsight-episodes.jsonl'), filters: { 'JSON Lines': ['jsonl'] } });
    if (!uri) return { exported: false, message: 'Cancelled.' };
    target = uri.fsPath;
  }
  const r = await client.sendRequest(episodes.exportJsonl, { path: target });
  const message = `Hindsight: exported ${r.episodes} episode(s) to ${r.path}.`;
  void vscode.window.showInformationMessage(message);
  return { exported: true, path: r.path, episodes: r.episodes, message };
}
