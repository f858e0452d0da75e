// Sends shown suggestions (the trainer makes the episode from its generation record) and their
// events to the trainer's store in order: an episode's events wait for
// its append, and are dropped when it was not stored (recording off, trainer down). Failures are
// logged once per distinct reason, never thrown into the editor.
import type * as vscode from 'vscode';
import { episodes } from '../../protocol';
import type { TrainerClient } from '../trainer/client';

export class EpisodeSink {
  private readonly appended = new Map<string, Promise<boolean>>();
  private readonly inflight = new Set<Promise<unknown>>();
  private readonly reported = new Set<string>();
  /** After forgetAll(): events only for episodes appended since (earlier ones were deleted). */
  private onlyKnown = false;

  constructor(private readonly client: TrainerClient, private readonly log: vscode.LogOutputChannel) {}

  /** Whether the store can take writes now (trainer running; it re-checks consent itself). */
  get ready(): boolean {
    return this.client.isReady;
  }

  append(shown: episodes.Shown): Promise<boolean> {
    const p = this.track(
      (async () => {
        if (!this.client.isReady) return this.fail('trainer is not running: episode not recorded');
        const ack = await this.client.sendRequest(episodes.append, { shown });
        if (!ack.stored) return this.fail(ack.reason ?? 'not stored');
        return true;
      })().catch((err) => this.fail(`episodes/append failed: ${err instanceof Error ? err.message : String(err)}`)),
    );
    this.appended.set(shown.id, p);
    if (this.appended.size > 5000) this.appended.delete(this.appended.keys().next().value!);
    return p;
  }

  /** The workspace's data was deleted: forget the episodes sent so far and drop their later events silently. */
  forgetAll(): void {
    this.appended.clear();
    this.onlyKnown = true;
  }

  event(id: string, event: episodes.EpisodeEvent): Promise<boolean> {
    if (this.onlyKnown && !this.appended.has(id)) return Promise.resolve(false);
    const base = this.appended.get(id) ?? Promise.resolve(true); // episode from before a reload: let the store decide
    const p = base.then(async (ok) => {
      if (!ok) return false;
      if (!this.client.isReady) return this.fail('trainer is not running: event not recorded');
      const ack = await this.client.sendRequest(episodes.event, { id, event });
      if (!ack.stored) return this.fail(ack.reason ?? 'event not stored');
      return true;
    }).catch((err) => this.fail(`episodes/event failed: ${err instanceof Error ? err.message : String(err)}`));
    // Keep the chain ordered: the next event of this episode waits for this one.
    this.appended.set(id, p.then(() => true, () => true).then(() => base));
    return this.track(p);
  }

  /** Resolves when everything sent so far has been acknowledged (tests, deactivate). */
  async flush(): Promise<void> {
    while (this.inflight.size) await Promise.allSettled([...this.inflight]);
  }

  private track<T>(p: Promise<T>): Promise<T> {
    this.inflight.add(p);
    void p.finally(() => this.inflight.delete(p));
    return p;
  }

  private fail(reason: string): false {
    if (!this.reported.has(reason)) {
      this.reported.add(reason);
      this.log.info(`Hindsight episodes: ${reason}`);
    }
    return false;
  }
}
