// The words of "Forget this workspace's data": what the question names and what the answer says
// was deleted. Pure (no 'vscode'), so every branch is tested; forgetData.ts shows them.

export interface ForgetTally {
  /** Folder the data lived in (the extension's storage for this workspace). */
  folder: string;
  /** Episodes deleted from the store (undefined: the store was deleted as files, uncounted). */
  episodes?: number;
  /** Adapter versions deleted. */
  versions: number[];
  /** Whether the learning state (learn/state.json) was deleted. */
  state: boolean;
  /** Other files or folders found there and deleted (names). */
  other: string[];
  /** Bytes deleted in all. */
  bytes: number;
}

export function forgetQuestion(folder: string): { message: string; detail: string; accept: string } {
  return {
    message: "Delete everything Hindsight derived from this workspace?",
    detail: [
      'This deletes, from ' + folder + ':',
      '• the recorded episodes (suggestions, their context and what happened next);',
      '• the adapters trained on them, and the learning state.',
      'Suggestions go back to the base model. This cannot be undone.',
    ].join('\n'),
    accept: 'Delete',
  };
}

export function forgetMessage(t: ForgetTally): string {
  const parts: string[] = [];
  if (t.episodes === undefined) parts.push('the recorded episodes');
  else if (t.episodes > 0) parts.push(plural(t.episodes, 'episode'));
  if (t.versions.length) parts.push(`${plural(t.versions.length, 'trained adapter')} (${t.versions.map((v) => `v${v}`).join(', ')})`);
  if (t.state) parts.push('the learning state');
  if (t.other.length) parts.push(`${plural(t.other.length, 'other file')} (${t.other.join(', ')})`);
  if (!parts.length) return `Hindsight: nothing was stored for this workspace in ${t.folder}; nothing to delete.`;
  const size = t.bytes > 0 ? `, ${sizeText(t.bytes)}` : '';
  return `Hindsight deleted ${list(parts)}${size}, from ${t.folder}. No data derived from this workspace is left there, and no trained adapter is in use.`;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function list(parts: string[]): string {
  return parts.length === 1 ? parts[0] : `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}`;
}

function sizeText(n: number): string {
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} kB`;
  return `${n} bytes`;
}
