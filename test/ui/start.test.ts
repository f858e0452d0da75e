// UI layer, `npm start` run twice: what it hands over to (scripts/start-server.ts) is started in a
// temp folder, a user changes two settings in the Settings UI — one of its own (editor.fontSize)
// and one npm start writes (workbench.tips.enabled, ticked back to its default, which removes the
// key) — and after a second start both are still the user's, on disk and in the Settings UI. Screenshots: test-results/ui-settings-*.png.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { freePort, launchBrowser, newPage, removeRoot, repoRoot, tempRoot, waitFor } from '../../scripts/lib/codeServer';

const shots = path.join(repoRoot, 'test-results');
const vsix = process.env.HINDSIGHT_VSIX ?? path.join(repoRoot, 'hindsight.vsix');
let root: string;
let browser: Browser;
let page: Page;
let server: { child: ChildProcess; output: () => string; url: string } | undefined;

const shot = (name: string) => page.screenshot({ path: path.join(shots, `ui-${name}.png`) });
const settingsFile = () => path.join(root, 'start', 'user-data', 'User', 'settings.json');
const onDisk = () => JSON.parse(fs.readFileSync(settingsFile(), 'utf8')) as Record<string, unknown>;

before(async () => {
  assert.ok(fs.existsSync(vsix), `no VSIX at ${vsix}: run npm run package (or npm test, which packages it)`);
  fs.mkdirSync(shots, { recursive: true });
  root = tempRoot('ui-start');
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close().catch(() => undefined);
  await stopStart();
  if (root) removeRoot(root);
});

test('the first start writes its own settings and opens the demo workspace', { timeout: 180_000 }, async () => {
  await startStart();
  const s = onDisk();
  assert.equal(s['workbench.tips.enabled'], false);
  assert.equal(s['git.enabled'], true);
  await openWorkbench();
});

test('settings changed in the Settings UI survive a second start', { timeout: 300_000 }, async () => {
  await setInSettingsUi('editor.fontSize', async (row) => {
    const input = row.locator('input').first();
    await input.fill('17');
    await input.press('Tab');
  });
  await setInSettingsUi('workbench.tips.enabled', async (row) => row.locator('.setting-value-checkbox').first().click());
  await shot('settings-changed');
  // Ticking it sets the default (true), which the Settings UI writes by removing the key.
  await waitFor(() => onDisk()['editor.fontSize'] === 17 && !('workbench.tips.enabled' in onDisk()), 30_000, 'both settings written by the Settings UI').catch((e) => {
    throw new Error(`${e.message}; settings.json: ${fs.readFileSync(settingsFile(), 'utf8')}`);
  });

  await stopStart();
  await startStart();
  assert.match(server!.output(), /kept your values of workbench\.tips\.enabled/);
  const s = onDisk();
  assert.equal(s['editor.fontSize'], 17, 'the user\'s own key is kept');
  assert.ok(!('workbench.tips.enabled' in s), 'npm start\'s key the user reset to its default is not written back');
  assert.equal(s['git.enabled'], true, 'npm start\'s other keys are still written');

  await openWorkbench();
  assert.equal(await (await settingsRow('workbench.tips.enabled')).locator('.setting-value-checkbox').first().getAttribute('aria-checked'), 'true');
  const row = await settingsRow('editor.fontSize');
  assert.equal(await row.locator('input').first().inputValue(), '17');
  await shot('settings-kept');
});

/** scripts/start-server.ts (what `npm start` runs after packaging) in <root>/start on a free port. */
async function startStart() {
  const port = await freePort();
  const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/start-server.ts'], {
    cwd: repoRoot,
    env: { ...process.env, PORT: String(port), HINDSIGHT_START_DIR: path.join(root, 'start'), HINDSIGHT_VSIX: vsix },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  server = { child, output: () => out, url: '' };
  await waitFor(() => {
    if (child.exitCode !== null) throw new Error(`start-server exited (${child.exitCode}):\n${out}`);
    return /Hindsight is ready: open (\S+)/.test(out);
  }, 150_000, 'start-server: "Hindsight is ready"');
  server.url = /Hindsight is ready: open (\S+)/.exec(out)![1];
}

/** SIGTERM, as Ctrl+C would: start-server stops code-server and exits. */
async function stopStart() {
  const s = server;
  server = undefined;
  if (!s || s.child.exitCode !== null) return;
  const exited = new Promise((r) => s.child.once('exit', r));
  s.child.kill('SIGTERM');
  await Promise.race([exited, new Promise((r) => setTimeout(r, 15_000))]);
  if (s.child.exitCode === null) s.child.kill('SIGKILL');
}

async function openWorkbench() {
  await page?.close().catch(() => undefined);
  page = await newPage(browser);
  await page.goto(server!.url, { timeout: 120_000 });
  await page.locator('.monaco-workbench').waitFor({ timeout: 120_000 });
  await page.locator('.statusbar-item', { hasText: 'Hindsight:' }).first().waitFor({ timeout: 90_000 });
}

/** The Settings UI (Preferences: Open Settings (UI)) filtered to one setting; returns its row. */
async function settingsRow(key: string) {
  await page.locator('.monaco-workbench').click({ position: { x: 600, y: 400 } });
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ timeout: 30_000 });
  await input.fill('>Preferences: Open User Settings');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Preferences: Open User Settings', hasNotText: 'JSON' }).first().click({ timeout: 30_000 });
  // The search box is a small editor: its text layer takes the click (force), which focuses it.
  const search = page.locator('.settings-editor .settings-header .suggest-input-container .monaco-editor').first();
  await search.waitFor({ timeout: 30_000 });
  await search.click({ force: true });
  await page.keyboard.press('Control+A');
  await page.keyboard.type(key);
  const row = page.locator('.settings-editor .setting-item', { has: page.locator('.setting-item-label', { hasText: labelOf(key) }) }).first();
  await row.waitFor({ timeout: 30_000 });
  return row;
}

async function setInSettingsUi(key: string, change: (row: Awaited<ReturnType<typeof settingsRow>>) => Promise<unknown>) {
  await change(await settingsRow(key));
}

/** The Settings UI's title for a key: its last part, words split and capitalised (fontSize → Font Size). */
function labelOf(key: string): string {
  const last = key.split('.').pop()!;
  return last.replace(/([a-z])([A-Z])/g, '$1 $2').replace(/^./, (c) => c.toUpperCase());
}
