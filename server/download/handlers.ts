// download/start: runs the hub download the user agreed to in the editor, pushing progress at most
// every 250 ms; errors come back as ResponseErrors with the DownloadError's message (offline,
// HTTP, size mismatch, invalid folder, cancelled).
import * as path from 'node:path';
import { ResponseError, type MessageConnection } from 'vscode-jsonrpc';
import { download, ErrorCodes } from '../../protocol';
import type { ServerContext } from '../context';
import { DEFAULT_REPO, downloadModel, DownloadError, HUB_URL, listFiles } from './hub';

/** `baseUrl` (or HINDSIGHT_HUB_URL) points at a hub mirror; the tests use a local server. */
export function registerDownloadHandlers(connection: MessageConnection, ctx: ServerContext, defaultBaseUrl = process.env.HINDSIGHT_HUB_URL): void {
  const failure = (e: unknown) => {
    const msg = e instanceof DownloadError ? e.message : `download failed: ${(e as Error).message}`;
    ctx.log('error', `download: ${msg}`);
    return new ResponseError(e instanceof DownloadError && e.kind === 'cancelled' ? ErrorCodes.RequestCancelled : ErrorCodes.ModelUnavailable, msg);
  };

  connection.onRequest(download.plan, async (params) => {
    ctx.requireInitialized();
    const repo = params.repo ?? DEFAULT_REPO;
    const hubUrl = params.hubUrl || defaultBaseUrl || HUB_URL;
    try {
      const files = await listFiles({ repo, dest: '', baseUrl: hubUrl });
      return { repo, hubUrl, files, totalBytes: files.reduce((a, f) => a + f.size, 0) };
    } catch (e) {
      throw failure(e);
    }
  });

  connection.onRequest(download.start, async (params, token) => {
    ctx.requireInitialized();
    if (params.consent !== true) throw new ResponseError(ErrorCodes.InvalidParams, 'download/start needs the user\'s consent (consent: true) — ask first');
    const repo = params.repo ?? DEFAULT_REPO;
    const baseUrl = params.hubUrl || defaultBaseUrl;
    const dest = path.join(params.destDir, repo.split('/').pop()!);
    const ac = new AbortController();
    const sub = token.onCancellationRequested(() => ac.abort());
    let last = 0;
    let bytes = 0;
    try {
      ctx.log('info', `download: ${repo} → ${dest}`);
      await downloadModel({
        repo, dest, baseUrl, signal: ac.signal,
        onProgress: (p) => {
          bytes = p.bytes;
          const now = Date.now();
          if (now - last < 250 && p.bytes < p.total) return;
          last = now;
          void connection.sendNotification(download.progress, { repo, file: p.file, bytes: p.bytes, total: p.total });
        },
      });
      ctx.log('info', `download: ${repo} done (${(bytes / 1e6).toFixed(0)} MB)`);
      return { modelPath: dest, bytes };
    } catch (e) {
      throw failure(e);
    } finally {
      sub.dispose();
    }
  });
}
