// The extension-host test runs. Each run is one code-server instance with its own workspace, user
// settings and trust, running the listed suites (test/host/suites/<name>.test.ts) in one host.
// To add suites that need their own setup (short timing constants, a git workspace), add a row.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { copyDemoWorkspace, initGitRepo, repoRoot } from '../../scripts/lib/codeServer';

export interface HostRun {
  name: string;
  /** Suite file names without .test.ts. */
  suites: string[];
  /** Creates the workspace folder inside `dir` (an empty temp folder) and returns its path. */
  workspace?: (dir: string) => string;
  /** User settings for this run (merged over the harness defaults). */
  settings?: Record<string, unknown>;
  /** false: the folder opens untrusted (no --disable-workspace-trust). Default true. */
  trusted?: boolean;
  /** Whole-run limit in ms (code-server start to codeAutomationExit). Default 180 s. */
  timeoutMs?: number;
  /** With no hindsight.model.path, load the bundled starter model as users get it (default: no model). */
  bundledModel?: boolean;
}

/** The demo workspace (demo/) as a git repository with one commit, for signals that watch commits. */
export function gitDemoWorkspace(dir: string): string {
  return initGitRepo(demoWorkspace(dir));
}

export function demoWorkspace(dir: string): string {
  return copyDemoWorkspace(path.join(dir, 'workspace'));
}

/** The demo workspace, plus a generated tiny model (npm run make-model) in <dir>/<folder>. */
export function demoWithTinyModel(folder: string, seed: number): (dir: string) => string {
  return (dir) => {
    execFileSync(process.execPath, ['--import', 'tsx', 'scripts/make-model.ts', '--preset', 'tiny', '--seed', String(seed), '--out', path.join(dir, folder)], { cwd: repoRoot, stdio: 'ignore' });
    return demoWorkspace(dir);
  };
}

/**
 * Real suggestions from a generated tiny model: sampled at temperature 1 (greedy decoding of random
 * weights stops at once), short, with short signal timings; IntelliSense off so it cannot hide them.
 */
const modelSuggestionSettings: Record<string, unknown> = {
  'hindsight.completions.debounceMs': 30,
  'hindsight.completions.temperature': 1,
  'hindsight.completions.maxTokens': 8,
  'hindsight.signals.rejectAfterMs': 1500,
  'hindsight.signals.acceptGraceMs': 300,
  'hindsight.signals.survivalCheckpointsMs': [1000],
  'editor.quickSuggestions': { other: false, comments: false, strings: false },
  'editor.suggestOnTriggerCharacters': false,
};

export const runs: HostRun[] = [
  { name: 'foundation', suites: ['activation', 'commands', 'optin', 'restart'] },
  { name: 'untrusted', suites: ['untrusted', 'signalsOff'], trusted: false },
  // Editor signals with short timing constants (hindsight.signals.*) in a git workspace.
  {
    name: 'signals',
    suites: ['signals'],
    workspace: gitDemoWorkspace,
    timeoutMs: 300_000,
    settings: {
      'hindsight.completions.debounceMs': 30,
      'hindsight.signals.rejectAfterMs': 1500,
      'hindsight.signals.minDisplayMs': 250,
      'hindsight.signals.acceptGraceMs': 300,
      'hindsight.signals.typedInsteadAfterMs': 3000,
      'hindsight.signals.survivalCheckpointsMs': [1500, 3000, 4500],
      'hindsight.signals.commitPollMs': 500,
      'editor.inlineSuggest.enabled': true,
      // TypeScript's IntelliSense widget would pop up while the tests type and hide the ghost text.
      'editor.quickSuggestions': { other: false, comments: false, strings: false },
      'editor.suggestOnTriggerCharacters': false,
    },
  },
  { name: 'signalsOff', suites: ['signalsOff'] },
  // Real suggestions from a generated tiny model (npm run make-model; random weights, sampled at
  // temperature 1 because greedy decoding of random weights stops at once). Model in <dir>/model.
  {
    name: 'signalsModel',
    suites: ['signalsModel'],
    workspace: demoWithTinyModel('model', 7),
    timeoutMs: 240_000,
    settings: modelSuggestionSettings,
  },
  // The learning loop (server/learn/) on a generated tiny model: manual schedule, tiny rounds; a
  // cancelled round, Forget, the model state and the folder check.
  {
    name: 'learn',
    suites: ['learn'],
    workspace: demoWithTinyModel('model', 7),
    timeoutMs: 420_000,
    settings: {
      ...modelSuggestionSettings,
      'hindsight.training.schedule': 'manual',
      'hindsight.training.minEpisodes': 2,
      'hindsight.training.stepsPerRound': 2,
      'hindsight.training.maxDrift': 100,
    },
  },
  // The bundled Hindsight Starter at default settings (no model setting, greedy, default debounce).
  {
    name: 'starter',
    suites: ['starter'],
    bundledModel: true,
    timeoutMs: 240_000,
    settings: {
      'editor.quickSuggestions': { other: false, comments: false, strings: false },
      'editor.suggestOnTriggerCharacters': false,
    },
  },
  // "Download a model" against a hub on 127.0.0.1 serving a generated tiny model from <dir>/hubrepo.
  {
    name: 'modelDownload',
    suites: ['modelDownload'],
    workspace: demoWithTinyModel('hubrepo', 3),
    timeoutMs: 180_000,
  },
];

/** Suites present on disk that no run lists (reported, so a new suite is not silently skipped). */
export function unlistedSuites(suitesDir: string): string[] {
  const listed = new Set(runs.flatMap((r) => r.suites));
  return fs
    .readdirSync(suitesDir)
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => f.slice(0, -'.test.ts'.length))
    .filter((s) => !listed.has(s));
}
