// Editor signals in the real editor (code-server): suggestions from the server's TEST DOUBLE
// (HINDSIGHT_TEST_COMPLETION_FIXTURE, no model configured), accepted with
// editor.action.inlineSuggest.commit (what Tab runs), rejected by timeout, continuation,
// typed-instead, survival, diagnostics, terminal/task outcomes, commit, Correct this, exclusion,
// export and forget — each checked in the durable store through episodes/query.
// Timing settings are shortened by the `signals` run in test/host/runs.ts.
import * as assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { episodes } from '../../../protocol';
import type { HindsightApi } from '../../../src/extension';
import type { Decision } from '../../../src/common/suggestionLifecycle';
import { enableWith, hindsight, until } from '../helpers';

const FIXTURE = {
  rules: [
    // "Correct this" asks again with the developer's hint in the prompt: the double answers by the hint.
    { prefixEndsWith: 'const committed = ', hintIncludes: 'keepAll()', text: 'keepAll();' },
    { prefixEndsWith: 'const accepted = ', text: 'computeTotal(items);' },
    { prefixEndsWith: 'const rejected = ', text: 'makeWidget(3);' },
    { prefixEndsWith: 'const cached = ', text: 'fromCache(1);' },
    { prefixEndsWith: 'const typed = ', text: 'abcdefgh;' },
    { prefixEndsWith: 'const diag = ', text: 'undefinedThing(1);' },
    { prefixEndsWith: 'const committed = ', text: 'keepMe(42);' },
    { prefixEndsWith: 'const secret = ', text: 'shouldNeverShow();' },
    { prefixEndsWith: 'const partial = pick(', text: 'alpha, beta, gamma);' },
  ],
};

let api: HindsightApi;
const decisions: Decision[] = [];
const ws = () => vscode.workspace.workspaceFolders![0].uri.fsPath;

async function waitFor<T>(what: string, check: () => T | undefined | false, timeoutMs = 15_000): Promise<T> {
  return until(api, check, timeoutMs, what);
}

function decision(id: string, type: episodes.EpisodeEventType) {
  return decisions.find((d) => d.id === id && d.event.type === type);
}

/** Writes `rel` with `content`, opens it, puts the cursor at the end. */
async function openAtEnd(rel: string, content: string): Promise<vscode.TextEditor> {
  const file = path.join(ws(), rel);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
  const doc = await vscode.workspace.openTextDocument(file);
  const editor = await vscode.window.showTextDocument(doc);
  const end = doc.lineAt(doc.lineCount - 1).range.end;
  editor.selection = new vscode.Selection(end, end);
  return editor;
}

/** Asks VS Code for inline suggestions at the cursor and waits until Hindsight offered a new one. */
async function showSuggestion(editor: vscode.TextEditor): Promise<string> {
  const before = api.signals.tracker.lastShown?.id;
  await vscode.commands.executeCommand('editor.action.inlineSuggest.trigger');
  return waitFor('a suggestion to be offered', () => {
    const s = api.signals.tracker.lastShown;
    return s && s.id !== before && s.uri === editor.document.uri.toString() ? s.id : undefined;
  });
}

async function stored(id: string): Promise<episodes.EpisodeView> {
  await api.signals.flush();
  const r = await api.signals.query({ id });
  assert.equal(r.episodes.length, 1, `episode ${id} in the store`);
  return r.episodes[0];
}

async function type(text: string) {
  for (const ch of text) await vscode.commands.executeCommand('type', { text: ch });
}

suite('editor signals (real editor, test-double suggestions)', function () {
  this.timeout(60_000);

  suiteSetup(async () => {
    const fixture = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'hs-fixture-')), 'fixture.json');
    fs.writeFileSync(fixture, JSON.stringify(FIXTURE));
    // The trainer inherits the extension host's environment when it is spawned below.
    process.env.HINDSIGHT_TEST_COMPLETION_FIXTURE = fixture;
    api = await hindsight();
    api.signals.tracker.onDecision((d) => decisions.push(d));
    const { outcome } = await enableWith(api, true);
    assert.equal(outcome.enabled, true);
    await until(api, () => api.state().trainer.state === 'ready', 30_000, 'the trainer to be ready');
  });

  test('accepted via inlineSuggest.commit: episode with tokens, accepted event, then survival unchanged -> edited -> deleted', async () => {
    const editor = await openAtEnd('src/accepted.ts', 'const items = [1, 2];\nconst accepted = ');
    const id = await showSuggestion(editor);
    await new Promise((r) => setTimeout(r, 400)); // visible for longer than minDisplayMs
    await vscode.commands.executeCommand('editor.action.inlineSuggest.commit');
    const acc = await waitFor('accepted', () => decision(id, 'accepted'));
    assert.equal(acc.event.type === 'accepted' && acc.event.how, 'command');
    assert.match(editor.document.getText(), /const accepted = computeTotal\(items\);/);
    let v = await stored(id);
    assert.equal(v.outcome, 'accepted');
    assert.equal(v.suggestion, 'computeTotal(items);');
    assert.equal(v.tokenIds.length, v.logprobs.length);
    assert.ok(v.tokenIds.length > 0);
    assert.equal(v.relPath, 'src/accepted.ts');

    const first = await waitFor('first survival check', () => decisions.find((d) => d.id === id && d.event.type === 'survival'));
    assert.equal(first.event.type === 'survival' && first.event.status, 'unchanged');
    // Edit inside the accepted text: "items" -> "allItems".
    const doc = editor.document;
    const at = doc.getText().indexOf('(items)') + 1;
    await editor.edit((e) => e.replace(new vscode.Range(doc.positionAt(at), doc.positionAt(at + 5)), 'allItems'));
    const second = await waitFor('second survival check', () => decisions.filter((d) => d.id === id && d.event.type === 'survival')[1]);
    assert.equal(second.event.type === 'survival' && second.event.status, 'edited');
    assert.equal(second.event.type === 'survival' && second.event.currentText, 'computeTotal(allItems);');
    // Delete the whole line.
    await editor.edit((e) => e.delete(doc.lineAt(1).rangeIncludingLineBreak));
    const third = await waitFor('final survival check', () => decisions.filter((d) => d.id === id && d.event.type === 'survival')[2]);
    assert.equal(third.event.type === 'survival' && third.event.status, 'deleted');
    v = await stored(id);
    assert.equal(v.status, 'complete');
    assert.equal(v.survival, 'deleted');
  });

  test('a suggestion shown again from the editor cache is a new episode naming the same generation', async () => {
    // Long enough that the first showing counts as not shown when the cursor leaves (a rejection would suppress it at this spot).
    const config = vscode.workspace.getConfiguration('hindsight');
    await config.update('signals.minDisplayMs', 60_000, vscode.ConfigurationTarget.Global);
    try {
      const editor = await openAtEnd('src/cached.ts', 'const cached = ');
      const hits = api.signals.provider.stats.cacheHits;
      const first = await showSuggestion(editor);
      // The cursor leaves (while it stays, asking again continues the same episode) and comes back.
      const back = editor.selection.active;
      editor.selection = new vscode.Selection(0, 0, 0, 0);
      await waitFor('not shown', () => decision(first, 'notShown'));
      editor.selection = new vscode.Selection(back, back);
      const second = await showSuggestion(editor);
      assert.ok(api.signals.provider.stats.cacheHits > hits, 'the second came from the editor cache');
      const [a, b] = [await stored(first), await stored(second)];
      assert.ok(a.completionId, 'the episode names its generation');
      assert.equal(b.completionId, a.completionId, 'the same generation');
      assert.deepEqual([b.suggestion, b.tokenIds, b.promptTokenIds, b.adapterVersion], [a.suggestion, a.tokenIds, a.promptTokenIds, a.adapterVersion]);
    } finally {
      await config.update('signals.minDisplayMs', undefined, vscode.ConfigurationTarget.Global);
    }
  });

  test('rejected by timeout, not re-shown at the same spot, then typed-instead captured', async () => {
    const editor = await openAtEnd('src/rejected.ts', 'const rejected = ');
    const id = await showSuggestion(editor);
    const rej = await waitFor('rejected', () => decision(id, 'rejected'));
    assert.equal(rej.event.type === 'rejected' && rej.event.reason, 'timeout');
    // The ghost text stays visible after the timeout (VS Code does not hide it); once it is gone
    // (cursor moved away and back), asking again at the same spot does not bring the same suggestion back.
    const back = editor.selection.active;
    editor.selection = new vscode.Selection(0, 0, 0, 0);
    await new Promise((r) => setTimeout(r, 200));
    editor.selection = new vscode.Selection(back, back);
    const suppressed = api.signals.provider.stats.suppressedRejected;
    await vscode.commands.executeCommand('editor.action.inlineSuggest.trigger');
    await waitFor('suppressed re-show', () => api.signals.provider.stats.suppressedRejected > suppressed);
    assert.equal(api.signals.tracker.lastShown?.id, id, 'no new suggestion shown');
    await vscode.commands.executeCommand('type', { text: 'other(7);' });
    const typed = await waitFor('typed-instead', () => decision(id, 'typedInstead'));
    assert.equal(typed.event.type === 'typedInstead' && typed.event.text, 'other(7);');
    const v = await stored(id);
    assert.equal(v.outcome, 'rejected');
    assert.equal(v.status, 'complete');
  });

  test('a typed continuation is not a rejection; the rest accepted afterwards', async () => {
    const editor = await openAtEnd('src/typed.ts', 'const typed = ');
    const id = await showSuggestion(editor);
    await new Promise((r) => setTimeout(r, 300));
    await type('a');
    await new Promise((r) => setTimeout(r, 200));
    await type('b');
    // Longer than rejectAfterMs since the first display, but the developer kept typing it.
    await new Promise((r) => setTimeout(r, 900));
    await type('c');
    await new Promise((r) => setTimeout(r, 900));
    await type('d');
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(api.signals.provider.stats.continuations > 0, 'the rest was re-offered as a continuation');
    assert.equal(decision(id, 'rejected'), undefined, 'continuation counted as a rejection');
    // Make sure the rest is on screen (asks the provider again: same episode, rest of the text).
    await vscode.commands.executeCommand('editor.action.inlineSuggest.trigger');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(api.signals.tracker.lastShown?.id, id, 're-offered under the same episode');
    await vscode.commands.executeCommand('editor.action.inlineSuggest.commit');
    const acc = await waitFor('accepted', () => decision(id, 'accepted')).catch((err) => {
      throw new Error(`${err.message}\ndoc: ${JSON.stringify(editor.document.getText())}\nstats: ${JSON.stringify(api.signals.provider.stats)}\ndecisions: ${JSON.stringify(decisions.filter((d) => d.id === id))}\npending: ${api.signals.tracker.lifecycle.pendingIds().join(',')} (id ${id})`);
    });
    assert.equal(acc.event.type === 'accepted' && acc.event.acceptedText, 'abcdefgh;');
    assert.match(editor.document.getText(), /const typed = abcdefgh;/);
    assert.equal(decision(id, 'rejected'), undefined);
  });

  test('partial acceptance (accept next word) is inferred from the document change', async () => {
    const editor = await openAtEnd('src/partial.ts', 'const partial = pick(');
    const id = await showSuggestion(editor);
    await new Promise((r) => setTimeout(r, 300));
    const changes: unknown[] = [];
    const sub = vscode.workspace.onDidChangeTextDocument((e) => e.document === editor.document && changes.push({ at: Date.now(), c: e.contentChanges.map((c) => ({ o: c.rangeOffset, l: c.rangeLength, t: c.text })) }));
    await vscode.commands.executeCommand('editor.action.inlineSuggest.acceptNextWord');
    const inserted = editor.document.getText().slice('const partial = pick('.length);
    assert.ok(inserted.length > 0 && 'alpha, beta, gamma);'.startsWith(inserted) && inserted.length < 20, `accept-word inserted ${JSON.stringify(inserted)}`);
    await vscode.commands.executeCommand('editor.action.inlineSuggest.hide');
    const acc = await waitFor('partial acceptance', () => decision(id, 'accepted')).catch((err) => {
      throw new Error(`${err.message}\nchanges ${JSON.stringify(changes)}\ndecisions: ${JSON.stringify(decisions.filter((d) => d.id === id))} pending: ${api.signals.tracker.lifecycle.pendingIds()} stats ${JSON.stringify(api.signals.provider.stats)}`);
    });
    assert.equal(acc.event.type === 'accepted' && acc.event.how, 'partial');
    assert.equal(acc.event.type === 'accepted' && acc.event.acceptedText, inserted);
    sub.dispose();
    assert.equal((await stored(id)).outcome, 'partial');
  });

  test('a diagnostic in the inserted range is recorded with its message and code', async () => {
    const editor = await openAtEnd('src/diag.ts', 'const diag = ');
    const id = await showSuggestion(editor);
    await new Promise((r) => setTimeout(r, 300));
    await vscode.commands.executeCommand('editor.action.inlineSuggest.commit');
    await waitFor('accepted', () => decision(id, 'accepted'));
    const coll = vscode.languages.createDiagnosticCollection('hindsight-test');
    const line = editor.document.lineAt(0);
    const col = line.text.indexOf('undefinedThing');
    coll.set(editor.document.uri, [Object.assign(new vscode.Diagnostic(new vscode.Range(0, col, 0, col + 14), "Cannot find name 'undefinedThing'.", vscode.DiagnosticSeverity.Error), { code: 2304, source: 'hs-test' })]);
    const d = await waitFor('diagnostic event', () => decisions.find((x) => x.id === id && x.event.type === 'diagnostic' && x.event.source === 'hs-test'));
    assert.equal(d.event.type === 'diagnostic' && d.event.inRange, true);
    assert.equal(d.event.type === 'diagnostic' && d.event.code, '2304');
    const v = await stored(id);
    assert.ok(v.events.some((e) => e.type === 'diagnostic' && /undefinedThing/.test(e.message)));
    coll.dispose();
  });

  test('test outcomes: a failing and a passing test command in a terminal (shell integration: exit code, command line, output)', async function () {
    const editor = await openAtEnd('src/outcome.ts', 'const committed = ');
    const id = await showSuggestion(editor);
    await new Promise((r) => setTimeout(r, 300));
    await vscode.commands.executeCommand('editor.action.inlineSuggest.commit');
    await waitFor('accepted', () => decision(id, 'accepted'));
    fs.writeFileSync(path.join(ws(), 'fail.test.mjs'), "import test from 'node:test';\nimport assert from 'node:assert';\ntest('x', () => assert.equal(1, 2));\n");
    fs.writeFileSync(path.join(ws(), 'pass.test.mjs'), "import test from 'node:test';\ntest('x', () => {});\n");
    const terminal = vscode.window.createTerminal({ name: 'hs-test', cwd: ws() });
    terminal.show();
    const si = await new Promise<vscode.TerminalShellIntegration | undefined>((resolve) => {
      if (terminal.shellIntegration) return resolve(terminal.shellIntegration);
      const sub = vscode.window.onDidChangeTerminalShellIntegration((e) => {
        if (e.terminal === terminal) {
          sub.dispose();
          resolve(e.shellIntegration);
        }
      });
      setTimeout(() => resolve(undefined), 15_000);
    });
    if (!si) {
      terminal.dispose();
      console.log(`[signals] shell integration did not activate within 15 s (shell ${vscode.env.shell}); terminal outcomes not testable here, the task path covers the signal`);
      this.skip();
    }
    si.executeCommand(`node --test ${path.join(ws(), 'fail.test.mjs')}`);
    const fail = await waitFor('failing test outcome', () => decisions.find((x) => x.id === id && x.event.type === 'testOutcome' && x.event.source === 'terminal' && x.event.outcome === 'fail'), 30_000);
    assert.equal(fail.event.type === 'testOutcome' && fail.event.kind, 'test');
    assert.ok(fail.event.type === 'testOutcome' && fail.event.exitCode !== 0);
    assert.match((fail.event.type === 'testOutcome' && fail.event.outputExcerpt) || '', /fail|not ok|Expected/i);
    si.executeCommand(`node --test ${path.join(ws(), 'pass.test.mjs')}`);
    const pass = await waitFor('passing test outcome', () => decisions.find((x) => x.id === id && x.event.type === 'testOutcome' && x.event.source === 'terminal' && x.event.outcome === 'pass'), 30_000);
    assert.equal(pass.event.type === 'testOutcome' && pass.event.exitCode, 0);
    terminal.dispose();
  });

  test('test outcome from a task (tasks.onDidEndTaskProcess)', async () => {
    const id = api.signals.tracker.followedSpans().find((s) => s.inserted === 'keepMe(42);')?.id;
    assert.ok(id, 'accepted span from the previous test');
    fs.writeFileSync(path.join(ws(), 'fail.test.mjs'), "import test from 'node:test';\nimport assert from 'node:assert';\ntest('x', () => assert.equal(1, 2));\n");
    const task = new vscode.Task({ type: 'shell' }, vscode.TaskScope.Workspace, 'hs unit tests', 'hindsight-test', new vscode.ShellExecution('node --test fail.test.mjs', { cwd: ws() }));
    task.group = vscode.TaskGroup.Test;
    task.presentationOptions = { reveal: vscode.TaskRevealKind.Never };
    await vscode.tasks.executeTask(task);
    const ev = await waitFor('task outcome', () => decisions.find((x) => x.id === id && x.event.type === 'testOutcome' && x.event.source === 'task'), 30_000);
    assert.equal(ev.event.type === 'testOutcome' && ev.event.outcome, 'fail');
    assert.equal(ev.event.type === 'testOutcome' && ev.event.commandLine, 'node --test fail.test.mjs');
    const v = await stored(id);
    assert.ok(v.events.some((e) => e.type === 'testOutcome' && e.source === 'task'));
    // Shell integration could not tell the exit code: recorded as unknown, never as a pass.
    const ids = api.signals.attributeOutcome(api.signals.tracker, { source: 'terminal', commandLine: 'npm run build', kind: 'build', exitCode: undefined });
    assert.ok(ids.includes(id));
    const unknown = await waitFor('unknown outcome', () => decisions.find((x) => x.id === id && x.event.type === 'testOutcome' && x.event.kind === 'build'));
    assert.equal(unknown.event.type === 'testOutcome' && unknown.event.outcome, 'unknown');
    assert.equal(unknown.event.type === 'testOutcome' && unknown.event.exitCode, null);
  });

  test('commit: accepted code that reaches a git commit is recorded as committed', async () => {
    const span = api.signals.tracker.followedSpans().find((s) => s.inserted === 'keepMe(42);');
    assert.ok(span);
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === span.uri)!;
    await doc.save();
    const git = (...args: string[]) => execFileSync('git', ['-c', 'user.name=T', '-c', 'user.email=t@hindsight.invalid', ...args], { cwd: ws(), env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' } });
    git('add', 'src/outcome.ts');
    git('commit', '-q', '-m', 'outcome');
    const ev = await waitFor('commit event', () => decisions.find((x) => x.id === span.id && x.event.type === 'commit'), 20_000);
    assert.equal(ev.event.type === 'commit' && ev.event.survived, true);
    assert.equal(ev.event.type === 'commit' && ev.event.commit.length, 40);
  });

  test('"Correct this" records a directive hint on the episode at the selection, offers a corrected version and says what it did', async () => {
    const span = api.signals.tracker.followedSpans().find((s) => s.inserted === 'keepMe(42);')!;
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === span.uri)!;
    const editor = await vscode.window.showTextDocument(doc);
    editor.selection = new vscode.Selection(doc.positionAt(span.range.start), doc.positionAt(span.range.end));
    type Outcome = { recorded: boolean; episodeId?: string; corrected?: string; replaced?: boolean; message: string };
    const before = doc.getText();
    const kept = await vscode.commands.executeCommand<Outcome>('hindsight.correctThis', { directive: 'Use keepAll() here; keepMe is deprecated.', apply: false });
    assert.equal(kept.recorded, true, kept.message);
    assert.equal(kept.episodeId, span.id);
    assert.match(kept.message, /recorded your correction on the accepted suggestion at the selection/);
    assert.equal(kept.corrected, 'keepAll();', 'the model was asked again with the hint in its prompt');
    assert.equal(kept.replaced, false);
    assert.match(kept.message, /You kept your code/);
    assert.equal(doc.getText(), before, 'nothing replaced without a yes');

    const replaced = await vscode.commands.executeCommand<Outcome>('hindsight.correctThis', { directive: 'Call keepAll() instead, please.', apply: true });
    assert.equal(replaced.replaced, true, replaced.message);
    assert.match(replaced.message, /Replaced the accepted code with the corrected version/);
    assert.equal(doc.getText(), before.replace('keepMe(42);', 'keepAll();'));

    const v = await stored(span.id);
    const cs = v.events.filter((e) => e.type === 'correction');
    assert.equal(cs.length, 2);
    assert.ok(cs[0].type === 'correction' && cs[0].directive === 'Use keepAll() here; keepMe is deprecated.' && cs[0].selection === 'keepMe(42);');
  });

  test('excluded files get no suggestion and no episode', async () => {
    const editor = await openAtEnd('secrets/config.ts', 'const secret = ');
    const before = api.signals.provider.stats.skipped['excluded'] ?? 0;
    const last = api.signals.tracker.lastShown?.id;
    await vscode.commands.executeCommand('editor.action.inlineSuggest.trigger');
    await waitFor('the provider to skip the excluded file', () => (api.signals.provider.stats.skipped['excluded'] ?? 0) > before);
    assert.equal(api.signals.tracker.lastShown?.id, last);
    assert.ok(!editor.document.getText().includes('shouldNeverShow'));
    await api.signals.flush();
    const all = await api.signals.query({ limit: 1000 });
    assert.ok(!all.episodes.some((e) => e.relPath.startsWith('secrets/')));
  });

  test('languages outside hindsight.languages and huge files are skipped', async () => {
    const skipped = () => ({ ...api.signals.provider.stats.skipped });
    const before = skipped();
    await openAtEnd('notes/readme.md', 'const accepted = ');
    await vscode.commands.executeCommand('editor.action.inlineSuggest.trigger');
    await waitFor('markdown skipped', () => (skipped()['excluded'] ?? 0) > (before['excluded'] ?? 0));
    const big = '// filler line to make the file larger than one megabyte of text\n'.repeat(17_000) + 'const accepted = ';
    await openAtEnd('src/huge.ts', big);
    await vscode.commands.executeCommand('editor.action.inlineSuggest.trigger');
    await waitFor('huge file skipped', () => (skipped()['file too large'] ?? 0) > (before['file too large'] ?? 0));
    await vscode.commands.executeCommand('workbench.action.closeActiveEditor');
  });

  test('counts by outcome, export JSONL, forget', async () => {
    await api.signals.flush();
    const c = await api.signals.counts();
    assert.ok(c.counts.byOutcome.accepted >= 3, JSON.stringify(c.counts));
    assert.ok(c.counts.byOutcome.rejected >= 1);
    assert.ok(c.counts.withDiagnostics >= 1 && c.counts.committed >= 1 && c.counts.corrected >= 1);
    const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'hs-export-')), 'episodes.jsonl');
    const ex = await vscode.commands.executeCommand<{ exported: boolean; episodes: number }>('hindsight.exportEpisodes', { path: out });
    assert.equal(ex.exported, true);
    const lines = fs.readFileSync(out, 'utf8').trim().split('\n');
    assert.equal(lines.length, c.counts.total);
    assert.ok(lines.every((l) => typeof JSON.parse(l).id === 'string'));
    const f = await vscode.commands.executeCommand<{ deleted: boolean; message: string }>('hindsight.forgetWorkspaceData', { confirm: true });
    assert.equal(f.deleted, true, f.message);
    assert.equal((await api.signals.counts()).counts.total, 0);
  });
});
