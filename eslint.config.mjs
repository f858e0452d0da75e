// ESLint (flat config), run by `npm run lint` and by `npm test` as its `lint` layer.
// Only the import boundaries (no-restricted-imports per folder) between the parts that must not leak
// into each other; typescript-eslint's `recommended` is not enabled (47 findings in the tree today):
//   src/       the extension host (the only code that may import 'vscode', apart from tests)
//   src/common pure editor-side logic: no 'vscode', nothing else from src/
//   server/    the trainer process: no 'vscode', nothing from src/ or webview-ui/
//   protocol/  the JSON-RPC contract: imports only itself and vscode-jsonrpc
//   webview-ui the dashboard (runs in a browser): no 'vscode', no server/, from src/ only src/common
// Import paths are relative, so the rules match them textually: `^(../)+server/` is an import of the
// top-level server/ folder (no part has a subfolder named like another part).
import { defineConfig } from 'eslint/config';
import tseslint from 'typescript-eslint';

const noVscode = { name: 'vscode', message: 'Only the extension host (src/, outside src/common) may import vscode.' };

/** A pattern that forbids relative imports reaching one of the top-level `folders`. */
const reaching = (folders, message) => ({ regex: `^(\\.\\./)+(${folders.join('|')})(/|$)`, message });

/** no-restricted-imports with these restrictions (a later config object replaces the rule's options, so each lists all). */
const restrict = (paths, patterns) => ['error', { paths, patterns }];

const srcRules = [
  reaching(['server'], 'The extension host talks to server/ over JSON-RPC (protocol/), it does not import it.'),
  reaching(['webview-ui'], 'webview-ui/ is bundled for the webview; the extension host does not import it.'),
];

export default defineConfig(
  {
    ignores: ['dist/', 'dist-test/', 'out/', 'node_modules/', 'test-results/', '.cache/', '.tmp/', 'models/', 'demo/'],
  },
  {
    files: ['**/*.ts', '**/*.mts'],
    languageOptions: { parser: tseslint.parser },
    plugins: { '@typescript-eslint': tseslint.plugin },
    // The tree has a few `eslint-disable` comments for rules of typescript-eslint's `recommended` /
    // ESLint's `no-control-regex`, which this small rule set does not enable: not reported as unused.
    linterOptions: { reportUnusedDisableDirectives: 'off' },
  },
  {
    files: ['src/**/*.ts'],
    rules: { 'no-restricted-imports': restrict([], srcRules) },
  },
  {
    // Depth-aware: src/common is flat, so `../x` is a sibling folder of src/common and `../../x` is top level.
    files: ['src/common/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict(
        [noVscode],
        [
          { regex: '^\\.\\./(?!\\.\\./|common/)', message: 'src/common is pure: it may import ./, ../../protocol and Node built-ins, not the rest of src/.' },
          { regex: '^\\.\\./\\.\\./(?!protocol(/|$))', message: 'src/common may import only protocol/ outside itself (not server/, webview-ui/, ...).' },
        ],
      ),
    },
  },
  {
    files: ['server/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict(
        [{ ...noVscode, message: 'The trainer process runs outside the editor: no vscode.' }],
        [reaching(['src', 'webview-ui'], 'server/ may import protocol/ but nothing from src/ or webview-ui/.')],
      ),
    },
  },
  {
    files: ['protocol/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict(
        [{ ...noVscode, message: 'protocol/ is shared by both processes and the webview: no vscode.' }],
        [
          reaching(['server', 'src', 'webview-ui'], 'protocol/ is the contract: it imports nothing from server/, src/ or webview-ui/.'),
          { regex: '^(?!\\.|vscode-jsonrpc$)', message: 'protocol/ imports only itself and vscode-jsonrpc.' },
        ],
      ),
    },
  },
  {
    files: ['webview-ui/**/*.ts'],
    rules: {
      'no-restricted-imports': restrict(
        [{ ...noVscode, message: 'webview-ui/ runs in the webview (a browser): no vscode; talk to the host with protocol/webview.ts messages.' }],
        [
          reaching(['server'], 'webview-ui/ may import protocol/ but not server/.'),
          // src/common is pure (no vscode, nothing else from src/: checked above), so the dashboard may
          // share its text helpers with the status bar; the rest of src/ is the extension host's.
          {
            regex: '^(\\.\\./)+src/(?!common/)',
            message: 'webview-ui/ may import protocol/ and the pure src/common/, not the rest of src/.',
          },
          { regex: '^(\\.\\./)+src$', message: 'webview-ui/ may import protocol/, not src/.' },
        ],
      ),
    },
  },
);
