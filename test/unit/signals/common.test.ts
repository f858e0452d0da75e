import { test } from 'node:test';
import assert from 'node:assert/strict';
import { applyChanges, movePoint, type TextChange } from '../../../src/common/offsetTracker';
import { AdaptiveDebounce, DEFAULT_DEBOUNCE } from '../../../src/common/debounce';
import { RejectionMemory } from '../../../src/common/rejectionMemory';
import { classifyCommand } from '../../../src/common/commandClassifier';
import { excludeMatcher, globToRegExp } from '../../../src/common/excludeGlobs';
import { resolveSignalsConfig, DEFAULT_SIGNALS } from '../../../src/common/signalsConfig';

// Applies changes to a string the way VS Code does (pre-event offsets, any order).
function apply(text: string, changes: TextChange[]): string {
  for (const c of [...changes].sort((a, b) => b.rangeOffset - a.rangeOffset)) text = text.slice(0, c.rangeOffset) + c.text + text.slice(c.rangeOffset + c.rangeLength);
  return text;
}

test('offset tracking: edits before, after, inside and around the range', () => {
  const doc = 'aaa[SUGG]bbb';
  const r0 = { start: 3, end: 9, touched: false };
  const cases: [TextChange[], string][] = [
    [[{ rangeOffset: 0, rangeLength: 0, text: 'xx' }], '[SUGG]'],
    [[{ rangeOffset: 3, rangeLength: 0, text: 'yy' }], '[SUGG]'], // typed right before: not part of it
    [[{ rangeOffset: 9, rangeLength: 0, text: 'zz' }], '[SUGG]'], // typed right after
    [[{ rangeOffset: 10, rangeLength: 2, text: '' }], '[SUGG]'],
    [[{ rangeOffset: 1, rangeLength: 1, text: 'QQQ' }], '[SUGG]'],
    [[{ rangeOffset: 0, rangeLength: 0, text: 'x' }, { rangeOffset: 11, rangeLength: 0, text: 'y' }], '[SUGG]'], // two changes in one event
  ];
  for (const [changes, expected] of cases) {
    const next = apply(doc, changes);
    const r = applyChanges(r0, changes);
    assert.equal(next.slice(r.start, r.end), expected, JSON.stringify(changes));
    assert.equal(r.touched, false);
  }
  // Edit inside the range: the range holds the edited text.
  const inside: TextChange[] = [{ rangeOffset: 5, rangeLength: 2, text: 'ooo' }];
  const r = applyChanges(r0, inside);
  assert.equal(apply(doc, inside).slice(r.start, r.end), '[SoooG]');
  assert.equal(r.touched, true);
  // Replacement spanning its start.
  const across: TextChange[] = [{ rangeOffset: 1, rangeLength: 4, text: '-' }];
  const r2 = applyChanges(r0, across);
  assert.equal(apply(doc, across).slice(r2.start, r2.end), '-UGG]');
  // Whole range deleted.
  const gone: TextChange[] = [{ rangeOffset: 2, rangeLength: 9, text: '' }];
  const r3 = applyChanges(r0, gone);
  assert.equal(r3.end - r3.start, 0);

  assert.equal(movePoint(5, [{ rangeOffset: 0, rangeLength: 0, text: 'abc' }]), 8);
  assert.equal(movePoint(5, [{ rangeOffset: 5, rangeLength: 0, text: 'abc' }]), 5);
  assert.equal(movePoint(5, [{ rangeOffset: 5, rangeLength: 0, text: 'abc' }], true), 8);
  assert.equal(movePoint(5, [{ rangeOffset: 3, rangeLength: 4, text: '' }]), 3);
});

test('debounce: the base, whatever the latency (stale requests are cancelled, not waited out); longer while training; bounds', () => {
  const d = new AdaptiveDebounce();
  assert.equal(d.delayMs(), 300, 'the base, however slow suggestions are (it no longer observes them)');
  const slow = new AdaptiveDebounce({ ...DEFAULT_DEBOUNCE, baseMs: 5000 });
  assert.equal(slow.delayMs(), DEFAULT_DEBOUNCE.maxMs);
  const t = new AdaptiveDebounce();
  t.setTraining(true);
  assert.equal(t.delayMs(), 450);
});

test('rejection memory: the same suggestion at the same spot is not re-shown, even after typing part of it', () => {
  const m = new RejectionMemory(60_000);
  m.remember({ uri: 'file:///a.ts', line: 3, linePrefix: 'const x = ', text: 'foo(bar);', at: 1000 });
  assert.equal(m.isRejected('file:///a.ts', 3, 'const x = ', 'foo(bar);', 2000), true);
  assert.equal(m.isRejected('file:///a.ts', 3, 'const x = fo', 'o(bar);', 2000), true);
  assert.equal(m.isRejected('file:///a.ts', 3, 'const x = ', 'baz();', 2000), false);
  assert.equal(m.isRejected('file:///a.ts', 4, 'const x = ', 'foo(bar);', 2000), false);
  assert.equal(m.isRejected('file:///b.ts', 3, 'const x = ', 'foo(bar);', 2000), false);
  assert.equal(m.isRejected('file:///a.ts', 3, 'const x = ', 'foo(bar);', 70_000), false, 'forgotten after the TTL');
});

test('command classifier: tests, builds, wrappers, chains; other commands ignored', () => {
  const cases: [string, string][] = [
    ['npm test', 'test'], ['npm run test:unit', 'test'], ['yarn test --watch=false', 'test'], ['pnpm run unit-test', 'test'],
    ['npx jest src', 'test'], ['npx vitest run', 'test'], ['node --test test/a.test.js', 'test'], ['node --import tsx --test x.ts', 'test'],
    ['pytest -q tests/', 'test'], ['python -m pytest', 'test'], ['python3 -m unittest discover', 'test'], ['poetry run pytest', 'test'],
    ['go test ./...', 'test'], ['cargo test --release', 'test'], ['cargo nextest run', 'test'], ['dotnet test', 'test'],
    ['mvn -q test', 'test'], ['./gradlew test', 'test'], ['make test', 'test'], ['bundle exec rspec', 'test'], ['CI=1 npm test', 'test'],
    ['cd app && npm test', 'test'], ['npm run build && npm test', 'test'], ['deno test', 'test'], ['ctest --output-on-failure', 'test'],
    ['./run-tests.sh', 'test'], ['sh scripts/test.sh', 'test'], ['bash ./run_tests.sh -v', 'test'], ['./test', 'test'], ['./build.sh', 'build'],
    ['./deploy.sh', 'other'], ['./tester.py', 'other'],
    ['npm run build', 'build'], ['tsc -p .', 'build'], ['npx tsc --noEmit', 'build'], ['cargo build', 'build'], ['go build ./cmd/x', 'build'],
    ['make', 'build'], ['make -j8 all', 'build'], ['mvn package', 'build'], ['gcc -o a a.c', 'build'], ['sudo make install', 'build'],
    ['ls -la', 'other'], ['git status', 'other'], ['npm install', 'other'], ['node server.js', 'other'], ['python main.py', 'other'],
    ['echo test', 'other'], ['cat test.txt', 'other'], ['npm run lint', 'other'], ['go run .', 'other'], ['', 'other'],
  ];
  for (const [cmd, kind] of cases) assert.equal(classifyCommand(cmd).kind, kind, cmd);
  assert.equal(classifyCommand('cd x && npm test').segment, 'npm test');
});

test('exclude globs: default secret globs, user globs, near misses', () => {
  const m = excludeMatcher(['**/generated/**', '*.snap']);
  const excluded = [
    '.env', '.env.local', 'config/.env.production', 'certs/server.pem', 'server.key', 'home/.ssh/id_rsa', 'id_rsa.pub', 'id_ed25519',
    'keys/store.p12', 'secrets/db.yaml', 'app/secrets/x/y.txt', '.git/config', 'node_modules/x/index.js', 'a/node_modules/b.js',
    'src/generated/api.ts', '__snapshots__/a.test.ts.snap', '.npmrc', '/home/u/proj/.env', 'C:\\proj\\.env',
  ];
  const allowed = ['src/env.ts', 'src/environment.ts', 'keyboard.ts', 'src/key.ts', 'docs/secrets.md', 'src/monkey.ts', 'pem.ts', 'gitignore.ts', 'src/.gitignore', 'README.md'];
  for (const p of excluded) assert.equal(m.matches(p), true, `should exclude ${p}`);
  for (const p of allowed) assert.equal(m.matches(p), false, `should allow ${p}`);
  assert.equal(globToRegExp('src/{a,b}/*.ts').test('src/a/x.ts'), true);
  assert.equal(globToRegExp('src/{a,b}/*.ts').test('src/c/x.ts'), false);
  assert.equal(globToRegExp('/root.txt').test('root.txt'), true);
  assert.equal(globToRegExp('/root.txt').test('sub/root.txt'), false);
  assert.equal(globToRegExp('file?.[ch]').test('dir/file1.c'), true);
});

test('signals config: defaults and sanitised overrides', () => {
  assert.deepEqual(resolveSignalsConfig({}), DEFAULT_SIGNALS);
  const c = resolveSignalsConfig({ rejectAfterMs: 500, minDisplayMs: -3, survivalCheckpointsMs: [300, 100], typedInsteadAfterMs: 'x' });
  assert.equal(c.rejectAfterMs, 500);
  assert.equal(c.minDisplayMs, DEFAULT_SIGNALS.minDisplayMs);
  assert.deepEqual(c.survivalCheckpointsMs, [100, 300]);
  assert.equal(c.typedInsteadAfterMs, DEFAULT_SIGNALS.typedInsteadAfterMs);
});
