// Pure functions of the starter corpus (scripts/starter/corpus.ts): which files count as code and in
// which language, license classification (npm package.json, Debian copyright), the filters that drop
// minified/generated/data files, the rules that drop build output duplicating shipped sources, the
// .d.ts cap, exact de-duplication and the deterministic held-out split by package.
// No I/O here: everything is unit tested in test/unit/starter/corpus.test.ts.
import { createHash } from 'node:crypto';

export type Lang = 'typescript' | 'javascript' | 'python';

export type RejectReason =
  | 'not-utf8'
  | 'nul-byte'
  | 'empty'
  | 'too-large'
  | 'minified-name'
  | 'source-map'
  | 'generated'
  | 'bundle'
  | 'long-line'
  | 'mean-line'
  | 'low-alnum'
  | 'numeric-data'
  | 'build-output'
  | 'build-variant'
  | 'dts-cap'
  | 'duplicate';

export const LIMITS = {
  maxBytes: 512 * 1024,
  maxLineLength: 1000,
  maxMeanLineLength: 120,
  minAlnumFraction: 0.6,
  /** Above this share of digits a file is a table of numbers (test results, lookup tables), not code. */
  maxDigitFraction: 0.4,
  /** Lines at the top searched for "generated" markers. */
  headerLines: 15,
  /** A package keeps .d.ts bytes up to max(floor, its other code's bytes). */
  dtsFloorBytes: 1024 * 1024,
} as const;

export const sha256Hex = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');

/** Plain code-unit order: locale-independent, so every machine sorts the same. */
export const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

// ---------------------------------------------------------------------------------------------
// Languages

export function isDeclarationFile(path: string): boolean {
  return /\.d\.(ts|mts|cts)$/.test(path);
}

export function langOf(path: string): Lang | undefined {
  if (/\.(ts|tsx|mts|cts)$/.test(path)) return 'typescript';
  if (/\.(js|mjs|cjs|jsx)$/.test(path)) return 'javascript';
  if (/\.py$/.test(path)) return 'python';
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Licenses

/** SPDX ids accepted as they are (the npm side); compared case-insensitively. */
export const ACCEPTED_SPDX = ['MIT', 'ISC', 'Apache-2.0', 'BSD-2-Clause', 'BSD-3-Clause', '0BSD', 'Unlicense', 'CC0-1.0'] as const;

export interface LicenseVerdict {
  /** What the package says, normalised to one string (e.g. "(MIT OR GPL-3.0)"). */
  license: string;
  accepted: boolean;
}

/**
 * Evaluates a simple SPDX-like expression (ids, AND, OR, WITH, parentheses): OR needs one accepted
 * side, AND needs both. `isAccepted` decides single ids. Unparseable input is not accepted.
 */
export function evalLicenseExpression(expr: string, isAccepted: (id: string) => boolean): boolean {
  const tokens = expr.match(/\(|\)|[^\s()]+/g) ?? [];
  let i = 0;
  const peek = () => tokens[i]?.toUpperCase();
  // expr := term (OR term)* ; term := atom (AND atom)* ; atom := id [WITH id] | '(' expr ')'
  const atom = (): boolean => {
    const t = tokens[i++];
    if (t === undefined) throw new Error('unexpected end');
    if (t === '(') {
      const v = orExpr();
      if (tokens[i++] !== ')') throw new Error('missing )');
      return v;
    }
    if (t === ')' || /^(AND|OR|WITH)$/i.test(t)) throw new Error(`unexpected ${t}`);
    if (peek() === 'WITH') i += 2; // an exception only ever widens what the license allows
    return isAccepted(t);
  };
  const term = (): boolean => {
    let v = atom();
    while (peek() === 'AND') {
      i++;
      v = atom() && v;
    }
    return v;
  };
  const orExpr = (): boolean => {
    let v = term();
    while (peek() === 'OR') {
      i++;
      v = term() || v;
    }
    return v;
  };
  try {
    const v = orExpr();
    return i === tokens.length && v;
  } catch {
    return false;
  }
}

const acceptedSpdx = new Set(ACCEPTED_SPDX.map((s) => s.toLowerCase()));

/** License of an npm package from its package.json: `license` (string or legacy object) or legacy `licenses`. */
export function classifyNpmLicense(pkg: { license?: unknown; licenses?: unknown }): LicenseVerdict {
  const typeOf = (l: unknown): string | undefined =>
    typeof l === 'string' ? l : l && typeof l === 'object' && typeof (l as { type?: unknown }).type === 'string' ? (l as { type: string }).type : undefined;
  let license = typeOf(pkg.license);
  if (license === undefined && Array.isArray(pkg.licenses)) {
    const ids = pkg.licenses.map(typeOf).filter((s): s is string => !!s);
    // Legacy `licenses: [a, b]` meant a choice between them.
    if (ids.length) license = ids.length === 1 ? ids[0] : `(${ids.join(' OR ')})`;
  }
  if (!license) return { license: 'none', accepted: false };
  return { license, accepted: evalLicenseExpression(license, (id) => acceptedSpdx.has(id.toLowerCase())) };
}

/** Debian short names (DEP-5) that are permissive; compared after lowercasing. */
const PERMISSIVE_DEBIAN = [
  /^expat$/, /^mit(\/x11|-style)?$/, /^x11$/, /^isc$/, /^0bsd$/,
  /^bsd(-[234]-clause)?(-\w+)?$/, /^bsd-style$/, /^apache(-2(\.0)?)?$/, /^psf(-2(\.0)?)?$/, /^python(-2\.0)?$/, /^psfl?$/,
  /^cc0(-1\.0)?$/, /^unlicense$/,
];

/**
 * License of a Debian package from its machine-readable copyright file: the `License:` of the
 * `Files: *` paragraph (the license of the package as a whole; per-file exceptions are not read).
 * Falls back to well-known license sentences for non-DEP-5 files.
 */
export function classifyDebianCopyright(copyright: string): LicenseVerdict {
  const paragraphs = copyright.replace(/\r\n?/g, '\n').split(/\n\s*\n/);
  for (const p of paragraphs) {
    const files = p.match(/^Files:\s*(.*(?:\n[ \t].*)*)/m);
    if (!files || !files[1].split(/\s+/).includes('*')) continue;
    const lic = p.match(/^License:[ \t]*(.+)$/m);
    if (!lic) continue;
    const license = lic[1].trim();
    const accepted = evalLicenseExpression(license.replace(/,/g, ' '), (id) => PERMISSIVE_DEBIAN.some((re) => re.test(id.toLowerCase())));
    return { license, accepted };
  }
  // Not machine-readable: the first license text in the file is the package's own (exceptions for
  // single files, often not even shipped in the binary package, come after it).
  const texts: [RegExp, string, boolean][] = [
    [/GNU (Lesser |Library )?General Public License|Mozilla Public License/i, 'unknown (copyleft text first)', false],
    [/Permission is hereby granted, free of charge/i, 'MIT (text)', true],
    [/Redistribution and use in source and binary forms/i, 'BSD (text)', true],
    [/Apache License,? Version 2\.0/i, 'Apache-2.0 (text)', true],
  ];
  let first: { at: number; license: string; accepted: boolean } | undefined;
  for (const [re, license, accepted] of texts) {
    const at = copyright.search(re);
    if (at >= 0 && (!first || at < first.at)) first = { at, license, accepted };
  }
  if (first) return { license: first.license, accepted: first.accepted };
  return { license: 'unknown', accepted: false };
}

// ---------------------------------------------------------------------------------------------
// Decoding and content filters

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Bytes to normalised text (no BOM, \n line endings), or why the bytes are not text. */
export function decodeText(bytes: Uint8Array): { text: string } | { reject: 'nul-byte' | 'not-utf8' } {
  if (bytes.includes(0)) return { reject: 'nul-byte' };
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    return { reject: 'not-utf8' };
  }
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  return { text: text.replace(/\r\n?/g, '\n') };
}

const GENERATED_MARKERS = [
  /@generated\b/,
  /DO NOT EDIT/,
  /^\s*(\/\/|#|\/?\*+|<!--|"""|''')\s*(this (file|module|code) (is|was|has been) )?(auto-?)?generated (by|from|with|using)\b/im,
  /\b(auto-?generated|automatically generated|code generated by)\b/i,
];

const BUNDLE_MARKERS = [/^\/\*{6}\/ /m, /__webpack_require__/, /\bparcelRequire\b/];

/** Line statistics without splitting into an array (files can be large). */
export function lineStats(text: string): { lines: number; maxLine: number; meanLine: number } {
  let lines = 0, maxLine = 0, start = 0, newlines = 0;
  for (;;) {
    const nl = text.indexOf('\n', start);
    if (nl >= 0) newlines++;
    const end = nl < 0 ? text.length : nl;
    if (end > start || nl >= 0) {
      lines++;
      maxLine = Math.max(maxLine, end - start);
    }
    if (nl < 0) break;
    start = nl + 1;
  }
  const chars = text.length - newlines;
  return { lines, maxLine, meanLine: lines ? chars / lines : 0 };
}

/** Fraction of characters that are letters, digits or whitespace (any script). */
export function alnumFraction(text: string): number {
  if (!text.length) return 0;
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 32 || c === 10 || c === 9 || c === 13) n++;
    else if (c > 127 && /[\p{L}\p{N}\s]/u.test(text[i])) n++;
  }
  return n / text.length;
}

export function digitFraction(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c >= 48 && c <= 57) n++;
  }
  return text.length ? n / text.length : 0;
}

/** Why a file should be dropped from what its path and normalised text show; undefined keeps it. */
export function contentReject(path: string, text: string, bytes: number = Buffer.byteLength(text)): RejectReason | undefined {
  if (bytes > LIMITS.maxBytes) return 'too-large';
  if (/[.-]min\.(js|mjs|cjs)$/.test(path)) return 'minified-name';
  if (/\.map$/.test(path) || /^\/\/# sourceMappingURL=data:/m.test(text)) return 'source-map';
  if (!text.trim()) return 'empty';
  if (path.split('/').some((seg) => seg === 'generated' || seg === '__generated__')) return 'generated';
  const header = text.split('\n', LIMITS.headerLines).join('\n');
  if (GENERATED_MARKERS.some((re) => re.test(header))) return 'generated';
  if (BUNDLE_MARKERS.some((re) => re.test(text))) return 'bundle';
  const { maxLine, meanLine } = lineStats(text);
  if (maxLine > LIMITS.maxLineLength) return 'long-line';
  if (meanLine > LIMITS.maxMeanLineLength) return 'mean-line';
  if (alnumFraction(text) < LIMITS.minAlnumFraction) return 'low-alnum';
  if (digitFraction(text) > LIMITS.maxDigitFraction) return 'numeric-data';
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Build output and declaration files (per npm package)

/** Folders that hold builds or sources rather than meaning: stripped when matching a file to its source. */
const LAYOUT_DIRS = new Set(['src', 'source', 'lib', 'dist', 'build', 'out', 'types', 'typings', 'esm', 'cjs', 'es', 'umd', 'amd', 'system',
  'mjs', 'commonjs', 'module', 'modules', 'esm5', 'esm2015', 'es2015', 'es5', 'es6', 'node', 'browser', '_esm', '_cjs', '_types', 'dts']);

const stripExt = (p: string) => p.replace(/\.d\.(ts|mts|cts)$/, '').replace(/\.(tsx?|mts|cts|jsx?|mjs|cjs)$/, '');

/** The path a build maps to its source by: layout folders and extensions removed. */
export function variantKey(path: string): string {
  return stripExt(path).split('/').filter((s) => !LAYOUT_DIRS.has(s)).join('/');
}

/** Folders that only name a module format: two files differing only by these are one module built twice. */
const FLAVOUR_DIRS = new Set(['esm', 'cjs', 'es', 'umd', 'amd', 'system', 'mjs', 'commonjs', 'module', 'esm5', 'esm2015', 'es2015', 'es5',
  'es6', '_esm', '_cjs', 'node', 'browser']);

/** The path with module-format folders and extensions removed (index.mjs, esm/index.js -> index). */
export function flavourKey(path: string): string {
  return stripExt(path).split('/').filter((s) => !FLAVOUR_DIRS.has(s)).join('/');
}

/**
 * Which files of one package are build output of another file it ships. A JS or .d.ts file whose
 * variant key matches a TypeScript source is that source compiled ('build-output'). JS files that
 * differ only by module format (cjs/esm folders, .mjs/.cjs), and likewise .d.ts/.d.mts/.d.cts, are
 * one module built several times: the first by preference stays ('build-variant').
 * A root shim index.js and lib/index.js differ by more than format, so both stay.
 * `paths` are the package's files that passed the content filters; `shipped` (default: `paths`) all its
 * code files, so a build is dropped even when its source was filtered out (e.g. as too large).
 */
export function buildDuplicates(paths: readonly string[], shipped: readonly string[] = paths): Map<string, 'build-output' | 'build-variant'> {
  const out = new Map<string, 'build-output' | 'build-variant'>();
  const tsSources = new Set<string>();
  for (const p of shipped) if (langOf(p) === 'typescript' && !isDeclarationFile(p)) tsSources.add(variantKey(p));
  const groups = new Map<string, string[]>();
  for (const p of paths) {
    const kind = isDeclarationFile(p) ? 'dts' : langOf(p) === 'javascript' ? 'js' : undefined;
    if (!kind) continue;
    if (tsSources.has(variantKey(p))) {
      out.set(p, 'build-output');
      continue;
    }
    const g = `${kind}:${flavourKey(p)}`;
    groups.set(g, [...(groups.get(g) ?? []), p]);
  }
  // Preference: .js/.jsx/.d.ts before .mjs/.cjs variants, then the shorter path, then path order.
  const rank = (p: string) => (/\.(js|jsx|d\.ts)$/.test(p) ? 0 : 1);
  for (const members of groups.values()) {
    const sorted = [...members].sort((a, b) => rank(a) - rank(b) || a.length - b.length || compareStrings(a, b));
    for (const p of sorted.slice(1)) out.set(p, 'build-variant');
  }
  return out;
}

/** Top folders that hold builds; a package's root counts too (browser bundles like mocha.js sit there). */
const BUNDLE_DIRS = new Set(['dist', 'pkg', 'build', 'umd', 'bundle', 'bundles', 'browser', 'min', 'out']);

/**
 * Bundles of a package's own modules: JS files of at least `minBytes` in a build folder (or the
 * package root), in a package that also ships at least `minModules` code files elsewhere (src/,
 * lib/...), which the bundle concatenates. Returns their paths.
 */
export function bundleCopies(files: readonly { path: string; bytes: number }[], minBytes = 50_000, minModules = 10): Set<string> {
  const inBuild = (p: string) => !p.includes('/') || BUNDLE_DIRS.has(p.split('/')[0]);
  const modules = files.filter((f) => langOf(f.path) && !isDeclarationFile(f.path) && !inBuild(f.path)).length;
  if (modules < minModules) return new Set();
  return new Set(files.filter((f) => langOf(f.path) === 'javascript' && f.bytes >= minBytes && inBuild(f.path)).map((f) => f.path));
}

/**
 * The .d.ts cap of one package: declarations (in path order) are kept while their bytes stay within
 * max(floor, bytes of the package's other kept code), so declaration-only packages contribute at
 * most the floor. Returns the dropped paths.
 */
export function capDeclarations(files: readonly { path: string; bytes: number }[], floorBytes: number = LIMITS.dtsFloorBytes): Set<string> {
  const other = files.filter((f) => !isDeclarationFile(f.path)).reduce((s, f) => s + f.bytes, 0);
  const cap = Math.max(floorBytes, other);
  const dropped = new Set<string>();
  let used = 0;
  for (const f of [...files].filter((f) => isDeclarationFile(f.path)).sort((a, b) => compareStrings(a.path, b.path))) {
    if (used + f.bytes > cap) dropped.add(f.path);
    else used += f.bytes;
  }
  return dropped;
}

// ---------------------------------------------------------------------------------------------
// De-duplication and split

/** Keeps the first file of each text (by the order given; callers sort by source then path). */
export function dedupe<T extends { sha256: string }>(files: readonly T[]): { kept: T[]; duplicates: T[] } {
  const seen = new Set<string>();
  const kept: T[] = [], duplicates: T[] = [];
  for (const f of files) {
    if (seen.has(f.sha256)) duplicates.push(f);
    else {
      seen.add(f.sha256);
      kept.push(f);
    }
  }
  return { kept, duplicates };
}

/** A number in [0, 1) from sha256 of the name: the same on every machine, independent of the list order. */
export function unitHash(name: string): number {
  return createHash('sha256').update(name).digest().readUInt32BE(0) / 2 ** 32;
}

/**
 * Held-out packages: those whose unitHash is below `fraction`, topped up per group (e.g. "npm",
 * "python") with the next-lowest hashes until each group has `minPerGroup` held out.
 */
export function heldOutPackages(packages: readonly { name: string; group: string }[], fraction: number, minPerGroup: number): Set<string> {
  const held = new Set<string>();
  const byGroup = new Map<string, string[]>();
  for (const p of packages) byGroup.set(p.group, [...(byGroup.get(p.group) ?? []), p.name]);
  for (const names of byGroup.values()) {
    const ranked = [...new Set(names)].sort((a, b) => unitHash(a) - unitHash(b) || compareStrings(a, b));
    ranked.forEach((n, i) => {
      if (unitHash(n) < fraction || i < Math.min(minPerGroup, ranked.length)) held.add(n);
    });
  }
  return held;
}

/** The stdlib "package" of a path under /usr/lib/python3.11: its top-level module or package. */
export function stdlibModuleOf(relPath: string): string {
  return relPath.split('/')[0].replace(/\.py$/, '');
}

/**
 * Deterministic sample under a byte budget: files are taken by ascending sha256 (a uniform pseudo-random
 * order across languages and packages) until the budget is used. Returns the kept subset in input order.
 */
export function sampleByHash<T extends { sha256: string; bytes: number }>(files: readonly T[], maxBytes: number): T[] {
  const ranked = [...files].sort((a, b) => compareStrings(a.sha256, b.sha256));
  const keep = new Set<T>();
  let used = 0;
  for (const f of ranked) {
    if (used + f.bytes > maxBytes) continue;
    keep.add(f);
    used += f.bytes;
  }
  return files.filter((f) => keep.has(f));
}
