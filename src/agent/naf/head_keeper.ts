/**
 * The life of the NAF head worker (`parallel.ts`) across failures: which instance is
 * live, restarting after a failure, falling back to one thread after repeated ones, and telling
 * the user — once per event, never per update (`AgentNotice`, drained by the learner's owner into
 * its log; `ThreadStatus` in the learner's stats and the node's /diagnostics).
 *
 * After a failure the agent has already undone the step and redone it on its own thread; here:
 *  - the failed instance is abandoned (`HeadWorker.abandon`) and forgotten;
 *  - a new instance is started only once the old thread has exited (the worker region is then
 *    free: `parallel.ts`, rule 2); until it is ready, updates run on the calling thread;
 *  - failures count as *strikes*; `limit` strikes in a row (fewer than `window` good two-thread
 *    updates between them) mean the worker keeps failing: no more restarts, one thread for the rest
 *    of the agent's life. A failed restart is a strike too.
 */
import type { AgentNotice, ThreadStatus } from '../types.js';
import { HeadWorker, type HeadWorkerError } from './parallel.js';

/** Good two-thread updates after which a worker's earlier strikes are forgotten. */
export const STRIKE_WINDOW = 1000;

export interface HeadKeeperOptions {
  /** starts a worker instance (using the worker region; called only while no instance can write it) */
  start: () => Promise<HeadWorker>;
  /** strikes in a row before staying on one thread (>= 1) */
  limit: number;
  /** where notices go */
  notify: (n: AgentNotice) => void;
}

export class HeadWorkerKeeper {
  private current: HeadWorker | null = null;
  /** the restart in flight (resolves when it has succeeded or failed) */
  private restarting: Promise<void> | null = null;
  private strikes = 0;
  private goodSinceStrike = 0;
  private failures = 0;
  private gaveUp = false;
  private disposed = false;

  constructor(private readonly o: HeadKeeperOptions) {}

  /** The live instance, or null (not started, restarting, or given up): then updates run on one thread. */
  get live(): HeadWorker | null {
    return this.current;
  }

  /** Starts the first instance. Idempotent. @throws Error when it cannot start (nothing is retried). */
  async startFirst(): Promise<void> {
    if (this.current || this.restarting || this.gaveUp) return;
    this.current = await this.o.start();
  }

  /** One two-thread update went through. */
  succeeded(): void {
    if (this.strikes > 0 && ++this.goodSinceStrike >= STRIKE_WINDOW) this.strikes = 0;
  }

  /**
   * The live instance failed (the step is already undone and redone on the calling thread):
   * abandons it, tells the user, restarts or gives up.
   * @param update the learner's update count at the failed step (for the message)
   * @param redone false when the step failed on the calling thread too (its error propagates)
   */
  failed(e: HeadWorkerError, update: number, redone = true): void {
    const w = this.current!;
    this.current = null;
    const exited = w.abandon();
    this.failures++;
    this.strikes++;
    this.goodSinceStrike = 0;
    const what = `NAF head worker (agent.learner_threads: 2) failed at update ${update + 1} (${e.failure}): ${firstLine(e.reason)}`;
    const undone = redone
      ? 'the update was undone on both threads and redone on the learner\'s thread (same results to float32 tolerance)'
      : 'the update, which failed on the learner\'s thread too, was undone';
    if (this.strikes >= this.o.limit) {
      this.giveUp(`${what}; ${undone}. It failed ${this.strikes} times in a row`, e);
      return;
    }
    this.o.notify({ level: 'warn', text: `${what}; ${undone}; restarting the worker (failure ${this.failures}; after ${this.o.limit} in a row the update stays on one thread)`, detail: e.reason });
    this.restarting = exited.then(() => this.restart()).finally(() => { this.restarting = null; });
  }

  /** Resolves when no restart is in flight (tests; a clean shutdown). */
  async settled(): Promise<void> {
    while (this.restarting) await this.restarting;
  }

  status(): ThreadStatus {
    return { configured: 2, inUse: this.current ? 2 : 1, workerFailures: this.failures, oneThreadForGood: this.gaveUp };
  }

  /** Stops the live instance; a restart in flight closes what it starts. */
  dispose(): void {
    this.disposed = true;
    this.current?.close();
    this.current = null;
  }

  /** Starts instances until one runs, the strikes run out, or the agent is disposed. */
  private async restart(): Promise<void> {
    while (!this.disposed && !this.gaveUp) {
      try {
        const w = await this.o.start();
        if (this.disposed) return w.close();
        this.current = w;
        this.o.notify({ level: 'info', text: 'NAF head worker restarted: the NAF update runs on two threads again' });
        return;
      } catch (err) {
        const e = err as Error;
        this.failures++;
        this.strikes++;
        if (this.strikes >= this.o.limit) this.giveUp(`NAF head worker could not be restarted: ${firstLine(e.message)}`, e);
        else this.o.notify({ level: 'warn', text: `NAF head worker could not be restarted (${firstLine(e.message)}); trying again`, detail: e.message });
      }
    }
  }

  private giveUp(why: string, e: Error): void {
    this.gaveUp = true;
    this.o.notify({
      level: 'error',
      text: `${why}: the NAF update runs on one thread for the rest of this run (same results to float32 tolerance, fewer updates per second; ` +
        'agent.learner_threads: 1 starts that way)',
      detail: e.message,
    });
  }
}

function firstLine(s: string): string {
  const i = s.indexOf('\n');
  return i < 0 ? s : s.slice(0, i);
}
