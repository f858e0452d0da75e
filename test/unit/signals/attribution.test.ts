// Test/build outcomes go only to accepted suggestions the run plausibly exercised: its output or
// command line names their file, or they are code of the run's language family in the project it
// ran in; anything else is unattributed (a failing Python run is never blamed on TypeScript).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { attributeRun, effectiveCwd, familyOfCommand, familyOfOutput, familyOfPath, namesFile, sameProject, type Candidate } from '../../../src/common/attribution';

const ts: Candidate = { id: 'ts', relPath: 'src/format.ts', project: '' };
const py: Candidate = { id: 'py', relPath: 'py/stats.py', project: '' };
const web: Candidate = { id: 'web', relPath: 'packages/web/src/app.tsx', project: 'packages/web' };
const api: Candidate = { id: 'api', relPath: 'packages/api/src/server.ts', project: 'packages/api' };

test('language family of files, commands and output', () => {
  assert.deepEqual(['a.ts', 'b.TSX', 'c.mjs', 'd.py', 'e.rs', 'f.go', 'g.kt', 'h.cs', 'i.md'].map(familyOfPath), ['js', 'js', 'js', 'python', 'rust', 'go', 'jvm', 'dotnet', undefined]);
  assert.equal(familyOfCommand('pytest -q tests/'), 'python');
  assert.equal(familyOfCommand('python3 -m unittest discover -s tests'), 'python');
  assert.equal(familyOfCommand('FOO=1 npm test'), 'js');
  assert.equal(familyOfCommand('cd web && sudo node --test'), 'js');
  assert.equal(familyOfCommand('cargo test'), 'rust');
  assert.equal(familyOfCommand('./run-tests.sh'), undefined);
  assert.equal(familyOfCommand('make test'), undefined);
  assert.equal(familyOfOutput('FAIL: test_mean (tests.test_stats.StatsTest)\n  File "/w/tests/test_stats.py", line 9\n  File "/w/py/stats.py", line 3'), 'python');
  assert.equal(familyOfOutput('ok 1 - a.ts\nnot ok 2 - b.py'), undefined, 'a tie tells nothing');
  assert.equal(familyOfOutput('all good'), undefined);
});

test('a file is named by its workspace path or its file name as a word', () => {
  assert.equal(namesFile('  File "/home/me/w/py/stats.py", line 3', 'py/stats.py'), true);
  assert.equal(namesFile('error in stats.py:3', 'py/stats.py'), true);
  assert.equal(namesFile('error in mystats.py:3', 'py/stats.py'), false);
  assert.equal(namesFile('src\\format.ts(3,1): error TS2304', 'src/format.ts'), true);
  assert.equal(namesFile('a.ts', 'x/a.ts'), false, 'names of 4 characters or fewer are too common to count');
});

test('the folder a run covers: its cwd (after a leading cd) contains the project or lies inside it', () => {
  assert.equal(effectiveCwd('cd packages/web && npm test', ''), 'packages/web');
  assert.equal(effectiveCwd('cd .. && make', 'packages/web'), 'packages');
  assert.equal(effectiveCwd('cd "$HOME" && make', 'a'), 'a', 'not knowable: unchanged');
  assert.equal(effectiveCwd('npm test', 'a'), 'a');
  assert.equal(sameProject('', 'packages/web'), true, 'the root covers every project');
  assert.equal(sameProject('packages/web', 'packages/web'), true);
  assert.equal(sameProject('packages/web/src', 'packages/web'), true, 'inside the project');
  assert.equal(sameProject('packages/web', 'packages/api'), false);
  assert.equal(sameProject('packages/web', ''), true, 'a project at the root contains the run');
  assert.equal(sameProject('../elsewhere', ''), false, 'outside the workspace');
});

test('a failing Python run is attributed to Python code, not to TypeScript (the demo case)', () => {
  const out = 'FAIL: test_mean (tests.test_stats.StatsTest)\nTraceback (most recent call last):\n  File "/w/tests/test_stats.py", line 9, in test_mean';
  const a = attributeRun({ commandLine: './run-tests.sh', output: out, cwd: '' }, [ts, py]);
  assert.deepEqual(a.ids, ['py']);
  assert.equal(a.family, 'python');
  assert.match(a.why, /1 python file\(s\) in the project it ran at the workspace root/);
  assert.deepEqual(attributeRun({ commandLine: 'pytest', cwd: '' }, [ts]).ids, []);
  assert.match(attributeRun({ commandLine: 'pytest', cwd: '' }, [ts]).why, /^unattributed: none of the 1 accepted suggestion\(s\) is python code/);
});

test('in a monorepo the run covers its own package; the root run covers all of them', () => {
  assert.deepEqual(attributeRun({ commandLine: 'npm test', cwd: 'packages/web' }, [web, api]).ids, ['web']);
  assert.deepEqual(attributeRun({ commandLine: 'cd packages/api && npm test', cwd: '' }, [web, api]).ids, ['api']);
  assert.deepEqual(attributeRun({ commandLine: 'npm test', cwd: '' }, [web, api]).ids, ['web', 'api']);
  assert.deepEqual(attributeRun({ commandLine: 'npm test' }, [web, api]).ids, ['web', 'api'], 'an unknown cwd is the root');
});

test('a file named in the output counts whatever the language or folder; an unknown language with no names is unattributed', () => {
  const a = attributeRun({ commandLine: 'make check', output: 'packages/api/src/server.ts:12: error', cwd: 'packages/web' }, [web, api]);
  assert.deepEqual(a.ids, ['api', 'web'], 'api is named; the output is TypeScript, so web code in the folder it ran in counts too');
  assert.match(a.why, /1 named in its output, 1 js file\(s\) in the project it ran in packages\/web/);
  assert.deepEqual(attributeRun({ commandLine: 'make check', output: 'packages/api/src/server.ts:12: error', cwd: 'packages/api' }, [web, api]).ids, ['api']);
  const none = attributeRun({ commandLine: 'make check', output: 'Error 2', cwd: '' }, [web, api]);
  assert.deepEqual(none.ids, []);
  assert.match(none.why, /^unattributed: its language could not be told/);
  assert.match(attributeRun({ commandLine: 'npm test' }, []).why, /no accepted suggestion/);
  assert.deepEqual(attributeRun({ commandLine: 'pytest tests/test_stats.py py/stats.py', cwd: 'x' }, [py]).ids, ['py'], 'named on the command line');
});
