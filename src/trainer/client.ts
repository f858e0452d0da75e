// The editor's side of the trainer process: spawns dist/server.js with the editor's own Node
// (process.execPath + ELECTRON_RUN_AS_NODE=1), speaks the protocol over stdio, copies the server's
// logs into the "Hindsight" output channel, restarts it with backoff after a crash and gives up
// visibly after repeated crashes. Leaves out: what the areas send (they call request/onNotification).
import * as cp from 'node:child_process';
import * as vscode from 'vscode';
import {
  createMessageConnection,
  StreamMessageReader,
  StreamMessageWriter,
  type CancellationToken,
  type MessageConnection,
  type NotificationType,
  type RequestType,
  type RequestType0,
} from 'vscode-jsonrpc/node';
import { lifecycle } from '../../protocol';
import { trainerProcessEnv } from './processEnv';
import { RestartPolicy, type RestartPolicyOptions } from './restartPolicy';

/** The server's own states plus the client's: 'stopped' (workspace off), 'restarting', 'failed' (gave up). */
export type ClientState = lifecycle.TrainerState | 'stopped' | 'restarting' | 'failed';

export interface TrainerSnapshot {
  state: ClientState;
  /** Pid of the running trainer process, if any. */
  pid?: number;
  /** Unexpected exits survived since this client was started. */
  restarts: number;
  /** Why, for 'error', 'restarting' and 'failed'. */
  detail?: string;
  /** Last status the server reported. */
  server?: lifecycle.StatusResult;
}

export interface TrainerClientOptions {
  serverPath: string;
  log: vscode.LogOutputChannel;
  /** Called at each (re)start so a restart picks up the current settings. */
  initializeParams: () => lifecycle.InitializeParams;
  restartPolicy?: RestartPolicyOptions;
  /** How long the server may take to answer initialize (ms) before it counts as crashed. */
  initializeTimeoutMs?: number;
}

type AnyNotificationHandler = { type: NotificationType<any>; handler: (params: any) => void };

export class TrainerClient implements vscode.Disposable {
  private child: cp.ChildProcess | undefined;
  private connection: MessageConnection | undefined;
  private stopping = false;
  private stopInFlight: Promise<void> | undefined;
  private restartTimer: NodeJS.Timeout | undefined;
  private readonly policy: RestartPolicy;
  private readonly notificationHandlers: AnyNotificationHandler[] = [];
  private readonly emitter = new vscode.EventEmitter<TrainerSnapshot>();
  private readonly startedEmitter = new vscode.EventEmitter<void>();
  private current: TrainerSnapshot = { state: 'stopped', restarts: 0 };

  /** Fires on every state change. */
  readonly onDidChangeState = this.emitter.event;
  /** Fires each time a (new) trainer process answered initialize: areas re-send their state here. */
  readonly onDidStart = this.startedEmitter.event;

  constructor(private readonly options: TrainerClientOptions) {
    this.policy = new RestartPolicy(options.restartPolicy);
  }

  get snapshot(): TrainerSnapshot {
    return this.current;
  }

  get isReady(): boolean {
    return this.connection !== undefined && (this.current.state === 'ready' || this.current.state === 'training' || this.current.state === 'error');
  }

  /** Starts the trainer if it is not running; resolves once it answered initialize (or failed to). */
  async start(): Promise<void> {
    // A stop still in progress (quick disable → enable) finishes first, so the start is not lost.
    if (this.stopInFlight) await this.stopInFlight;
    if (this.child) return;
    this.stopping = false;
    this.policy.reset();
    this.setState({ state: 'starting', restarts: 0 });
    await this.spawn();
  }

  /** Asks the trainer to shut down cleanly, then kills it if it does not leave within timeoutMs. */
  stop(timeoutMs = 3000): Promise<void> {
    this.stopInFlight ??= this.doStop(timeoutMs).finally(() => (this.stopInFlight = undefined));
    return this.stopInFlight;
  }

  private async doStop(timeoutMs: number): Promise<void> {
    this.stopping = true;
    clearTimeout(this.restartTimer);
    const child = this.child;
    const connection = this.connection;
    if (!child) {
      this.setState({ state: 'stopped', restarts: this.current.restarts });
      return;
    }
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    try {
      if (connection) {
        await withTimeout(connection.sendRequest(lifecycle.shutdown), timeoutMs);
        await connection.sendNotification(lifecycle.exit);
      }
    } catch (err) {
      this.options.log.warn(`trainer did not shut down cleanly: ${describe(err)}`);
    }
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
  }

  /** Manual restart (the "give up" state's way back). */
  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  sendRequest<R>(type: RequestType0<R, void>, token?: CancellationToken): Promise<R>;
  sendRequest<P, R>(type: RequestType<P, R, void>, params: P, token?: CancellationToken): Promise<R>;
  sendRequest(type: any, ...rest: any[]): Promise<any> {
    const connection = this.connection;
    if (!connection) return Promise.reject(new Error(`Hindsight trainer is not running (${this.current.state}).`));
    return connection.sendRequest(type, ...rest);
  }

  sendNotification<P>(type: NotificationType<P>, params: P): Promise<void> {
    const connection = this.connection;
    if (!connection) return Promise.reject(new Error(`Hindsight trainer is not running (${this.current.state}).`));
    return connection.sendNotification(type, params);
  }

  /** Registers a server->editor notification handler that survives restarts. */
  onNotification<P>(type: NotificationType<P>, handler: (params: P) => void): vscode.Disposable {
    const entry: AnyNotificationHandler = { type, handler };
    this.notificationHandlers.push(entry);
    this.connection?.onNotification(type, handler);
    return new vscode.Disposable(() => {
      const i = this.notificationHandlers.indexOf(entry);
      if (i >= 0) this.notificationHandlers.splice(i, 1);
    });
  }

  dispose() {
    void this.stop();
    this.emitter.dispose();
    this.startedEmitter.dispose();
  }

  // ---- internals ---------------------------------------------------------------------------------

  private async spawn(): Promise<void> {
    const log = this.options.log;
    const child = cp.spawn(process.execPath, [this.options.serverPath], {
      env: trainerProcessEnv(), // plain Node under Electron; glibc's huge pages and memory return (processEnv.ts)
      stdio: ['pipe', 'pipe', 'pipe'],
      windowsHide: true,
    });
    this.child = child;
    const connection = createMessageConnection(new StreamMessageReader(child.stdout!), new StreamMessageWriter(child.stdin!));
    this.connection = connection;

    child.stderr!.setEncoding('utf8');
    child.stderr!.on('data', (chunk: string) => {
      for (const line of chunk.split('\n')) if (line.trim()) log.warn(`[trainer stderr] ${line}`);
    });
    child.on('error', (err) => log.error(`trainer process error: ${err.message}`));
    child.on('exit', (code, signal) => this.onExit(child, code, signal));

    connection.onNotification(lifecycle.log, ({ level, message }) => logAt(log, level, message));
    connection.onNotification(lifecycle.statusChanged, (status) => this.onServerStatus(status));
    for (const { type, handler } of this.notificationHandlers) connection.onNotification(type, handler);
    connection.onError(([err]) => log.error(`trainer connection error: ${err.message}`));
    connection.listen();

    try {
      const params = this.options.initializeParams();
      const result = await withTimeout(connection.sendRequest(lifecycle.initialize, params), this.options.initializeTimeoutMs ?? 20_000);
      if (this.child !== child) return;
      log.info(`trainer ready: pid ${result.pid}, server ${result.serverVersion}`);
      const status = await connection.sendRequest(lifecycle.status);
      if (this.child !== child) return;
      this.setState({ ...this.current, pid: child.pid, detail: undefined, server: status, state: status.state });
      this.startedEmitter.fire();
    } catch (err) {
      if (this.child !== child) return;
      log.error(`trainer failed to initialize: ${describe(err)}`);
      child.kill('SIGKILL'); // onExit decides whether to try again
    }
  }

  private onServerStatus(status: lifecycle.StatusResult) {
    if (this.current.state === 'starting' || this.current.state === 'restarting') {
      this.current = { ...this.current, server: status };
      return; // spawn() sets the state once initialize answered
    }
    this.setState({ ...this.current, server: status, state: status.state, detail: status.detail });
  }

  private onExit(child: cp.ChildProcess, code: number | null, signal: NodeJS.Signals | null) {
    if (this.child !== child) return;
    this.child = undefined;
    this.connection?.dispose();
    this.connection = undefined;
    const how = signal ? `signal ${signal}` : `code ${code}`;
    if (this.stopping) {
      this.options.log.info(`trainer stopped (${how})`);
      this.setState({ state: 'stopped', restarts: this.current.restarts });
      return;
    }
    const decision = this.policy.onCrash(Date.now());
    const restarts = this.current.restarts;
    if (decision.action === 'give-up') {
      const detail = `Gave up: ${decision.reason} (last exit: ${how}).`;
      this.options.log.error(`trainer exited unexpectedly (${how}). ${detail}`);
      this.setState({ state: 'failed', restarts, detail });
      void vscode.window
        .showErrorMessage(`Hindsight: ${detail} Suggestions and learning are off until it is restarted.`, 'Show Logs', 'Restart Trainer')
        .then((choice) => {
          if (choice === 'Show Logs') this.options.log.show();
          if (choice === 'Restart Trainer') void this.restart();
        });
      return;
    }
    const detail = `Trainer exited unexpectedly (${how}); restarting in ${Math.round(decision.delayMs / 100) / 10} s (attempt ${decision.attempt}).`;
    this.options.log.warn(detail);
    this.setState({ state: 'restarting', restarts: restarts + 1, detail });
    this.restartTimer = setTimeout(() => {
      if (!this.stopping && !this.child) void this.spawn();
    }, decision.delayMs);
  }

  private setState(next: TrainerSnapshot) {
    this.current = next;
    this.emitter.fire(next);
  }
}

function logAt(log: vscode.LogOutputChannel, level: lifecycle.LogLevel, message: string) {
  const line = `[trainer] ${message}`;
  switch (level) {
    case 'trace': return log.trace(line);
    case 'debug': return log.debug(line);
    case 'info': return log.info(line);
    case 'warn': return log.warn(line);
    case 'error': return log.error(line);
  }
}

function describe(err: unknown) {
  return err instanceof Error ? err.message : String(err);
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    p.then(
      (v) => { clearTimeout(t); resolve(v); },
      (e) => { clearTimeout(t); reject(e); },
    );
  });
}
