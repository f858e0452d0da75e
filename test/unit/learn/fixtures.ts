// Shared helpers for the learning-loop tests: a generated tiny model (real Qwen vocabulary and
// tokenizer, so FIM prompts and hint placement are real), FIM prompts, and settled episode views
// that the judge scores +1-ish (accepted and kept) or −1-ish (rejected, with what was typed instead).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PassThrough } from 'node:stream';
import { createMessageConnection, StreamMessageReader, StreamMessageWriter } from 'vscode-jsonrpc/node';
import type { episodes } from '../../../protocol';
import { makeModel, PRESETS } from '../../../scripts/make-model';
import { loadTokenizer, type ModelTokenizer } from '../../../server/model/tokenizer';
import { buildFimPrompt } from '../../../server/serve/fim';
import { createServerContext } from '../../../server/context';
import { registerEpisodesHandlers } from '../../../server/episodes/handlers';
import { registerLearnHandlers } from '../../../server/learn/handlers';
import { registerServeHandlers } from '../../../server/serve/handlers';

export function tempDir(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `hindsight-learn-${tag}-`));
}

/** A tiny model folder named `name` (Episode.model carries the folder name). */
export function tinyModel(tag: string, name = 'tiny'): { dir: string; tok: ModelTokenizer } {
  const dir = path.join(tempDir(tag), name);
  makeModel(PRESETS.tiny, dir, { seed: 1, std: 0.2 });
  return { dir, tok: loadTokenizer(dir, PRESETS.tiny.eosTokenId) };
}

export const PREFIX = 'def total(items):\n    return ';
export const SUFFIX = '\n';

export function prompt(tok: ModelTokenizer, prefix = PREFIX, suffix = SUFFIX): number[] {
  return buildFimPrompt((s) => tok.encode(s), tok.fim, prefix, suffix).ids;
}

let n = 0;
export function view(over: Partial<episodes.EpisodeView>, events: episodes.EpisodeEvent[]): episodes.EpisodeView {
  n++;
  return {
    id: `ep${n}`, createdAt: 1000 + n, uri: 'file:///w/a.py', relPath: 'a.py', languageId: 'python', offset: PREFIX.length, line: 1,
    prefixExcerpt: PREFIX, suffixExcerpt: SUFFIX, suggestion: '', tokenIds: [], logprobs: [], promptTokenIds: [],
    adapterVersion: 0, model: 'tiny', outcome: 'pending', status: 'complete', updatedAt: 2000 + n, events, ...over,
  };
}

/** A suggestion accepted and kept to the final survival check. */
export function acceptedView(tok: ModelTokenizer, text: string, logprobs?: number[], over: Partial<episodes.EpisodeView> = {}): episodes.EpisodeView {
  const ids = tok.encode(text);
  return view({ suggestion: text, tokenIds: ids, logprobs: logprobs ?? ids.map(() => -5), promptTokenIds: prompt(tok), outcome: 'accepted', ...over }, [
    { type: 'accepted', at: 1, how: 'command', acceptedText: text, start: 0, end: text.length },
    { type: 'survival', at: 2, afterMs: 600_000, status: 'unchanged', distance: 0, retained: text.length, final: true },
  ]);
}

/** A suggestion rejected; the developer then typed `instead` (a hint for OPD). */
export function rejectedView(tok: ModelTokenizer, text: string, instead: string, logprobs?: number[], over: Partial<episodes.EpisodeView> = {}): episodes.EpisodeView {
  const ids = tok.encode(text);
  return view({ suggestion: text, tokenIds: ids, logprobs: logprobs ?? ids.map(() => -5), promptTokenIds: prompt(tok), outcome: 'rejected', ...over }, [
    { type: 'rejected', at: 1, reason: 'timeout', visibleMs: 10_000 },
    { type: 'typedInstead', at: 2, text: instead },
  ]);
}

/** A trainer context with the serve, episodes and learn areas, and a JSON-RPC client talking to it in memory. */
export function connectedTrainer() {
  const a = new PassThrough(), b = new PassThrough();
  const server = createMessageConnection(new StreamMessageReader(a), new StreamMessageWriter(b));
  const client = createMessageConnection(new StreamMessageReader(b), new StreamMessageWriter(a));
  const control = createServerContext(server);
  const serving = registerServeHandlers(server, control.ctx, { intraOpThreads: 1 });
  const episodes = registerEpisodesHandlers(server, control.ctx, serving.generations);
  const area = registerLearnHandlers(server, control.ctx, { episodes, serving });
  server.listen();
  client.listen();
  return { server, client, control, area };
}
