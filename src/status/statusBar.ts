// The status bar item (off / starting / ready / training / restarting / error); a click opens the
// status view. The words come from ./presentation (pure).
import * as vscode from 'vscode';
import { present, type HindsightView, type Presentation } from './presentation';

export class HindsightStatusBar implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('hindsight.status', vscode.StatusBarAlignment.Right, 100);
  private shown: Presentation | undefined;

  constructor() {
    this.item.name = 'Hindsight';
    this.item.command = 'hindsight.showStatus';
    this.item.show();
  }

  update(view: HindsightView) {
    const p = present(view);
    this.shown = p;
    this.item.text = p.text;
    this.item.tooltip = p.tooltip;
    this.item.backgroundColor =
      p.severity === 'error' ? new vscode.ThemeColor('statusBarItem.errorBackground')
      : p.severity === 'warning' ? new vscode.ThemeColor('statusBarItem.warningBackground')
      : undefined;
  }

  /** What the item shows now (for the status view and tests). */
  get presentation(): Presentation | undefined {
    return this.shown;
  }

  dispose() {
    this.item.dispose();
  }
}
