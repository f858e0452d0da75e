// Starts a private VS Code: code-server 4.100.3 on 127.0.0.1 with HOME, XDG and TMPDIR inside one
// folder, user settings written into its user-data-dir; and Debian's chromium driven by
// playwright-core. Shared by the extension-host tests, the UI tests and `npm start`.
// Leaves out: what runs inside (test/host/run.ts, test/ui/*, scripts/start-server.ts).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';

export const repoRoot = path.resolve(__dirname, '../..');
const codeServerEntry = path.join(repoRoot, 'node_modules/code-server/out/node/entry.js');

/** Settings every test instance gets (DESIGN.md §4): no startup editor, no telemetry, no network. */
export const baseUserSettings: Record<string, unknown> = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'git.enabled': false,
  'git.openRepositoryInParentFolders': 'never',
  'security.workspace.trust.enabled': false,
  'chat.commandCenter.enabled': false,
  'workbench.welcomePage.walkthroughs.openOnInstall': false,
};

/** With these (and no --disable-workspace-trust) a folder opens untrusted, with no trust prompt. */
export const untrustedSettings: Record<string, unknown> = {
  'security.workspace.trust.enabled': true,
  'security.workspace.trust.startupPrompt': 'never',
  'security.workspace.trust.emptyWindow': false,
};

export interface CodeServerOptions {
  /** Temp folder the instance lives in (user data, extensions, HOME, TMPDIR). */
  root: string;
  /** false: start without --disable-workspace-trust and with trust enabled, so folders open untrusted. */
  trusted?: boolean;
  userSettings?: Record<string, unknown>;
  /** Leave the user settings.json as it is (the caller merged its own keys: `npm start`, scripts/lib/userSettings.ts). */
  keepUserSettings?: boolean;
  /** Extra environment for code-server and the extension host it spawns. */
  env?: Record<string, string>;
  /** Prefix for its log lines on our stderr (only shown when HINDSIGHT_TEST_VERBOSE is set). */
  name?: string;
  /** Port on 127.0.0.1; default: a free one. */
  port?: number;
  /** Copy code-server's output to our stderr as it comes. */
  echo?: boolean;
}

export interface CodeServer {
  url: string;
  authority: string;
  userDataDir: string;
  extensionsDir: string;
  env: NodeJS.ProcessEnv;
  /** code-server's own output so far (for failure reports). */
  output(): string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

/** Environment that keeps everything code-server writes inside `root`. */
export function isolatedEnv(root: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const home = path.join(root, 'home');
  const tmp = path.join(root, 'tmp');
  for (const d of [home, tmp]) fs.mkdirSync(d, { recursive: true });
  return {
    ...process.env,
    HOME: home,
    TMPDIR: tmp,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    XDG_DATA_HOME: path.join(home, '.local/share'),
    XDG_CACHE_HOME: path.join(home, '.cache'),
    EXTENSIONS_GALLERY: '{}',
    // The password variable would otherwise be read by code-server; --auth none makes it unused.
    PASSWORD: '',
    ...extra,
  };
}

export function writeUserSettings(userDataDir: string, settings: Record<string, unknown>) {
  const dir = path.join(userDataDir, 'User');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'settings.json'), JSON.stringify(settings, null, 2));
}

/** Runs code-server's CLI to completion (e.g. --install-extension). */
export async function codeServerCli(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [codeServerEntry, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`code-server ${args.join(' ')} exited with ${code}:\n${out}`));
    });
  });
}

export async function startCodeServer(opts: CodeServerOptions): Promise<CodeServer> {
  const trusted = opts.trusted ?? true;
  const userDataDir = path.join(opts.root, 'user-data');
  const extensionsDir = path.join(opts.root, 'extensions');
  fs.mkdirSync(extensionsDir, { recursive: true });
  if (!opts.keepUserSettings)
    writeUserSettings(userDataDir, {
      ...baseUserSettings,
      ...(trusted ? {} : untrustedSettings),
      ...opts.userSettings,
    });
  const env = isolatedEnv(opts.root, opts.env);
  const port = opts.port ?? (await freePort());
  const args = [
    '--auth', 'none',
    '--bind-addr', `127.0.0.1:${port}`,
    '--disable-telemetry',
    '--disable-update-check',
    '--disable-getting-started-override',
    '--user-data-dir', userDataDir,
    '--extensions-dir', extensionsDir,
    ...(trusted ? ['--disable-workspace-trust'] : []),
  ];
  // Its own process group, so stop() ends code-server, its extension host and the trainer together.
  // (If we are killed first, scripts/test.mjs sweeps up by the HINDSIGHT_TEST_RUN marker in env.)
  const child: ChildProcess = spawn(process.execPath, [codeServerEntry, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let output = '';
  const collect = (d: Buffer) => {
    output += d;
    if (opts.echo || process.env.HINDSIGHT_TEST_VERBOSE) process.stderr.write(`[${opts.name ?? 'code-server'}] ${d}`);
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));

  const url = `http://127.0.0.1:${port}`;
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`code-server exited (${child.exitCode}) before it was ready:\n${output}`);
    try {
      return (await fetch(`${url}/healthz`)).ok;
    } catch {
      return false;
    }
  }, 60_000, 'code-server /healthz');

  return {
    url,
    authority: `127.0.0.1:${port}`,
    userDataDir,
    extensionsDir,
    env,
    output: () => output,
    async stop() {
      const group = (signal: NodeJS.Signals) => {
        try {
          process.kill(-child.pid!, signal);
        } catch {
          /* already gone */
        }
      };
      group('SIGTERM');
      const t = setTimeout(() => group('SIGKILL'), 3000);
      if (child.exitCode === null) await exited;
      clearTimeout(t);
      // Children that ignored SIGTERM (extension host, trainer) go with the group.
      await new Promise((r) => setTimeout(r, 200));
      group('SIGKILL');
    },
  };
}

export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string, intervalMs = 200): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Debian's chromium, headless, with the flags from DESIGN.md §4. */
export async function launchBrowser(): Promise<Browser> {
  // Its own HOME: chromium keeps a profile and crash-report folder under ~/.config otherwise.
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'hindsight-browser-'));
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    env: { ...process.env, HOME: home, XDG_CONFIG_HOME: path.join(home, '.config'), XDG_CACHE_HOME: path.join(home, '.cache') },
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-dev-shm-usage',
      '--disable-background-networking',
      '--disable-component-update',
      '--no-first-run',
      '--disable-sync',
      '--disable-quic',
    ],
  });
  browser.on('disconnected', () => removeRoot(home));
  return browser;
}

export async function newPage(browser: Browser): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  return context.newPage();
}

/** Removes a test instance's folder (retrying while late writers finish). */
export function removeRoot(root: string) {
  fs.rmSync(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
}

/** Makes a fresh temp folder for one test instance. */
export function tempRoot(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `hindsight-${prefix}-`));
}

/** Copies the demo workspace (demo/) to `dest`. */
export function copyDemoWorkspace(dest: string): string {
  fs.cpSync(path.join(repoRoot, 'demo'), dest, { recursive: true });
  return dest;
}

/** Makes `dir` a git repository with everything in one commit (the commit signal needs a repository). */
export function initGitRepo(dir: string): string {
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=Hindsight Demo', '-c', 'user.email=demo@hindsight.invalid', ...args], {
      cwd: dir,
      stdio: 'ignore',
      env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' },
    });
  git('init', '-q', '-b', 'main');
  git('add', '-A');
  git('commit', '-q', '-m', 'demo workspace');
  return dir;
}
