// Commit survival with simple-git: every commitPollMs, when HEAD of a repository holding an
// accepted suggestion moved and the commit touched its file, look for the inserted text in the
// committed file (same edit-distance rule as survival). Found = a strong positive `commit` event.
// Leaves out amended/rebased history: only the first commit after acceptance that touches the file counts.
import * as path from 'node:path';
import * as vscode from 'vscode';
import { simpleGit, type SimpleGit } from 'simple-git';
import { checkSurvival } from '../common/survival';
import type { SignalsTracker } from './tracker';

export class CommitWatcher implements vscode.Disposable {
  private timer: NodeJS.Timeout | undefined;
  private readonly heads = new Map<string, string>();
  private readonly gits = new Map<string, SimpleGit | null>();
  private running: Promise<void> | undefined;

  constructor(private readonly tracker: SignalsTracker, private readonly log: vscode.LogOutputChannel) {
    this.reschedule();
  }

  reschedule(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = setInterval(() => void this.check(), Math.max(250, this.tracker.config.commitPollMs));
  }

  /** One check now (also used by tests); overlapping calls share the run. */
  check(): Promise<void> {
    this.running ??= this.checkOnce().finally(() => (this.running = undefined));
    return this.running;
  }

  private async checkOnce(): Promise<void> {
    const spans = this.tracker.followedSpans().filter((s) => !s.committed && s.uri.startsWith('file:'));
    if (spans.length === 0) return;
    const byRoot = new Map<string, typeof spans>();
    for (const s of spans) {
      const file = vscode.Uri.parse(s.uri).fsPath;
      const root = await this.rootOf(path.dirname(file));
      if (!root) continue;
      byRoot.set(root, [...(byRoot.get(root) ?? []), s]);
    }
    for (const [root, list] of byRoot) {
      const git = this.gits.get(root)!;
      let head: string;
      try {
        head = (await git.revparse(['HEAD'])).trim();
      } catch {
        continue; // no commit yet
      }
      const prev = this.heads.get(root);
      this.heads.set(root, head);
      if (prev === head) continue;
      let changed: Set<string>;
      try {
        const names = prev ? await git.diff(['--name-only', prev, head]) : await git.raw(['show', '--name-only', '--format=', head]);
        changed = new Set(names.split('\n').map((x) => x.trim()).filter(Boolean));
      } catch (err) {
        this.log.warn(`Hindsight commits: could not diff ${root}: ${(err as Error).message}`);
        continue;
      }
      const commitTime = Number((await git.raw(['show', '-s', '--format=%ct', head])).trim()) * 1000;
      for (const s of list) {
        const rel = path.relative(root, vscode.Uri.parse(s.uri).fsPath).split(path.sep).join('/');
        if (!changed.has(rel) || commitTime + 1000 < s.acceptedAt) continue;
        let committedText: string;
        try {
          committedText = await git.show([`${head}:${rel}`]);
        } catch {
          continue;
        }
        const r = checkSurvival({ text: committedText, start: s.range.start, end: s.range.end, inserted: s.inserted, margins: [1500, committedText.length] });
        s.committed = true;
        void this.tracker.record(s.id, { type: 'commit', at: Date.now(), commit: head, survived: r.status !== 'deleted', retained: Math.round(r.retained * 1000) / 1000 });
      }
    }
  }

  private async rootOf(dir: string): Promise<string | undefined> {
    for (const [root, git] of this.gits) if (git && (dir === root || dir.startsWith(root + path.sep))) return root;
    try {
      const git = simpleGit(dir);
      const root = (await git.revparse(['--show-toplevel'])).trim();
      if (!this.gits.has(root)) {
        this.gits.set(root, simpleGit(root));
        // Remember HEAD as of now, so only later commits count.
        try {
          this.heads.set(root, (await simpleGit(root).revparse(['HEAD'])).trim());
        } catch {
          /* no commits yet: the first commit counts */
        }
      }
      return root;
    } catch {
      return undefined;
    }
  }

  dispose(): void {
    if (this.timer) clearInterval(this.timer);
  }
}
