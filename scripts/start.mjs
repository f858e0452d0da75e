// `npm start`: installs what is missing (scripts/install-deps.sh), builds and packages the .vsix,
// then hands over to scripts/start-server.ts, which serves VS Code (code-server) on 127.0.0.1 with
// the extension installed and the demo workspace open. Plain Node so it runs before tsx exists.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const run = (cmd, args, env = process.env) => {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env });
  if (r.status !== 0) {
    console.error(`[start] ${cmd} ${args.join(' ')} failed (${r.status ?? r.signal})`);
    process.exit(r.status ?? 1);
  }
};

const need = ['node_modules/code-server/lib/vscode/node_modules', 'node_modules/tsx', 'node_modules/onnxruntime-node', 'node_modules/esbuild'];
if (need.some((p) => !fs.existsSync(path.join(root, p)))) {
  console.log('[start] installing dependencies (first run)');
  run('bash', ['scripts/install-deps.sh']);
}
run(process.execPath, ['scripts/package.mjs', '--out', path.join(root, 'hindsight.vsix')]);
// The server runs until Ctrl+C; a SIGTERM sent to this process is passed on so nothing is left behind.
const server = spawn(process.execPath, ['--import', 'tsx', 'scripts/start-server.ts', ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, () => server.kill(sig));
server.on('exit', (code) => process.exit(code ?? 0));
