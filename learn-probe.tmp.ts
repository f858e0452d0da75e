import { LearnEngine } from './server/learn/engine';
import { tinyModel, tempDir, acceptedView, rejectedView, prompt } from './test/unit/learn/fixtures';
import { judge } from './server/judge/judge';
import { DEFAULT_SETTINGS } from './server/learn/schedule';
(async () => {
  let t = Date.now();
  const m = tinyModel('probe');
  console.log('make', Date.now() - t); t = Date.now();
  const eng = await LearnEngine.create(m.dir, { adaptersDir: tempDir('ad') });
  console.log('engine', Date.now() - t); t = Date.now();
  const good = 'sum(items)', bad = 'items[0]';
  const ctx = prompt(m.tok);
  const base = await eng.scoreUnder(undefined, [{ context: ctx, response: m.tok.encode(good) }, { context: ctx, response: m.tok.encode(bad) }]);
  console.log('score', Date.now() - t, base.map(r => r.reduce((a, b) => a + b, 0))); t = Date.now();
  const views = [];
  for (let i = 0; i < 3; i++) { views.push(acceptedView(m.tok, good, base[0])); views.push(rejectedView(m.tok, bad, process.env.HINT ?? '', base[1])); }
  const items = views.map(v => ({ view: v, judgement: judge(v), staleness: 0 }));
  const r = await eng.round({ items, heldOut: [], serving: 0, settings: { ...DEFAULT_SETTINGS, learningRate: Number(process.env.LR), maxDrift: 10 } }, (p) => console.log(JSON.stringify(p)));
  console.log('round', Date.now() - t, JSON.stringify(r.report));
  const after = await eng.scoreUnder(r.adapter?.tensors, [{ context: ctx, response: m.tok.encode(good) }, { context: ctx, response: m.tok.encode(bad) }]);
  console.log(after.map(r => r.reduce((a, b) => a + b, 0)));
})();
