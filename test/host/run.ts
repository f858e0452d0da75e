// Runs the extension-host layer: for each run in ./runs, a private code-server opens the workspace
// with the payload route (extensionDevelopmentPath = this repository, extensionTestsPath =
// dist-test/index.js), chromium loads it, and the workbench reports the end through
// codeAutomationExit. Expects `node scripts/build.mjs --tests` first (scripts/test.mjs does it).
// Usage: node --import tsx test/host/run.ts [--run NAME] [--grep PATTERN]
// Prints one line per test and a final JSON line {"passed":N,"failed":N,"skipped":N} for scripts/test.mjs.
import fs from 'node:fs';
import { NO_BUNDLED_MODEL_ENV } from '../../src/model/defaultModel';
import path from 'node:path';
import type { HostTestResult } from './index';
import { launchBrowser, newPage, removeRoot, repoRoot, startCodeServer, tempRoot } from '../../scripts/lib/codeServer';
import { demoWorkspace, runs, unlistedSuites, type HostRun } from './runs';

const argv = process.argv.slice(2);
const opt = (name: string) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const only = opt('--run');
const grep = opt('--grep');

async function runOne(run: HostRun): Promise<HostTestResult[]> {
  const root = tempRoot(`host-${run.name}`);
  const workspace = (run.workspace ?? demoWorkspace)(root);
  const resultsFile = path.join(root, 'results.json');
  const started = Date.now();
  const server = await startCodeServer({
    root,
    name: run.name,
    trusted: run.trusted ?? true,
    userSettings: run.settings,
    env: {
      HINDSIGHT_TEST_RESULTS: resultsFile,
      HINDSIGHT_TEST_SUITES: run.suites.join(','),
      HINDSIGHT_TEST_WORKSPACE: workspace,
      // Runs load the bundled starter model only when they say so (a model makes every run slower).
      ...(run.bundledModel ? {} : { [NO_BUNDLED_MODEL_ENV]: '1' }),
      ...(grep ? { HINDSIGHT_TEST_GREP: grep } : {}),
    },
  });
  const browser = await launchBrowser();
  const logs: string[] = [];
  try {
    const page = await newPage(browser);
    // The workbench calls window.codeAutomationExit(code) when the tests end (DESIGN.md §4). A
    // console marker carries it out: exposeFunction bindings break in the workbench's iframes.
    await page.addInitScript(() => {
      const w = window as unknown as Record<string, unknown>;
      w.codeAutomationLog = (type: string, args: unknown[]) => console.log(`[${type}]`, ...args);
      w.codeAutomationExit = (code: number) => console.log(`__hindsight_exit__${code}`);
    });
    const exit = new Promise<number>((resolve) => {
      page.on('console', (msg) => {
        const text = msg.text();
        const m = /^__hindsight_exit__(-?\d+)$/.exec(text);
        if (m) resolve(Number(m[1]));
        else logs.push(`[${msg.type()}] ${text}`);
      });
    });
    page.on('pageerror', (err) => logs.push(`[pageerror] ${err.message}`));
    const remote = (p: string) => `vscode-remote://${server.authority}${p}`;
    const payload = JSON.stringify([
      ['extensionDevelopmentPath', remote(repoRoot)],
      ['extensionTestsPath', remote(path.join(repoRoot, 'dist-test/index.js'))],
    ]);
    await page.goto(`${server.url}/?folder=${encodeURIComponent(workspace)}&payload=${encodeURIComponent(payload)}`);
    const timeoutMs = run.timeoutMs ?? 180_000;
    const code = await Promise.race([exit, new Promise<number>((r) => setTimeout(() => r(-1), timeoutMs))]);
    const results: HostTestResult[] = fs.existsSync(resultsFile) ? JSON.parse(fs.readFileSync(resultsFile, 'utf8')) : [];
    if (code === -1) results.push({ title: `${run.name}: run timed out after ${timeoutMs} ms`, state: 'failed', durationMs: timeoutMs });
    else if (code !== 0 && !results.some((r) => r.state === 'failed')) {
      results.push({ title: `${run.name}: extension host exited with code ${code} without a failing test`, state: 'failed', durationMs: 0 });
    } else if (results.length === 0 && !grep) {
      // With --grep an empty run is expected; without it, a run that ran nothing is a failure.
      results.push({ title: `${run.name}: no tests ran (suites: ${run.suites.join(', ')})`, state: 'failed', durationMs: 0 });
    }
    if (results.some((r) => r.state === 'failed')) {
      const log = [...logs, '--- code-server ---', server.output()].join('\n');
      fs.mkdirSync(path.join(repoRoot, 'test-results'), { recursive: true });
      fs.writeFileSync(path.join(repoRoot, 'test-results', `host-${run.name}.log`), log);
    }
    console.log(`[host] run ${run.name}: ${results.length} tests in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    return results.map((r) => ({ ...r, title: `${run.name} › ${r.title}` }));
  } finally {
    await browser.close().catch(() => undefined);
    await server.stop();
    removeRoot(root);
  }
}

async function main() {
  const missing = unlistedSuites(path.join(repoRoot, 'test/host/suites'));
  if (missing.length) console.log(`[host] warning: suites not listed in test/host/runs.ts: ${missing.join(', ')}`);
  const selected = runs.filter((r) => !only || r.name === only);
  if (selected.length === 0) throw new Error(`no run named ${only}; runs: ${runs.map((r) => r.name).join(', ')}`);
  const all: HostTestResult[] = [];
  for (const run of selected) {
    try {
      all.push(...(await runOne(run)));
    } catch (err) {
      all.push({ title: `${run.name}: harness error`, state: 'failed', durationMs: 0, error: err instanceof Error ? err.stack : String(err) });
    }
  }
  for (const r of all) {
    console.log(`${r.state === 'passed' ? '  ✔' : r.state === 'skipped' ? '  ↷' : '  ✘'} ${r.title}${r.state === 'skipped' ? ' (skipped)' : ` (${r.durationMs} ms)`}`);
    if (r.error) console.log(r.error.split('\n').map((l) => `      ${l}`).join('\n'));
  }
  const count = (state: HostTestResult['state']) => all.filter((r) => r.state === state).length;
  console.log(JSON.stringify({ passed: count('passed'), failed: count('failed'), skipped: count('skipped') }));
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    console.log(JSON.stringify({ passed: 0, failed: 1, skipped: 0 }));
    process.exit(1);
  },
);
