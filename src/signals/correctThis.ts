// "Hindsight: Correct this…": a free-text directive hint recorded on the episode of the selected
// code (an accepted suggestion overlapping the selection) or, failing that, on the last
// suggestion shown in this editor. Says exactly what it did; it does not produce an immediate
// corrected suggestion (serve/complete takes no hint yet).
import * as vscode from 'vscode';
import type { SignalsTracker } from './tracker';
import type { EpisodeSink } from './episodeSink';
import { isExcluded, readCompletionSettings } from './settings';

export interface CorrectThisArgs {
  /** Skips the input box (tests, keybindings with args). */
  directive?: string;
}

export interface CorrectThisOutcome {
  recorded: boolean;
  episodeId?: string;
  message: string;
}

export async function correctThis(tracker: SignalsTracker, sink: EpisodeSink, args: CorrectThisArgs = {}): Promise<CorrectThisOutcome> {
  const done = (o: CorrectThisOutcome) => {
    void (o.recorded ? vscode.window.showInformationMessage(o.message) : vscode.window.showWarningMessage(o.message));
    return o;
  };
  const editor = vscode.window.activeTextEditor;
  if (!editor) return done({ recorded: false, message: 'Hindsight: open the file with the suggestion first; nothing was recorded.' });
  if (isExcluded(editor.document, readCompletionSettings())) return done({ recorded: false, message: 'Hindsight: this file is excluded (language, exclude globs or not a file); nothing was recorded.' });
  if (!sink.ready) return done({ recorded: false, message: 'Hindsight is off for this workspace (not enabled or not trusted); nothing was recorded.' });

  const uri = editor.document.uri.toString();
  const sel = editor.selection;
  const selStart = editor.document.offsetAt(sel.start);
  const selEnd = editor.document.offsetAt(sel.end);
  const overlapping = tracker
    .followedSpans()
    .filter((s) => s.uri === uri && s.range.start <= selEnd && s.range.end >= selStart)
    .sort((a, b) => b.acceptedAt - a.acceptedAt)[0];
  const target = overlapping ? { id: overlapping.id, what: 'the accepted suggestion at the selection' } : tracker.lastShown?.uri === uri ? { id: tracker.lastShown.id, what: 'the last suggestion shown in this file' } : undefined;
  if (!target) return done({ recorded: false, message: 'Hindsight: no Hindsight suggestion overlaps the selection and none was shown in this file; nothing was recorded.' });

  const directive =
    args.directive ??
    (await vscode.window.showInputBox({
      title: 'Hindsight: Correct this',
      prompt: 'How should this suggestion have been? (e.g. "use the logger, not console.log")',
      ignoreFocusOut: true,
      validateInput: (v) => (v.trim().length > 10 ? undefined : 'Write a short hint of more than 10 characters.'),
    }));
  if (!directive || directive.trim().length <= 10) return done({ recorded: false, message: 'Hindsight: no correction given (it needs more than 10 characters); nothing was recorded.' });

  const selection = sel.isEmpty ? undefined : editor.document.getText(sel).slice(0, 4000);
  const ok = await tracker.record(target.id, { type: 'correction', at: Date.now(), directive: directive.trim(), ...(selection ? { selection } : {}) });
  if (!ok) return done({ recorded: false, episodeId: target.id, message: 'Hindsight: the correction could not be stored (see the Hindsight log); nothing was recorded.' });
  return done({
    recorded: true,
    episodeId: target.id,
    message: `Hindsight: recorded your correction on ${target.what}. It will guide the next training round as a hint; it does not change the code now.`,
  });
}
