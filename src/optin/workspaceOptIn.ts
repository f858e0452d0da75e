// Workspace-level opt-in: off by default, turned on only after the consent dialog, remembered per
// workspace (workspaceState), refused with a reason in an untrusted workspace or with no folder.
// Leaves out: starting/stopping the trainer (extension.ts reacts to onDidChange).
import * as vscode from 'vscode';
import { consentText, untrustedReason, type ConsentText } from './consentText';

const ENABLED_KEY = 'hindsight.enabled';

export type EnableOutcome =
  | { enabled: true; already: boolean }
  | { enabled: false; reason: 'untrusted' | 'no-folder' | 'declined'; message: string };

/** Shows the consent dialog; resolves true when the user accepted. Replaceable for tests. */
export type ConsentPrompt = (text: ConsentText) => Promise<boolean>;

export const modalConsentPrompt: ConsentPrompt = async (text) => {
  const choice = await vscode.window.showInformationMessage(text.message, { modal: true, detail: text.detail }, text.accept);
  return choice === text.accept;
};

export class WorkspaceOptIn implements vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<boolean>();
  readonly onDidChange = this.emitter.event;
  consentPrompt: ConsentPrompt = modalConsentPrompt;

  constructor(private readonly context: vscode.ExtensionContext) {}

  /** Opted in, and still trusted (trust can be revoked after opting in). */
  get enabled(): boolean {
    return vscode.workspace.isTrusted && this.context.workspaceState.get<boolean>(ENABLED_KEY, false);
  }

  get storageUri(): vscode.Uri | undefined {
    return this.context.storageUri;
  }

  async enable(): Promise<EnableOutcome> {
    if (!vscode.workspace.isTrusted) {
      const message = untrustedReason();
      void vscode.window.showErrorMessage(message, 'Manage Workspace Trust').then((c) => {
        if (c) void vscode.commands.executeCommand('workbench.trust.manage');
      });
      return { enabled: false, reason: 'untrusted', message };
    }
    const storage = this.context.storageUri;
    if (!storage || !vscode.workspace.workspaceFolders?.length) {
      const message = 'Hindsight works per workspace: open a folder first, then run "Hindsight: Enable for this workspace".';
      void vscode.window.showWarningMessage(message);
      return { enabled: false, reason: 'no-folder', message };
    }
    if (this.enabled) return { enabled: true, already: true };
    const accepted = await this.consentPrompt(consentText(storage.fsPath));
    if (!accepted) {
      return { enabled: false, reason: 'declined', message: 'Hindsight stays off for this workspace.' };
    }
    await vscode.workspace.fs.createDirectory(storage);
    await this.context.workspaceState.update(ENABLED_KEY, true);
    this.emitter.fire(true);
    return { enabled: true, already: false };
  }

  async disable(): Promise<void> {
    const was = this.enabled;
    await this.context.workspaceState.update(ENABLED_KEY, false);
    if (was) this.emitter.fire(false);
  }

  /** Trust granted/revoked while running: re-announce the effective state. */
  trustChanged() {
    this.emitter.fire(this.enabled);
  }

  dispose() {
    this.emitter.dispose();
  }
}
