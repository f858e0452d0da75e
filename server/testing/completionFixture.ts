// TEST DOUBLE — not a model. When HINDSIGHT_TEST_COMPLETION_FIXTURE is set AND no model is
// configured, serve/complete answers fixed suggestions from a fixture (a JSON file path, or JSON
// inline) so the extension-host tests can drive the signals without weights. Whenever a model is
// configured at initialize, this does nothing and the real serving path answers. Token ids here
// are UTF-16 code units and log-probs a constant: labelled by `model` so no one trains on them. Its
// suggestions get generation records like real ones, so the editor's episodes work the same.
import * as fs from 'node:fs';
import type { MessageConnection } from 'vscode-jsonrpc';
import { serve } from '../../protocol';
import type { ServerContext } from '../context';
import { toWire, type Generation, type GenerationRecords } from '../serve/generation';

export const FIXTURE_ENV = 'HINDSIGHT_TEST_COMPLETION_FIXTURE';
export const FIXTURE_MODEL = 'test-double (HINDSIGHT_TEST_COMPLETION_FIXTURE)';

export interface CompletionFixture {
  /** First rule whose conditions hold answers; `text` is the suggestion. */
  rules: { prefixEndsWith?: string; languageId?: string; hintIncludes?: string; text: string }[];
  /** Answer when no rule matches ('' or absent = empty). */
  default?: string;
}

export function registerCompletionFixture(connection: MessageConnection, ctx: ServerContext, generations: GenerationRecords): void {
  const source = process.env[FIXTURE_ENV];
  if (!source) return;
  ctx.onInitialized(() => {
    if (ctx.modelPath) {
      ctx.log('info', `${FIXTURE_ENV} is set but a model is configured (${ctx.modelPath}): the real serving path is used`);
      return;
    }
    ctx.log('warn', `TEST DOUBLE: serve/complete answers from ${FIXTURE_ENV}, not from a model`);
    // Registered after initialize, so it replaces the serving area's handler for this process only.
    connection.onRequest(serve.complete, (p) => {
      const g = answer(source, p, ctx);
      return toWire(g, g.kind === 'success' ? generations.keep(p, g) : undefined);
    });
  });
}

export function answer(source: string, p: serve.CompleteParams, ctx?: ServerContext): Generation {
  const started = Date.now();
  const base = { tokenIds: [] as number[], logprobs: [] as number[], promptTokenIds: [] as number[], adapterVersion: 0, model: FIXTURE_MODEL, elapsedMs: 0 };
  if (ctx?.modelPath) return { ...base, kind: 'unavailable', text: '', reason: `${FIXTURE_ENV} was active when the trainer started; restart it to use the configured model` };
  let fixture: CompletionFixture;
  try {
    // Read on every request so a test can change the answers between cases.
    fixture = JSON.parse(source.trim().startsWith('{') ? source : fs.readFileSync(source, 'utf8')) as CompletionFixture;
  } catch (err) {
    return { ...base, kind: 'failed', text: '', reason: `test double fixture unreadable: ${(err as Error).message}` };
  }
  const rule = fixture.rules.find(
    (r) =>
      (r.prefixEndsWith === undefined || p.prefix.endsWith(r.prefixEndsWith)) &&
      (r.languageId === undefined || r.languageId === p.languageId) &&
      (r.hintIncludes === undefined || !!p.hint?.includes(r.hintIncludes)),
  );
  const text = rule?.text ?? fixture.default ?? '';
  const codes = (s: string) => Array.from(s, (ch) => ch.codePointAt(0)!);
  return {
    ...base,
    kind: text ? 'success' : 'empty',
    text,
    tokenIds: codes(text),
    logprobs: codes(text).map(() => -0.05),
    promptTokenIds: codes(p.prefix.slice(-64)),
    elapsedMs: Date.now() - started,
  };
}
