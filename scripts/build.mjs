// Bundles the extension, the trainer process and the webview with esbuild:
//   src/extension.ts -> dist/extension.js   server/main.ts -> dist/server.js   webview-ui/ -> dist/webview/
// `--tests` also bundles the extension-host test index and suites into dist-test/.
// `--production` minifies and copies onnxruntime-node's linux-x64 runtime into dist/node_modules so the
// VSIX carries it (a .node addon cannot be bundled). Type checking is `npm run typecheck`, not this.
import { build } from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const production = args.has('--production');
const withTests = args.has('--tests');

// Native / runtime-resolved packages stay external: the bundle requires them from node_modules
// (dist/node_modules in the VSIX, the repository's node_modules in development).
const nodeExternals = ['vscode', 'onnxruntime-node'];

/** Node-side bundles. Another process entry (e.g. a worker thread script) is one more row here. */
export const nodeEntries = [
  { in: 'src/extension.ts', out: 'dist/extension.js' },
  { in: 'server/main.ts', out: 'dist/server.js' },
  // Worker threads of the trainer process, each bundled beside server.js (added by their areas).
  ...optional('server/serve/worker.ts', 'dist/serveWorker.js'),
  ...optional('server/train/worker.ts', 'dist/trainWorker.js'),
  ...optional('server/learn/worker.ts', 'dist/learnWorker.js'),
  ...optional('server/export/worker.ts', 'dist/exportWorker.js'),
];

function optional(input, out) {
  return fs.existsSync(path.join(root, input)) ? [{ in: input, out }] : [];
}

const common = {
  absWorkingDir: root,
  bundle: true,
  sourcemap: production ? false : 'linked',
  minify: production,
  logLevel: 'warning',
  legalComments: 'none',
};

async function buildNode() {
  await Promise.all(
    nodeEntries.map((e) =>
      build({
        ...common,
        entryPoints: [e.in],
        outfile: e.out,
        platform: 'node',
        format: 'cjs',
        target: 'node20',
        external: nodeExternals,
        // Prefer the CommonJS build of dual packages (@huggingface/tokenizers) for a cjs bundle.
        mainFields: ['main', 'module'],
        conditions: ['require', 'node'],
      }),
    ),
  );
}

async function buildWebview() {
  const entry = path.join(root, 'webview-ui/main.ts');
  if (!fs.existsSync(entry)) return;
  await build({
    ...common,
    entryPoints: [entry],
    outdir: 'dist/webview',
    platform: 'browser',
    format: 'iife',
    target: 'es2022',
    loader: { '.css': 'css' },
  });
  const css = path.join(root, 'webview-ui/main.css');
  if (fs.existsSync(css)) fs.copyFileSync(css, path.join(root, 'dist/webview/main.css'));
}

async function buildTests() {
  const suitesDir = path.join(root, 'test/host/suites');
  const suites = fs.existsSync(suitesDir)
    ? fs.readdirSync(suitesDir).filter((f) => f.endsWith('.test.ts')).map((f) => `test/host/suites/${f}`)
    : [];
  await build({
    ...common,
    sourcemap: 'inline',
    minify: false,
    entryPoints: ['test/host/index.ts', ...suites],
    outdir: 'dist-test',
    outbase: 'test/host',
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    // mocha is loaded from the repository's node_modules: it requires suite files at run time.
    external: [...nodeExternals, 'mocha'],
    mainFields: ['main', 'module'],
    conditions: ['require', 'node'],
  });
}

/** Copies the parts of onnxruntime-node the trainer needs on linux-x64 into dist/node_modules. */
function copyRuntime() {
  const dst = path.join(root, 'dist/node_modules');
  const copy = (rel) => {
    const from = path.join(root, 'node_modules', rel);
    const to = path.join(dst, rel);
    fs.mkdirSync(path.dirname(to), { recursive: true });
    // Files already there unchanged are skipped: rewriting a loaded .so under a running trainer crashes it.
    const changed = (src, dest) => {
      if (!fs.existsSync(dest)) return true;
      const [a, b] = [fs.statSync(src), fs.statSync(dest)];
      return a.isDirectory() || a.size !== b.size || a.mtimeMs > b.mtimeMs;
    };
    fs.cpSync(from, to, { recursive: true, preserveTimestamps: true, filter: (src, dest) => !src.endsWith('.map') && !src.endsWith('.d.ts') && changed(src, dest) });
  };
  copy('onnxruntime-node/package.json');
  copy('onnxruntime-node/dist');
  copy('onnxruntime-node/bin/napi-v6/linux/x64');
  copy('onnxruntime-common/package.json');
  copy('onnxruntime-common/dist/cjs');
}

const t0 = Date.now();
// dist/ is overwritten in place, not emptied first: a test run elsewhere in the tree may be using it.
await Promise.all([buildNode(), buildWebview(), withTests ? buildTests() : Promise.resolve()]);
if (production) copyRuntime();
console.log(`[build] ${production ? 'production' : 'development'}${withTests ? ' + tests' : ''} in ${Date.now() - t0} ms`);
