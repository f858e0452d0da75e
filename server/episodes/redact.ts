// Redacts secrets from text before any episode is written (issue item 4; Tabby #959): cloud and
// SaaS API keys by their documented shapes, JWTs, PEM private keys, passwords in connection
// strings, and `password = "..."` / `token: ...` style assignments. Each match becomes
// `[REDACTED:<kind>]`. Leaves out entropy-only detection (too many false positives in code).

export interface Redaction {
  text: string;
  /** Kinds found, in order (e.g. ['aws-access-key', 'jwt']). */
  found: string[];
}

interface Rule {
  kind: string;
  re: RegExp;
  /** Index of the capture group to replace; 0 = the whole match. */
  group?: number;
  /** Extra check on the captured value (fewer false positives for generic rules). */
  accept?: (value: string) => boolean;
}

// Order matters: whole blocks first, then specific key shapes, then generic assignments.
const RULES: Rule[] = [
  { kind: 'private-key', re: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----[\s\S]*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|$)/g },
  { kind: 'aws-access-key', re: /\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b/g },
  { kind: 'github-token', re: /\b(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{60,255})\b/g },
  { kind: 'gitlab-token', re: /\bglpat-[A-Za-z0-9_-]{20,}\b/g },
  { kind: 'slack-token', re: /\bxox[abposr]-[A-Za-z0-9-]{10,}\b/g },
  { kind: 'slack-webhook', re: /https:\/\/hooks\.slack\.com\/services\/[A-Za-z0-9/_-]{20,}/g },
  { kind: 'stripe-key', re: /\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}\b/g },
  { kind: 'openai-key', re: /\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{20,}\b/g },
  { kind: 'anthropic-key', re: /\bsk-ant-[A-Za-z0-9_-]{20,}\b/g },
  { kind: 'google-api-key', re: /\bAIza[0-9A-Za-z_-]{35}\b/g },
  { kind: 'npm-token', re: /\bnpm_[A-Za-z0-9]{36}\b/g },
  { kind: 'huggingface-token', re: /\bhf_[A-Za-z]{34}\b/g },
  { kind: 'jwt', re: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\b/g },
  // scheme://user:password@host — only the password part.
  { kind: 'connection-password', re: /\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@'"`]+:([^\s@'"`]{1,200})@[^\s'"`]+/gi, group: 1 },
  { kind: 'azure-connection-key', re: /\b(?:AccountKey|SharedAccessKey|Password|Pwd)=([^;'"\s]{6,})/gi, group: 1 },
  // password = "...", "api_key": "...", token: ..., SECRET=..., ... — the value only.
  {
    kind: 'assigned-secret',
    re: /\b([A-Za-z0-9_.-]*(?:passw(?:or)?d|passwd|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|private[_-]?key|client[_-]?secret|auth)[A-Za-z0-9_.-]*)(["']?\s*(?::\s*[A-Za-z_][\w<>[\]|.]*\s*)?(?:=|:|:=|=>)\s*)(["'`])([^"'`\n]{4,})\3/gi,
    group: 4,
  },
  // KEY=value lines (.env, shell): uppercase keys, any non-placeholder value.
  {
    kind: 'assigned-secret',
    re: /^(\s*(?:export\s+)?[A-Z0-9_]*(?:PASSW(?:OR)?D|PASSWD|PWD|SECRET|TOKEN|API_?KEY|APIKEY|ACCESS_?KEY|PRIVATE_?KEY|CLIENT_?SECRET|CREDENTIALS?)[A-Z0-9_]*\s*[=:]\s*)([^\s"'`#][^\s#]{5,})/gm,
    group: 2,
  },
  // key: value lines (YAML, ini, properties) with lowercase keys: only values that look like a
  // credential (a digit or symbol, no trailing `;`/`,`), so `token: string;` in code is left alone.
  {
    kind: 'assigned-secret',
    re: /^(\s*[a-z0-9_.-]*(?:passw(?:or)?d|passwd|pwd|secret|token|api[_-]?key|apikey|access[_-]?key|client[_-]?secret)[a-z0-9_.-]*\s*[=:]\s*)([^\s"'`#][^\s#]{5,})$/gim,
    group: 2,
    accept: (v) => /[0-9!@#$%^&*+/=-]/.test(v) && !/[;,(){}<>]$/.test(v) && !/^(?:this|self|env|config|process|os|settings)\b/.test(v),
  },
];

// Values that are clearly not secrets: placeholders, env lookups, expressions.
const PLACEHOLDER = /^(?:\$\{?[A-Za-z_][A-Za-z0-9_]*\}?|<[^>]*>|\*+|x+|X+|\.\.\.|changeme|change_me|password|secret|token|example|dummy|test|null|none|undefined|true|false|your[_-].*|\{\{.*\}\}|%\(.*\)s|process\.env\..*|os\.environ.*|env\(.*|getenv\(.*|\[REDACTED:[a-z-]+\])$/i;

export function redactSecrets(input: string): Redaction {
  let text = input;
  const found: string[] = [];
  for (const rule of RULES) {
    rule.re.lastIndex = 0;
    text = text.replace(rule.re, (...args: unknown[]) => {
      const match = args[0] as string;
      const groups = args.slice(1, -2) as (string | undefined)[];
      const g = rule.group ?? 0;
      const secret = g === 0 ? match : groups[g - 1];
      if (!secret || PLACEHOLDER.test(secret) || secret.includes('[REDACTED:')) return match;
      if (rule.accept ? !rule.accept(secret) : rule.kind === 'assigned-secret' && !looksLikeLiteralSecret(secret)) return match;
      found.push(rule.kind);
      if (g === 0) return `[REDACTED:${rule.kind}]`;
      // Replace just the captured group inside the match.
      const at = matchIndexOfGroup(match, groups, g);
      return match.slice(0, at) + `[REDACTED:${rule.kind}]` + match.slice(at + secret.length);
    });
  }
  return { text, found };
}

/** Position of capture group g within the match: the groups before it are contiguous prefixes here. */
function matchIndexOfGroup(match: string, groups: (string | undefined)[], g: number): number {
  const secret = groups[g - 1]!;
  // Search after the text of the earlier groups so `password = "password1"` replaces the value.
  let from = 0;
  for (let i = 0; i < g - 1; i++) {
    const prev = groups[i];
    if (prev) {
      const at = match.indexOf(prev, from);
      if (at >= 0) from = at + prev.length;
    }
  }
  const at = match.indexOf(secret, from);
  return at >= 0 ? at : match.lastIndexOf(secret);
}

/** A literal that could be a credential: not a code expression, not a sentence. */
function looksLikeLiteralSecret(value: string): boolean {
  if (/\s/.test(value.trim()) && value.trim().split(/\s+/).length > 2) return false; // prose, messages
  if (/^[A-Za-z_][A-Za-z0-9_]*\(/.test(value)) return false; // a call
  if (/^(?:https?:\/\/)?[\w.-]+\/[\w./-]*$/.test(value) && !/[0-9]/.test(value)) return false; // a path
  return value.length >= 6;
}

/** Redacts every string field of a plain JSON value; returns the kinds found. */
export function redactDeep<T>(value: T, found: string[] = []): { value: T; found: string[] } {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') {
      const r = redactSecrets(v);
      found.push(...r.found);
      return r.text;
    }
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, x] of Object.entries(v)) out[k] = walk(x);
      return out;
    }
    return v;
  };
  return { value: walk(value) as T, found };
}
