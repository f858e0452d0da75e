// UI layer: the packaged .vsix installed into code-server as a user would, driven through the
// browser: "Hindsight: Enable for this workspace" from the command palette, accept the consent
// dialog, see the status bar turn ready, open the status view (the vscode-elements dashboard, with
// no CSP violation; light and dark theme), survive a killed trainer.
// Screenshots go to test-results/ui-*.png. Needs HINDSIGHT_VSIX (scripts/test.mjs packages it).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Frame, Page } from 'playwright-core';
import {
  codeServerCli,
  copyDemoWorkspace,
  isolatedEnv,
  launchBrowser,
  newPage,
  removeRoot,
  repoRoot,
  startCodeServer,
  tempRoot,
  waitFor,
  type CodeServer,
} from '../../scripts/lib/codeServer';

const shots = path.join(repoRoot, 'test-results');
const vsix = process.env.HINDSIGHT_VSIX ?? path.join(repoRoot, 'hindsight.vsix');
let root: string;
let server: CodeServer;
let browser: Browser;
let page: Page;
/** Console lines of every frame (webviews included): CSP violations show up here. */
const consoleLines: string[] = [];

const statusItem = () => page.locator('.statusbar-item', { hasText: 'Hindsight:' }).first();
const shot = (name: string) => page.screenshot({ path: path.join(shots, `ui-${name}.png`) });

before(async () => {
  assert.ok(fs.existsSync(vsix), `no VSIX at ${vsix}: run npm run package (or npm test, which packages it)`);
  fs.mkdirSync(shots, { recursive: true });
  root = tempRoot('ui');
  const env = isolatedEnv(root);
  await codeServerCli(['--extensions-dir', path.join(root, 'extensions'), '--user-data-dir', path.join(root, 'user-data'), '--install-extension', vsix], env);
  server = await startCodeServer({ root, name: 'ui' });
  browser = await launchBrowser();
  page = await newPage(browser);
  page.on('console', (m) => consoleLines.push(m.text()));
  const workspace = copyDemoWorkspace(path.join(root, 'workspace'));
  await page.goto(`${server.url}/?folder=${encodeURIComponent(workspace)}`);
  await page.locator('.monaco-workbench').waitFor({ timeout: 60_000 });
});

after(async () => {
  await browser?.close().catch(() => undefined);
  await server?.stop();
  if (root) removeRoot(root);
});

test('the installed extension shows "Hindsight: off" in the status bar', { timeout: 60_000 }, async () => {
  await statusItem().waitFor({ timeout: 45_000 });
  assert.match((await statusItem().innerText()).trim(), /Hindsight: off/);
});

test('enable from the command palette, accept the consent, status bar turns ready', { timeout: 90_000 }, async () => {
  await page.locator('.monaco-workbench').click({ position: { x: 600, y: 400 } });
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.waitFor({ timeout: 15_000 });
  await input.fill('>Hindsight: Enable for this workspace');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Enable for this workspace' }).first().waitFor({ timeout: 15_000 });
  await page.keyboard.press('Enter');

  const dialog = page.locator('.monaco-dialog-box');
  await dialog.waitFor({ timeout: 15_000 });
  const text = await dialog.innerText();
  assert.match(text, /Enable Hindsight for this workspace\?/);
  assert.match(text, /Nothing leaves this machine/);
  await shot('consent');
  await dialog.locator('.monaco-button', { hasText: /^Enable$/ }).click();

  await waitFor(async () => /Hindsight: ready/.test(await statusItem().innerText()), 45_000, 'status bar: Hindsight: ready');
  await shot('enabled');
});

test('clicking the status bar item opens the status view', { timeout: 90_000 }, async () => {
  await statusItem().click();
  // The webview renders inside nested iframes; find the frame holding our page.
  let view: Frame | undefined;
  await waitFor(async () => {
    for (const f of page.frames()) {
      const h = await f.locator('h1[data-state]').first().textContent({ timeout: 100 }).catch(() => null);
      if (h && /Hindsight: ready/.test(h)) view = f;
    }
    return view !== undefined;
  }, 30_000, 'status view showing "Hindsight: ready"');
  // The dashboard's vscode-elements components are defined and rendered their shadow DOM.
  const rendered = await view!.evaluate(() => ({
    buttons: Array.from(document.querySelectorAll('vscode-button')).filter((b) => b.shadowRoot?.childElementCount).map((b) => b.textContent?.trim()),
    sections: Array.from(document.querySelectorAll('vscode-collapsible')).filter((c) => c.shadowRoot?.querySelector('.collapsible-header')).map((c) => c.id),
    episodes: document.querySelector('#episodes dl')?.textContent ?? '',
  }));
  assert.deepEqual(rendered.sections, ['state', 'episodes', 'learning']);
  assert.ok(rendered.buttons.includes('Disable for this workspace') && rendered.buttons.includes('Train now'), `buttons: ${rendered.buttons.join(', ')}`);
  assert.match(rendered.episodes, /By outcome.*accepted/);
  assert.deepEqual(consoleLines.filter((l) => /Content Security Policy/i.test(l)), [], 'no CSP violations');
  await shot('status-view');

  // The same view in a dark theme, then back (the later screenshots keep the default theme).
  await pickColorTheme('Dark Modern');
  await waitFor(async () => (await view!.evaluate(() => document.body.classList.contains('vscode-dark')).catch(() => false)), 15_000, 'webview in the dark theme');
  await shot('status-view-dark');
  await pickColorTheme('Light Modern');
});

test('killing the trainer process is survived and the status bar says so', { timeout: 90_000 }, async () => {
  const pid = trainerPid(path.join(root, 'extensions'));
  assert.ok(pid, 'trainer process found');
  process.kill(pid, 'SIGKILL');
  await waitFor(async () => /Hindsight: ready \(restarted\)/.test(await statusItem().innerText()), 45_000, 'status bar: ready (restarted)');
  const again = trainerPid(path.join(root, 'extensions'));
  assert.ok(again && again !== pid, `a new trainer process (was ${pid}, now ${again})`);
  await shot('restarted');
});

/** "Preferences: Color Theme" from the command palette, then the theme whose label matches. */
async function pickColorTheme(label: string) {
  await page.locator('.explorer-folders-view').click({ position: { x: 100, y: 300 } }); // focus the workbench, not the webview
  await page.keyboard.press('F1');
  const input = page.locator('.quick-input-widget input');
  await input.fill('>Preferences: Color Theme');
  await page.locator('.quick-input-list .monaco-list-row', { hasText: 'Preferences: Color Theme', hasNotText: 'Browse' }).first().click({ timeout: 15_000 });
  await input.fill(label);
  await page.locator('.quick-input-list .monaco-list-row', { hasText: label }).first().click({ timeout: 15_000 });
  await page.locator('.quick-input-widget').waitFor({ state: 'hidden', timeout: 15_000 });
}

/** The pid of the dist/server.js process running from the installed extension. */
function trainerPid(extensionsDir: string): number | undefined {
  for (const p of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const cmd = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0');
      if (cmd.some((a) => a.startsWith(extensionsDir) && a.endsWith(path.join('dist', 'server.js')))) return Number(p);
    } catch {
      /* exited meanwhile */
    }
  }
  return undefined;
}
