// ServerContext: the state every area of the trainer process shares (storage folder, consent,
// model location, log, trainer state) and the hooks areas attach to (initialized, configured,
// shutdown). Areas receive it in register<Area>Handlers(connection, ctx); none of them owns it.
// Leaves out: anything area-specific (models, stores, schedulers live in their own areas).
import { ResponseError, type MessageConnection } from 'vscode-jsonrpc';
import { ErrorCodes, lifecycle, type model } from '../protocol';

/** JSON-RPC's code for a request that is not valid now. */
const INVALID_REQUEST = -32600;

export type Listener<T> = (value: T) => void | Promise<void>;

export interface ServerContext {
  /** Folder for this workspace's episodes and adapters; '' until initialize. */
  readonly storageDir: string;
  /** The user opted in and the workspace is trusted; nothing may be recorded otherwise. */
  readonly recordingEnabled: boolean;
  /** Local model folder, or '' when none is configured. */
  readonly modelPath: string;
  /** hindsight.serving.* as last sent by the editor (undefined: defaults). */
  readonly serving: lifecycle.ServingSettings | undefined;
  /** Folder for files generated from models (the extension's global storage); '' = the OS temp folder. */
  readonly cacheDir: string;
  readonly initialized: boolean;
  /** Log to the editor's "Hindsight" output channel (never to stdout). */
  log(level: lifecycle.LogLevel, message: string): void;
  /** Set the trainer state (and a reason for 'error'); pushes status/changed to the editor. */
  setState(state: lifecycle.TrainerState, detail?: string): void;
  /** Adapter version now serving (0 = base model); pushes status/changed. */
  setAdapterVersion(version: number): void;
  /** The model's state (serving reports it as it loads); pushes status/changed. */
  setModel(state: model.ModelState): void;
  /** Snapshot answered by the status request. */
  status(): lifecycle.StatusResult;
  /** Throws NotInitialized (as a ResponseError) when a request arrives before initialize. */
  requireInitialized(): void;
  /** Runs after initialize has set storageDir/modelPath; awaited before initialize answers, so keep it quick. */
  onInitialized(listener: Listener<ServerContext>): void;
  /** Runs after configure changed recordingEnabled or modelPath. */
  onConfigured(listener: Listener<lifecycle.ConfigureParams>): void;
  /** Runs on shutdown (flush stores, stop workers), awaited before the shutdown request answers. */
  onShutdown(listener: Listener<void>): void;
}

/** The mutable side only server/lifecycle touches. */
export interface ServerContextControl {
  ctx: ServerContext;
  initialize(params: lifecycle.InitializeParams): Promise<void>;
  configure(params: lifecycle.ConfigureParams): Promise<void>;
  shutdown(): Promise<void>;
}

export function createServerContext(connection: MessageConnection, startedAt = Date.now()): ServerContextControl {
  let storageDir = '';
  let recordingEnabled = false;
  let modelPath = '';
  let serving: lifecycle.ServingSettings | undefined;
  let cacheDir = '';
  let modelState: model.ModelState = { kind: 'none' };
  let initialized = false;
  let state: lifecycle.TrainerState = 'starting';
  let detail: string | undefined;
  let adapterVersion = 0;
  const initListeners: Listener<ServerContext>[] = [];
  const configListeners: Listener<lifecycle.ConfigureParams>[] = [];
  const shutdownListeners: Listener<void>[] = [];
  let shuttingDown: Promise<void> | undefined;

  const status = (): lifecycle.StatusResult => ({
    state,
    pid: process.pid,
    uptimeMs: Date.now() - startedAt,
    recordingEnabled,
    modelPath,
    adapterVersion,
    model: modelState,
    ...(detail ? { detail } : {}),
  });
  const push = () => void connection.sendNotification(lifecycle.statusChanged, status()).catch(() => undefined);
  const log = (level: lifecycle.LogLevel, message: string) =>
    void connection.sendNotification(lifecycle.log, { level, message }).catch(() => undefined);

  // Listener failures are logged, not thrown: one area's bug must not take the others down.
  const runAll = async <T>(listeners: Listener<T>[], value: T, what: string) => {
    for (const l of listeners) {
      try {
        await l(value);
      } catch (err) {
        log('error', `${what} listener failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      }
    }
  };

  const ctx: ServerContext = {
    get storageDir() { return storageDir; },
    get recordingEnabled() { return recordingEnabled; },
    get modelPath() { return modelPath; },
    get serving() { return serving; },
    get cacheDir() { return cacheDir; },
    get initialized() { return initialized; },
    log,
    setState(next, why) {
      if (next === state && why === detail) return;
      state = next;
      detail = why;
      push();
    },
    setAdapterVersion(version) {
      if (version === adapterVersion) return;
      adapterVersion = version;
      push();
    },
    setModel(next) {
      if (JSON.stringify(next) === JSON.stringify(modelState)) return;
      modelState = next;
      push();
    },
    status,
    requireInitialized() {
      if (!initialized) throw notInitialized();
    },
    onInitialized: (l) => void initListeners.push(l),
    onConfigured: (l) => void configListeners.push(l),
    onShutdown: (l) => void shutdownListeners.push(l),
  };

  return {
    ctx,
    async initialize(params) {
      // Once per process, as in LSP: a second one would open the store and load the model again
      // over the first (the editor starts a new process instead; configure changes settings).
      if (initialized) throw new ResponseError(INVALID_REQUEST, 'already initialized: the trainer takes initialize once (use configure to change settings)');
      storageDir = params.storageDir;
      recordingEnabled = params.recordingEnabled;
      modelPath = params.modelPath;
      serving = params.serving;
      cacheDir = params.cacheDir ?? '';
      initialized = true;
      await runAll(initListeners, ctx, 'initialize');
      // An area may already have reported 'error' or 'training' from its listener; keep that.
      if (state === 'starting') ctx.setState('ready');
    },
    async configure(params) {
      if (params.recordingEnabled !== undefined) recordingEnabled = params.recordingEnabled;
      if (params.modelPath !== undefined) modelPath = params.modelPath;
      if (params.serving !== undefined) serving = params.serving;
      await runAll(configListeners, params, 'configure');
      push();
    },
    // Once only: both the shutdown request and a closed stdin lead here.
    shutdown() {
      shuttingDown ??= runAll(shutdownListeners, undefined, 'shutdown');
      return shuttingDown;
    },
  };
}

function notInitialized() {
  return new ResponseError(ErrorCodes.NotInitialized, 'The trainer has not been initialized yet (send initialize first).');
}
