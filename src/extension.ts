// Hindsight's entry point: wires the opt-in, the trainer process, the status bar, the status view
// and the commands, and nothing more. Areas (completions, signals, training) get the trainer
// client and the opt-in state from here and register their own providers and commands.
import * as vscode from 'vscode';
import { lifecycle, type webview } from '../protocol';
import { registerPlaceholderCommands } from './commands';
import { registerCompletionsAndSignals, type SignalsApi } from './signals/register';
import { StatusView } from './dashboard/statusView';
import { WorkspaceOptIn, type ConsentPrompt, type EnableOutcome } from './optin/workspaceOptIn';
import { present, type HindsightView } from './status/presentation';
import { HindsightStatusBar } from './status/statusBar';
import { effectiveModelPath } from './model/defaultModel';
import { ModelSetup, type DownloadPrompt } from './model/modelSetup';
import { TrainerClient } from './trainer/client';
import { registerLearn, type LearnApi } from './learn/register';
import { forgetWorkspaceData } from './optin/forgetData';
import { suggestionCounts } from './dashboard/suggestionCounts';

/** What activate() returns: read-only state for other extensions and the extension-host tests. */
export interface HindsightApi {
  state(): HindsightView & { statusBar: { label: string; text: string; tooltip: string } };
  /** Asks the running trainer for its status (rejects when it is not running). */
  trainerStatus(): Promise<lifecycle.StatusResult>;
  onDidChangeState: vscode.Event<void>;
  /** Episodes and editor signals: queries, counts by outcome, flush (src/signals/register.ts). */
  signals: SignalsApi;
  /** The learning loop: latest status, refresh (src/learn/register.ts). */
  learn: LearnApi;
  /** Test seams; not for other extensions. */
  testing: {
    setConsentPrompt(prompt: ConsentPrompt): void;
    setDownloadPrompt(prompt: DownloadPrompt): void;
  };
}

export function activate(context: vscode.ExtensionContext): HindsightApi {
  const log = vscode.window.createOutputChannel('Hindsight', { log: true });
  const optIn = new WorkspaceOptIn(context);
  const statusBar = new HindsightStatusBar();
  const statusView = new StatusView(context.extensionUri, (command) => void vscode.commands.executeCommand(command));
  const changed = new vscode.EventEmitter<void>();
  const setting = () => vscode.workspace.getConfiguration('hindsight');
  const servingSettings = (): lifecycle.ServingSettings => ({
    executionProvider: setting().get<lifecycle.ServingSettings['executionProvider']>('serving.executionProvider', 'cpu'),
    threads: setting().get<number>('serving.threads', 0),
    weights: setting().get<lifecycle.ServingSettings['weights']>('serving.weights', 'auto'),
  });

  const trainer = new TrainerClient({
    serverPath: vscode.Uri.joinPath(context.extensionUri, 'dist', 'server.js').fsPath,
    log,
    initializeParams: () => ({
      storageDir: context.storageUri?.fsPath ?? '',
      recordingEnabled: optIn.enabled,
      modelPath: effectiveModelPath(setting().get<string>('model.path', ''), context.extensionPath),
      clientVersion: String(context.extension.packageJSON.version),
      serving: servingSettings(),
      // Generated model files (.onnx, 4-bit weights) go here, never into the user's model folder.
      cacheDir: vscode.Uri.joinPath(context.globalStorageUri, 'model-cache').fsPath,
    }),
  });
  running = trainer;
  /** The model and serving settings, sent to the running trainer. */
  const configure = () => {
    void trainer
      .sendRequest(lifecycle.configure, { modelPath: effectiveModelPath(setting().get<string>('model.path', ''), context.extensionPath), serving: servingSettings() })
      .catch((err) => log.error(`configure failed: ${err}`));
  };
  context.subscriptions.push(log, optIn, statusBar, statusView, changed, trainer);
  const signals = registerCompletionsAndSignals(context, trainer, log);
  const modelSetup = new ModelSetup(context, trainer, log);
  const learning = registerLearn(context, trainer, log);
  context.subscriptions.push(modelSetup);

  const view = (): HindsightView => ({ enabled: optIn.enabled, trusted: vscode.workspace.isTrusted, trainer: trainer.snapshot });
  const refresh = () => {
    const v = view();
    statusBar.update(v);
    statusView.update({
      ...statusModel(v, context.storageUri?.fsPath ?? ''),
      ...(trainer.isReady && signals.lastCounts() ? { episodes: signals.lastCounts() } : {}),
      ...(trainer.isReady && learning.status() ? { learning: learning.status() } : {}),
      ...suggestionCounts(signals.provider.stats),
    });
    changed.fire();
  };
  // Suggestion counts change per keystroke: the view is refreshed at most every 500 ms for them.
  let statsTimer: NodeJS.Timeout | undefined;
  const refreshSoon = () => (statsTimer ??= setTimeout(() => ((statsTimer = undefined), refresh()), 500));
  context.subscriptions.push({ dispose: () => clearTimeout(statsTimer) });

  // The trainer runs only while the workspace is enabled (opted in and trusted).
  const sync = async () => {
    if (optIn.enabled) await trainer.start();
    else await trainer.stop();
  };

  context.subscriptions.push(
    trainer.onDidChangeState(refresh),
    signals.onDidChangeCounts(refresh),
    learning.onDidChange(refresh),
    signals.provider.onDidChangeStats(refreshSoon),
    trainer.onDidStart(() => void signals.counts().catch(() => undefined)),
    trainer.onDidStart(() => modelSetup.nudgeIfNoModel()),
    optIn.onDidChange(() => void sync().finally(refresh)),
    vscode.workspace.onDidGrantWorkspaceTrust(() => optIn.trustChanged()),
    // A setting that changes while the trainer starts (after it read its initialize params, before it is
    // ready: a slow start, or user settings that arrive late) reaches it when it is ready; the same
    // settings again reload nothing.
    trainer.onDidStart(configure),
    vscode.workspace.onDidChangeConfiguration((e) => {
      if ((e.affectsConfiguration('hindsight.model.path') || e.affectsConfiguration('hindsight.serving')) && trainer.isReady) configure();
    }),
    vscode.commands.registerCommand('hindsight.enableWorkspace', async (): Promise<EnableOutcome> => {
      const outcome = await optIn.enable();
      if (outcome.enabled && !outcome.already) void vscode.window.showInformationMessage('Hindsight is on for this workspace.');
      if (outcome.enabled && outcome.already) void vscode.window.showInformationMessage('Hindsight is already on for this workspace.');
      return outcome;
    }),
    vscode.commands.registerCommand('hindsight.disableWorkspace', async () => {
      await optIn.disable();
      void vscode.window.showInformationMessage('Hindsight is off for this workspace. Recorded data stays until you run "Hindsight: Forget this workspace\'s data".');
    }),
    vscode.commands.registerCommand('hindsight.forgetWorkspaceData', (args?: { confirm?: boolean }) =>
      forgetWorkspaceData(context.storageUri, trainer, { dropInFlight: () => signals.dropInFlight(), refresh: () => void Promise.allSettled([signals.counts(), learning.refresh()]) }, log, args?.confirm),
    ),
    vscode.commands.registerCommand('hindsight.showStatus', () => statusView.show()),
    vscode.commands.registerCommand('hindsight.showLogs', () => log.show()),
    ...registerPlaceholderCommands(),
  );

  refresh();
  void sync().finally(refresh);
  log.info(`Hindsight ${context.extension.packageJSON.version} activated; workspace ${optIn.enabled ? 'enabled' : 'off'}${vscode.workspace.isTrusted ? '' : ' (untrusted)'}`);

  return {
    state: () => {
      const v = view();
      const p = statusBar.presentation ?? present(v);
      return { ...v, statusBar: { label: p.label, text: p.text, tooltip: p.tooltip } };
    },
    trainerStatus: () => trainer.sendRequest(lifecycle.status),
    onDidChangeState: changed.event,
    signals,
    learn: learning,
    testing: {
      setConsentPrompt: (prompt) => (optIn.consentPrompt = prompt),
      setDownloadPrompt: (prompt) => (modelSetup.prompt = prompt),
    },
  };
}

let running: TrainerClient | undefined;

/** Awaited by VS Code: the trainer gets its shutdown request (flush stores) before the host exits. */
export async function deactivate(): Promise<void> {
  await running?.stop();
  running = undefined;
}

function statusModel(v: HindsightView, storagePath: string): webview.StatusModel {
  const p = present(v);
  const t = v.trainer;
  return {
    label: p.label,
    summary: p.tooltip,
    enabled: v.enabled,
    trusted: v.trusted,
    trainerPid: t.pid && (t.state === 'ready' || t.state === 'training' || t.state === 'error') ? t.pid : undefined,
    restarts: t.restarts,
    modelPath: t.server?.modelPath ?? '',
    ...(t.server?.model && (t.state === 'ready' || t.state === 'training') ? { model: t.server.model } : {}),
    adapterVersion: t.server?.adapterVersion ?? 0,
    storagePath,
    detail: t.detail,
  };
}
