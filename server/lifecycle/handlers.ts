// lifecycle/*: initialize, status, configure, shutdown, exit. The trainer's own life; every other
// area hangs off the ServerContext these handlers drive. Also model/check (a folder checked as a
// model before the editor saves it), which needs no area.
import type { MessageConnection } from 'vscode-jsonrpc';
import { lifecycle, model } from '../../protocol';
import type { ServerContextControl } from '../context';
import { checkModelFolder } from './modelCheck';

export const SERVER_VERSION = '0.1.0';

export function registerLifecycleHandlers(connection: MessageConnection, control: ServerContextControl, exit: (code: number) => void) {
  const { ctx } = control;
  let shutdownRequested = false;

  connection.onRequest(lifecycle.initialize, async (params) => {
    await control.initialize(params);
    ctx.log(
      'info',
      `trainer ${SERVER_VERSION} (pid ${process.pid}) for client ${params.clientVersion}; storage ${params.storageDir}; ` +
        `recording ${params.recordingEnabled ? 'on' : 'off'}; model ${params.modelPath || '(none)'}`,
    );
    return { serverVersion: SERVER_VERSION, pid: process.pid };
  });

  connection.onRequest(lifecycle.status, () => ctx.status());

  connection.onRequest(lifecycle.configure, async (params) => {
    ctx.requireInitialized();
    await control.configure(params);
    return ctx.status();
  });

  connection.onRequest(lifecycle.shutdown, async () => {
    shutdownRequested = true;
    await control.shutdown();
  });

  connection.onRequest(model.check, (p) => checkModelFolder(p.path));

  connection.onNotification(lifecycle.exit, () => exit(shutdownRequested ? 0 : 1));
}
