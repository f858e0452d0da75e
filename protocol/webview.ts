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
  adapterVersion: number;
  storagePath: string;
  detail?: string;
  /** Recorded episodes by outcome (from episodes/counts); absent while the trainer is not running. */
  episodes?: import('./episodes').CountsResult;
  /** The learning loop (from learn/status): versions, last round, loss; absent while the trainer is not running. */
  learning?: import('./learn').StatusResult;
}

export type ToWebview = { type: 'status'; status: StatusModel };
/** The hindsight.* commands the page may run (the host checks a message against this list). */
export const commands = ['enableWorkspace', 'disableWorkspace', 'showLogs', 'rollbackAdapter', 'trainNow', 'forgetWorkspaceData', 'exportEpisodes'] as const;
export type Command = (typeof commands)[number];
export type FromWebview = { type: 'ready' } | { type: 'command'; command: Command };
