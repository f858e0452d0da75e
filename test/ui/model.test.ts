// UI layer, the model and the workspace's data as a user sees them: with a generated model set,
// enabling shows "loading model" in the status bar, then "ready · <model name>", and the status
// view shows what the model is and how it runs; "Use a local model folder…" (from a keybinding
// with a folder argument, as a user could bind it) refuses a folder that is not a model with the
// reason; "Forget data…" in the status view deletes episodes, adapters and the learning state and
// says so, leaving none of them behind. Screenshots: test-results/ui-model-*.png, ui-forget.png.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import * as workbench from './workbench';
import { codeServerCli, copyDemoWorkspace, isolatedEnv, launchBrowser, newPage, removeRoot, repoRoot, startCodeServer, tempRoot, waitFor, type CodeServer } from '../../scripts/lib/codeServer';

const shots = path.join(repoRoot, 'test-results');
const vsix = process.env.HINDSIGHT_VSIX ?? path.join(repoRoot, 'hindsight.vsix');
const MODEL_NAME = 'tiny-model';
const REFUSE_KEY = 'ctrl+alt+shift+m';
let root: string;
let model: string;
let notAModel: string;
let server: CodeServer;
let browser: Browser;
let page: Page;
const consoleLines: string[] = [];

const statusItem = () => workbench.statusItem(page);
const shot = (name: string) => page.screenshot({ path: path.join(shots, `ui-${name}.png`) });
const toast = (text: string | RegExp) => workbench.toast(page, text);
const runCommand = (title: string, category?: string, key?: string) => workbench.runCommand(page, title, category, key);
const statusFrame = () => workbench.statusFrame(page);

before(async () => {
  assert.ok(fs.existsSync(vsix), `no VSIX at ${vsix}: run npm run package (or npm test, which packages it)`);
  fs.mkdirSync(shots, { recursive: true });
  root = tempRoot('ui-model');
  model = path.join(root, MODEL_NAME);
  execFileSync(process.execPath, ['--import', 'tsx', 'scripts/make-model.ts', '--preset', 'tiny', '--seed', '7', '--out', model], { cwd: repoRoot, stdio: 'ignore' });
  notAModel = path.join(root, 'not-a-model');
  fs.mkdirSync(notAModel);
  fs.writeFileSync(path.join(notAModel, 'notes.txt'), 'no model here\n');
  const env = isolatedEnv(root);
  await codeServerCli(['--extensions-dir', path.join(root, 'extensions'), '--user-data-dir', path.join(root, 'user-data'), '--install-extension', vsix], env);
  // A keybinding with a folder argument: the command's own folder check, without the file dialog.
  fs.mkdirSync(path.join(root, 'user-data', 'User'), { recursive: true });
  fs.writeFileSync(path.join(root, 'user-data', 'User', 'keybindings.json'), JSON.stringify([{ key: REFUSE_KEY, command: 'hindsight.chooseModelFolder', args: { path: notAModel } }]));
  server = await startCodeServer({ root, name: 'ui-model', userSettings: { 'hindsight.model.path': model } });
  browser = await launchBrowser();
  page = await newPage(browser);
  page.on('console', (m) => consoleLines.push(m.text()));
  const workspace = copyDemoWorkspace(path.join(root, 'workspace'));
  await page.goto(`${server.url}/?folder=${encodeURIComponent(workspace)}`, { timeout: 180_000 });
  await page.locator('.monaco-workbench').waitFor({ timeout: 180_000 });
});

after(async () => {
  await browser?.close().catch(() => undefined);
  await server?.stop();
  if (root) removeRoot(root);
});

test('enabling loads the model: "loading model" in the status bar, then "ready" with its name', { timeout: 360_000 }, async () => {
  await statusItem().waitFor({ timeout: 120_000 });
  // Every text the item shows, from now on (a tiny model loads in seconds).
  // A string, not a function: the test runner's transpiler would wrap named functions in helpers
  // the page does not have.
  await page.evaluate(`(() => {
    const texts = (window.hsTexts = []);
    const seen = () => {
      for (const el of document.querySelectorAll('.statusbar-item')) {
        const t = el.innerText.trim();
        if (t.includes('Hindsight:') && texts[texts.length - 1] !== t) texts.push(t);
      }
    };
    new MutationObserver(seen).observe(document.body, { subtree: true, childList: true, characterData: true });
    seen();
  })()`);
  await runCommand('Enable for this workspace');
  const dialog = page.locator('.monaco-dialog-box');
  await dialog.waitFor({ timeout: 60_000 });
  await dialog.locator('.monaco-button', { hasText: /^Enable$/ }).click();

  let loadingShot = false;
  await waitFor(async () => {
    const text = await statusItem().innerText();
    if (!loadingShot && /loading model/.test(text)) {
      loadingShot = true;
      await shot('model-loading');
    }
    return new RegExp(`Hindsight: ready · ${MODEL_NAME}`).test(text);
  }, 240_000, `status bar: Hindsight: ready · ${MODEL_NAME}`, 100);
  await shot('model-ready');
  const texts = (await page.evaluate('window.hsTexts')) as string[];
  assert.ok(texts.some((t) => /Hindsight: ready · loading model/.test(t)), `the status bar said it was loading: ${texts.join(' | ')}`);
  assert.ok(!texts.some((t) => /^\S*\s*Hindsight: ready$/.test(t)), `never a bare "ready": ${texts.join(' | ')}`);
});

test('the status view shows what the model is and how it runs', { timeout: 180_000 }, async () => {
  await statusItem().click();
  const view = await statusFrame();
  await waitFor(async () => /Runs on/.test(await view.locator('#state dl').innerText()), 60_000, 'the model rows');
  const rows = await view.locator('#state dl').innerText();
  assert.match(rows, new RegExp(`Model\\s+${MODEL_NAME} — \\d+M parameters, [\\d.]+ MB \\(F32\\)`));
  assert.match(rows, /Runs on\s+the CPU, served at float32; loaded in/);
  assert.deepEqual(consoleLines.filter((l) => /Content Security Policy/i.test(l)), [], 'no CSP violations');
  await shot('model-status-view');
});

test('a folder that is not a model is refused with the reason; the setting stays', { timeout: 120_000 }, async () => {
  await page.locator('.explorer-folders-view').click({ position: { x: 100, y: 300 } }); // the workbench has focus, not the webview
  await page.keyboard.press('Control+Alt+Shift+M');
  const refused = toast(/cannot use .* as a model/);
  await refused.waitFor({ timeout: 90_000 });
  const text = await refused.innerText();
  assert.match(text, /not-a-model\/config\.json: cannot read/);
  assert.match(text, /hindsight\.model\.path was not changed/);
  await shot('model-refused');
  assert.match(await statusItem().innerText(), new RegExp(`ready · ${MODEL_NAME}`));
});

test('"Forget data…" in the status view deletes the episodes, adapters and learning state and says what it deleted', { timeout: 180_000 }, async () => {
  // What trained rounds would have left in the workspace's storage folder.
  const storage = workspaceStorage();
  fs.mkdirSync(path.join(storage, 'adapters', 'v0001'), { recursive: true });
  fs.writeFileSync(path.join(storage, 'adapters', 'v0001', 'adapter_config.json'), '{}');
  fs.mkdirSync(path.join(storage, 'learn'), { recursive: true });
  fs.writeFileSync(path.join(storage, 'learn', 'state.json'), JSON.stringify({ consumed: [], skipped: {}, trained: 0, versions: {} }));

  // Earlier notifications would cover the answer in the screenshot.
  await runCommand('Notifications: Clear All Notifications', '');
  const view = await statusFrame();
  await view.locator('vscode-button', { hasText: 'Forget data…' }).click();
  const dialog = page.locator('.monaco-dialog-box');
  await dialog.waitFor({ timeout: 60_000 });
  assert.match(await dialog.innerText(), /Delete everything Hindsight derived from this workspace\?[\s\S]*adapters trained on them, and the learning state/);
  await shot('forget-question');
  await dialog.locator('.monaco-button', { hasText: /^Delete$/ }).click();
  const done = toast(/Hindsight deleted/);
  await done.waitFor({ timeout: 90_000 });
  const text = await done.innerText();
  assert.match(text, /1 trained adapter \(v1\) and the learning state/);
  assert.match(text, /No data derived from this workspace is left there/);
  await shot('forget');
  assert.deepEqual(fs.readdirSync(storage).filter((f) => f !== 'episodes'), [], `left behind: ${fs.readdirSync(storage).join(', ')}`);
});

/** The extension's storage folder for the opened workspace (under the instance's user data). */
function workspaceStorage(): string {
  const base = path.join(root, 'user-data', 'User', 'workspaceStorage');
  for (const d of fs.readdirSync(base)) {
    const dir = path.join(base, d, 'hindsight-dev.hindsight');
    if (fs.existsSync(dir)) return dir;
  }
  throw new Error(`no Hindsight storage folder under ${base}`);
}
