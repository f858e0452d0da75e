// Test and build outcomes as next-state signals: terminal commands seen through shell
// integration (onDidEndTerminalShellExecution: exit code, command line, folder, output excerpt)
// that look like tests or builds, and task processes (tasks.onDidEndTaskProcess). An outcome goes
// to the accepted suggestions (still present, accepted within outcomeWindowMs) the run plausibly
// exercised — its output names their file, or they are code of its language in the project it
// ran in (src/common/attribution.ts) — and is logged as unattributed otherwise.
// exitCode undefined (shell integration could not tell) is recorded as 'unknown', never a pass.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vscode from 'vscode';
import { attributeRun } from '../common/attribution';
import { classifyCommand, type CommandKind } from '../common/commandClassifier';
import type { SignalsTracker } from './tracker';

export interface OutcomeInput {
  source: 'terminal' | 'task';
  commandLine: string;
  kind: Exclude<CommandKind, 'other'>;
  exitCode: number | undefined;
  output?: string;
  /** Folder the run started in (absolute); unknown = the workspace root. */
  cwd?: string;
}

export function watchOutcomes(tracker: SignalsTracker, log: vscode.LogOutputChannel): vscode.Disposable {
  const outputs = new WeakMap<vscode.TerminalShellExecution, Promise<string>>();
  const subs: vscode.Disposable[] = [];

  subs.push(
    // The output stream must be read from the start of the execution, or it is lost.
    vscode.window.onDidStartTerminalShellExecution((e) => {
      if (classifyCommand(e.execution.commandLine.value).kind === 'other') return;
      outputs.set(e.execution, readAll(e.execution, tracker.config.outputExcerptChars * 4));
    }),
    vscode.window.onDidEndTerminalShellExecution(async (e) => {
      const commandLine = e.execution.commandLine.value;
      const cls = classifyCommand(commandLine);
      if (cls.kind === 'other') return;
      const output = await withTimeout(outputs.get(e.execution) ?? Promise.resolve(''), 2000, '');
      const cwd = e.execution.cwd?.fsPath ?? e.terminal.shellIntegration?.cwd?.fsPath;
      attribute(tracker, { source: 'terminal', commandLine, kind: cls.kind, exitCode: e.exitCode, output, ...(cwd ? { cwd } : {}) }, log);
    }),
    vscode.tasks.onDidEndTaskProcess((e) => {
      const task = e.execution.task;
      const commandLine = taskCommandLine(task);
      let kind = classifyCommand(commandLine).kind;
      if (kind === 'other') {
        if (task.group?.id === vscode.TaskGroup.Test.id || /\btest/i.test(task.name)) kind = 'test';
        else if (task.group?.id === vscode.TaskGroup.Build.id || /\b(build|compile)/i.test(task.name)) kind = 'build';
      }
      if (kind === 'other') return;
      const cwd = taskCwd(task);
      attribute(tracker, { source: 'task', commandLine: commandLine || task.name, kind, exitCode: e.exitCode, ...(cwd ? { cwd } : {}) }, log);
    }),
  );
  return vscode.Disposable.from(...subs);
}

/** Sends one outcome to the live accepted suggestions the run plausibly exercised; returns their episode ids. */
export function attribute(tracker: SignalsTracker, o: OutcomeInput, log?: vscode.LogOutputChannel): string[] {
  const now = Date.now();
  const cfg = tracker.config;
  const outcome = o.exitCode === undefined ? 'unknown' : o.exitCode === 0 ? 'pass' : 'fail';
  const excerpt = o.output ? excerptOf(o.output, cfg.outputExcerptChars) : undefined;
  const live = tracker.followedSpans().filter((span) => span.survival !== 'deleted' && now - span.acceptedAt <= cfg.outcomeWindowMs);
  const projects = new Map<string, string>();
  const candidates = live.map((span) => ({ id: span.id, relPath: span.relPath, project: projectFolderOf(span.uri, projects) }));
  const plain = o.output ? excerptOf(o.output, o.output.length) : undefined;
  const a = attributeRun({ commandLine: o.commandLine, ...(plain ? { output: plain } : {}), ...(o.cwd ? { cwd: workspaceRelative(o.cwd) } : {}) }, candidates);
  const ids = a.ids;
  for (const id of ids) {
    void tracker.record(id, {
      type: 'testOutcome',
      at: now,
      source: o.source,
      kind: o.kind,
      commandLine: o.commandLine.slice(0, 1000),
      exitCode: o.exitCode ?? null,
      outcome,
      ...(excerpt ? { outputExcerpt: excerpt } : {}),
    });
  }
  log?.info(`Hindsight: ${o.kind} ${outcome} (${o.source}: ${o.commandLine.slice(0, 120)}) -> ${ids.length} episode(s): ${a.why}`);
  return ids;
}

/** Files that mark a project's root folder, for "the same project". */
const PROJECT_MARKERS = ['package.json', 'tsconfig.json', 'pyproject.toml', 'setup.py', 'setup.cfg', 'requirements.txt', 'Cargo.toml', 'go.mod', 'pom.xml', 'build.gradle', 'build.gradle.kts', 'Gemfile', 'composer.json', 'mix.exs', 'CMakeLists.txt', 'Package.swift', 'pubspec.yaml'];

/** Workspace-relative folder of the nearest project root above the file ('' = the workspace folder itself). */
function projectFolderOf(uriText: string, cache: Map<string, string>): string {
  const uri = vscode.Uri.parse(uriText);
  const root = vscode.workspace.getWorkspaceFolder(uri)?.uri.fsPath;
  if (!root || uri.scheme !== 'file') return '';
  let dir = path.dirname(uri.fsPath);
  const start = dir;
  const hit = cache.get(start);
  if (hit !== undefined) return hit;
  let found = '';
  while (dir.startsWith(root) && dir.length > root.length) {
    if (PROJECT_MARKERS.some((m) => fs.existsSync(path.join(dir, m)))) {
      found = path.relative(root, dir).split(path.sep).join('/');
      break;
    }
    dir = path.dirname(dir);
  }
  cache.set(start, found);
  return found;
}

/** A folder relative to the workspace folder holding it ('..'-prefixed when outside every one). */
function workspaceRelative(dir: string): string {
  const folder = vscode.workspace.getWorkspaceFolder(vscode.Uri.file(dir)) ?? vscode.workspace.workspaceFolders?.[0];
  if (!folder) return '';
  return path.relative(folder.uri.fsPath, dir).split(path.sep).join('/');
}

/** The folder a task runs in: its own cwd option (${workspaceFolder} resolved), else its workspace folder. */
function taskCwd(task: vscode.Task): string | undefined {
  const folder = typeof task.scope === 'object' ? task.scope.uri.fsPath : vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  const ex = task.execution;
  const cwd = ex instanceof vscode.ShellExecution || ex instanceof vscode.ProcessExecution ? ex.options?.cwd : undefined;
  if (!cwd) return folder;
  const resolved = folder ? cwd.replace(/\$\{workspaceFolder\}/g, folder) : cwd;
  return path.isAbsolute(resolved) ? resolved : folder ? path.join(folder, resolved) : undefined;
}

async function readAll(execution: vscode.TerminalShellExecution, maxChars: number): Promise<string> {
  let out = '';
  try {
    for await (const chunk of execution.read()) {
      out += chunk;
      if (out.length > maxChars * 2) out = out.slice(-maxChars);
    }
  } catch {
    /* the terminal went away; keep what we have */
  }
  return out;
}

/** Plain text of terminal output (no escape sequences), the end kept: failures print last. */
export function excerptOf(raw: string, maxChars: number): string {
  const plain = raw
    // eslint-disable-next-line no-control-regex
    .replace(/\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)/g, '')
    // eslint-disable-next-line no-control-regex
    .replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '')
    .replace(/\r\n?/g, '\n');
  return plain.length > maxChars ? '…' + plain.slice(-maxChars) : plain;
}

function taskCommandLine(task: vscode.Task): string {
  const ex = task.execution;
  if (ex instanceof vscode.ShellExecution) {
    const cmd = ex.commandLine ?? [ex.command, ...(ex.args ?? [])].map((a) => (typeof a === 'string' ? a : a?.value ?? '')).join(' ');
    return cmd ?? '';
  }
  if (ex instanceof vscode.ProcessExecution) return [ex.process, ...ex.args].join(' ');
  return '';
}

function withTimeout<T>(p: Promise<T>, ms: number, fallback: T): Promise<T> {
  return new Promise((resolve) => {
    const t = setTimeout(() => resolve(fallback), ms);
    void p.then((v) => {
      clearTimeout(t);
      resolve(v);
    });
  });
}
