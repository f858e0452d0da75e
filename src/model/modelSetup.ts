// Getting a model: "Download a model" names the repository, its files' total size and where they
// go, and asks before anything is fetched; the download shows progress, can be cancelled (partial
// files stay for resuming) and fails with the server's plain message when offline. "Use a local
// model folder" picks a folder instead, has the trainer open it as a model (model/check) and saves
// it only when it opens, saying what it is or why not. Both end by setting hindsight.model.path.
import { effectiveModelPath } from './defaultModel';
import * as vscode from 'vscode';
import { download, model } from '../../protocol';
import type { TrainerClient } from '../trainer/client';
import { folderAcceptedMessage, folderRefusedMessage, NEEDS_TRAINER } from './folderText';

/** Asks the user; resolves true only on an explicit yes. Replaceable by tests (api.testing). */
export type DownloadPrompt = (message: string, detail: string) => Promise<boolean>;

export const defaultDownloadPrompt: DownloadPrompt = async (message, detail) =>
  (await vscode.window.showInformationMessage(message, { modal: true, detail }, 'Download')) === 'Download';

export interface DownloadOutcome {
  ok: boolean;
  modelPath?: string;
  message: string;
}

export class ModelSetup implements vscode.Disposable {
  prompt: DownloadPrompt = defaultDownloadPrompt;
  private readonly disposables: vscode.Disposable[] = [];

  constructor(
    private readonly context: vscode.ExtensionContext,
    private readonly trainer: TrainerClient,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.disposables.push(
      vscode.commands.registerCommand('hindsight.downloadModel', () => this.download()),
      // Args (tests, keybindings): { path } skips the folder dialog.
      vscode.commands.registerCommand('hindsight.chooseModelFolder', (args?: { path?: string }) => this.chooseFolder(args?.path)),
    );
  }

  private config() {
    return vscode.workspace.getConfiguration('hindsight');
  }

  async download(): Promise<DownloadOutcome> {
    if (!this.trainer.isReady) {
      return this.fail('Enable Hindsight for this workspace first: the download runs in its trainer process.', false);
    }
    const repo = this.config().get<string>('model.repo') || 'Qwen/Qwen2.5-Coder-0.5B';
    const hubUrl = this.config().get<string>('model.hubUrl') || 'https://huggingface.co';
    const destDir = vscode.Uri.joinPath(this.context.globalStorageUri, 'models').fsPath;

    let plan: download.PlanResult;
    try {
      plan = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Hindsight: looking up ${repo}…` },
        () => this.trainer.sendRequest(download.plan, { repo, hubUrl }),
      );
    } catch (e) {
      return this.fail(`Hindsight could not look up ${repo}: ${message(e)}`);
    }

    const detail = [
      `${plan.files.length} files, ${formatBytes(plan.totalBytes)}, from ${plan.hubUrl}:`,
      ...plan.files.map((f) => `  ${f.path} (${formatBytes(f.size)})`),
      '',
      `They are saved in ${destDir}. The hub sees only these file requests; none of your code or data is sent.`,
    ].join('\n');
    if (!(await this.prompt(`Download ${repo} (${formatBytes(plan.totalBytes)})?`, detail))) {
      return { ok: false, message: 'Download not started: you said no.' };
    }

    const result = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Hindsight: downloading ${repo}`, cancellable: true },
      async (progress, token) => {
        let reported = 0;
        const sub = this.trainer.onNotification(download.progress, (p) => {
          const pct = p.total ? (100 * p.bytes) / p.total : 0;
          progress.report({ increment: pct - reported, message: `${p.file} — ${formatBytes(p.bytes)} of ${formatBytes(p.total)}` });
          reported = pct;
        });
        try {
          return await this.trainer.sendRequest(download.start, { consent: true, repo, hubUrl, destDir }, token);
        } finally {
          sub.dispose();
        }
      },
    ).then(
      (r) => r,
      (e: unknown) => e as Error,
    );
    if (result instanceof Error) return this.fail(`Hindsight: the download of ${repo} stopped: ${message(result)}`);

    await this.config().update('model.path', result.modelPath, vscode.ConfigurationTarget.Global);
    const done = `Hindsight: ${repo} is ready (${formatBytes(result.bytes)}) and is now the model in use.`;
    this.log.info(`${done} Folder: ${result.modelPath}`);
    void vscode.window.showInformationMessage(done);
    return { ok: true, modelPath: result.modelPath, message: done };
  }

  /** Once per window: with no model configured there are no suggestions, so say how to get one. */
  nudgeIfNoModel(): void {
    if (this.nudged || effectiveModelPath(this.config().get<string>('model.path'), this.context.extensionPath)) return;
    this.nudged = true;
    const download = 'Download Qwen2.5-Coder-0.5B…';
    const folder = 'Use a local folder…';
    void vscode.window
      .showInformationMessage('Hindsight has no model yet, so it shows no suggestions. Download one (it asks first) or point it at a local Hugging Face model folder.', download, folder)
      .then((a) => (a === download ? this.download() : a === folder ? this.chooseFolder() : undefined));
  }
  private nudged = false;

  async chooseFolder(folder?: string): Promise<DownloadOutcome> {
    if (!this.trainer.isReady) return this.fail(NEEDS_TRAINER, false);
    if (!folder) {
      const picked = await vscode.window.showOpenDialog({
        canSelectFolders: true,
        canSelectFiles: false,
        openLabel: 'Use this model',
        title: 'A model folder with config.json, *.safetensors and tokenizer.json',
      });
      if (!picked?.length) return { ok: false, message: 'No folder chosen; nothing changed.' };
      folder = picked[0].fsPath;
    }
    const path = folder;
    let checked: model.CheckResult;
    try {
      checked = await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Hindsight: checking ${path}…` }, () => this.trainer.sendRequest(model.check, { path }));
    } catch (e) {
      checked = { ok: false, reason: message(e) };
    }
    if (!checked.ok) return this.fail(folderRefusedMessage(path, checked.reason), true, 'Choose another folder…');
    const already = this.config().get<string>('model.path') === path;
    if (!already) await this.config().update('model.path', path, vscode.ConfigurationTarget.Global);
    const text = folderAcceptedMessage(path, checked.facts, already);
    this.log.info(text);
    void vscode.window.showInformationMessage(text);
    return { ok: true, modelPath: path, message: text };
  }

  private fail(text: string, offerFolder = true, folderAction = 'Use a local folder…'): DownloadOutcome {
    this.log.error(text);
    const actions = offerFolder ? [folderAction] : [];
    void vscode.window.showErrorMessage(text, ...actions).then((a) => {
      if (a) void this.chooseFolder();
    });
    return { ok: false, message: text };
  }

  dispose(): void {
    for (const d of this.disposables) d.dispose();
  }
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

export function formatBytes(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kB`;
  return `${n} B`;
}
