// The trainer process: one JSON-RPC connection on stdio and a table of handlers, one line per area.
// stdout carries protocol frames only (see ./stdio); logs travel as `log` notifications.
// To add an area: import its register<Area>Handlers and call it below with (connection, ctx) and
// the areas it uses; nothing is found through module state.
import { frameStream, attachLogSink } from './stdio';
import { createTrainerConnection } from './rpc';
import { createServerContext } from './context';
import { registerLifecycleHandlers } from './lifecycle/handlers';
import { registerEpisodesHandlers } from './episodes/handlers';
import { registerServeHandlers } from './serve/handlers';
import { registerDownloadHandlers } from './download/handlers';
import { registerLearnHandlers } from './learn/handlers';
import { registerCompletionFixture } from './testing/completionFixture';

// Frames that are not JSON-RPC and params of the wrong type are answered with errors and logged (./rpc).
const connection = createTrainerConnection(process.stdin, frameStream, (problem) => ctx.log('warn', `protocol: ${problem}`));
const control = createServerContext(connection);
const { ctx } = control;
attachLogSink(ctx.log);

function exit(code: number) {
  // Give the last frames (log lines) a moment to flush before leaving.
  setTimeout(() => process.exit(code), 20);
}

// ---- handlers, one line per area ---------------------------------------------------------------
registerLifecycleHandlers(connection, control, exit);
const serving = registerServeHandlers(connection, ctx);
const episodes = registerEpisodesHandlers(connection, ctx, serving.generations);
registerDownloadHandlers(connection, ctx);
registerLearnHandlers(connection, ctx, { episodes, serving });
// TEST DOUBLE: only when HINDSIGHT_TEST_COMPLETION_FIXTURE is set and no model is configured.
registerCompletionFixture(connection, ctx, serving.generations);

// ---- process wiring ----------------------------------------------------------------------------
process.on('uncaughtException', (err) => ctx.log('error', `uncaught: ${err.stack ?? err.message}`));
process.on('unhandledRejection', (err) => ctx.log('error', `unhandled rejection: ${err instanceof Error ? err.stack ?? err.message : String(err)}`));
// The editor went away (stdin closed): run the shutdown hooks, then leave.
connection.onClose(() => void control.shutdown().finally(() => exit(0)));
connection.listen();
