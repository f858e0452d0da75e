// The one test runner: lint (eslint ., eslint.config.mjs: import boundaries), types (tsc --noEmit over
// the tree), unit (node:test over test/unit), extension
// host (real VS Code = code-server + chromium, test/host), UI (the packaged .vsix driven through the browser, test/ui). Ends with one
// plain line `N passed, N failed, N skipped` summing all layers (each skipped test is listed above it:
// a skip is a test that did not run, not a pass); exits non-zero on any failure or timeout.
// Each layer runs in its own process group, killed when it ends; processes that carry this run's
// marker and survived are killed too. Everything temporary lives in one temp folder, removed at the end.
// Usage: node scripts/test.mjs [--only lint|types|unit|host|ui[,..]] [--grep PATTERN] [--run HOSTRUN] [--files PATH-PREFIX]
//        [--unit-dir DIR]  (unit tests from another folder; the runner's own test uses a fixture)
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const opt = (name) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const layers = (opt('--only') ?? 'lint,types,unit,host,ui').split(',');
const grep = opt('--grep');
const hostRun = opt('--run');
const filesPrefix = opt('--files');

const marker = `hindsight-test-${process.pid}-${Date.now()}`;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'hindsight-test-'));
const results = path.join(root, 'test-results');
fs.mkdirSync(results, { recursive: true });
const env = {
  ...process.env,
  HINDSIGHT_TEST_RUN: marker,
  TMPDIR: tmp,
  // The npm registry is the only network we need, and not even that during tests.
  NO_UPDATE_NOTIFIER: '1',
};

/** Runs a command in its own process group; resolves {code, out}. Kills the group on timeout and at the end. */
function runLayer(name, cmd, args, timeoutMs, { quiet = false } = {}) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(cmd, args, { cwd: root, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const onData = (d) => {
      out += d;
      if (!quiet) process.stdout.write(d);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      console.log(`\n[test] ${name}: timed out after ${timeoutMs / 1000} s, killing it`);
      killGroup(child.pid);
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      killGroup(child.pid);
      // Detached grandchildren (code-server's group, the browser) carry the marker: end them too.
      killStragglers();
      resolve({ code: timedOut ? 124 : code ?? (signal ? 128 : 1), out, timedOut, seconds: (Date.now() - started) / 1000 });
    });
  });
}

function killGroup(pid) {
  try {
    process.kill(-pid, 'SIGKILL');
  } catch {
    /* already gone */
  }
}

/** Kills processes that still carry this run's marker (e.g. a browser that detached from its group). */
function killStragglers() {
  let killed = 0;
  for (const pid of fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    if (Number(pid) === process.pid) continue;
    try {
      if (fs.readFileSync(`/proc/${pid}/environ`, 'latin1').includes(`HINDSIGHT_TEST_RUN=${marker}`)) {
        process.kill(Number(pid), 'SIGKILL');
        killed++;
      }
    } catch {
      /* gone, or not ours to read */
    }
  }
  return killed;
}

function findTests(dir, suffix) {
  const out = [];
  const walk = (d) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith(suffix)) out.push(path.relative(root, p));
    }
  };
  if (fs.existsSync(dir)) walk(dir);
  return out.sort();
}

/** Counts from node:test's TAP summary; a crash with no summary counts as one failure. Skipped: see tapSkipped. */
function tapCounts(out, code) {
  const num = (k) => Number((out.match(new RegExp(`^# ${k} (\\d+)$`, 'm')) ?? [])[1] ?? NaN);
  const pass = num('pass');
  const fail = num('fail') + (num('cancelled') || 0);
  const skipped = tapSkipped(out).length;
  if (Number.isNaN(pass) || Number.isNaN(fail)) return { passed: 0, failed: 1, skipped };
  return { passed: pass, failed: fail === 0 && code !== 0 ? 1 : fail, skipped };
}

/**
 * Tests (nested ones included) marked `# SKIP` or `# TODO` in the TAP output, as "name (reason)".
 * Tests left out by --grep (node's "test name does not match pattern") were not asked for: not counted.
 */
function tapSkipped(out) {
  const skipped = [];
  for (const line of out.split('\n')) {
    const m = /^\s*(?:not )?ok \d+ - (.*) # (SKIP|TODO)\b ?(.*)$/.exec(line);
    if (m && m[3] !== 'test name does not match pattern') skipped.push(`${m[1]} (${m[2].toLowerCase()}${m[3] ? `: ${m[3]}` : ''})`);
  }
  return skipped;
}

/** node --test with the TAP reporter: full TAP goes to test-results/<name>.tap, failures to the console. */
async function nodeTestLayer(name, files, timeoutMs) {
  if (files.length === 0) return { passed: 0, failed: 0, skipped: 0 };
  console.log(`[test] ${name}: ${files.length} files`);
  const args = ['--import', 'tsx', '--test', '--test-reporter=tap', ...(grep ? ['--test-name-pattern', grep] : []), ...files];
  const r = await runLayer(name, process.execPath, args, timeoutMs, { quiet: true });
  fs.writeFileSync(path.join(results, `${name}.tap`), r.out);
  printTapFailures(r.out);
  for (const s of tapSkipped(r.out)) console.log(`  ↷ skipped: ${s}`);
  const counts = tapCounts(r.out, r.code); // a timeout (code 124) leaves no summary: counted as a failure
  console.log(`[test] ${name}: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped in ${r.seconds.toFixed(1)} s (TAP: test-results/${name}.tap)`);
  return counts;
}

function printTapFailures(out) {
  const lines = out.split('\n');
  lines.forEach((line, i) => {
    if (/^\s*not ok \d+/.test(line)) {
      console.log(`  ✘ ${line.trim()}`);
      for (let j = i + 1; j < Math.min(lines.length, i + 30) && !/^\s*(ok|not ok) \d+/.test(lines[j]); j++) {
        if (/error:|expected:|actual:|at |code:|failureType|message/.test(lines[j])) console.log(`      ${lines[j].trim()}`);
      }
    }
  });
}

function step(name, cmd, args) {
  console.log(`[test] ${name}`);
  const r = spawnSync(cmd, args, { cwd: root, env, stdio: 'inherit' });
  return r.status === 0;
}

const totals = { passed: 0, failed: 0, skipped: 0 };
const add = (c) => {
  totals.passed += c.passed;
  totals.failed += c.failed;
  totals.skipped += c.skipped ?? 0;
};
const t0 = Date.now();

try {
  if (layers.includes('lint')) {
    // ESLint over the tree (eslint.config.mjs: the import boundaries between src/, src/common, server/,
    // protocol/ and webview-ui/): one test. Its findings print above the line.
    const r = await runLayer('lint', process.execPath, ['node_modules/eslint/bin/eslint.js', '.'], 3 * 60_000);
    console.log(`[test] lint: eslint . ${r.code === 0 ? 'passed' : 'failed'} in ${r.seconds.toFixed(1)} s`);
    add(r.code === 0 ? { passed: 1, failed: 0 } : { passed: 0, failed: 1 });
  }

  if (layers.includes('types')) {
    // The whole tree (src, server, protocol, tests, benches) typechecks: one test.
    const r = await runLayer('types', process.execPath, ['node_modules/typescript/bin/tsc', '-p', '.', '--noEmit'], 3 * 60_000);
    console.log(`[test] types: tsc --noEmit ${r.code === 0 ? 'passed' : 'failed'} in ${r.seconds.toFixed(1)} s`);
    add(r.code === 0 ? { passed: 1, failed: 0 } : { passed: 0, failed: 1 });
  }

  if (layers.includes('unit')) {
    const files = findTests(path.join(root, opt('--unit-dir') ?? 'test/unit'), '.test.ts').filter((f) => !filesPrefix || f.startsWith(filesPrefix));
    // A guard against a hung run, not a speed test: a loaded 2-core machine takes several times the ≈ 3 min.
    add(await nodeTestLayer('unit', files, 20 * 60_000));
  }

  if (layers.includes('host')) {
    if (!step('build (development + tests)', process.execPath, ['scripts/build.mjs', '--tests'])) add({ passed: 0, failed: 1 });
    else {
      const r = await runLayer('host', process.execPath, ['--import', 'tsx', 'test/host/run.ts', ...(hostRun ? ['--run', hostRun] : []), ...(grep ? ['--grep', grep] : [])], 8 * 60_000);
      const last = r.out.trim().split('\n').reverse().find((l) => l.startsWith('{"passed"'));
      const counts = { skipped: 0, ...(last ? JSON.parse(last) : { passed: 0, failed: 1 }) };
      if (r.timedOut || (r.code !== 0 && counts.failed === 0)) counts.failed += 1;
      console.log(`[test] host: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped in ${r.seconds.toFixed(1)} s`);
      add(counts);
    }
  }

  if (layers.includes('ui')) {
    // The UI layer installs the packaged VSIX, as a user would; it is packaged into the temp folder.
    const vsix = path.join(tmp, 'hindsight.vsix');
    if (!step('package the .vsix', process.execPath, ['scripts/package.mjs', '--out', vsix])) add({ passed: 0, failed: 1 });
    else {
      env.HINDSIGHT_VSIX = vsix;
      add(await nodeTestLayer('ui', findTests(path.join(root, 'test/ui'), '.test.ts'), 8 * 60_000));
    }
  }
} finally {
  const stragglers = killStragglers();
  if (stragglers) console.log(`[test] killed ${stragglers} leftover process(es)`);
  fs.rmSync(tmp, { recursive: true, force: true });
}

console.log(`[test] total ${((Date.now() - t0) / 1000).toFixed(1)} s`);
console.log(`${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(totals.failed > 0 ? 1 : 0);
