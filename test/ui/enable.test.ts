// UI layer: the packaged .vsix installed into code-server as a user would, driven through the
// browser: "Hindsight: Enable for this workspace" from the command palette, accept the consent
// dialog, see the status bar turn ready, open the status view, survive a killed trainer.
// Screenshots go to test-results/ui-*.png. Needs HINDSIGHT_VSIX (scripts/test.mjs packages it).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
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

test('clicking the status bar item opens the status view', { timeout: 60_000 }, async () => {
  await statusItem().click();
  // The webview renders inside nested iframes; find the frame holding our page.
  await waitFor(async () => {
    for (const f of page.frames()) {
      const h = await f.locator('h1[data-state]').first().textContent({ timeout: 100 }).catch(() => null);
      if (h && /Hindsight: ready/.test(h)) return true;
    }
    return false;
  }, 30_000, 'status view showing "Hindsight: ready"');
  await shot('status-view');
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
