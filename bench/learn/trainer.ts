// The trainer process as the extension drives it, for bench:learn: spawn dist/server.js (or
// server/main.ts through tsx) with stdio pipes, initialize with a storage folder and a model path,
// then serve/complete, episodes/append + episodes/event, learn/configure, learn/trainNow,
// learn/status over JSON-RPC. Everything the bench learns about the trainer goes through here, so
// a protocol change is one edit. Leaves out what the simulated developer decides (developer.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter, type MessageConnection } from 'vscode-jsonrpc/node';
import { episodes, learn, lifecycle, serve } from '../../protocol';
import { trainerProcessEnv } from '../../src/trainer/processEnv';

export interface TrainerOptions {
  root: string;
  modelPath: string;
  storageDir: string;
  cacheDir: string;
  /** Extra environment (HINDSIGHT_LEARN_RULE …). */
  env?: Record<string, string>;
  /** Run server/main.ts through tsx instead of the built dist/server.js. */
  source?: boolean;
  /** Log lines at warn and above are kept here; every line when verbose. */
  verbose?: boolean;
}

export class TrainerProcess {
  readonly logs: lifecycle.LogParams[] = [];
  private constructor(
    readonly child: ChildProcess,
    readonly connection: MessageConnection,
    readonly exited: Promise<number | null>,
  ) {}

  static async start(o: TrainerOptions): Promise<TrainerProcess> {
    const entry = o.source ? ['--import', 'tsx', path.join(o.root, 'server/main.ts')] : [path.join(o.root, 'dist/server.js')];
    if (!o.source && !fs.existsSync(entry[0])) throw new Error(`${entry[0]} is missing: run node scripts/build.mjs (or pass --source)`);
    const child = spawn(process.execPath, entry, { cwd: o.root, stdio: ['pipe', 'pipe', 'pipe'], env: trainerProcessEnv({ ...process.env, ...(o.env ?? {}) }) });
    const connection = createMessageConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const t = new TrainerProcess(child, connection, exited);
    connection.onNotification(lifecycle.log, (p) => {
      if (o.verbose) process.stderr.write(`  [trainer ${p.level}] ${p.message}\n`);
      if (p.level === 'warn' || p.level === 'error' || /learn: (adapter|round|training session)/.test(p.message)) t.logs.push(p);
    });
    child.stderr!.on('data', (d) => {
      if (o.verbose) process.stderr.write(`  [trainer stderr] ${d}`);
    });
    connection.listen();
    await connection.sendRequest(lifecycle.initialize, {
      storageDir: o.storageDir,
      recordingEnabled: true,
      modelPath: o.modelPath,
      clientVersion: 'bench-learn',
      serving: { executionProvider: 'cpu', threads: 0, weights: 'auto' },
      cacheDir: o.cacheDir,
    });
    return t;
  }

  /** Waits until the model is loaded and the learning loop runs (bounded). */
  async ready(timeoutMs = 180_000): Promise<void> {
    const t0 = Date.now();
    for (;;) {
      const st = await this.connection.sendRequest(lifecycle.status);
      if (st.model.kind === 'failed') throw new Error(`the model failed to load: ${st.model.reason}`);
      const ls = await this.connection.sendRequest(learn.status).catch(() => undefined);
      if (st.model.kind === 'ready' && ls && ls.state !== 'off' && ls.state !== 'starting') return;
      if (ls?.state === 'error') throw new Error(`the learning loop failed: ${ls.detail}`);
      if (Date.now() - t0 > timeoutMs) throw new Error(`trainer not ready after ${timeoutMs} ms (model ${st.model.kind}, learn ${ls?.state} ${ls?.detail ?? ''})`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  complete(p: serve.CompleteParams): Promise<serve.CompleteResult> {
    return this.connection.sendRequest(serve.complete, p);
  }

  async append(shown: episodes.Shown): Promise<void> {
    const ack = await this.connection.sendRequest(episodes.append, { shown });
    if (!ack.stored) throw new Error(`episode ${shown.id} not stored: ${ack.reason}`);
  }

  async event(id: string, event: episodes.EpisodeEvent): Promise<void> {
    const ack = await this.connection.sendRequest(episodes.event, { id, event });
    if (!ack.stored) throw new Error(`event ${event.type} on ${id} not stored: ${ack.reason}`);
  }

  configureLearn(s: learn.Settings): Promise<learn.StatusResult> {
    return this.connection.sendRequest(learn.configure, s);
  }

  trainNow(): Promise<learn.TrainNowResult> {
    return this.connection.sendRequest(learn.trainNow);
  }

  learnStatus(): Promise<learn.StatusResult> {
    return this.connection.sendRequest(learn.status);
  }

  /** Waits until the loop has screened what was recorded (it scans 200 ms after an episode settles). */
  async settled(expectPending: number, timeoutMs = 10_000): Promise<learn.StatusResult> {
    const t0 = Date.now();
    for (;;) {
      const s = await this.learnStatus();
      if (s.pending >= expectPending || Date.now() - t0 > timeoutMs) return s;
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Waits for a kept log line (see start) that matches; false after `timeoutMs`. */
  async waitForLog(pattern: RegExp, timeoutMs: number): Promise<boolean> {
    const t0 = Date.now();
    while (!this.logs.some((l) => pattern.test(l.message))) {
      if (Date.now() - t0 > timeoutMs) return false;
      await new Promise((r) => setTimeout(r, 200));
    }
    return true;
  }

  async stop(): Promise<void> {
    try {
      await Promise.race([this.connection.sendRequest(lifecycle.shutdown), new Promise((r) => setTimeout(r, 10_000))]);
      await this.connection.sendNotification(lifecycle.exit);
      await Promise.race([this.exited, new Promise((r) => setTimeout(r, 5_000))]);
    } finally {
      if (this.child.exitCode === null) this.child.kill('SIGKILL');
      this.connection.dispose();
    }
  }
}
