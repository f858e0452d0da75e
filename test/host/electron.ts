// The same extension-host runs (./runs) in desktop VS Code via @vscode/test-electron, for machines
// that can download VS Code (this workplace cannot: use scripts/test.mjs, which runs them in
// code-server). Usage: npm run test:electron [-- --run NAME] [--grep PATTERN]
import fs from 'node:fs';
import path from 'node:path';
import { runTests } from '@vscode/test-electron';
import { baseUserSettings, repoRoot, tempRoot, untrustedSettings, writeUserSettings } from '../../scripts/lib/codeServer';
import type { HostTestResult } from './index';
import { demoWorkspace, runs } from './runs';

const argv = process.argv.slice(2);
const opt = (name: string) => (argv.includes(name) ? argv[argv.indexOf(name) + 1] : undefined);

async function main() {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for (const run of runs.filter((r) => !opt('--run') || r.name === opt('--run'))) {
    const root = tempRoot(`electron-${run.name}`);
    const workspace = (run.workspace ?? demoWorkspace)(root);
    const userDataDir = path.join(root, 'user-data');
    const trusted = run.trusted ?? true;
    writeUserSettings(userDataDir, {
      ...baseUserSettings,
      ...(trusted ? {} : untrustedSettings),
      ...run.settings,
    });
    const resultsFile = path.join(root, 'results.json');
    try {
      await runTests({
        version: '1.100.3',
        extensionDevelopmentPath: repoRoot,
        extensionTestsPath: path.join(repoRoot, 'dist-test/index.js'),
        launchArgs: [workspace, '--user-data-dir', userDataDir, '--extensions-dir', path.join(root, 'extensions'), '--disable-extensions', ...(trusted ? ['--disable-workspace-trust'] : [])],
        extensionTestsEnv: {
          HINDSIGHT_TEST_RESULTS: resultsFile,
          HINDSIGHT_TEST_SUITES: run.suites.join(','),
          HINDSIGHT_TEST_WORKSPACE: workspace,
          ...(opt('--grep') ? { HINDSIGHT_TEST_GREP: opt('--grep')! } : {}),
        },
      });
    } catch (err) {
      console.log(`[electron] run ${run.name}: ${err instanceof Error ? err.message : String(err)}`);
    }
    const results: HostTestResult[] = fs.existsSync(resultsFile) ? JSON.parse(fs.readFileSync(resultsFile, 'utf8')) : [];
    if (results.length === 0) results.push({ title: 'no results', state: 'failed', durationMs: 0 });
    for (const r of results) console.log(`${r.state === 'passed' ? '  ✔' : r.state === 'skipped' ? '  ↷' : '  ✘'} ${run.name} › ${r.title}${r.error ? `\n${r.error}` : ''}`);
    passed += results.filter((r) => r.state === 'passed').length;
    failed += results.filter((r) => r.state === 'failed').length;
    skipped += results.filter((r) => r.state === 'skipped').length;
    fs.rmSync(root, { recursive: true, force: true });
  }
  console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);
  process.exit(failed ? 1 : 0);
}

void main();
