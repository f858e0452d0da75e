// Packages hindsight.vsix: a production build (which copies onnxruntime-node's linux-x64 runtime
// into dist/node_modules), then vsce with --no-dependencies since everything else is bundled.
// Usage: node scripts/package.mjs [--out FILE]   (default: ./hindsight.vsix)
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const i = process.argv.indexOf('--out');
const out = path.resolve(i >= 0 ? process.argv[i + 1] : path.join(root, 'hindsight.vsix'));

const run = (cmd, args) => {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
run(process.execPath, ['scripts/build.mjs', '--production']);
// linux-x64: the only onnxruntime binaries the package carries (DESIGN.md §3: one VSIX per platform).
// --no-rewrite-relative-links: README links to repository files; with no public repository URL they stay relative.
run(process.execPath, [path.join(root, 'node_modules/@vscode/vsce/vsce'), 'package', '--no-dependencies', '--target', 'linux-x64', '--allow-missing-repository', '--no-rewrite-relative-links', '--out', out]);
console.log(`[package] ${out}: ${(fs.statSync(out).size / 1e6).toFixed(1)} MB`);
