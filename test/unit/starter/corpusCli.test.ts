// The corpus stage end to end (`npm run starter:corpus`), offline, on a fixture: three local npm
// packages packed with `npm pack` into a temporary cache (one GPL-licensed, so dropped; one file
// minified; one file an exact copy of another package's) and a tiny stand-in for the Python standard
// library, given to the CLI with --cache, --manifest and --sources so neither the real cache nor the
// committed manifest is touched. Checks what train/heldout hold, the manifest's lines, and --check.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { gunzipSync } from 'node:zlib';

const root = path.resolve(__dirname, '..', '..', '..');
const COMMITTED_MANIFEST = path.join(root, 'scripts', 'starter', 'corpus-manifest.jsonl.gz');

const sha256 = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');

/** Writes `files` (relative path -> text) under `dir`. */
function writeTree(dir: string, files: Record<string, string>): void {
  for (const [rel, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(dir, rel), text);
  }
}

const CLAMP = `'use strict';

/** Clamps a number into the closed range [lo, hi]. */
function clamp(value, lo, hi) {
  if (value < lo) return lo;
  if (value > hi) return hi;
  return value;
}

module.exports = { clamp };
`;

const FORMAT = `'use strict';

/** Pads a label on the right so columns line up in a plain text table. */
function padLabel(label, width) {
  let out = String(label);
  while (out.length < width) out += ' ';
  return out;
}

module.exports = { padLabel };
`;

/** The fixture packages: name, version, license and files (package.json is added). */
const PACKAGES = [
  {
    name: '@fixture/typed',
    version: '1.0.0',
    license: 'MIT',
    files: {
      'src/index.ts': `import { area, type Shape } from './shapes';\n\nexport function totalArea(shapes: readonly Shape[]): number {\n  let sum = 0;\n  for (const s of shapes) sum += area(s);\n  return sum;\n}\n`,
      'src/shapes.ts': `export type Shape = { kind: 'square'; side: number } | { kind: 'circle'; radius: number };\n\nexport function area(shape: Shape): number {\n  switch (shape.kind) {\n    case 'square':\n      return shape.side * shape.side;\n    case 'circle':\n      return Math.PI * shape.radius * shape.radius;\n  }\n}\n`,
      // Minified: dropped by its name (and its one long line).
      'vendor/widget.min.js': `!function(e){var t={};function n(r){if(t[r])return t[r].exports;var o=t[r]={i:r,l:!1,exports:{}};return e[r].call(o.exports,o,o.exports,n),o.l=!0,o.exports}${';n.m=e,n.c=t,n.d=function(e,t,r){n.o(e,t)||Object.defineProperty(e,t,{enumerable:!0,get:r})}'.repeat(20)}}([]);\n`,
      // The same text as plain-js's lib/clamp.js: this one stays (its package sorts first).
      'scripts/clamp.js': CLAMP,
    },
  },
  {
    name: 'plain-js',
    version: '2.1.0',
    license: 'ISC',
    files: {
      'index.js': `'use strict';\n\nconst { clamp } = require('./lib/clamp');\nconst { padLabel } = require('./lib/format');\n\nmodule.exports = { clamp, padLabel };\n`,
      'lib/clamp.js': CLAMP,
      'lib/format.js': FORMAT,
    },
  },
  {
    name: 'copyleft',
    version: '0.3.0',
    license: 'GPL-3.0',
    files: { 'index.js': `'use strict';\n\n/** COPYLEFT_ONLY: must never reach the corpus. */\nexports.greet = function greet(name) {\n  return 'hello ' + name;\n};\n` },
  },
] as const;

/** A stand-in for the standard library folder (its name gives the version when dpkg knows no such package). */
const STDLIB: Record<string, string> = {
  'greet.py': `def greet(name: str) -> str:\n    """Says hello."""\n    return f"hello {name}"\n`,
  'mini/__init__.py': '', // empty: dropped
  'mini/core.py': `class Counter:\n    def __init__(self) -> None:\n        self.count = 0\n\n    def bump(self, by: int = 1) -> int:\n        self.count += by\n        return self.count\n`,
  'site-packages/thirdparty.py': `def not_stdlib():\n    return "site-packages is skipped"\n`,
};

/** What the corpus must keep: `source path` -> [license, text]. */
const EXPECTED = new Map<string, [string, string]>([
  ['@fixture/typed@1.0.0 scripts/clamp.js', ['MIT', CLAMP]],
  ['@fixture/typed@1.0.0 src/index.ts', ['MIT', PACKAGES[0].files['src/index.ts']]],
  ['@fixture/typed@1.0.0 src/shapes.ts', ['MIT', PACKAGES[0].files['src/shapes.ts']]],
  ['plain-js@2.1.0 index.js', ['ISC', PACKAGES[1].files['index.js']]],
  ['plain-js@2.1.0 lib/format.js', ['ISC', FORMAT]],
  ['cpython-stdlib/greet@3.99 greet.py', ['PSF-2.0', STDLIB['greet.py']]],
  ['cpython-stdlib/mini@3.99 mini/core.py', ['PSF-2.0', STDLIB['mini/core.py']]],
]);

/** `npm pack` of local folders into `dest` (offline; the tarball names are npm's own). */
function npmPack(folders: string[], dest: string): void {
  fs.mkdirSync(dest, { recursive: true });
  execFileSync('npm', ['pack', ...folders, '--pack-destination', dest, '--offline', '--ignore-scripts', '--loglevel=error'], {
    cwd: dest,
    encoding: 'utf8',
    env: { ...process.env, NO_UPDATE_NOTIFIER: '1', npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' },
  });
}

function corpusCli(args: string[]): { status: number | null; out: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'scripts/starter/corpus.ts', ...args], { cwd: root, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

const readJsonl = (file: string) =>
  fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as { source: string; lang: string; path: string; text: string });

test('starter:corpus builds a corpus and manifest from a fixture offline, and --check verifies it', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'starter-corpus-'));
  const committedBefore = fs.existsSync(COMMITTED_MANIFEST) ? sha256(fs.readFileSync(COMMITTED_MANIFEST)) : undefined;
  try {
    const pkgDirs = PACKAGES.map((p) => {
      const d = path.join(dir, 'pkgs', p.name.replace(/[@/]/g, '_'));
      writeTree(d, { 'package.json': JSON.stringify({ name: p.name, version: p.version, license: p.license }, null, 2), ...p.files });
      return d;
    });
    writeTree(path.join(dir, 'python3.99'), STDLIB);
    const sourcesFile = path.join(dir, 'sources.json');
    fs.writeFileSync(
      sourcesFile,
      JSON.stringify({
        npm: PACKAGES.map((p) => `${p.name}@${p.version}`),
        deb: [],
        stdlib: { dir: 'python3.99', debPackage: 'hindsight-fixture-no-such-package', license: 'PSF-2.0' },
      }),
    );
    const cache = path.join(dir, 'cache');
    npmPack(pkgDirs, path.join(cache, 'npm'));
    const manifestFile = path.join(dir, 'manifest.jsonl.gz');
    const fixtureArgs = ['--offline', '--cache', cache, '--manifest', manifestFile, '--sources', sourcesFile];

    // Build.
    const build = corpusCli(fixtureArgs);
    assert.equal(build.status, 0, build.out);
    assert.match(build.out, /copyleft@0\.3\.0: GPL-3\.0/, 'the GPL package is reported as rejected');
    const records = ['train', 'heldout'].flatMap((split) =>
      readJsonl(path.join(cache, 'corpus', `${split}.jsonl`)).map((r) => ({ ...r, split })),
    );
    assert.deepEqual(records.map((r) => `${r.source} ${r.path}`).sort(), [...EXPECTED.keys()].sort());
    for (const r of records) assert.equal(r.text, EXPECTED.get(`${r.source} ${r.path}`)![1], `${r.source} ${r.path}`);
    assert.ok(!records.some((r) => r.source.startsWith('copyleft') || r.text.includes('COPYLEFT_ONLY')), 'GPL package absent');
    assert.ok(!records.some((r) => r.path.endsWith('.min.js')), 'minified file absent');
    assert.equal(records.filter((r) => r.text === CLAMP).length, 1, 'the duplicate is kept once');
    assert.deepEqual(
      Object.fromEntries(records.map((r) => [r.path, r.lang])),
      { 'scripts/clamp.js': 'javascript', 'src/index.ts': 'typescript', 'src/shapes.ts': 'typescript', 'index.js': 'javascript', 'lib/format.js': 'javascript', 'greet.py': 'python', 'mini/core.py': 'python' },
    );

    // The manifest: one line per kept file with package@version, license, path and the text's sha256.
    const manifestBytes = fs.readFileSync(manifestFile);
    assert.deepEqual(fs.readFileSync(path.join(cache, 'corpus', 'manifest.jsonl.gz')), manifestBytes);
    const lines = gunzipSync(manifestBytes).toString('utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
    assert.equal(lines.length, EXPECTED.size);
    for (const l of lines) {
      const key = `${l.source} ${l.path}`;
      const want = EXPECTED.get(key);
      assert.ok(want, `unexpected manifest line ${key}`);
      assert.match(l.source, /^(@?[^@]+)@\d+\.\d+(\.\d+)?$/);
      assert.equal(l.license, want[0], key);
      assert.equal(l.sha256, sha256(want[1]), key);
      assert.equal(l.bytes, Buffer.byteLength(want[1]), key);
      assert.equal(l.split, records.find((r) => `${r.source} ${r.path}` === key)!.split, key);
    }

    // --check rebuilds from the cache and finds every line.
    const ok = corpusCli(['--check', ...fixtureArgs]);
    assert.equal(ok.status, 0, ok.out);
    assert.match(ok.out, /7 manifest lines, 0 problem\(s\): every sha256 matches/);

    // One changed file (same package@version, freshly packed into another cache) fails the check, naming it.
    fs.appendFileSync(path.join(pkgDirs[1], 'lib', 'format.js'), '// changed\n');
    const cache2 = path.join(dir, 'cache2');
    npmPack([pkgDirs[1]], path.join(cache2, 'npm'));
    for (const f of fs.readdirSync(path.join(cache, 'npm'))) {
      if (!fs.existsSync(path.join(cache2, 'npm', f))) fs.copyFileSync(path.join(cache, 'npm', f), path.join(cache2, 'npm', f));
    }
    const bad = corpusCli(['--check', '--offline', '--cache', cache2, '--manifest', manifestFile, '--sources', sourcesFile]);
    assert.equal(bad.status, 1, bad.out);
    assert.match(bad.out, /check: sha256 differs: plain-js@2\.1\.0 lib\/format\.js/);
    assert.match(bad.out, /7 manifest lines, 1 problem\(s\)/);
    assert.ok(!fs.existsSync(path.join(cache2, 'corpus')), '--check writes no corpus');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const committedAfter = fs.existsSync(COMMITTED_MANIFEST) ? sha256(fs.readFileSync(COMMITTED_MANIFEST)) : undefined;
  assert.equal(committedAfter, committedBefore, 'the committed manifest is untouched');
});
