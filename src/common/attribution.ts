// Which accepted suggestions a test or build run plausibly exercised. A run is attributed to a
// suggestion when the run names its file (in the command line or its output), or when both are
// of the same language family (pytest → Python, `node --test`/tsc/npm → JavaScript/TypeScript, …;
// a script's family is read from the file paths its output mentions) and the run's folder
// contains the suggestion's project folder or lies inside it. Otherwise the run is recorded as
// unattributed: a failing Python test must not be blamed on TypeScript code. Pure.
import * as path from 'node:path';

export type Family = 'js' | 'python' | 'rust' | 'go' | 'jvm' | 'dotnet' | 'ruby' | 'php' | 'c' | 'elixir' | 'swift' | 'dart';

const BY_EXTENSION: Record<string, Family> = {
  '.ts': 'js', '.tsx': 'js', '.mts': 'js', '.cts': 'js', '.js': 'js', '.jsx': 'js', '.mjs': 'js', '.cjs': 'js', '.vue': 'js', '.svelte': 'js',
  '.py': 'python', '.pyi': 'python',
  '.rs': 'rust', '.go': 'go',
  '.java': 'jvm', '.kt': 'jvm', '.kts': 'jvm', '.scala': 'jvm', '.groovy': 'jvm',
  '.cs': 'dotnet', '.fs': 'dotnet', '.vb': 'dotnet',
  '.rb': 'ruby', '.php': 'php',
  '.c': 'c', '.h': 'c', '.cc': 'c', '.cpp': 'c', '.cxx': 'c', '.hpp': 'c', '.hh': 'c',
  '.ex': 'elixir', '.exs': 'elixir', '.swift': 'swift', '.dart': 'dart',
};

const BY_TOOL: Record<string, Family> = {
  node: 'js', deno: 'js', bun: 'js', npm: 'js', yarn: 'js', pnpm: 'js', npx: 'js', tsc: 'js', jest: 'js', vitest: 'js', mocha: 'js', ava: 'js', tap: 'js',
  karma: 'js', playwright: 'js', cypress: 'js', webpack: 'js', esbuild: 'js', rollup: 'js', vite: 'js', eslint: 'js', tsx: 'js',
  python: 'python', python3: 'python', pytest: 'python', 'py.test': 'python', tox: 'python', nox: 'python', nosetests: 'python', poetry: 'python', uv: 'python', hatch: 'python', pipenv: 'python',
  cargo: 'rust', rustc: 'rust', go: 'go', gotestsum: 'go', ginkgo: 'go',
  mvn: 'jvm', gradle: 'jvm', gradlew: 'jvm', sbt: 'jvm', javac: 'jvm',
  dotnet: 'dotnet', msbuild: 'dotnet',
  rspec: 'ruby', rake: 'ruby', bundle: 'ruby', ruby: 'ruby', phpunit: 'php', pest: 'php', composer: 'php', php: 'php',
  gcc: 'c', 'g++': 'c', clang: 'c', 'clang++': 'c', ctest: 'c', cmake: 'c',
  mix: 'elixir', swift: 'swift', dart: 'dart', flutter: 'dart',
};

/** Commands that run other tools: the family comes from what follows. */
const WRAPPERS = new Set(['sudo', 'time', 'env', 'nice', 'nohup', 'exec', 'command', 'xvfb-run', 'dotenv']);

export function familyOfPath(p: string): Family | undefined {
  return BY_EXTENSION[path.extname(p).toLowerCase()];
}

/** The family of the first tool the command line runs that has one ("cd x && pytest" → python). */
export function familyOfCommand(commandLine: string): Family | undefined {
  for (const raw of commandLine.split(/&&|\|\||;|\||\n/)) {
    const words = raw.trim().split(/\s+/).filter((w) => w && !/^[A-Za-z_][A-Za-z0-9_]*=/.test(w));
    while (words.length && WRAPPERS.has(path.basename(words[0]))) words.shift();
    if (!words.length || words[0] === 'cd') continue;
    const family = BY_TOOL[path.basename(words[0])] ?? familyOfPath(words[0]);
    if (family) return family;
  }
  return undefined;
}

/** The family most of the source files the output mentions belong to (a script's tests print their paths). */
export function familyOfOutput(output: string): Family | undefined {
  const counts = new Map<Family, number>();
  for (const m of output.matchAll(/[\w./\\-]+\.([A-Za-z]{1,6})\b/g)) {
    const f = BY_EXTENSION[`.${m[1].toLowerCase()}`];
    if (f) counts.set(f, (counts.get(f) ?? 0) + 1);
  }
  const sorted = [...counts].sort((a, b) => b[1] - a[1]);
  return sorted.length && (sorted.length === 1 || sorted[0][1] > sorted[1][1]) ? sorted[0][0] : undefined;
}

/** Whether `text` names the file: its workspace-relative path, or its file name (with extension) as a word. */
export function namesFile(text: string, relPath: string): boolean {
  const rel = relPath.replace(/\\/g, '/');
  if (text.replace(/\\/g, '/').includes(rel)) return true;
  const base = path.posix.basename(rel);
  if (base.length < 5 || !base.includes('.')) return false; // "a.ts": too common a word to count
  return new RegExp(`(^|[^\\w.-])${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}($|[^\\w-])`).test(text);
}

/** The folder a command ran in after a leading "cd dir &&" (workspace-relative; '' = the root). */
export function effectiveCwd(commandLine: string, cwd: string): string {
  const m = /^\s*cd\s+("[^"]+"|'[^']+'|[^\s;&|]+)\s*(&&|;)/.exec(commandLine);
  if (!m) return cwd;
  const dir = m[1].replace(/^["']|["']$/g, '');
  if (dir.startsWith('$') || dir.startsWith('~') || path.isAbsolute(dir)) return cwd; // not knowable here
  return path.posix.normalize(path.posix.join(cwd || '.', dir)).replace(/^\.$/, '');
}

/** True when a run in `cwd` plausibly covers project folder `project` (one contains the other). */
export function sameProject(cwd: string, project: string): boolean {
  if (cwd.startsWith('..')) return false; // ran outside the workspace
  const inside = (a: string, b: string) => a === '' || b === a || b.startsWith(`${a}/`);
  return inside(cwd, project) || inside(project, cwd);
}

export interface Candidate {
  id: string;
  /** Workspace-relative path of the file with the accepted suggestion. */
  relPath: string;
  /** Workspace-relative folder of its project (nearest package.json, pyproject.toml, …; '' = the root). */
  project: string;
}

export interface RunFacts {
  commandLine: string;
  output?: string;
  /** Workspace-relative folder the run started in ('' = the root); undefined = unknown (taken as the root). */
  cwd?: string;
}

export interface Attribution {
  ids: string[];
  /** The run's language family, when it could be told. */
  family?: Family;
  /** One line for the log: to whom and why, or why nobody. */
  why: string;
}

export function attributeRun(run: RunFacts, candidates: Candidate[]): Attribution {
  const family = familyOfCommand(run.commandLine) ?? (run.output ? familyOfOutput(run.output) : undefined);
  const cwd = effectiveCwd(run.commandLine, run.cwd ?? '');
  const text = `${run.commandLine}\n${run.output ?? ''}`;
  const named: string[] = [];
  const related: string[] = [];
  for (const c of candidates) {
    if (namesFile(text, c.relPath)) named.push(c.id);
    else if (family && familyOfPath(c.relPath) === family && sameProject(cwd, c.project)) related.push(c.id);
  }
  const ids = [...named, ...related];
  const where = cwd ? `in ${cwd}` : 'at the workspace root';
  let why: string;
  if (ids.length) why = [named.length ? `${named.length} named in its output` : '', related.length ? `${related.length} ${family} file(s) in the project it ran ${where}` : ''].filter(Boolean).join(', ');
  else if (!candidates.length) why = 'no accepted suggestion is followed now';
  else if (!family) why = `unattributed: its language could not be told and it names none of the ${candidates.length} file(s) with accepted suggestions`;
  else why = `unattributed: none of the ${candidates.length} accepted suggestion(s) is ${family} code in the project it ran ${where}, and it names none of their files`;
  return { ids, ...(family ? { family } : {}), why };
}
