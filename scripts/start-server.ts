// Serves a working VS Code for trying Hindsight: code-server on 127.0.0.1:$PORT (default 8080),
// --auth none, its own user data and extensions under .tmp/start/, hindsight.vsix installed, and a
// copy of demo/ opened. When a generated model exists (npm run make-model) its folder is set as
// hindsight.model.path. Run through `npm start`, which builds and packages first.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { codeServerCli, copyDemoWorkspace, initGitRepo, isolatedEnv, repoRoot, startCodeServer } from './lib/codeServer';

async function main() {
  const state = path.join(repoRoot, '.tmp', 'start');
  const workspace = path.join(state, 'demo-workspace');
  const vsix = path.join(repoRoot, 'hindsight.vsix');
  const port = Number(process.env.PORT ?? 8080);
  fs.mkdirSync(state, { recursive: true });
  if (!fs.existsSync(workspace)) initGitRepo(copyDemoWorkspace(workspace));

  // A small generated model (random weights in the Qwen2 layout) so the trainer has something to load.
  const model = path.join(state, 'model-tiny');
  const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));
  if (!fs.existsSync(path.join(model, 'config.json')) && pkg.scripts?.['make-model']) {
    console.log('[start] generating a tiny demo model (random weights) in', model);
    const r = spawnSync('npm', ['run', '--silent', 'make-model', '--', '--preset', 'tiny', '--out', model], { cwd: repoRoot, stdio: 'inherit' });
    if (r.status !== 0) console.log('[start] make-model failed; starting without a model (suggestions unavailable).');
  }
  const modelPath = fs.existsSync(path.join(model, 'config.json')) ? model : '';

  const env = isolatedEnv(state);
  console.log('[start] installing hindsight.vsix into', path.join(state, 'extensions'));
  await codeServerCli(['--extensions-dir', path.join(state, 'extensions'), '--user-data-dir', path.join(state, 'user-data'), '--install-extension', vsix, '--force'], env);

  const server = await startCodeServer({
    root: state,
    port,
    name: 'code-server',
    userSettings: { 'git.enabled': true, ...(modelPath ? { 'hindsight.model.path': modelPath } : {}) },
  });
  const url = `${server.url}/?folder=${encodeURIComponent(workspace)}`;
  console.log('');
  console.log(`Hindsight is ready: open ${url}`);
  console.log(`  workspace: ${workspace}${modelPath ? `\n  model:     ${modelPath} (generated, random weights)` : '\n  model:     none (suggestions unavailable)'}`);
  console.log('  Run "Hindsight: Enable for this workspace" from the command palette (F1). Ctrl+C stops the server.');
  const stop = () => void server.stop().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  await new Promise(() => undefined); // until a signal
}

main().catch((err) => {
  console.error(`[start] ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
});
