// Why "Correct this" has no corrected version to offer, in plain words for each outcome of the
// model request (never the serving loop's internals such as "stop token"). Pure (no 'vscode').
import type { serve } from '../../protocol';

/** undefined when `answer` is a usable corrected version of `current`. */
export function noCorrectionReason(answer: Pick<serve.CompleteResult, 'kind' | 'text' | 'reason'>, current: string): string | undefined {
  switch (answer.kind) {
    case 'success':
      if (!answer.text.trim()) return 'the model had nothing to offer at that spot';
      if (answer.text === current) return 'the model offered the same code again';
      return undefined;
    case 'empty':
      return 'the model had nothing to offer at that spot';
    case 'cancelled':
      return 'the request was cancelled';
    case 'unavailable':
      return answer.reason ? `no model is ready (${answer.reason})` : 'no model is ready';
    case 'failed':
      return answer.reason ? `the model request failed (${answer.reason})` : 'the model request failed';
  }
}
