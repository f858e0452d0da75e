// `npm run starter:corpus`: builds an offline, reproducible, permissively licensed code corpus for
// pretraining a small code model, from the pinned sources in scripts/starter/sources.ts:
//   npm tarballs (`npm pack`), Debian python3-* packages (`apt-get download`, never installed) and
//   the CPython standard library on this machine.
// Everything fetched is cached under .cache/starter/ (gitignored), so later runs work offline.
// Output: .cache/starter/corpus/{train,heldout}.jsonl and the committed manifest
// scripts/starter/corpus-manifest.jsonl.gz (one line per kept file, with its sha256).
// Usage: npm run starter:corpus -- [--check] [--max-mb N] [--offline] [--cache DIR] [--manifest FILE] [--sources FILE]
//   --check         rebuild from the cache only and verify every manifest line (nothing is written)
//   --max-mb N      keep a deterministic sample of at most N MB of text (by sha256 order)
//   --offline       never fetch; fail naming what is missing from the cache
//   --cache DIR     use DIR instead of .cache/starter/ (DIR/{npm,deb,extracted,corpus})
//   --manifest FILE write (or, with --check, verify) FILE instead of scripts/starter/corpus-manifest.jsonl.gz
//   --sources FILE  a JSON file replacing the pinned lists of sources.ts:
//                   { "npm": ["name@version", ...], "deb": [["name", "version"], ...],
//                     "stdlib": { "dir", "debPackage", "license" } | null }
//                   (a missing key means none; a relative stdlib dir is read from FILE's folder)
// The last three exist for tests (test/unit/starter/corpusCli.test.ts runs the CLI on a fixture).
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  type Lang, type RejectReason, LIMITS, buildDuplicates, bundleCopies, capDeclarations, classifyDebianCopyright, classifyNpmLicense,
  compareStrings, contentReject, decodeText, dedupe, heldOutPackages, langOf, sampleByHash, sha256Hex, stdlibModuleOf,
} from './corpusFilters';
import { DEB_SOURCES, NPM_SOURCES, PYTHON_STDLIB } from './sources';

const ROOT = path.resolve(__dirname, '../..');
const DEFAULT_CACHE = path.join(ROOT, '.cache/starter');
const DEFAULT_MANIFEST = path.join(ROOT, 'scripts/starter/corpus-manifest.jsonl.gz');

type Stdlib = { dir: string; debPackage: string; license: string };

/** Where a run caches, writes and verifies, and which sources it reads (the defaults, or --cache/--manifest/--sources). */
interface Config {
  npmCache: string;
  debCache: string;
  extracted: string;
  out: string;
  manifest: string;
  npm: readonly string[];
  deb: readonly (readonly [name: string, version: string])[];
  stdlib: Stdlib | null;
}

type Sources = Pick<Config, 'npm' | 'deb' | 'stdlib'>;
const PINNED: Sources = { npm: NPM_SOURCES, deb: DEB_SOURCES, stdlib: PYTHON_STDLIB };

function config(cache: string, manifest: string, { npm, deb, stdlib }: Sources): Config {
  return { npmCache: path.join(cache, 'npm'), debCache: path.join(cache, 'deb'), extracted: path.join(cache, 'extracted'), out: path.join(cache, 'corpus'), manifest, npm, deb, stdlib };
}

/** Set once from the command line, before anything reads it. */
let cfg: Config = config(DEFAULT_CACHE, DEFAULT_MANIFEST, PINNED);

/** A path for messages: relative to the repository when inside it. */
function shown(p: string): string {
  const r = path.relative(ROOT, p);
  return r && !r.startsWith('..') && !path.isAbsolute(r) ? r : p;
}

/** Reads a --sources file (same shape as sources.ts); a missing key means no sources of that kind. */
function readSources(file: string): Sources {
  const bad = (what: string) => new Error(`--sources ${file}: ${what}`);
  let j: { npm?: unknown; deb?: unknown; stdlib?: unknown };
  try {
    j = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw bad(e instanceof Error ? e.message : String(e));
  }
  if (!j || typeof j !== 'object' || Array.isArray(j)) throw bad('not a JSON object');
  const npm = j.npm ?? [];
  if (!Array.isArray(npm) || !npm.every((s) => typeof s === 'string' && s.lastIndexOf('@') > 0)) throw bad('"npm" must be a list of "name@version"');
  const deb = j.deb ?? [];
  if (!Array.isArray(deb) || !deb.every((d) => Array.isArray(d) && d.length === 2 && d.every((x) => typeof x === 'string' && x))) {
    throw bad('"deb" must be a list of ["name", "version"]');
  }
  const st = j.stdlib ?? null;
  const isStdlib = (x: unknown): x is Stdlib =>
    !!x && typeof x === 'object' && ['dir', 'debPackage', 'license'].every((k) => typeof (x as Record<string, unknown>)[k] === 'string');
  if (st !== null && !isStdlib(st)) throw bad('"stdlib" must be null or { "dir", "debPackage", "license" }');
  return {
    npm: npm as string[],
    deb: deb as [string, string][],
    stdlib: st && { dir: path.resolve(path.dirname(file), st.dir), debPackage: st.debPackage, license: st.license },
  };
}

/** ~5% of packages held out, and at least this many per split group so each language is evaluated. */
const HELDOUT_FRACTION = 0.05;
type SplitGroup = 'npm-typescript' | 'npm-javascript' | 'deb' | 'stdlib';
const HELDOUT_MIN: Record<SplitGroup, number> = { 'npm-typescript': 5, 'npm-javascript': 6, deb: 3, stdlib: 5 };

type Group = 'npm' | 'deb' | 'stdlib';

/** One package after fetching: where its files are and what license it carries. */
interface Source {
  id: string; // name@version, the `source` field of every record
  name: string; // what the held-out split hashes
  group: Group;
  license: string;
  root: string; // folder the relative paths start from
  files: string[]; // candidate code files, relative, sorted
}

interface Entry {
  source: string;
  license: string;
  path: string;
  lang: Lang;
  text: string;
  sha256: string;
  bytes: number;
  split?: 'train' | 'heldout';
}

const log = (msg: string) => console.log(`[corpus] ${msg}`);

function parseArgs(argv: string[]) {
  const opts = {
    check: false,
    offline: false,
    maxMb: undefined as number | undefined,
    cache: undefined as string | undefined,
    manifest: undefined as string | undefined,
    sources: undefined as string | undefined,
  };
  const value = (i: number, a: string) => {
    if (argv[i] === undefined || argv[i].startsWith('--')) throw new Error(`${a} needs a value`);
    return path.resolve(argv[i]);
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--check') opts.check = true;
    else if (a === '--cache') opts.cache = value(++i, a);
    else if (a === '--manifest') opts.manifest = value(++i, a);
    else if (a === '--sources') opts.sources = value(++i, a);
    else if (a === '--offline') opts.offline = true;
    else if (a === '--max-mb') {
      opts.maxMb = Number(argv[++i]);
      if (!(opts.maxMb > 0)) throw new Error('--max-mb needs a positive number');
    } else if (a === '--help' || a === '-h') {
      console.log('Usage: npm run starter:corpus -- [--check] [--max-mb N] [--offline] [--cache DIR] [--manifest FILE] [--sources FILE]');
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  // Checking must not depend on the network: it proves the cache rebuilds the manifest.
  if (opts.check) opts.offline = true;
  return opts;
}

// ---------------------------------------------------------------------------------------------
// Fetching (cached)

function splitSpec(spec: string): { name: string; version: string } {
  const at = spec.lastIndexOf('@');
  return { name: spec.slice(0, at), version: spec.slice(at + 1) };
}

/** The file name `npm pack` gives a tarball: `@scope/name` becomes `scope-name`. */
const tarballName = (name: string, version: string) => `${name.replace(/^@/, '').replace('/', '-')}-${version}.tgz`;

/** Debian's archive file name prefix (an epoch's `:` is written `%3a`). */
const debPrefix = (name: string, version: string) => `${name}_${version.replace(':', '%3a')}_`;

function run(cmd: string, args: string[], cwd: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_UPDATE_NOTIFIER: '1' } });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('error', (e) => resolve({ code: 127, out: String(e) }));
    child.on('close', (code) => resolve({ code: code ?? 1, out }));
  });
}

/** Runs `work` over `items`, at most `limit` at a time. */
async function pool<T>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      await work(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Fetches missing npm tarballs; returns the errors (one per package that could not be had). */
async function fetchNpm(offline: boolean): Promise<string[]> {
  fs.mkdirSync(cfg.npmCache, { recursive: true });
  const missing = cfg.npm.filter((s) => {
    const { name, version } = splitSpec(s);
    return !fs.existsSync(path.join(cfg.npmCache, tarballName(name, version)));
  });
  log(`npm: ${cfg.npm.length - missing.length}/${cfg.npm.length} tarballs cached${missing.length ? `, ${missing.length} to fetch` : ''}`);
  if (offline) return missing.map((s) => `${s}: not in ${shown(cfg.npmCache)} (fetching it needs the npm registry; run without --check/--offline)`);
  const errors: string[] = [];
  let done = 0;
  await pool(missing, 4, async (spec) => {
    const r = await run('npm', ['pack', spec, '--pack-destination', cfg.npmCache, '--loglevel=error'], cfg.npmCache);
    const { name, version } = splitSpec(spec);
    done++;
    if (r.code !== 0 || !fs.existsSync(path.join(cfg.npmCache, tarballName(name, version)))) {
      const why = r.out.split('\n').filter((l) => l.startsWith('npm error')).slice(0, 2).join(' | ') || r.out.trim();
      errors.push(`${spec}: npm pack failed — the npm registry is needed to fetch it (cached tarballs keep working offline): ${why}`);
      log(`npm: ${done}/${missing.length} FAILED ${spec}`);
    } else log(`npm: ${done}/${missing.length} fetched ${spec}`);
  });
  return errors;
}

function findDeb(name: string, version: string): string | undefined {
  if (!fs.existsSync(cfg.debCache)) return undefined;
  const f = fs.readdirSync(cfg.debCache).find((f) => f.startsWith(debPrefix(name, version)) && f.endsWith('.deb'));
  return f && path.join(cfg.debCache, f);
}

/** Downloads missing .deb files (no install); returns the errors. */
async function fetchDebs(offline: boolean): Promise<string[]> {
  fs.mkdirSync(cfg.debCache, { recursive: true });
  const missing = cfg.deb.filter(([n, v]) => !findDeb(n, v));
  log(`deb: ${cfg.deb.length - missing.length}/${cfg.deb.length} packages cached${missing.length ? `, ${missing.length} to fetch` : ''}`);
  if (!missing.length) return [];
  if (offline) return missing.map(([n, v]) => `${n}=${v}: not in ${shown(cfg.debCache)} (fetching it needs a Debian mirror; run without --check/--offline)`);
  const specs = missing.map(([n, v]) => `${n}=${v}`);
  let r = await run('apt-get', ['download', ...specs], cfg.debCache);
  if (r.code !== 0) {
    // A fresh machine has no package lists yet.
    log('deb: apt-get download failed; running apt-get update and retrying');
    await run('apt-get', ['update'], cfg.debCache);
    r = await run('apt-get', ['download', ...specs], cfg.debCache);
  }
  const still = missing.filter(([n, v]) => !findDeb(n, v));
  for (const [n, v] of missing) if (findDeb(n, v)) log(`deb: fetched ${n}=${v}`);
  const why = r.out.trim().split('\n').filter((l) => /^E:/.test(l)).join(' | ');
  return still.map(([n, v]) => `${n}=${v}: apt-get download failed — a Debian mirror with this exact version is needed: ${why || 'no .deb appeared'}`);
}

// ---------------------------------------------------------------------------------------------
// Extracting and listing

/** Extracts once into `dest` (a `.complete` marker makes it a cache hit next time). */
function extractOnce(dest: string, extract: (tmp: string) => void): void {
  if (fs.existsSync(path.join(dest, '.complete'))) return;
  const tmp = `${dest}.tmp`;
  fs.rmSync(tmp, { recursive: true, force: true });
  fs.mkdirSync(tmp, { recursive: true });
  extract(tmp);
  fs.rmSync(dest, { recursive: true, force: true });
  fs.renameSync(tmp, dest);
  fs.writeFileSync(path.join(dest, '.complete'), '');
}

function mustRun(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${(r.stderr || r.stdout || String(r.error)).trim()}`);
}

/** Relative paths of regular files under `dir` (symlinks are not followed), sorted. */
function walk(dir: string, skipDir: (rel: string, name: string) => boolean = () => false): string[] {
  const out: string[] = [];
  const rec = (rel: string) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) {
        if (!skipDir(r, e.name)) rec(r);
      } else if (e.isFile()) out.push(r);
    }
  };
  rec('');
  return out.sort(compareStrings);
}

const safeDirName = (id: string) => id.replace(/[/@:]/g, '_');

function npmSource(spec: string, rejectedLicenses: Map<string, string>): Source | undefined {
  const { name, version } = splitSpec(spec);
  const dest = path.join(cfg.extracted, 'npm', safeDirName(spec));
  extractOnce(dest, (tmp) => {
    mustRun('tar', ['-xzf', path.join(cfg.npmCache, tarballName(name, version)), '-C', tmp, '--no-same-owner', '--no-same-permissions']);
    mustRun('chmod', ['-R', 'u+rwX', tmp]); // some tarballs carry unreadable folders
  });
  // Tarballs hold one top folder, usually `package/`.
  const tops = fs.readdirSync(dest, { withFileTypes: true }).filter((e) => e.isDirectory());
  const root = tops.length === 1 ? path.join(dest, tops[0].name) : dest;
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const verdict = classifyNpmLicense(pkg);
  if (!verdict.accepted) {
    rejectedLicenses.set(spec, verdict.license);
    return undefined;
  }
  // Bundled dependencies are other packages, with their own licenses: left out.
  const files = walk(root, (_rel, n) => n === 'node_modules').filter((f) => langOf(f));
  return { id: spec, name, group: 'npm', license: verdict.license, root, files };
}

function debSource(name: string, version: string, rejectedLicenses: Map<string, string>): Source | undefined {
  const id = `${name}@${version}`;
  const dest = path.join(cfg.extracted, 'deb', safeDirName(id));
  extractOnce(dest, (tmp) => mustRun('dpkg-deb', ['-x', findDeb(name, version)!, tmp]));
  const copyright = path.join(dest, 'usr/share/doc', name, 'copyright');
  if (!fs.existsSync(copyright)) {
    rejectedLicenses.set(id, 'no usr/share/doc copyright file');
    return undefined;
  }
  const verdict = classifyDebianCopyright(fs.readFileSync(copyright, 'utf8'));
  if (!verdict.accepted) {
    rejectedLicenses.set(id, verdict.license);
    return undefined;
  }
  const root = path.join(dest, 'usr/lib/python3/dist-packages');
  const files = fs.existsSync(root)
    ? walk(root, (_rel, n) => n === '__pycache__' || /\.(dist|egg)-info$/.test(n)).filter((f) => f.endsWith('.py'))
    : [];
  return { id, name, group: 'deb', license: verdict.license, root, files };
}

/** The standard library, one source per top-level module or package (so the split can hold some out). */
function stdlibSources(stdlib: Stdlib | null): Source[] {
  if (!stdlib) return [];
  const r = spawnSync('dpkg-query', ['-W', '-f=${Version}', stdlib.debPackage], { encoding: 'utf8' });
  const version = r.status === 0 && r.stdout.trim() ? r.stdout.trim() : path.basename(stdlib.dir).replace(/^python/, '');
  const files = walk(stdlib.dir, (rel, n) => n === '__pycache__' || n === 'site-packages' || n === 'dist-packages').filter((f) =>
    f.endsWith('.py'),
  );
  const byModule = new Map<string, string[]>();
  for (const f of files) byModule.set(stdlibModuleOf(f), [...(byModule.get(stdlibModuleOf(f)) ?? []), f]);
  return [...byModule].map(([mod, fs_]) => ({
    id: `cpython-stdlib/${mod}@${version}`,
    name: `cpython-stdlib/${mod}`,
    group: 'stdlib' as const,
    license: stdlib.license,
    root: stdlib.dir,
    files: fs_,
  }));
}

// ---------------------------------------------------------------------------------------------
// Filtering

interface Rejects {
  files: Map<RejectReason, { files: number; bytes: number }>;
}

function reject(rej: Rejects, reason: RejectReason, bytes: number) {
  const r = rej.files.get(reason) ?? { files: 0, bytes: 0 };
  r.files++;
  r.bytes += bytes;
  rej.files.set(reason, r);
}

/** The kept files of one source, before corpus-wide de-duplication. */
function filterSource(src: Source, rej: Rejects): Entry[] {
  let entries: Entry[] = [];
  for (const rel of src.files) {
    const abs = path.join(src.root, rel);
    const size = fs.statSync(abs).size;
    if (size > LIMITS.maxBytes) {
      reject(rej, 'too-large', size); // not even read
      continue;
    }
    const decoded = decodeText(fs.readFileSync(abs));
    if ('reject' in decoded) {
      reject(rej, decoded.reject, size);
      continue;
    }
    const bytes = Buffer.byteLength(decoded.text);
    const why = contentReject(rel, decoded.text, bytes);
    if (why) {
      reject(rej, why, bytes);
      continue;
    }
    entries.push({ source: src.id, license: src.license, path: rel, lang: langOf(rel)!, text: decoded.text, sha256: sha256Hex(decoded.text), bytes });
  }
  if (src.group === 'npm') {
    const dups = buildDuplicates(entries.map((e) => e.path), src.files);
    const bundles = bundleCopies(entries);
    const afterBuild = entries.filter((e) => {
      const why = dups.get(e.path) ?? (bundles.has(e.path) ? 'bundle' : undefined);
      if (why) reject(rej, why, e.bytes);
      return !why;
    });
    const capped = capDeclarations(afterBuild);
    entries = afterBuild.filter((e) => {
      if (capped.has(e.path)) reject(rej, 'dts-cap', e.bytes);
      return !capped.has(e.path);
    });
  }
  return entries;
}

// ---------------------------------------------------------------------------------------------
// Output

type ManifestLine = { source: string; license: string; path: string; sha256: string; lang: Lang; split: string; bytes: number };

function manifestLines(entries: readonly Entry[]): string[] {
  return entries.map((e) => {
    const m: ManifestLine = { source: e.source, license: e.license, path: e.path, sha256: e.sha256, lang: e.lang, split: e.split!, bytes: e.bytes };
    return JSON.stringify(m);
  });
}

/** gzip with fixed header fields (mtime 0, OS "unix"), so equal input gives equal bytes. */
function deterministicGzip(text: string): Buffer {
  const gz = gzipSync(Buffer.from(text), { level: 9 });
  gz.writeUInt32LE(0, 4);
  gz[9] = 3;
  return gz;
}

function writeJsonl(file: string, entries: readonly Entry[]): void {
  const fd = fs.openSync(`${file}.tmp`, 'w');
  try {
    let buf: string[] = [];
    let size = 0;
    const flush = () => {
      fs.writeSync(fd, buf.join(''));
      buf = [];
      size = 0;
    };
    for (const e of entries) {
      const line = `${JSON.stringify({ source: e.source, lang: e.lang, path: e.path, text: e.text })}\n`;
      buf.push(line);
      size += line.length;
      if (size > 8 << 20) flush();
    }
    flush();
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(`${file}.tmp`, file);
}

/** Compares the rebuilt manifest with the committed one; returns the number of problems. */
function checkManifest(lines: readonly string[]): number {
  if (!fs.existsSync(cfg.manifest)) {
    log(`check: ${shown(cfg.manifest)} does not exist; build the corpus first`);
    return 1;
  }
  const want = gunzipSync(fs.readFileSync(cfg.manifest)).toString('utf8').split('\n').filter(Boolean);
  const key = (l: ManifestLine) => `${l.source}\t${l.path}`;
  const have = new Map(lines.map((l) => JSON.parse(l) as ManifestLine).map((l) => [key(l), l]));
  let problems = 0;
  const report = (msg: string) => {
    if (++problems <= 20) log(`check: ${msg}`);
  };
  for (const w of want.map((l) => JSON.parse(l) as ManifestLine)) {
    const h = have.get(key(w));
    if (!h) report(`missing ${w.source} ${w.path}`);
    else if (h.sha256 !== w.sha256) report(`sha256 differs: ${w.source} ${w.path}`);
    else if (h.split !== w.split || h.license !== w.license || h.lang !== w.lang || h.bytes !== w.bytes) report(`metadata differs: ${w.source} ${w.path}`);
    have.delete(key(w));
  }
  for (const h of have.values()) report(`not in the manifest: ${h.source} ${h.path}`);
  if (problems > 20) log(`check: ... and ${problems - 20} more`);
  log(`check: ${want.length} manifest lines, ${problems} problem(s)${problems ? '' : ': every sha256 matches'}`);
  return problems;
}

const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;

function printSummary(kept: readonly Entry[], sources: readonly Source[], rej: Rejects, rejectedLicenses: Map<string, string>, held: Set<string>) {
  const table = (title: string, rows: [string, number, number][]) => {
    console.log(`\n${title}`);
    for (const [k, files, bytes] of rows) console.log(`  ${k.padEnd(16)} ${String(files).padStart(7)} files ${mb(bytes).padStart(10)}`);
  };
  const sum = (pred: (e: Entry) => boolean): [number, number] => {
    let files = 0, bytes = 0;
    for (const e of kept) if (pred(e)) (files++, (bytes += e.bytes));
    return [files, bytes];
  };
  table('By language', (['typescript', 'javascript', 'python'] as const).map((l) => [l, ...sum((e) => e.lang === l)]));
  table('By split', (['train', 'heldout'] as const).map((s) => [s, ...sum((e) => e.split === s)]));
  table('Total', [['all', ...sum(() => true)]]);
  const used = new Set(kept.map((e) => e.source));
  const groups = (['npm', 'deb', 'stdlib'] as const).map((g) => {
    const s = sources.filter((x) => x.group === g && used.has(x.id));
    return `${g} ${s.length} (${s.filter((x) => held.has(x.name)).length} held out)`;
  });
  console.log(`\nPackages with kept files: ${groups.join(', ')}`);
  console.log(`Held out: ${[...held].filter((n) => !n.startsWith('cpython-stdlib/')).sort(compareStrings).join(', ')}`);
  console.log(`Held out stdlib modules: ${[...held].filter((n) => n.startsWith('cpython-stdlib/')).map((n) => n.slice(15)).sort(compareStrings).join(', ')}`);
  table('Rejected files by reason', [...rej.files].sort((a, b) => b[1].bytes - a[1].bytes).map(([k, v]) => [k, v.files, v.bytes]));
  console.log(`\nRejected packages by license (${rejectedLicenses.size}):`);
  for (const [id, lic] of [...rejectedLicenses].sort((a, b) => compareStrings(a[0], b[0]))) console.log(`  ${id}: ${lic}`);
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  cfg = config(opts.cache ?? DEFAULT_CACHE, opts.manifest ?? DEFAULT_MANIFEST, opts.sources ? readSources(opts.sources) : PINNED);
  const t0 = Date.now();
  const errors = [...(await fetchNpm(opts.offline)), ...(await fetchDebs(opts.offline))];
  if (errors.length) {
    for (const e of errors) console.error(`[corpus] error: ${e}`);
    console.error(`[corpus] ${errors.length} source(s) unavailable; the corpus would not match the pinned list, so nothing was built.`);
    process.exit(1);
  }

  log('extracting and reading sources');
  const rejectedLicenses = new Map<string, string>();
  const sources: Source[] = [];
  for (const spec of cfg.npm) {
    const s = npmSource(spec, rejectedLicenses);
    if (s) sources.push(s);
  }
  for (const [n, v] of cfg.deb) {
    const s = debSource(n, v, rejectedLicenses);
    if (s) sources.push(s);
  }
  sources.push(...stdlibSources(cfg.stdlib));
  sources.sort((a, b) => compareStrings(a.id, b.id));

  const rej: Rejects = { files: new Map() };
  let all: Entry[] = [];
  sources.forEach((s, i) => {
    all.push(...filterSource(s, rej));
    if ((i + 1) % 50 === 0 || i + 1 === sources.length) log(`filtered ${i + 1}/${sources.length} sources (${mb(all.reduce((n, e) => n + e.bytes, 0))} kept)`);
  });
  all.sort((a, b) => compareStrings(a.source, b.source) || compareStrings(a.path, b.path));

  const { kept: unique, duplicates } = dedupe(all);
  for (const d of duplicates) reject(rej, 'duplicate', d.bytes);
  all = unique;

  // Split by package among packages that kept files, per group (npm packages grouped by the language
  // most of their kept bytes are in), so each group gets its minimum.
  const nameOf = new Map(sources.map((s) => [s.id, s.name]));
  const tsBytes = new Map<string, number>(), allBytes = new Map<string, number>();
  for (const e of all) {
    allBytes.set(e.source, (allBytes.get(e.source) ?? 0) + e.bytes);
    if (e.lang === 'typescript') tsBytes.set(e.source, (tsBytes.get(e.source) ?? 0) + e.bytes);
  }
  const splitGroup = (s: Source): SplitGroup =>
    s.group !== 'npm' ? s.group : (tsBytes.get(s.id) ?? 0) * 2 > (allBytes.get(s.id) ?? 0) ? 'npm-typescript' : 'npm-javascript';
  const held = new Set<string>();
  for (const g of Object.keys(HELDOUT_MIN) as SplitGroup[]) {
    const group = sources.filter((s) => allBytes.has(s.id) && splitGroup(s) === g).map((s) => ({ name: s.name, group: g }));
    for (const n of heldOutPackages(group, HELDOUT_FRACTION, HELDOUT_MIN[g])) held.add(n);
  }
  for (const e of all) e.split = held.has(nameOf.get(e.source)!) ? 'heldout' : 'train';

  if (opts.maxMb !== undefined) {
    const before = all.length;
    all = sampleByHash(all, opts.maxMb * 1e6);
    log(`--max-mb ${opts.maxMb}: sampled ${all.length} of ${before} files`);
  }

  const lines = manifestLines(all);
  if (opts.check) {
    const problems = checkManifest(lines);
    log(`done in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
    process.exit(problems ? 1 : 0);
  }

  fs.mkdirSync(cfg.out, { recursive: true });
  writeJsonl(path.join(cfg.out, 'train.jsonl'), all.filter((e) => e.split === 'train'));
  writeJsonl(path.join(cfg.out, 'heldout.jsonl'), all.filter((e) => e.split === 'heldout'));
  const manifest = deterministicGzip(lines.join('\n') + '\n');
  fs.writeFileSync(path.join(cfg.out, 'manifest.jsonl.gz'), manifest);
  fs.writeFileSync(cfg.manifest, manifest);

  printSummary(all, sources, rej, rejectedLicenses, held);
  console.log(`\nWrote ${shown(cfg.out)}/{train,heldout}.jsonl and ${shown(cfg.manifest)} (${mb(manifest.length)}) in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
}

main().catch((e) => {
  console.error(`[corpus] error: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
