// What "Hindsight: Use a local model folder…" says after checking the folder the user picked: why
// it is refused (the setting unchanged), or what it is and that it is loading. Pure (no 'vscode').
import type { model } from '../../protocol';
import { modelSize } from '../common/modelText';

export function folderRefusedMessage(folder: string, reason: string): string {
  return `Hindsight cannot use ${folder} as a model: ${reason}. hindsight.model.path was not changed.`;
}

/** `already`: the setting named this folder before (nothing reloads). */
export function folderAcceptedMessage(folder: string, facts: model.ModelFacts, already: boolean): string {
  const what = `${facts.name} (${facts.architecture}, ${modelSize(facts)})`;
  if (already) return `Hindsight already uses ${what} from ${folder}.`;
  return `Hindsight will use ${what} from ${folder}. It is loading now; the status bar shows when it is ready.`;
}

export const NEEDS_TRAINER = 'Enable Hindsight for this workspace first: its trainer process checks the model folder before Hindsight uses it.';
