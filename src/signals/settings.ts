// Reads the signals and completion settings (hindsight.signals.*, hindsight.completions.*,
// hindsight.languages, hindsight.exclude) into the plain config objects src/common/ uses.
import * as vscode from 'vscode';
import { DEFAULT_SIGNALS, resolveSignalsConfig, type SignalsConfig } from '../common/signalsConfig';
import { excludeMatcher, type ExcludeMatcher } from '../common/excludeGlobs';

export interface CompletionSettings {
  enabled: boolean;
  languages: string[];
  exclude: ExcludeMatcher;
  debounceMs: number;
  /** Files larger than this (chars) get no suggestions (1 MB). */
  maxFileChars: number;
  /** Chars of context sent before and after the cursor. */
  prefixChars: number;
  suffixChars: number;
  maxTokens: number;
  /** Sampling temperature sent to the model (0 = greedy). */
  temperature: number;
  /** How long a rejected suggestion stays suppressed at its spot (ms). */
  rejectionMemoryMs: number;
}

export function readSignalsConfig(): SignalsConfig {
  const c = vscode.workspace.getConfiguration('hindsight.signals');
  const raw: Record<string, unknown> = {};
  for (const key of Object.keys(DEFAULT_SIGNALS)) raw[key] = c.get(key);
  return resolveSignalsConfig(raw);
}

export function readCompletionSettings(): CompletionSettings {
  const h = vscode.workspace.getConfiguration('hindsight');
  const num = (key: string, def: number) => {
    const v = h.get<number>(key);
    return typeof v === 'number' && Number.isFinite(v) && v >= 0 ? v : def;
  };
  return {
    enabled: h.get<boolean>('inlineSuggestions.enabled', true),
    languages: h.get<string[]>('languages', []),
    exclude: excludeMatcher(h.get<string[]>('exclude', [])),
    debounceMs: num('completions.debounceMs', 300),
    maxFileChars: num('completions.maxFileChars', 1_000_000),
    prefixChars: num('completions.prefixChars', 4000),
    suffixChars: num('completions.suffixChars', 1000),
    maxTokens: num('completions.maxTokens', 48),
    temperature: num('completions.temperature', 0),
    rejectionMemoryMs: num('completions.rejectionMemoryMs', 120_000),
  };
}

/** Workspace-relative path with '/' separators ('' parts outside a folder give the fs path). */
export function relPathOf(uri: vscode.Uri): string {
  return vscode.workspace.asRelativePath(uri, false).replace(/\\/g, '/');
}

/** True when Hindsight must neither suggest for nor record this document. */
export function isExcluded(doc: vscode.TextDocument, s: CompletionSettings): string | undefined {
  if (doc.uri.scheme !== 'file') return `scheme ${doc.uri.scheme} is not a file`;
  if (s.languages.length > 0 && !s.languages.includes(doc.languageId)) return `language ${doc.languageId} is not in hindsight.languages`;
  if (s.exclude.matches(relPathOf(doc.uri)) || s.exclude.matches(doc.uri.fsPath)) return 'matches an exclude glob';
  return undefined;
}
