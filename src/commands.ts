// The command table: every hindsight.* command the manifest contributes is registered here or by
// the area that owns it. Commands whose feature is not built yet say so plainly (placeholders
// below); an area that implements one deletes its placeholder row and registers the real command.
import * as vscode from 'vscode';

/** Commands declared in package.json whose features are not built yet, with their user-facing names. */
export const placeholders: Record<string, string> = {
};

export function registerPlaceholderCommands(): vscode.Disposable[] {
  return Object.entries(placeholders).map(([id, feature]) =>
    vscode.commands.registerCommand(id, () => {
      const message = `Hindsight: ${feature} is not available yet in this version.`;
      void vscode.window.showWarningMessage(message);
      return { available: false, message };
    }),
  );
}
