// Why episodes were not trained on, in plain words for the status view (the keys are the trainer's
// learn/status `skipped` counts: server/learn/batch.ts SkipReason and the loop's round outcomes).
// Pure (no 'vscode').

const WORDS: Record<string, string> = {
  notTrainable: 'no signal (e.g. never shown)',
  redacted: 'secrets redacted',
  noTokens: 'no tokens recorded',
  otherModel: 'from another model',
  stale: 'too many versions old',
  badTokens: 'tokens outside the model',
  noSignal: 'nothing to learn',
  noTarget: 'no text the developer wanted',
  failedRound: 'in a failed round',
  rejectedRounds: 'refused by the gate twice',
};

export function skipText(reason: string): string {
  return WORDS[reason] ?? reason;
}
