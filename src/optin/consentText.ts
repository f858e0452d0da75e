// The words of the opt-in: what Hindsight records, where, and that nothing leaves the machine.
// Pure (no 'vscode') so the text is reviewed and tested in one place.

export interface ConsentText {
  message: string;
  detail: string;
  accept: string;
}

export function consentText(storagePath: string): ConsentText {
  return {
    message: 'Enable Hindsight for this workspace?',
    detail: [
      'Hindsight will record, for this workspace only:',
      '• each inline suggestion it shows, with the code around the cursor it was made from;',
      '• what happened next: accepted, rejected, edited or deleted later, compiler errors in the inserted code, results of test and build commands you run in the terminal, whether it reached a commit, and any "Correct this" notes you write.',
      '',
      `Where: ${storagePath}`,
      'These records train a small adapter for your local model on this machine.',
      'Nothing leaves this machine: no network requests are made with your code.',
      '',
      'You can turn it off at any time (Hindsight: Disable for this workspace) and delete everything (Hindsight: Forget this workspace\'s data).',
    ].join('\n'),
    accept: 'Enable',
  };
}

export function untrustedReason(): string {
  return 'Hindsight cannot be enabled because this workspace is not trusted: it would record and learn from code you have not chosen to trust. Trust the workspace first (Workspaces: Manage Workspace Trust), then run "Hindsight: Enable for this workspace" again.';
}
