// The status view: a webview panel (the training dashboard in webview-ui/, bundled to dist/webview/)
// showing the same state as the status bar plus the details behind it. Strict CSP: only our nonce'd
// script and our stylesheet (the vscode-elements components adopt constructed stylesheets; a
// fallback <style> carries the nonce). Runs only the hindsight.* commands listed in the protocol.
import { randomBytes } from 'node:crypto';
import * as vscode from 'vscode';
import { webview } from '../../protocol';

const allowed: ReadonlySet<string> = new Set(webview.commands);

export class StatusView implements vscode.Disposable {
  private panel: vscode.WebviewPanel | undefined;
  private model: webview.StatusModel | undefined;

  constructor(
    private readonly extensionUri: vscode.Uri,
    private readonly runCommand: (command: string) => void,
  ) {}

  show() {
    if (this.panel) {
      this.panel.reveal();
      return;
    }
    const root = vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview');
    const panel = vscode.window.createWebviewPanel('hindsight.status', 'Hindsight Status', vscode.ViewColumn.Active, {
      enableScripts: true,
      localResourceRoots: [root],
    });
    this.panel = panel;
    panel.iconPath = vscode.Uri.joinPath(this.extensionUri, 'media', 'hindsight.svg');
    panel.webview.html = html(panel.webview, root);
    panel.webview.onDidReceiveMessage((msg: webview.FromWebview) => {
      if (msg.type === 'ready') this.post();
      else if (msg.type === 'command' && allowed.has(msg.command)) this.runCommand(`hindsight.${msg.command}`);
    });
    panel.onDidDispose(() => (this.panel = undefined));
  }

  update(model: webview.StatusModel) {
    this.model = model;
    this.post();
  }

  private post() {
    if (this.panel && this.model) void this.panel.webview.postMessage({ type: 'status', status: this.model } satisfies webview.ToWebview);
  }

  dispose() {
    this.panel?.dispose();
  }
}

function html(view: vscode.Webview, root: vscode.Uri) {
  const nonce = randomBytes(16).toString('base64');
  const script = view.asWebviewUri(vscode.Uri.joinPath(root, 'main.js'));
  const style = view.asWebviewUri(vscode.Uri.joinPath(root, 'main.css'));
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="UTF-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src ${view.cspSource} 'nonce-${nonce}'; script-src 'nonce-${nonce}';">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<link href="${style}" rel="stylesheet"><title>Hindsight Status</title></head>
<body><div id="root"><p>Loading…</p></div><script nonce="${nonce}" src="${script}"></script></body></html>`;
}
