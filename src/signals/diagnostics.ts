// Diagnostics as a next-state signal: when errors or warnings appear in or near an accepted
// suggestion's range (within hindsight.signals.diagnosticsNearLines lines, while the acceptance
// is younger than diagnosticsWindowMs), each new one becomes a `diagnostic` event with its
// message and code. Diagnostics present before the acceptance are not attributed to it.
import * as vscode from 'vscode';
import { diagnosticKey, type SignalsTracker } from './tracker';

export function watchDiagnostics(tracker: SignalsTracker): vscode.Disposable {
  return vscode.languages.onDidChangeDiagnostics((e) => {
    const now = Date.now();
    const cfg = tracker.config;
    const uris = new Set(e.uris.map((u) => u.toString()));
    for (const span of tracker.followedSpans()) {
      if (!uris.has(span.uri) || span.survival === 'deleted' || now - span.acceptedAt > cfg.diagnosticsWindowMs) continue;
      const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === span.uri);
      if (!doc) continue;
      const startLine = doc.positionAt(span.range.start).line;
      const endLine = doc.positionAt(span.range.end).line;
      for (const d of vscode.languages.getDiagnostics(doc.uri)) {
        if (d.severity !== vscode.DiagnosticSeverity.Error && d.severity !== vscode.DiagnosticSeverity.Warning) continue;
        if (d.range.end.line < startLine - cfg.diagnosticsNearLines || d.range.start.line > endLine + cfg.diagnosticsNearLines) continue;
        const key = diagnosticKey(d);
        if (span.seenDiagnostics.has(key)) continue;
        span.seenDiagnostics.add(key);
        const dStart = doc.offsetAt(d.range.start);
        const dEnd = doc.offsetAt(d.range.end);
        const inRange = dStart <= span.range.end && dEnd >= span.range.start;
        const code = typeof d.code === 'object' ? String(d.code.value) : d.code !== undefined ? String(d.code) : undefined;
        void tracker.record(span.id, {
          type: 'diagnostic',
          at: now,
          severity: d.severity === vscode.DiagnosticSeverity.Error ? 'error' : 'warning',
          message: d.message.slice(0, 2000),
          ...(code !== undefined ? { code } : {}),
          ...(d.source ? { source: d.source } : {}),
          line: d.range.start.line,
          inRange,
        });
      }
    }
  });
}
