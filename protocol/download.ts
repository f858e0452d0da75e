// download/*: fetching a model folder from the Hugging Face hub, only after the user agreed in
// the editor (the request carries that consent). Progress is pushed; cancellation keeps partial
// files so the next start resumes.
import { NotificationType, RequestType } from 'vscode-jsonrpc';

export interface StartParams {
  /** The user said yes to this download in the editor (a prompt naming the repo and its size). */
  consent: true;
  /** Hub repo (default Qwen/Qwen2.5-Coder-0.5B). */
  repo?: string;
  /** Folder that will hold the model folder (e.g. the extension's global storage). */
  destDir: string;
  /** Hub or mirror base URL (hindsight.model.hubUrl); default https://huggingface.co. */
  hubUrl?: string;
}
export interface StartResult {
  /** The model folder, ready for hindsight.model.path. */
  modelPath: string;
  bytes: number;
}
export const start = new RequestType<StartParams, StartResult, void>('download/start');

/** What a download would fetch, so the editor can name files and size before asking. */
export interface PlanParams {
  repo?: string;
  hubUrl?: string;
}
export interface PlanResult {
  repo: string;
  hubUrl: string;
  files: { path: string; size: number }[];
  totalBytes: number;
}
export const plan = new RequestType<PlanParams, PlanResult, void>('download/plan');

export interface ProgressParams {
  repo: string;
  file: string;
  bytes: number;
  total: number;
}
export const progress = new NotificationType<ProgressParams>('download/progress');
