// Classifies a terminal command line as a test run, a build, or neither, so only test/build
// outcomes become episode signals (DESIGN §2). Looks at every segment of `a && b; c | d`, after
// env assignments and wrappers (sudo, time, npx, ...). Leaves out parsing of shell quoting
// beyond what splitting on operators needs.

export type CommandKind = 'test' | 'build' | 'other';

export interface CommandClass {
  kind: CommandKind;
  /** The segment that decided it, trimmed (e.g. "npm test"). */
  segment?: string;
}

const WRAPPERS = new Set(['sudo', 'time', 'env', 'nice', 'nohup', 'npx', 'pnpx', 'bunx', 'exec', 'command', 'xvfb-run', 'dotenv', 'poetry', 'pipenv', 'uv', 'hatch', 'bundle']);
const WRAPPER_SUBCOMMANDS = new Set(['run', 'exec']); // `poetry run pytest`, `bundle exec rspec`, `uv run pytest`

const TEST_TOOLS = new Set([
  'jest', 'vitest', 'mocha', 'ava', 'tap', 'karma', 'playwright', 'cypress', 'pytest', 'py.test', 'nosetests', 'tox', 'nox',
  'rspec', 'phpunit', 'pest', 'ctest', 'busted', 'prove', 'rebar3', 'mix', 'ginkgo', 'gotestsum',
]);
const BUILD_TOOLS = new Set(['tsc', 'webpack', 'esbuild', 'rollup', 'vite', 'make', 'cmake', 'ninja', 'bazel', 'msbuild', 'gcc', 'g++', 'clang', 'clang++', 'javac', 'rustc', 'scons', 'meson']);
const PKG_MANAGERS = new Set(['npm', 'yarn', 'pnpm', 'bun']);

/** Classifies a whole command line; a test segment wins over a build segment. */
export function classifyCommand(commandLine: string): CommandClass {
  let build: CommandClass | undefined;
  for (const raw of commandLine.split(/&&|\|\||;|\||\n/)) {
    const segment = raw.trim();
    if (!segment) continue;
    const kind = classifySegment(segment);
    if (kind === 'test') return { kind, segment };
    if (kind === 'build' && !build) build = { kind, segment };
  }
  return build ?? { kind: 'other' };
}

function classifySegment(segment: string): CommandKind {
  let words = segment.split(/\s+/).filter(Boolean);
  // Drop env assignments (FOO=1) and wrappers (sudo, npx, poetry run, ...).
  for (;;) {
    if (words.length && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0])) words = words.slice(1);
    else if (words.length && WRAPPERS.has(basename(words[0]))) {
      words = words.slice(1);
      while (words.length && words[0].startsWith('-')) words = words.slice(1);
      if (words.length && WRAPPER_SUBCOMMANDS.has(words[0])) words = words.slice(1);
    } else break;
  }
  if (!words.length) return 'other';
  const tool = basename(words[0]);
  const args = words.slice(1).filter((w) => !w.startsWith('-'));
  const sub = args[0] ?? '';
  if (PKG_MANAGERS.has(tool)) {
    const script = sub === 'run' || sub === 'run-script' ? args[1] ?? '' : sub;
    if (/^(test|t|tst)([:_-].*)?$/.test(script) || /(^|[:_-])test(s)?($|[:_-])/.test(script)) return 'test';
    if (/^(build|compile|typecheck|tsc)([:_-].*)?$/.test(script) || /(^|[:_-])(build|compile)($|[:_-])/.test(script)) return 'build';
    return 'other';
  }
  if (tool === 'node' || tool === 'deno' || tool === 'bun') {
    if (words.includes('--test') || sub === 'test') return 'test';
    return 'other';
  }
  if (/^python(\d(\.\d+)?)?$/.test(tool)) {
    const m = words.indexOf('-m');
    const mod = m >= 0 ? words[m + 1] : '';
    if (mod === 'pytest' || mod === 'unittest' || mod === 'nose' || mod === 'tox') return 'test';
    if (/(^|\/)(test_[^/]*|[^/]*_test)\.py$/.test(sub) || sub === 'manage.py' && args[1] === 'test') return 'test';
    if (mod === 'build' || mod === 'compileall') return 'build';
    return 'other';
  }
  if (tool === 'go' || tool === 'cargo' || tool === 'dotnet' || tool === 'swift' || tool === 'zig' || tool === 'stack' || tool === 'cabal' || tool === 'sbt' || tool === 'lein' || tool === 'dune') {
    if (sub === 'test' || sub === 'nextest' || sub === 'vet') return 'test';
    if (sub === 'build' || sub === 'check' || sub === 'compile' || sub === 'clippy') return 'build';
    return 'other';
  }
  if (tool === 'mvn' || tool === 'mvnw' || tool === 'gradle' || tool === 'gradlew') {
    if (args.some((a) => a === 'test' || a === 'verify' || a === 'check' || a.endsWith(':test'))) return 'test';
    if (args.some((a) => a === 'build' || a === 'compile' || a === 'package' || a === 'assemble' || a === 'install')) return 'build';
    return 'other';
  }
  if (tool === 'make' || tool === 'just' || tool === 'task' || tool === 'rake') {
    if (args.some((a) => /^(test|tests|check|spec)([:_-].*)?$/.test(a))) return 'test';
    return tool === 'make' ? 'build' : args.some((a) => /^(build|compile)/.test(a)) ? 'build' : 'other';
  }
  // Project scripts named for what they do: ./run-tests.sh, scripts/test.sh, ./build.sh.
  if (/^(?:run[-_]?)?(?:unit[-_]?)?tests?(?:[-_][\w-]+)?\.(?:sh|bash|py|ps1|bat|cmd)$/i.test(tool) || /^(?:run[-_]?)?tests?$/.test(tool) && words[0].includes('/')) return 'test';
  if (/^(?:run[-_]?)?build(?:[-_][\w-]+)?\.(?:sh|bash|ps1|bat|cmd)$/i.test(tool)) return 'build';
  if ((tool === 'sh' || tool === 'bash' || tool === 'zsh') && sub) return classifySegment(sub);
  if (TEST_TOOLS.has(tool)) return 'test';
  if (BUILD_TOOLS.has(tool)) return 'build';
  return 'other';
}

function basename(word: string): string {
  const i = word.lastIndexOf('/');
  return (i >= 0 ? word.slice(i + 1) : word).replace(/^\.\//, '');
}
