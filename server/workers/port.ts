// The worker-thread side of channel.ts: requests are handled one at a time, in arrival order, and
// each gets one reply (its value, or its error's message). A close request waits for the requests
// before it, runs `release` (free the onnxruntime sessions) and ends the thread.
import { parentPort } from 'node:worker_threads';
import type { FromPort, ToPort } from './channel';

/** Starts serving requests; returns the function that sends an event (log, progress) to the owner. */
export function serveRequests<Req, Ev>(handle: (req: Req) => unknown, release: () => unknown): (event: Ev) => void {
  const port = parentPort!;
  const post = (m: FromPort<Ev>) => port.postMessage(m);
  let chain: Promise<void> = Promise.resolve();
  port.on('message', (m: ToPort<Req>) => {
    chain = chain.then(async () => {
      if ('close' in m) {
        try {
          await release();
        } finally {
          process.exit(0); // in a worker thread: ends this thread only
        }
      }
      try {
        post({ id: m.id, value: await handle(m.req) });
      } catch (e) {
        post({ id: m.id, error: e instanceof Error ? e.message : String(e) });
      }
    });
  });
  return (event) => post({ event });
}
