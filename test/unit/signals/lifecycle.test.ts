import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SuggestionLifecycle, type Decision } from '../../../src/common/suggestionLifecycle';
import { DEFAULT_SIGNALS } from '../../../src/common/signalsConfig';
import type { TextChange } from '../../../src/common/offsetTracker';

const U = 'file:///w/a.ts';

// A tiny document model so tick() can read text the way the host does.
class Doc {
  constructor(public text: string) {}
  edit(offset: number, len: number, text: string): TextChange[] {
    this.text = this.text.slice(0, offset) + text + this.text.slice(offset + len);
    return [{ rangeOffset: offset, rangeLength: len, text }];
  }
}
const types = (ds: Decision[]) => ds.map((d) => d.event.type);

test('accept via command, then survival checkpoints: unchanged, edited, deleted, final', () => {
  const lc = new SuggestionLifecycle(DEFAULT_SIGNALS);
  const doc = new Doc('const x = \n');
  lc.shown({ id: 'e1', uri: U, offset: 10, text: 'compute(1, 2);' }, 0);
  // VS Code inserts the text, then runs the item's command.
  lc.change(U, doc.edit(10, 0, 'compute(1, 2);'), 500);
  const acc = lc.accept('e1', 500);
  assert.deepEqual(acc.map((d) => d.event.type === 'accepted' && d.event.how), ['command']);
  assert.deepEqual(lc.tick(2000, () => doc.text), [], 'decided once');
  const span = lc.span('e1')!;
  assert.equal(doc.text.slice(span.range.start, span.range.end), 'compute(1, 2);');

  const textOf = () => doc.text;
  assert.deepEqual(types(lc.tick(10_000, textOf)), []);
  let s = lc.tick(15_500, textOf);
  assert.equal(s.length, 1);
  assert.equal(s[0].event.type === 'survival' && s[0].event.status, 'unchanged');
  lc.change(U, doc.edit(0, 0, '// header\n'), 16_000); // moves it
  lc.change(U, doc.edit(10 + 10 + 8, 4, '10, 20'), 17_000); // edits inside: "compute(10, 20);"
  s = lc.tick(30_500, textOf);
  assert.equal(s[0].event.type, 'survival');
  if (s[0].event.type === 'survival') {
    assert.equal(s[0].event.status, 'edited');
    assert.equal(s[0].event.currentText, 'compute(10, 20);');
  }
  doc.text = '// header\nconst x = \n';
  s = lc.tick(700_000, textOf); // the remaining three checkpoints at once
  assert.deepEqual(s.map((d) => d.event.type === 'survival' && d.event.status), ['deleted', 'deleted', 'deleted']);
  assert.equal(s[2].event.type === 'survival' && s[2].event.final, true);
  assert.equal(lc.liveSpans().length, 0);
});

test('rejected after the timeout, then typed-instead read at the spot', () => {
  const lc = new SuggestionLifecycle(DEFAULT_SIGNALS);
  const doc = new Doc('let y = ;');
  lc.shown({ id: 'r1', uri: U, offset: 8, text: 'makeThing()' }, 0);
  assert.deepEqual(lc.tick(9_999, () => doc.text), []);
  const d = lc.tick(10_000, () => doc.text);
  assert.deepEqual(types(d), ['rejected']);
  assert.equal(d[0].event.type === 'rejected' && d[0].event.reason, 'timeout');
  lc.change(U, doc.edit(8, 0, 'o'), 12_000);
  lc.change(U, doc.edit(9, 0, 'ther(3)'), 13_000);
  lc.change(U, doc.edit(0, 0, '\n\n'), 14_000); // edit above moves the spot
  assert.deepEqual(lc.tick(39_000, () => doc.text), []);
  const t = lc.tick(40_000, () => doc.text);
  assert.equal(t[0].event.type, 'typedInstead');
  assert.equal(t[0].event.type === 'typedInstead' && t[0].event.text, 'other(3)');
});

test('a typed continuation is not a rejection; typing all of it is an acceptance', () => {
  const lc = new SuggestionLifecycle(DEFAULT_SIGNALS);
  const doc = new Doc('x = ');
  lc.shown({ id: 'c1', uri: U, offset: 4, text: 'abc' }, 0);
  assert.deepEqual(lc.change(U, doc.edit(4, 0, 'a'), 8_000), []);
  assert.deepEqual(lc.continuationOf(U, 5), { id: 'c1', rest: 'bc' });
  lc.shown({ id: 'c1', uri: U, offset: 5, text: 'bc' }, 8_000);
  assert.deepEqual(lc.tick(12_000, () => doc.text), [], 'deadline moved by the continuation');
  lc.change(U, doc.edit(5, 0, 'b'), 12_500);
  assert.deepEqual(lc.change(U, doc.edit(6, 0, 'c'), 13_000), []);
  const d = lc.tick(14_000, () => doc.text);
  assert.deepEqual(types(d), ['accepted']);
  assert.equal(d[0].event.type === 'accepted' && d[0].event.how, 'typed');
});

test('diverging typing rejects; a display under 250 ms is not counted', () => {
  const lc = new SuggestionLifecycle(DEFAULT_SIGNALS);
  const doc = new Doc('x = ');
  lc.shown({ id: 'q', uri: U, offset: 4, text: 'abc' }, 0);
  const quick = lc.change(U, doc.edit(4, 0, 'z'), 100);
  assert.deepEqual(types(quick), ['notShown']);
  lc.shown({ id: 'r', uri: U, offset: 5, text: 'abc' }, 1000);
  const d = lc.change(U, doc.edit(5, 0, 'q'), 2000);
  assert.deepEqual(types(d), ['rejected']);
  assert.equal(d[0].event.type === 'rejected' && d[0].event.reason, 'diverged');
  const t = lc.tick(2000 + DEFAULT_SIGNALS.typedInsteadAfterMs, () => doc.text);
  assert.equal(t[0].event.type === 'typedInstead' && t[0].event.text, 'q');
});

test('partial acceptance (accept-word chunks), cursor moving away, superseded, closed', () => {
  const lc = new SuggestionLifecycle(DEFAULT_SIGNALS);
  const doc = new Doc('f(');
  lc.shown({ id: 'p', uri: U, offset: 2, text: 'alpha, beta)' }, 0);
  lc.change(U, doc.edit(2, 0, 'alpha, '), 1000); // Ctrl+Right
  const d = lc.tick(11_000, () => doc.text);
  assert.deepEqual(types(d), ['accepted']);
  if (d[0].event.type === 'accepted') {
    assert.equal(d[0].event.how, 'partial');
    assert.equal(d[0].event.acceptedText, 'alpha, ');
  }

  lc.shown({ id: 'm', uri: U, offset: 9, text: 'zzz' }, 20_000);
  assert.deepEqual(types(lc.cursorMoved(U, 9, 20_100)), []);
  assert.deepEqual(types(lc.cursorMoved(U, 0, 21_000)), ['rejected']);

  lc.shown({ id: 's1', uri: U, offset: 9, text: 'one' }, 30_000);
  const sup = lc.shown({ id: 's2', uri: U, offset: 9, text: 'two' }, 31_000);
  assert.deepEqual(sup.map((x) => [x.id, x.event.type]), [['s1', 'rejected']]);
  const closed = lc.closed(U, 32_000);
  assert.ok(closed.some((x) => x.id === 's2' && x.event.type === 'rejected'));
  assert.ok(closed.some((x) => x.id === 'p' && x.event.type === 'closed'), 'accepted span no longer followed');
});

test('a late accept after the timeout still counts (ghost text stays on screen) and cancels typed-instead', () => {
  const lc = new SuggestionLifecycle(DEFAULT_SIGNALS);
  const doc = new Doc('x = ');
  lc.shown({ id: 'late', uri: U, offset: 4, text: 'abc' }, 0);
  assert.deepEqual(types(lc.tick(10_000, () => doc.text)), ['rejected']);
  lc.change(U, doc.edit(4, 0, 'abc'), 12_000);
  const d = lc.accept('late', 12_000);
  assert.deepEqual(types(d), ['accepted']);
  assert.deepEqual(types(lc.tick(60_000, () => doc.text)).filter((t) => t === 'typedInstead'), []);
  assert.deepEqual(lc.accept('late', 12_500), [], 'once');
});

test('accepting a word of a timed-out suggestion (still on screen) revives it: partial, no typed-instead', () => {
  const lc = new SuggestionLifecycle(DEFAULT_SIGNALS);
  const doc = new Doc('f(');
  lc.shown({ id: 'rv', uri: U, offset: 2, text: 'alpha, beta)' }, 0);
  assert.deepEqual(types(lc.tick(10_000, () => doc.text)), ['rejected']);
  lc.change(U, doc.edit(0, 0, '// x\n'), 10_500); // an edit above moves the spot
  assert.deepEqual(lc.change(U, doc.edit(7, 0, 'alpha'), 11_000), []);
  const d = lc.tick(21_000, () => doc.text);
  assert.deepEqual(types(d), ['accepted']);
  assert.equal(d[0].event.type === 'accepted' && d[0].event.how, 'partial');
  assert.equal(d[0].event.type === 'accepted' && d[0].event.start, 7);
  assert.deepEqual(types(lc.tick(60_000, () => doc.text)).filter((t) => t === 'typedInstead'), []);
});

test('nextDue reports the earliest timer', () => {
  const lc = new SuggestionLifecycle({ ...DEFAULT_SIGNALS, rejectAfterMs: 1000 });
  assert.equal(lc.nextDue(), undefined);
  lc.shown({ id: 'n', uri: U, offset: 0, text: 'a' }, 5000);
  assert.equal(lc.nextDue(), 6000);
});

test('clear (the workspace data was deleted): nothing pending or accepted is followed, no decision follows', () => {
  const lc = new SuggestionLifecycle(DEFAULT_SIGNALS);
  const doc = new Doc('const x = \n');
  lc.shown({ id: 'p', uri: U, offset: 10, text: 'pending();' }, 0);
  lc.shown({ id: 'a', uri: 'file:///w/b.ts', offset: 0, text: 'accepted();' }, 0);
  lc.accept('a', 100);
  lc.clear();
  assert.equal(lc.liveSpans().length, 0);
  assert.equal(lc.continuationOf(U, 10), undefined);
  assert.deepEqual(lc.tick(1_000_000, () => doc.text), []);
  assert.deepEqual(lc.accept('p', 1_000_001), []);
  assert.equal(lc.nextDue(), undefined);
});
