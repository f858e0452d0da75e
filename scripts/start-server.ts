// Serves a working VS Code for trying Hindsight: code-server on 127.0.0.1:$PORT (default 8080),
// --auth none, its own user data and extensions under .tmp/start/, hindsight.vsix installed, and a
// copy of demo/ opened. No model setting is written: the extension serves its bundled Hindsight
// Starter model. Only its own keys are merged into the user settings.json, and only where the user
// has not changed them (scripts/lib/userSettings.ts), so a second run keeps the user's settings.
// Run through `npm start`, which builds and packages first. HINDSIGHT_START_DIR (default .tmp/start)
// and HINDSIGHT_VSIX (default hindsight.vsix) move its state and package: the UI test starts it
// twice in a temp folder.
import fs from 'node:fs';
import path from 'node:path';
import { baseUserSettings, codeServerCli, copyDemoWorkspace, initGitRepo, isolatedEnv, repoRoot, startCodeServer } from './lib/codeServer';
import { mergeOwnSettings } from './lib/userSettings';

async function main() {
  const state = path.resolve(process.env.HINDSIGHT_START_DIR || path.join(repoRoot, '.tmp', 'start'));
  const workspace = path.join(state, 'demo-workspace');
  const vsix = path.resolve(process.env.HINDSIGHT_VSIX || path.join(repoRoot, 'hindsight.vsix'));
  const port = Number(process.env.PORT ?? 8080);
  fs.mkdirSync(state, { recursive: true });
  if (!fs.existsSync(workspace)) initGitRepo(copyDemoWorkspace(workspace));

  // No hindsight.model.path: the extension serves its bundled Hindsight Starter model.
  const starter = path.join(repoRoot, 'models', 'hindsight-starter');
  const modelNote = fs.existsSync(path.join(starter, 'model.safetensors')) ? 'Hindsight Starter (bundled; "Hindsight: Download a model" brings a stronger one)' : 'none: models/hindsight-starter is missing (npm run starter:pretrain makes it)';
  const env = isolatedEnv(state);
  console.log('[start] installing hindsight.vsix into', path.join(state, 'extensions'));
  await codeServerCli(['--extensions-dir', path.join(state, 'extensions'), '--user-data-dir', path.join(state, 'user-data'), '--install-extension', vsix, '--force'], env);

  const settingsFile = path.join(state, 'user-data', 'User', 'settings.json');
  const merged = mergeOwnSettings(settingsFile, { ...baseUserSettings, 'git.enabled': true }, path.join(state, 'start-settings.json'));
  if (merged.kept.length) console.log(`[start] kept your values of ${merged.kept.join(', ')} in ${settingsFile}`);
  const server = await startCodeServer({ root: state, port, name: 'code-server', keepUserSettings: true });
  const url = `${server.url}/?folder=${encodeURIComponent(workspace)}`;
  console.log('');
  console.log(`Hindsight is ready: open ${url}`);
  console.log(`  workspace: ${workspace}\n  model:     ${modelNote}`);
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
