// The editor side of the learning loop: sends hindsight.training.* to the trainer (on start and on
// change), keeps the latest learn/status pushed by it, and registers "Hindsight: Roll back adapter"
// (a quick pick of versions, base included), "Hindsight: Train now" (a cancellable notification
// with the round's step and time left), "Hindsight: Cancel the training round" (also the status
// view's button) and "Hindsight: Export adapter for llama.cpp / Ollama…" (GGUF files, with progress). The status bar's 'training' state comes from the trainer state itself.
import * as vscode from 'vscode';
import { learn } from '../../protocol';
import type { TrainerClient } from '../trainer/client';
import { nothingToRollBackMessage, rollbackMessage, trainNowMessage, versionPicks } from './picks';
import { roundProgressText } from '../common/progressText';
import { EXPORT_CHOICES, exportDoneMessage, usage } from './exportText';

export interface LearnApi {
  /** Latest status pushed by the loop (undefined until the trainer sent one). */
  status(): learn.StatusResult | undefined;
  onDidChange: vscode.Event<learn.StatusResult>;
  /** Asks the trainer now (rejects when it is not running). */
  refresh(): Promise<learn.StatusResult>;
}

export function readTrainingSettings(): learn.Settings {
  const c = vscode.workspace.getConfiguration('hindsight.training');
  const keys = ['schedule', 'batchSize', 'minEpisodes', 'idleSeconds', 'stepsPerRound', 'learningRate', 'maxStaleness', 'maxDrift', 'maxBpbRegression', 'maxRoundMinutes', 'keepVersions'] as const;
  const out: Record<string, unknown> = {};
  for (const k of keys) {
    const v = c.get(k);
    if (v !== undefined) out[k] = v;
  }
  return out as learn.Settings;
}

export function registerLearn(context: vscode.ExtensionContext, client: TrainerClient, log: vscode.LogOutputChannel): LearnApi {
  let latest: learn.StatusResult | undefined;
  const changed = new vscode.EventEmitter<learn.StatusResult>();
  const set = (s: learn.StatusResult) => {
    latest = s;
    changed.fire(s);
  };
  const configure = () => {
    if (!client.isReady) return;
    void client.sendRequest(learn.configure, readTrainingSettings()).then(set, (err) => log.warn(`Hindsight: training settings not applied: ${err}`));
  };
  const refresh = async () => {
    const s = await client.sendRequest(learn.status);
    set(s);
    return s;
  };

  context.subscriptions.push(
    changed,
    client.onNotification(learn.statusChanged, set),
    client.onDidStart(configure),
    vscode.workspace.onDidChangeConfiguration((e) => e.affectsConfiguration('hindsight.training') && configure()),
    // Args (tests, keybindings): { version } skips the quick pick.
    vscode.commands.registerCommand('hindsight.rollbackAdapter', async (args?: { version?: number }) => {
      if (!client.isReady) {
        void vscode.window.showWarningMessage('Hindsight: the trainer is not running (enable Hindsight for this workspace first).');
        return undefined;
      }
      try {
        let version = args?.version;
        if (version === undefined) {
          const s = await refresh();
          const picks = versionPicks(s).map((p) => ({ ...p, label: p.label }));
          if (picks.length <= 1) {
            void vscode.window.showInformationMessage(nothingToRollBackMessage(s));
            return undefined;
          }
          const chosen = await vscode.window.showQuickPick(picks, { title: 'Hindsight: serve which adapter?', placeHolder: `Serving ${s.serving ? `adapter v${s.serving}` : 'the base model'} now` });
          if (!chosen) return undefined;
          version = chosen.version;
        }
        const r = await client.sendRequest(learn.rollback, { version });
        void vscode.window.showInformationMessage(rollbackMessage(r));
        log.info(rollbackMessage(r));
        void refresh().catch(() => undefined);
        return r;
      } catch (err) {
        const message = `Hindsight: roll back failed: ${err instanceof Error ? err.message : String(err)}`;
        void vscode.window.showErrorMessage(message);
        log.error(message);
        return undefined;
      }
    }),
    vscode.commands.registerCommand('hindsight.trainNow', async () => {
      if (!client.isReady) {
        void vscode.window.showWarningMessage('Hindsight: the trainer is not running (enable Hindsight for this workspace first).');
        return undefined;
      }
      const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Hindsight: training', cancellable: true }, async (progress, token) => {
        const sub = changed.event((s) => progress.report({ message: roundProgressText(s) }));
        const cancel = token.onCancellationRequested(() => void client.sendRequest(learn.cancel).catch(() => undefined));
        try {
          return await client.sendRequest(learn.trainNow);
        } finally {
          sub.dispose();
          cancel.dispose();
        }
      });
      const message = trainNowMessage(r, latest?.serving ?? 0);
      if (r.started && (r.report?.outcome === 'promoted' || r.report?.outcome === 'cancelled')) void vscode.window.showInformationMessage(message);
      else void vscode.window.showWarningMessage(message);
      log.info(message);
      return r;
    }),
    // Args (tests): { destDir, kind, weights, version } skip the pickers.
    vscode.commands.registerCommand('hindsight.exportGguf', async (args?: Partial<learn.ExportGgufParams>) => {
      if (!client.isReady) {
        void vscode.window.showWarningMessage('Hindsight: the trainer is not running (enable Hindsight for this workspace first).');
        return undefined;
      }
      let kind = args?.kind;
      let weights = args?.weights;
      if (!kind) {
        const chosen = await vscode.window.showQuickPick(EXPORT_CHOICES, { title: 'Hindsight: export for llama.cpp / Ollama', placeHolder: `Export ${latest?.serving ? `adapter v${latest.serving}` : 'the serving model'} as…` });
        if (!chosen) return undefined;
        kind = chosen.exportKind;
        weights = chosen.weights;
      }
      let destDir = args?.destDir;
      if (!destDir) {
        const picked = await vscode.window.showOpenDialog({ canSelectFolders: true, canSelectFiles: false, canSelectMany: false, openLabel: 'Export here', title: 'Hindsight: folder for the GGUF files' });
        if (!picked?.[0]) return undefined;
        destDir = picked[0].fsPath;
      }
      const params: learn.ExportGgufParams = { destDir, kind, ...(weights ? { weights } : {}), ...(args?.version !== undefined ? { version: args.version } : {}) };
      try {
        const r = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: 'Hindsight: exporting as GGUF' }, async (progress) => {
          let last = 0;
          const sub = client.onNotification(learn.exportProgress, (e) => {
            const pct = Math.round(e.fraction * 100);
            progress.report({ message: `${e.what} (${pct} %)`, increment: Math.max(0, pct - last) });
            last = Math.max(last, pct);
          });
          try {
            return await client.sendRequest(learn.exportGguf, params);
          } finally {
            sub.dispose();
          }
        });
        const message = exportDoneMessage(r, params.kind);
        log.info(message);
        void vscode.window.showInformationMessage(message, 'Copy the command').then((b) => b && vscode.env.clipboard.writeText(usage(r, params.kind)));
        return r;
      } catch (err) {
        const message = `Hindsight: export failed: ${err instanceof Error ? err.message : String(err)}`;
        void vscode.window.showErrorMessage(message);
        log.error(message);
        return undefined;
      }
    }),
    vscode.commands.registerCommand('hindsight.cancelTraining', async (): Promise<learn.CancelResult> => {
      const r = client.isReady ? await client.sendRequest(learn.cancel).catch(() => ({ cancelled: false })) : { cancelled: false };
      if (!r.cancelled) void vscode.window.showInformationMessage('Hindsight: no training round is running.');
      else log.info('Hindsight: cancelling the training round; it stops at its next step and changes nothing.');
      return r;
    }),
  );
  return { status: () => latest, onDidChange: changed.event, refresh };
}
