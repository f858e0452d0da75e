// The starter corpus's pure functions (scripts/starter/corpusFilters.ts): languages, license
// classification, decoding, the minified/generated/bundle filters, build-output duplicates, the
// .d.ts cap, exact de-duplication, the held-out split and the byte-budget sample.
import test from 'node:test';
import assert from 'node:assert/strict';
import {
  LIMITS, alnumFraction, digitFraction, buildDuplicates, bundleCopies, capDeclarations, classifyDebianCopyright, classifyNpmLicense, contentReject,
  decodeText, dedupe, evalLicenseExpression, heldOutPackages, isDeclarationFile, langOf, lineStats, sampleByHash,
  sha256Hex, stdlibModuleOf, unitHash, variantKey,
} from '../../../scripts/starter/corpusFilters';

const code = `import { x } from './x';\n\nexport function add(a: number, b: number): number {\n  // the sum\n  return a + b + x;\n}\n`;

test('languages come from the extension; .d.ts is TypeScript and a declaration', () => {
  for (const p of ['a.ts', 'a.tsx', 'a.mts', 'a.cts', 'a.d.ts']) assert.equal(langOf(p), 'typescript', p);
  for (const p of ['a.js', 'a.mjs', 'a.cjs', 'a.jsx']) assert.equal(langOf(p), 'javascript', p);
  assert.equal(langOf('pkg/mod.py'), 'python');
  for (const p of ['a.json', 'a.map', 'a.pyc', 'README.md', 'a.ts.orig']) assert.equal(langOf(p), undefined, p);
  assert.ok(isDeclarationFile('lib/index.d.ts') && isDeclarationFile('x.d.mts') && !isDeclarationFile('index.ts'));
});

test('npm licenses: permissive ids, OR expressions with one permissive side, legacy forms', () => {
  const ok = (license: unknown) => classifyNpmLicense({ license }).accepted;
  for (const l of ['MIT', 'ISC', 'Apache-2.0', 'BSD-2-Clause', 'BSD-3-Clause', '0BSD', 'Unlicense', 'CC0-1.0', 'mit']) assert.ok(ok(l), l);
  assert.ok(ok('(MIT OR GPL-3.0-or-later)'));
  assert.ok(ok('(BSD-3-Clause OR GPL-2.0)'));
  assert.ok(ok('Apache-2.0 WITH LLVM-exception'));
  assert.ok(ok({ type: 'MIT', url: 'x' }), 'legacy object');
  assert.ok(classifyNpmLicense({ licenses: [{ type: 'GPL-2.0' }, { type: 'MIT' }] }).accepted, 'legacy list is a choice');
  for (const l of ['GPL-3.0', 'MIT-0', 'BlueOak-1.0.0', 'CC-BY-4.0', '(MIT AND Zlib)', 'SEE LICENSE IN LICENSE', 'UNLICENSED', '(MIT OR', '']) {
    assert.equal(ok(l), false, l);
  }
  assert.deepEqual(classifyNpmLicense({}), { license: 'none', accepted: false });
  assert.equal(classifyNpmLicense({ license: '(MIT AND Zlib)' }).license, '(MIT AND Zlib)');
  assert.ok(evalLicenseExpression('(A AND B) OR C', (id) => id === 'C'));
  assert.ok(!evalLicenseExpression('A AND (B OR C)', (id) => id === 'B'));
});

test('Debian copyright: the Files: * paragraph decides', () => {
  const dep5 = (license: string) =>
    `Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\nUpstream-Name: x\n\nFiles: *\nCopyright: 2020 Someone\nLicense: ${license}\n\nFiles: debian/*\nLicense: GPL-2+\n\nLicense: ${license}\n text\n`;
  for (const l of ['Expat', 'MIT', 'BSD-3-clause', 'BSD-2-Clause', 'BSD', 'Apache-2.0', 'PSF-2', 'ISC', 'BSD-3-clause or GPL-2+']) {
    assert.ok(classifyDebianCopyright(dep5(l)).accepted, l);
  }
  for (const l of ['MPL-2.0', 'GPL-2+', 'LGPL-2.1+', 'public-domain and GPL-3']) assert.equal(classifyDebianCopyright(dep5(l)).accepted, false, l);
  assert.equal(classifyDebianCopyright(dep5('Expat')).license, 'Expat');
  // "Files: * " may be followed by more patterns on continuation lines.
  assert.ok(classifyDebianCopyright('Files: *\n foo/*\nLicense: BSD-3-clause\n').accepted);
  // Not machine-readable: the first license text decides (later ones are per-file exceptions).
  assert.ok(classifyDebianCopyright('Permission is hereby granted, free of charge, to any person').accepted);
  assert.deepEqual(classifyDebianCopyright('Redistribution and use in source and binary forms...\n\next/x.el: GNU General Public License'), {
    license: 'BSD (text)',
    accepted: true,
  });
  assert.equal(classifyDebianCopyright('under the GNU General Public License; Permission is hereby granted, free of charge').accepted, false);
  assert.equal(classifyDebianCopyright('nothing useful').accepted, false);
});

test('decoding: NUL bytes and invalid UTF-8 are rejected; BOM removed, line endings normalised', () => {
  assert.deepEqual(decodeText(Buffer.from('a\0b')), { reject: 'nul-byte' });
  assert.deepEqual(decodeText(Buffer.from([0x61, 0xff, 0x62])), { reject: 'not-utf8' });
  assert.deepEqual(decodeText(Buffer.from('\ufeffa\r\nb\rc\n')), { text: 'a\nb\nc\n' });
  assert.deepEqual(decodeText(Buffer.from('é – ✓')), { text: 'é – ✓' });
});

test('normal TypeScript, JavaScript and Python pass the content filters', () => {
  assert.equal(contentReject('src/add.ts', code), undefined);
  assert.equal(contentReject('lib/x.js', `'use strict';\nconst a = require('a');\nmodule.exports = function (x) {\n  return a(x) || {};\n};\n`), undefined);
  assert.equal(contentReject('pkg/m.py', 'def f(x):\n    """Doc."""\n    return [i * 2 for i in range(x)]\n'), undefined);
});

test('minified, generated, bundled, source-mapped and data-like files are rejected', () => {
  assert.equal(contentReject('dist/a.min.js', code), 'minified-name');
  assert.equal(contentReject('dist/a-min.js', code), 'minified-name');
  assert.equal(contentReject('a.js.map', code), 'source-map');
  assert.equal(contentReject('a.js', `${code}//# sourceMappingURL=data:application/json;base64,eyJ2\n`), 'source-map');
  assert.equal(contentReject('a.ts', '// Generated by the foo tool\n' + code), 'generated');
  assert.equal(contentReject('a.js', '/**\n * @generated\n */\n' + code), 'generated');
  assert.equal(contentReject('a_pb2.py', '# Generated by the protocol buffer compiler.  DO NOT EDIT!\nx = 1\n'), 'generated');
  assert.equal(contentReject('a.py', '# This file was automatically generated from spec.yaml\nx = 1\n'), 'generated');
  // A marker far below the header is prose, not a generated file.
  assert.equal(contentReject('a.ts', code.repeat(10) + '// DO NOT EDIT the line below\n'), undefined);
  assert.equal(contentReject('bundle.js', '/******/ (() => { // webpackBootstrap\n/******/ \tvar x = 1;\n'), 'bundle');
  assert.equal(contentReject('a.js', `var a = ${'1,'.repeat(600)}0;\n`), 'long-line');
  assert.equal(contentReject('a.js', `${'x'.repeat(150)}\n`.repeat(20)), 'mean-line');
  assert.equal(contentReject('a.js', `${'{[(*&^%$#@!)]};'.repeat(5)}\n`.repeat(20)), 'low-alnum');
  assert.equal(contentReject('a.ts', '\n\n  \n'), 'empty');
  assert.equal(contentReject('results.py', `params = [\n${'    1.23456789, 2.34567891, 3.45678912,\n'.repeat(30)}]\n`), 'numeric-data');
  assert.equal(contentReject('lib/generated/idl/Node.js', code), 'generated');
  assert.equal(contentReject('a.ts', 'x', LIMITS.maxBytes + 1), 'too-large');
});

test('line statistics and alphanumeric fraction', () => {
  assert.deepEqual(lineStats('ab\ncdef\n'), { lines: 2, maxLine: 4, meanLine: 3 });
  assert.deepEqual(lineStats('abc'), { lines: 1, maxLine: 3, meanLine: 3 });
  assert.equal(alnumFraction('ab c'), 1);
  assert.equal(alnumFraction('a{}b'), 0.5);
  assert.equal(alnumFraction('日本語'), 1);
  assert.equal(digitFraction('a1b2'), 0.5);
});

test('build output of shipped TypeScript sources and cjs/esm copies are dropped; hand-written JS stays', () => {
  assert.equal(variantKey('dist/cjs/internal/map.js'), 'internal/map');
  assert.equal(variantKey('src/internal/map.ts'), 'internal/map');
  const ts = buildDuplicates(['src/index.ts', 'src/util/a.ts', 'dist/index.js', 'dist/index.d.ts', 'dist/esm/util/a.mjs', 'dist/other.js', 'src/types.d.ts']);
  assert.equal(ts.get('dist/index.js'), 'build-output');
  assert.equal(ts.get('dist/index.d.ts'), 'build-output');
  assert.equal(ts.get('dist/esm/util/a.mjs'), 'build-output');
  assert.ok(!ts.has('src/index.ts') && !ts.has('dist/other.js') && !ts.has('src/types.d.ts'));

  const js = buildDuplicates(['dist/cjs/index.js', 'dist/esm/index.js', 'dist/index.mjs', 'index.js', 'lib/index.js', 'index.d.ts', 'index.d.mts']);
  // One module built as cjs, esm and .mjs: one copy stays.
  assert.equal(js.get('dist/esm/index.js'), 'build-variant');
  assert.ok(!js.has('dist/cjs/index.js'));
  // A root shim and lib/index.js are different files, kept; a .js and its .d.ts are not duplicates.
  assert.ok(!js.has('index.js') && !js.has('lib/index.js') && !js.has('index.d.ts'));
  assert.equal(js.get('index.d.mts'), 'build-variant');
  // The build of a source that was filtered out (e.g. too large) is still its build.
  assert.equal(buildDuplicates(['dist/big.js'], ['src/big.ts', 'dist/big.js']).get('dist/big.js'), 'build-output');
});

test('bundles of a package\'s own modules are dropped; single-file libraries stay', () => {
  const modules = Array.from({ length: 12 }, (_, i) => ({ path: `src/m${i}.js`, bytes: 2000 }));
  const bundles = bundleCopies([...modules, { path: 'dist/lib.js', bytes: 90_000 }, { path: 'dist/small.js', bytes: 900 }, { path: 'lib.js', bytes: 80_000 }]);
  assert.deepEqual([...bundles].sort(), ['dist/lib.js', 'lib.js']);
  // No module tree beside it: the file is the library itself.
  assert.equal(bundleCopies([{ path: 'decimal.js', bytes: 200_000 }, { path: 'decimal.mjs', bytes: 200_000 }]).size, 0);
});

test('.d.ts files are capped at max(floor, the package\'s other code)', () => {
  const files = [
    { path: 'a.d.ts', bytes: 600 },
    { path: 'b.d.ts', bytes: 600 },
    { path: 'c.d.ts', bytes: 100 },
    { path: 'index.js', bytes: 700 },
  ];
  assert.deepEqual([...capDeclarations(files, 500)], ['b.d.ts']);
  assert.deepEqual([...capDeclarations(files, 2000)], []);
  assert.deepEqual([...capDeclarations(files.filter((f) => f.path.endsWith('.d.ts')), 700)], ['b.d.ts']);
});

test('exact de-duplication keeps the first in the given order', () => {
  const files = [
    { id: 1, sha256: sha256Hex('a') },
    { id: 2, sha256: sha256Hex('b') },
    { id: 3, sha256: sha256Hex('a') },
  ];
  const { kept, duplicates } = dedupe(files);
  assert.deepEqual(kept.map((f) => f.id), [1, 2]);
  assert.deepEqual(duplicates.map((f) => f.id), [3]);
});

test('held-out split: deterministic by name, ~fraction, with a minimum per group', () => {
  const npm = Array.from({ length: 200 }, (_, i) => ({ name: `pkg-${i}`, group: 'npm' }));
  const py = Array.from({ length: 20 }, (_, i) => ({ name: `python3-${i}`, group: 'python' }));
  const held = heldOutPackages([...npm, ...py], 0.05, 3);
  const heldNpm = npm.filter((p) => held.has(p.name)).length;
  assert.ok(heldNpm >= 3 && heldNpm <= 25, `npm held out: ${heldNpm}`);
  assert.ok(py.filter((p) => held.has(p.name)).length >= 3);
  for (const n of held) if (n.startsWith('pkg-')) assert.ok(unitHash(n) < 0.05 || heldNpm === 3);
  // Order of the input does not matter.
  assert.deepEqual([...heldOutPackages([...py, ...npm].reverse(), 0.05, 3)].sort(), [...held].sort());
  assert.ok(unitHash('x') >= 0 && unitHash('x') < 1 && unitHash('x') === unitHash('x'));
});

test('stdlib modules are packages of their own', () => {
  assert.equal(stdlibModuleOf('json/decoder.py'), 'json');
  assert.equal(stdlibModuleOf('argparse.py'), 'argparse');
});

test('the byte-budget sample is deterministic and stays within the budget', () => {
  const files = Array.from({ length: 100 }, (_, i) => ({ sha256: sha256Hex(String(i)), bytes: 10 + i, i }));
  const a = sampleByHash(files, 1000);
  assert.ok(a.reduce((s, f) => s + f.bytes, 0) <= 1000);
  assert.deepEqual(a, sampleByHash(files, 1000));
  assert.deepEqual(a.map((f) => f.i), [...a.map((f) => f.i)].sort((x, y) => x - y), 'input order kept');
});
