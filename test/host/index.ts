// The extension-host test entry in the @vscode/test-electron run() contract: loaded by the
// workbench from extensionTestsPath, it runs the suites named in HINDSIGHT_TEST_SUITES with mocha
// (TDD interface) and writes a JSON result file (HINDSIGHT_TEST_RESULTS) for the harness.
import fs from 'node:fs';
import path from 'node:path';
import Mocha from 'mocha';

export interface HostTestResult {
  title: string;
  /** 'skipped': mocha's pending (this.skip(), or a test without a body). */
  state: 'passed' | 'failed' | 'skipped';
  durationMs: number;
  error?: string;
}

export function run(): Promise<void> {
  const mocha = new Mocha({ ui: 'tdd', color: false, timeout: 60_000, reporter: 'spec' });
  if (process.env.HINDSIGHT_TEST_GREP) mocha.grep(process.env.HINDSIGHT_TEST_GREP);
  const suitesDir = path.join(__dirname, 'suites');
  const names = process.env.HINDSIGHT_TEST_SUITES
    ? process.env.HINDSIGHT_TEST_SUITES.split(',').filter(Boolean)
    : fs.readdirSync(suitesDir).filter((f) => f.endsWith('.test.js')).map((f) => f.slice(0, -'.test.js'.length));
  for (const name of names) mocha.addFile(path.join(suitesDir, `${name}.test.js`));

  const results: HostTestResult[] = [];
  const write = () => {
    const file = process.env.HINDSIGHT_TEST_RESULTS;
    if (file) fs.writeFileSync(file, JSON.stringify(results, null, 2));
  };
  return new Promise((resolve, reject) => {
    try {
      const runner = mocha.run((failures) => {
        write();
        if (failures > 0) reject(new Error(`${failures} extension-host test(s) failed`));
        else resolve();
      });
      runner.on('pass', (t) => results.push({ title: t.fullTitle(), state: 'passed', durationMs: t.duration ?? 0 }));
      runner.on('fail', (t, err: Error) => results.push({ title: t.fullTitle(), state: 'failed', durationMs: t.duration ?? 0, error: err?.stack ?? String(err) }));
      runner.on('pending', (t) => results.push({ title: t.fullTitle(), state: 'skipped', durationMs: 0 }));
    } catch (err) {
      results.push({ title: 'loading suites', state: 'failed', durationMs: 0, error: err instanceof Error ? err.stack : String(err) });
      write();
      reject(err);
    }
  });
}
