// Path exclusion for recording and suggesting (DESIGN §5, issue item 4): the default secret
// globs plus the user's. Glob syntax: `**`, `*`, `?`, `{a,b}`, `[abc]`; a pattern without `/`
// matches the file name at any depth (as .gitignore does). Matching is on '/'-separated
// workspace-relative paths. Leaves out negation (`!pattern`).

/** Files never recorded nor sent for completion, whatever the user's settings say. */
export const DEFAULT_EXCLUDE_GLOBS: readonly string[] = [
  '.env', '.env.*', '*.env', '.envrc',
  '*.pem', '*.key', '*.p12', '*.pfx', '*.jks', '*.keystore', '*.kdbx', '*.asc', '*.gpg',
  'id_rsa*', 'id_dsa*', 'id_ecdsa*', 'id_ed25519*',
  '.npmrc', '.pypirc', '.netrc', '.pgpass', '.htpasswd', 'credentials', 'credentials.*', '*.tfvars', '*.tfstate',
  '**/secrets/**', '**/secret/**', '**/.ssh/**', '**/.aws/**', '**/.gnupg/**', '**/.docker/config.json', '**/.kube/config',
  '**/.git/**', '**/node_modules/**',
];

export class ExcludeMatcher {
  private readonly regexes: RegExp[];
  constructor(readonly patterns: readonly string[]) {
    this.regexes = patterns.filter((p) => p.trim() !== '').map(globToRegExp);
  }

  /** `relPath` is workspace-relative (or absolute) with '/' separators. */
  matches(relPath: string): boolean {
    const path = relPath.replace(/\\/g, '/').replace(/^\.\//, '');
    return this.regexes.some((r) => r.test(path));
  }
}

export function excludeMatcher(userGlobs: readonly string[] = []): ExcludeMatcher {
  return new ExcludeMatcher([...DEFAULT_EXCLUDE_GLOBS, ...userGlobs]);
}

export function globToRegExp(glob: string): RegExp {
  let g = glob.trim().replace(/\\/g, '/');
  if (g.endsWith('/')) g += '**';
  // No slash: match the basename at any depth. A leading '/' anchors at the root.
  const anchored = g.startsWith('/');
  if (anchored) g = g.slice(1);
  else if (!g.includes('/')) g = '**/' + g;
  else if (!g.startsWith('**/')) g = '**/' + g; // workspace-relative or absolute paths both match
  let re = '';
  for (let i = 0; i < g.length; i++) {
    const ch = g[i];
    if (ch === '*') {
      if (g[i + 1] === '*') {
        const slashAfter = g[i + 2] === '/';
        re += slashAfter ? '(?:[^/]*/)*' : '.*';
        i += slashAfter ? 2 : 1;
      } else re += '[^/]*';
    } else if (ch === '?') re += '[^/]';
    else if (ch === '{') {
      const close = g.indexOf('}', i);
      if (close < 0) re += '\\{';
      else {
        re += '(?:' + g.slice(i + 1, close).split(',').map(escapeLiteral).join('|') + ')';
        i = close;
      }
    } else if (ch === '[') {
      const close = g.indexOf(']', i);
      if (close < 0) re += '\\[';
      else {
        re += '[' + g.slice(i + 1, close).replace(/^!/, '^').replace(/\\/g, '\\\\') + ']';
        i = close;
      }
    } else re += escapeLiteral(ch);
  }
  return new RegExp('^' + (anchored ? '' : '(?:.*/)?') + re.replace(/^\(\?:\[\^\/\]\*\/\)\*/, '') + '$');
}

function escapeLiteral(s: string): string {
  return s.replace(/[.+^${}()|[\]\\*?]/g, (c) => (c === '*' ? '[^/]*' : c === '?' ? '[^/]' : '\\' + c));
}
