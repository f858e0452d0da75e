// Messages between the extension and the status webview (webview-ui/), as discriminated unions.
// Plain data only: the webview imports nothing else from the extension.

export interface StatusModel {
  /** off | starting | ready | training | restarting | error, as in the status bar. */
  label: string;
  summary: string;
  enabled: boolean;
  trusted: boolean;
  trainerPid?: number;
  restarts: number;
  modelPath: string;
  /** The model: none / loading / ready / failed (from the trainer's status); absent while the trainer is not running. */
  model?: import('./model').ModelState;
  adapterVersion: number;
  storagePath: string;
  detail?: string;
  /** Recorded episodes by outcome (from episodes/counts); absent while the trainer is not running. */
  episodes?: import('./episodes').CountsResult;
  /** The learning loop (from learn/status): versions, last round, loss; absent while the trainer is not running. */
  learning?: import('./learn').StatusResult;
  /** What inline suggestion requests came to since the editor started (absent before the first). */
  suggestions?: SuggestionCounts;
}

/** Outcomes of the editor's suggestion requests to the model (empty and failed ones included). */
export interface SuggestionCounts {
  /** Requests sent to the model. */
  requested: number;
  /** Suggestions shown (new ones; continuations of a shown one are not counted again). */
  shown: number;
  /** The model answered with nothing (it stopped at once). */
  empty: number;
  /** The request failed in the model. */
  failed: number;
  /** No model to ask (none set, still loading, failed to load). */
  unavailable: number;
  /** Superseded by a newer keystroke. */
  cancelled: number;
}

export type ToWebview = { type: 'status'; status: StatusModel };
/** The hindsight.* commands the page may run (the host checks a message against this list). */
export const commands = ['enableWorkspace', 'disableWorkspace', 'showLogs', 'rollbackAdapter', 'trainNow', 'cancelTraining', 'forgetWorkspaceData', 'exportEpisodes', 'chooseModelFolder'] as const;
export type Command = (typeof commands)[number];
export type FromWebview = { type: 'ready' } | { type: 'command'; command: Command };
