// "Hindsight: Correct this…": a free-text directive hint recorded on the episode of the selected
// code (an accepted suggestion overlapping the selection) or, failing that, on the last
// suggestion shown in this editor. For accepted code it then asks the model again at that spot
// with the hint in its context and offers the corrected version in place of the old one, which
// replaces nothing unless the developer says so. Says exactly what it did.
import * as vscode from 'vscode';
import type { serve } from '../../protocol';
import type { SignalsTracker } from './tracker';
import type { EpisodeSink } from './episodeSink';
import { isExcluded, readCompletionSettings } from './settings';
import { noCorrectionReason } from '../common/correctionText';

export interface CorrectThisArgs {
  /** Skips the input box (tests, keybindings with args). */
  directive?: string;
  /** Skips the "replace?" question: true replaces with the corrected version, false keeps the code. */
  apply?: boolean;
}

export interface CorrectThisOutcome {
  recorded: boolean;
  episodeId?: string;
  /** The corrected version the model offered with the hint, when it offered one. */
  corrected?: string;
  /** Whether it replaced the accepted code. */
  replaced?: boolean;
  message: string;
}

/** serve/complete through the trainer client. */
export type Complete = (params: serve.CompleteParams) => Promise<serve.CompleteResult>;

export async function correctThis(tracker: SignalsTracker, sink: EpisodeSink, args: CorrectThisArgs = {}, complete?: Complete): Promise<CorrectThisOutcome> {
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
  const recorded = `Hindsight: recorded your correction on ${target.what}; it will guide the next training round as a hint.`;
  if (!overlapping || !complete) return done({ recorded: true, episodeId: target.id, message: `${recorded} Your code is unchanged.` });

  // The corrected version: the same spot, the accepted text left out, the hint in the prompt.
  const doc = editor.document;
  const span = overlapping.range;
  const s = readCompletionSettings();
  const text = doc.getText();
  const version = doc.version;
  let answer: serve.CompleteResult;
  try {
    answer = await complete({
      uri,
      languageId: doc.languageId,
      prefix: text.slice(Math.max(0, span.start - s.prefixChars), span.start),
      suffix: text.slice(span.end, span.end + s.suffixChars),
      mode: 'block',
      maxTokens: s.maxTokens,
      // The same sampling as inline suggestions (hindsight.completions.temperature; 0 = greedy).
      ...(s.temperature > 0 ? { temperature: s.temperature } : {}),
      hint: directive.trim(),
    });
  } catch (e) {
    return done({ recorded: true, episodeId: target.id, message: `${recorded} No corrected version: ${(e as Error).message}. Your code is unchanged.` });
  }
  const current = text.slice(span.start, span.end);
  const why = noCorrectionReason(answer, current);
  if (why) return done({ recorded: true, episodeId: target.id, message: `${recorded} No corrected version: ${why}. Your code is unchanged.` });
  const corrected = answer.text;
  const apply =
    args.apply ??
    (await vscode.window.showInformationMessage(`${recorded} Replace the accepted code with the corrected version?`, { modal: true, detail: corrected }, 'Replace')) === 'Replace';
  if (!apply) return done({ recorded: true, episodeId: target.id, corrected, replaced: false, message: `${recorded} You kept your code.` });
  if (doc.version !== version) return done({ recorded: true, episodeId: target.id, corrected, replaced: false, message: `${recorded} The file changed meanwhile, so nothing was replaced.` });
  const edit = new vscode.WorkspaceEdit();
  edit.replace(doc.uri, new vscode.Range(doc.positionAt(span.start), doc.positionAt(span.end)), corrected);
  const replaced = await vscode.workspace.applyEdit(edit);
  return done({ recorded: true, episodeId: target.id, corrected, replaced, message: replaced ? `${recorded} Replaced the accepted code with the corrected version.` : `${recorded} The replacement could not be applied; your code is unchanged.` });
}
