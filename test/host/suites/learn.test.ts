// The learning loop in a real editor: a generated tiny model serves real suggestions, two are
// accepted and rewritten by the developer (random weights write junk), so they settle at their
// short survival checkpoint with the developer's text as target; "Hindsight: Train now" runs a round in the
// trainer's learn worker, the promoted adapter version shows in the learning status and in the
// trainer status, the next suggestion is stored with that adapterVersion, "Export adapter for
// llama.cpp / Ollama…" writes it as GGUF files, and "Roll back adapter" returns serving to the base
// model. A long round is cancelled (nothing kept, its episodes wait);
// "Forget this workspace's data" leaves no adapter or learning state and the editor sends nothing
// more for the forgotten episodes. The model state is ready with the model's name; a folder that is
// not a model is refused with the reason. Settings: the `learn` run in test/host/runs.ts.
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as vscode from 'vscode';
import type { learn } from '../../../protocol';
import { hindsight, openAtEnd, typeUntilSuggestion, until, withGeneratedModel } from '../helpers';
import type { HindsightApi } from '../../../src/extension';
import { readGgufInfo } from '../../../server/export/gguf';

/**
 * Types until a suggestion shows, accepts it, and replaces the inserted text with `rewrite` (what
 * the developer wanted instead); returns the episode id once the acceptance is recorded.
 */
async function acceptAndRewrite(api: HindsightApi, decisions: { id: string; event: { type: string } }[] | undefined, rewrite: string): Promise<string> {
  const id = await typeUntilSuggestion(api);
  await new Promise((r) => setTimeout(r, 300));
  await vscode.commands.executeCommand('editor.action.inlineSuggest.commit');
  if (decisions) await until(api, () => decisions.find((d) => d.id === id && d.event.type === 'accepted'), 10_000, 'accepted');
  await api.signals.flush();
  const text = (await api.signals.query({ id })).episodes[0]?.suggestion ?? '';
  const editor = vscode.window.activeTextEditor!;
  const doc = editor.document;
  const at = doc.getText().lastIndexOf(text);
  assert.ok(text && at >= 0, `the accepted text ${JSON.stringify(text)} is in the document`);
  await editor.edit((e) => e.replace(new vscode.Range(doc.positionAt(at), doc.positionAt(at + text.length)), rewrite));
  const end = doc.positionAt(at + rewrite.length);
  editor.selection = new vscode.Selection(end, end);
  return id;
}

suite('learning loop with a generated tiny model', function () {
  this.timeout(150_000);

  test('train now promotes an adapter that serving uses at once; roll back returns to the base model', async () => {
    const { api, decisions, ws } = await withGeneratedModel();
    // The run's hindsight.training.schedule ('manual') reaches the trainer with the other settings.
    await until(api, () => api.learn.status()?.state === 'idle' && api.learn.status()?.schedule === 'manual', 60_000, 'the learning loop with the run\'s settings');

    await openAtEnd(ws, 'src/learn.ts', 'export function add(a: number, b: number) {\n  return ');

    // Two accepted suggestions the developer rewrites at once: at their (1 s) checkpoint they
    // settle with the developer's text as target.
    for (let i = 0; i < 2; i++) await acceptAndRewrite(api, decisions, ' a + b;');
    await api.signals.flush();
    await until(api, () => (api.learn.status()?.pending ?? 0) >= 2, 30_000, 'two settled episodes pending');

    // The status bar shows 'training' while the round runs (the trainer state), then 'ready' again.
    const labels: string[] = [];
    const sub = api.onDidChangeState(() => labels.push(api.state().statusBar.label));
    const r = await vscode.commands.executeCommand<learn.TrainNowResult>('hindsight.trainNow');
    assert.equal(r?.started, true, JSON.stringify(r));
    assert.equal(r!.report!.outcome, 'promoted', JSON.stringify(r!.report));
    const version = r!.report!.version!;
    assert.ok(version >= 1);
    const s = await until(api, () => api.learn.status()?.serving === version && api.learn.status(), 10_000, `serving v${version}`);
    assert.ok(s.versions.some((v) => v.version === version && v.valid));
    assert.equal(s.lastPromotion?.version, version);
    assert.ok(s.trained >= 2);
    assert.equal((await api.trainerStatus()).adapterVersion, version);
    await until(api, () => api.state().statusBar.label === 'ready', 10_000, 'ready after training');
    sub.dispose();
    assert.ok(labels.includes('training'), `status bar labels during the round: ${labels.join(', ')}`);

    // The next suggestion comes from the new adapter and is recorded with its version.
    const after = await typeUntilSuggestion(api);
    await api.signals.flush();
    const ep = (await api.signals.query({ id: after })).episodes[0];
    assert.equal(ep.adapterVersion, version);

    // "Export adapter for llama.cpp / Ollama…": the serving version as a GGUF LoRA and the base model it applies to.
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'hs-export-'));
    const exported = await vscode.commands.executeCommand<learn.ExportGgufResult>('hindsight.exportGguf', { destDir: out, kind: 'adapter' });
    assert.equal(exported?.version, version);
    const lora = readGgufInfo(exported.files.find((f) => f.path.endsWith(`-hindsight-v${version}-lora.gguf`))!.path);
    assert.equal(lora.metadata.get('adapter.type'), 'lora');
    assert.ok(lora.tensors.some((t) => t.name === 'blk.0.attn_q.weight.lora_a'), lora.tensors.map((t) => t.name).slice(0, 4).join(', '));
    const baseFile = readGgufInfo(exported.files.find((f) => f.path.endsWith('-f16.gguf'))!.path);
    assert.equal(baseFile.metadata.get('general.architecture'), 'qwen2');
    fs.rmSync(out, { recursive: true, force: true });

    const back = await vscode.commands.executeCommand<learn.RollbackResult>('hindsight.rollbackAdapter', { version: 0 });
    assert.deepEqual(back, { from: version, to: 0 });
    await until(api, () => api.learn.status()?.serving === 0, 10_000, 'serving the base model again');
    assert.equal((await api.trainerStatus()).adapterVersion, 0);
  });

  test('the model state says ready with the model\'s name; a folder that is not a model is refused and the setting kept', async () => {
    const api = await hindsight();
    const status = await api.trainerStatus();
    assert.equal(status.model.kind, 'ready', JSON.stringify(status.model));
    const model = vscode.workspace.getConfiguration('hindsight').get<string>('model.path')!;
    assert.ok(status.model.kind === 'ready' && status.model.facts.name === path.basename(model) && status.model.device === 'cpu');
    assert.match(api.state().statusBar.text, new RegExp(`Hindsight: ready · ${path.basename(model)}$`));
    assert.match(api.state().statusBar.tooltip, /parameters, .* on the CPU; loaded in/);
    // Generated files went to the extension's global storage, not into the model folder.
    assert.deepEqual(fs.readdirSync(model).filter((f) => f.endsWith('.onnx')), []);

    const ws = vscode.workspace.workspaceFolders![0].uri.fsPath;
    const refused = await vscode.commands.executeCommand<{ ok: boolean; message: string }>('hindsight.chooseModelFolder', { path: ws });
    assert.equal(refused.ok, false);
    assert.match(refused.message, /cannot use .* as a model: .*config\.json: cannot read.* hindsight\.model\.path was not changed/);
    assert.equal(vscode.workspace.getConfiguration('hindsight').get<string>('model.path'), model);
    const same = await vscode.commands.executeCommand<{ ok: boolean; message: string }>('hindsight.chooseModelFolder', { path: model });
    assert.equal(same.ok, true, same.message);
    assert.match(same.message, /already uses .*qwen2/);
  });

  test('a long round is cancelled: nothing kept, its episodes wait; Forget then leaves no adapter or learning state', async () => {
    const api = await hindsight();
    const ws = vscode.workspace.workspaceFolders![0].uri.fsPath;
    await openAtEnd(ws, 'src/cancel.ts', 'export function mul(a: number, b: number) {\n  return ');
    for (let i = 0; i < 2; i++) await acceptAndRewrite(api, undefined, ' a * b;');
    await api.signals.flush();
    await until(api, () => (api.learn.status()?.pending ?? 0) >= 2, 30_000, 'two settled episodes pending');
    const pending = api.learn.status()!.pending;
    await vscode.workspace.getConfiguration('hindsight.training').update('stepsPerRound', 100, vscode.ConfigurationTarget.Global);
    await until(api, () => api.learn.status()?.state === 'idle', 10_000, 'the new settings');
    const round = vscode.commands.executeCommand<learn.TrainNowResult>('hindsight.trainNow');
    const running = await until(api, () => { const s = api.learn.status(); return s?.state === 'training' && (s.step ?? 0) >= 1 && s; }, 60_000, 'a step of the round');
    assert.ok(running.etaMs !== undefined, `time left while it runs: ${JSON.stringify(running)}`);
    const c = await vscode.commands.executeCommand<learn.CancelResult>('hindsight.cancelTraining');
    assert.equal(c.cancelled, true);
    const r = await round;
    assert.equal(r?.report?.outcome, 'cancelled', JSON.stringify(r));
    const after = await until(api, () => api.learn.status()?.state === 'idle' && api.learn.status(), 10_000, 'idle after the cancel');
    assert.equal(after.pending, pending, 'its episodes wait for the next round');
    assert.equal(after.serving, 0);
    await vscode.workspace.getConfiguration('hindsight.training').update('stepsPerRound', undefined, vscode.ConfigurationTarget.Global);

    // Forget: episodes, adapters (v1 from the first test) and the learning state all go.
    const f = await vscode.commands.executeCommand<{ deleted: boolean; message: string; tally: { versions: number[]; state: boolean; folder: string } }>('hindsight.forgetWorkspaceData', { confirm: true });
    assert.equal(f.deleted, true, f.message);
    assert.ok(f.tally.versions.length >= 1 && f.tally.state, JSON.stringify(f.tally));
    assert.match(f.message, /trained adapters? \(v1.*\) and the learning state/);
    assert.ok(!fs.existsSync(path.join(f.tally.folder, 'adapters')) && !fs.existsSync(path.join(f.tally.folder, 'learn')), fs.readdirSync(f.tally.folder).join(', '));
    assert.deepEqual(api.signals.tracker.followedSpans(), [], 'the editor follows no forgotten suggestion');
    const s = await until(api, () => { const st = api.learn.status(); return st?.state === 'idle' && st.versions.length === 1 && st; }, 30_000, 'the loop restarted with only the base model');
    assert.deepEqual(s.versions.map((v) => v.version), [0]);
    assert.equal((await api.signals.counts()).counts.total, 0);
    assert.equal((await api.trainerStatus()).adapterVersion, 0);
  });
});
