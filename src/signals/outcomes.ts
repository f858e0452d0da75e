// Test and build outcomes as next-state signals: terminal commands seen through shell
// integration (onDidEndTerminalShellExecution: exit code, command line, output excerpt) that
// look like tests or builds, and task processes (tasks.onDidEndTaskProcess). Each outcome goes
// to every accepted suggestion still present and accepted within outcomeWindowMs.
// exitCode undefined (shell integration could not tell) is recorded as 'unknown', never a pass.
import * as vscode from 'vscode';
import { classifyCommand, type CommandKind } from '../common/commandClassifier';
import type { SignalsTracker } from './tracker';

export interface OutcomeInput {
  source: 'terminal' | 'task';
  commandLine: string;
  kind: Exclude<CommandKind, 'other'>;
  exitCode: number | undefined;
  output?: string;
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
      attribute(tracker, { source: 'terminal', commandLine, kind: cls.kind, exitCode: e.exitCode, output }, log);
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
      attribute(tracker, { source: 'task', commandLine: commandLine || task.name, kind, exitCode: e.exitCode }, log);
    }),
  );
  return vscode.Disposable.from(...subs);
}

/** Sends one outcome to the live accepted suggestions; returns their episode ids. */
export function attribute(tracker: SignalsTracker, o: OutcomeInput, log?: vscode.LogOutputChannel): string[] {
  const now = Date.now();
  const cfg = tracker.config;
  const outcome = o.exitCode === undefined ? 'unknown' : o.exitCode === 0 ? 'pass' : 'fail';
  const excerpt = o.output ? excerptOf(o.output, cfg.outputExcerptChars) : undefined;
  const ids: string[] = [];
  for (const span of tracker.followedSpans()) {
    if (span.survival === 'deleted' || now - span.acceptedAt > cfg.outcomeWindowMs) continue;
    ids.push(span.id);
    void tracker.record(span.id, {
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
  log?.info(`Hindsight: ${o.kind} ${outcome} (${o.source}: ${o.commandLine.slice(0, 120)}) -> ${ids.length} episode(s)`);
  return ids;
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
