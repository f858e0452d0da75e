// UI layer, a training round as a user runs and stops it: with the bundled Hindsight Starter, a
// suggestion typed for and accepted with Tab settles into an episode; "Train now" in the status
// view starts a round that shows its step and time left; "Cancel round" stops it, the user is told
// nothing changed, and its episode still waits for the next round.
// Screenshots: test-results/ui-round-*.png.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import * as workbench from './workbench';
import { codeServerCli, copyDemoWorkspace, isolatedEnv, launchBrowser, newPage, removeRoot, repoRoot, startCodeServer, tempRoot, waitFor, type CodeServer } from '../../scripts/lib/codeServer';

const shots = path.join(repoRoot, 'test-results');
const vsix = process.env.HINDSIGHT_VSIX ?? path.join(repoRoot, 'hindsight.vsix');
let root: string;
let server: CodeServer;
let browser: Browser;
let page: Page;

const statusItem = () => workbench.statusItem(page);
const shot = (name: string) => page.screenshot({ path: path.join(shots, `ui-${name}.png`) });
const toast = (text: string | RegExp) => workbench.toast(page, text);
const runCommand = (title: string, category?: string, key?: string) => workbench.runCommand(page, title, category, key);
const statusFrame = () => workbench.statusFrame(page);

before(async () => {
  assert.ok(fs.existsSync(vsix), `no VSIX at ${vsix}: run npm run package (or npm test, which packages it)`);
  fs.mkdirSync(shots, { recursive: true });
  root = tempRoot('ui-round');
  const env = isolatedEnv(root);
  await codeServerCli(['--extensions-dir', path.join(root, 'extensions'), '--user-data-dir', path.join(root, 'user-data'), '--install-extension', vsix], env);
  server = await startCodeServer({
    root,
    name: 'ui-round',
    userSettings: {
      // Rounds only when asked, long enough to cancel, from a single episode.
      'hindsight.training.schedule': 'manual',
      'hindsight.training.stepsPerRound': 100,
      'hindsight.training.minEpisodes': 1,
      // Short signal windows, so the accepted suggestion settles in seconds.
      'hindsight.completions.debounceMs': 30,
      'hindsight.signals.acceptGraceMs': 300,
      'hindsight.signals.survivalCheckpointsMs': [1000],
      // The text is typed exactly as written; IntelliSense cannot cover the ghost text.
      'editor.autoIndent': 'none',
      'editor.autoClosingBrackets': 'never',
      'editor.quickSuggestions': { other: false, comments: false, strings: false },
      'editor.suggestOnTriggerCharacters': false,
    },
  });
  browser = await launchBrowser();
  page = await newPage(browser);
  const workspace = copyDemoWorkspace(path.join(root, 'workspace'));
  await page.goto(`${server.url}/?folder=${encodeURIComponent(workspace)}`, { timeout: 120_000 });
  await page.locator('.monaco-workbench').waitFor({ timeout: 120_000 });
});

after(async () => {
  await browser?.close().catch(() => undefined);
  await server?.stop();
  if (root) removeRoot(root);
});

test('a suggestion accepted with Tab settles into an episode waiting for a round', { timeout: 240_000 }, async () => {
  await statusItem().waitFor({ timeout: 120_000 });
  await runCommand('Enable for this workspace');
  const dialog = page.locator('.monaco-dialog-box');
  await dialog.waitFor({ timeout: 60_000 });
  await dialog.locator('.monaco-button', { hasText: /^Enable$/ }).click();
  await waitFor(async () => /Hindsight: ready · (?!loading)/.test(await statusItem().innerText()), 150_000, 'status bar: ready with the model loaded', 250);

  await runCommand('inventory.ts', '', 'Control+P');
  await page.locator('.monaco-editor .view-lines').first().click();
  await page.keyboard.press('Control+End');
  // A whole interface, the cursor then put back after "name:": accepted, it compiles (an error
  // diagnostic in the inserted code would count against the suggestion).
  await page.keyboard.type('\n\nexport interface Part {\n  sku: string;\n  name:\n}\n');
  await page.keyboard.press('ArrowUp');
  await page.keyboard.press('ArrowUp');
  await page.keyboard.press('End');
  await page.keyboard.type(' ');
  const ghost = page.locator('.monaco-editor .ghost-text-decoration').first();
  await ghost.waitFor({ timeout: 60_000 });
  await shot('round-suggestion');
  await page.keyboard.press('Tab');
  await waitFor(async () => (await ghost.count()) === 0, 10_000, 'the ghost text accepted');

  await statusItem().click();
  const view = await statusFrame();
  await waitFor(async () => waitingForRound(await view.locator('#learning dl').innerText()) >= 1, 120_000, 'an episode waiting for a round').catch(async (e) => {
    throw new Error(`${e.message}; the status view: ${await view.locator('#episodes dl').innerText()} | ${await view.locator('#learning dl').innerText()}`);
  });
});

test('"Train now" in the status view shows the round\'s progress; "Cancel round" stops it and nothing changes', { timeout: 420_000 }, async () => {
  await runCommand('Notifications: Clear All Notifications', ''); // so the answer is in front in the screenshot
  const view = await statusFrame();
  const waiting = waitingForRound(await view.locator('#learning dl').innerText());
  await view.locator('vscode-button', { hasText: 'Train now' }).click();
  // The section's description counts the steps: "training 3/100".
  // (a property of the vscode-collapsible, not reflected to an attribute)
  const progress = () => view.locator('#learning').evaluate((e) => (e as HTMLElement & { description: string }).description);
  // Training runs at the lowest priority: on a loaded machine its first step may take minutes.
  await waitFor(async () => /training [1-9]\d*\/100/.test((await progress()) ?? ''), 300_000, 'the round past its first step').catch(async (e) => {
    throw new Error(`${e.message}; the status view: ${await progress()} | ${await view.locator('#learning dl').innerText()}`);
  });
  await waitFor(async () => /step \d+ of 100, about .* left/.test(await page.locator('.notifications-toasts').innerText()), 30_000, 'the notification: step and time left');
  await shot('round-training');

  await view.locator('vscode-button', { hasText: 'Cancel round' }).click();
  const cancelled = toast(/training round .* was cancelled; nothing changed/);
  await cancelled.waitFor({ timeout: 60_000 });
  assert.match(await cancelled.innerText(), /episodes wait for the next round/);
  await waitFor(async () => (await progress()) === 'idle', 30_000, 'the loop idle again');
  await waitFor(async () => !/step \d+ of 100/.test(await page.locator('.notifications-toasts').innerText()), 30_000, 'the progress notification closed');
  const learning = await view.locator('#learning dl').innerText();
  assert.equal(waitingForRound(learning), waiting, `its episodes still wait: ${learning}`);
  await page.waitForTimeout(600); // the toast slides in
  await shot('round-cancelled');
});

/** The "waiting for a round" badge of the Learning section's Episodes row. */
function waitingForRound(text: string): number {
  const m = /waiting for a round\s*(\d+)/.exec(text);
  return m ? Number(m[1]) : 0;
}
