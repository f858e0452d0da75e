// bench:felt — the latency a developer feels, in a real VS Code (code-server, chromium): the
// packaged extension with a model (default: generated at Qwen2.5-Coder-0.5B's geometry, random
// weights), the product's own settings (adaptive debounce, generation cap, serving threads).
// It enables the workspace and times the first load until the status bar says the model is
// ready, then types lines at a steady pace and times the last keystroke → ghost text on screen,
// both stamps taken in the page (a keydown listener and a MutationObserver). The first suggestion
// after the load is "cold"; the rest "warm". Not a test: prints a table, then one JSON line.
// Usage: npm run bench:felt [-- --preset tiny|qwen2.5-coder-0.5b | --model DIR] [--trials N] [--keyDelay MS] [--settle S]
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Page } from 'playwright-core';
import { codeServerCli, isolatedEnv, launchBrowser, newPage, removeRoot, repoRoot, startCodeServer, tempRoot, waitFor } from '../scripts/lib/codeServer';
import { runCommand, statusItem } from '../test/ui/workbench';
import { generateModel } from './generatedModel';

const argv = process.argv.slice(2);
const arg = (k: string) => (argv.includes(`--${k}`) ? argv[argv.indexOf(`--${k}`) + 1] : undefined);
const preset = arg('preset') ?? 'qwen2.5-coder-0.5b';
const trials = Number(arg('trials') ?? 12);
const keyDelay = Number(arg('keyDelay') ?? 60);
/** Seconds to wait after the model is ready before the first trial (0: type at once, as a newcomer would). */
const settle = Number(arg('settle') ?? 0);
const log = (s: string) => process.stderr.write(`${s}\n`);

/** Line starts typed one after the other, each on a new line; the pause after the last key is measured. */
const LINES = [
  'const total = ',
  'function add(a: number, b: number) {\n  return ',
  'export const names = items.map((item) => ',
  'let count = 0;\nfor (const item of items) {\n  count += ',
  'const label = `${item.name}: ',
  'if (items.length === 0) {\n  throw new Error(',
  'const byName = new Map(items.map((i) => [',
  'export function isEmpty(list: unknown[]): boolean {\n  return ',
  'const first = items[0]?.',
  'console.log(',
  'const sorted = [...items].sort((a, b) => ',
  'export const VERSION = ',
];

/** Stamps in the page: the last keydown, and the first ghost text after it (a string: tsx's helpers do not exist in the page). */
async function installStamps(page: Page) {
  await page.evaluate(`(() => {
    const felt = (window.__felt = { key: 0, ghost: 0 });
    document.addEventListener('keydown', () => { felt.key = performance.now(); felt.ghost = 0; }, true);
    new MutationObserver(() => {
      if (!felt.ghost && document.querySelector('.monaco-editor .ghost-text-decoration, .monaco-editor .ghost-text')) felt.ghost = performance.now();
    }).observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ['class'] });
  })()`);
}

async function main() {
  const root = tempRoot('bench-felt');
  try {
    log(`bench:felt on ${os.cpus()[0]?.model ?? 'cpu'}, ${os.availableParallelism()} cores, load average ${os.loadavg()[0].toFixed(1)}`);
    const vsix = process.env.HINDSIGHT_VSIX ?? path.join(root, 'hindsight.vsix');
    if (!process.env.HINDSIGHT_VSIX) execFileSync(process.execPath, [path.join(repoRoot, 'scripts/package.mjs'), '--out', vsix], { stdio: 'ignore' });
    let model = arg('model');
    if (!model) {
      model = path.join(root, preset);
      generateModel(preset, model);
    }
    const env = isolatedEnv(root);
    await codeServerCli(['--extensions-dir', path.join(root, 'extensions'), '--user-data-dir', path.join(root, 'user-data'), '--install-extension', vsix], env);
    const server = await startCodeServer({
      root,
      name: 'bench-felt',
      userSettings: {
        'hindsight.model.path': model,
        'hindsight.training.schedule': 'off',
        // What is typed stays as typed, and IntelliSense does not cover the ghost text.
        'editor.autoIndent': 'none',
        'editor.autoClosingBrackets': 'never',
        'editor.autoClosingQuotes': 'never',
        'editor.quickSuggestions': { other: false, comments: false, strings: false },
        'editor.suggestOnTriggerCharacters': false,
        'editor.parameterHints.enabled': false,
      },
    });
    const browser = await launchBrowser();
    try {
      const page = await newPage(browser);
      const workspace = path.join(root, 'workspace');
      fs.mkdirSync(path.join(workspace, 'src'), { recursive: true });
      fs.writeFileSync(path.join(workspace, 'src', 'items.ts'), 'export interface Item {\n  name: string;\n  price: number;\n}\n\nexport const items: Item[] = [];\n');
      await page.goto(`${server.url}/?folder=${encodeURIComponent(workspace)}`, { timeout: 120_000 });
      await page.locator('.monaco-workbench').waitFor({ timeout: 120_000 });
      await statusItem(page).waitFor({ timeout: 120_000 });

      // First load: from "Enable" to the status bar's model name.
      await runCommand(page, 'Enable for this workspace');
      const dialog = page.locator('.monaco-dialog-box');
      await dialog.waitFor({ timeout: 60_000 });
      const t0 = Date.now();
      await dialog.locator('.monaco-button', { hasText: /^Enable$/ }).click();
      await waitFor(async () => /Hindsight: ready · (?!loading|no model|model failed)/.test(await statusItem(page).innerText()), 600_000, 'the model loaded', 250);
      const loadMs = Date.now() - t0;
      log(`first load (enable → model ready): ${(loadMs / 1000).toFixed(1)} s`);
      if (settle > 0) await page.waitForTimeout(settle * 1000);

      await runCommand(page, 'items.ts', '', 'Control+P');
      await page.locator('.monaco-editor .view-lines').first().click();
      await page.keyboard.press('Control+End');
      await installStamps(page);
      const times: (number | null)[] = [];
      for (let i = 0; i < trials; i++) {
        await page.keyboard.press('Escape');
        await page.keyboard.press('Control+End');
        await page.keyboard.press('Enter');
        await page.keyboard.type(LINES[i % LINES.length], { delay: keyDelay });
        const ghost = page.locator('.monaco-editor .ghost-text-decoration').first();
        const shown = await ghost.waitFor({ timeout: 20_000 }).then(() => true, () => false);
        const felt = (await page.evaluate('window.__felt')) as { key: number; ghost: number };
        const ms = shown && felt.ghost ? felt.ghost - felt.key : null;
        times.push(ms);
        log(`  ${i === 0 ? 'cold' : 'warm'} ${JSON.stringify(LINES[i % LINES.length])}: ${ms === null ? 'no suggestion within 20 s' : `${ms.toFixed(0)} ms`}`);
      }
      const warm = times.slice(1).filter((x): x is number => x !== null).sort((a, b) => a - b);
      const pct = (p: number) => (warm.length ? warm[Math.min(warm.length - 1, Math.floor(p * warm.length))] : NaN);
      const r = (x: number | null) => (x === null || Number.isNaN(x) ? null : Math.round(x));
      console.log(`model ${path.basename(model)}: first load ${(loadMs / 1000).toFixed(1)} s; cold ${times[0] === null ? '—' : `${r(times[0])} ms`}; warm p50 ${r(pct(0.5))} ms, p90 ${r(pct(0.9))} ms (${warm.length} of ${trials - 1} showed a suggestion)`);
      console.log(JSON.stringify({ bench: 'felt', model: path.basename(model), cores: os.availableParallelism(), load_avg: Math.round(os.loadavg()[0] * 10) / 10, key_delay_ms: keyDelay, settle_s: settle, first_load_ms: loadMs, cold_ms: r(times[0]), warm_p50_ms: r(pct(0.5)), warm_p90_ms: r(pct(0.9)), warm_shown: warm.length, warm_trials: trials - 1 }));
    } finally {
      await browser.close().catch(() => undefined);
      await server.stop();
    }
  } finally {
    removeRoot(root);
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
