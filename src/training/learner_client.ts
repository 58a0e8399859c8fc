/**
 * The actor/learner split. The control loop (ROS node) hands each transition to a
 * `LearnerClient` and never waits for a gradient step; the learner sends fresh policy weights
 * every `publish_policy_every_updates` updates and the iLQG controller after every refit.
 *
 * Two implementations with one behaviour: `InThreadLearnerClient` (trains synchronously in the
 * caller's thread — deterministic, for tests) and `WorkerLearnerClient` (the same learner in a
 * `worker_threads` worker, see `learner_worker.ts`).
 */
import { Worker } from 'node:worker_threads';
import type { PolicySnapshot } from '../agent/types.js';
import type { LinearGaussianController } from '../control/types.js';
import type { NafConfig } from '../config/schema.js';
import type { Transition } from './learner.js';
import { LearnerSession } from './learner_session.js';
import type { EpisodeEnd, LearnerStats, LogLevel, ResumeInfo } from './learner_types.js';
import type { EvalRecord } from '../report/run_folder.js';

export interface LearnerClient {
  /** The checkpoint the learner was restored from (`ros.resume`), or null for a new run. */
  readonly resumed: ResumeInfo | null;
  /** How the learner thread was scheduled (worker: its nice value), for the node's log; '' in-thread. */
  readonly priority: string;
  observe(tr: Transition): void;
  endEpisode(info: EpisodeEnd): void;
  onPolicy(cb: (snapshot: PolicySnapshot) => void): void;
  onController(cb: (ctrl: LinearGaussianController) => void): void;
  onStats(cb: (stats: LearnerStats) => void): void;
  /** Writes a checkpoint of the complete learner state; resolves to its folder. */
  save(): Promise<string>;
  /**
   * The greedy policy for evaluation episodes on the arm: the averaged weights with
   * `agent.policy_averaging` (`QAgent.greedySnapshot`), else the online ones. Optional (a learner
   * that offers none: the node runs no evaluations).
   */
  greedyPolicy?(): Promise<PolicySnapshot>;
  /** An evaluation the node ran on the arm, for the run folder's eval.jsonl. Optional. */
  recordEvaluation?(record: EvalRecord): void;
  close(): Promise<void>;
  /**
   * True when the learner writes its own checkpoints (the fleet learner, after every episode it
   * takes): the node then does not ask for one after each episode. Absent = false.
   */
  readonly checkpointsItself?: boolean;
  /**
   * A learner that ends the run itself (the fleet learner, at the fleet's budget) calls `cb` with
   * the reason: the node finishes the running episode and holds zero torque. Optional.
   */
  onDone?(cb: (reason: string) => void): void;
  /**
   * Lines the learner asks the node to log, each sent once: a run-folder file it cannot write, its
   * agent's notices (the NAF head worker failed, restarted, was given up). Optional.
   */
  onLog?(cb: LogCallback): void;
}

export type LogCallback = (level: LogLevel, message: string) => void;
type Callbacks = { policy: ((s: PolicySnapshot) => void)[]; controller: ((c: LinearGaussianController) => void)[]; stats: ((s: LearnerStats) => void)[]; log: LogCallback[] };

/** Learner in the caller's thread: `observe` trains before it returns. */
export class InThreadLearnerClient implements LearnerClient {
  private cbs: Callbacks = { policy: [], controller: [], stats: [], log: [] };
  readonly priority = '';
  private constructor(private readonly session: LearnerSession) {
    session.emit = (m) => {
      if (m.type === 'policy') this.cbs.policy.forEach((cb) => cb(m.snapshot));
      if (m.type === 'controller') this.cbs.controller.forEach((cb) => cb(m.controller));
      if (m.type === 'stats') this.cbs.stats.forEach((cb) => cb(m.stats));
      if (m.type === 'log') this.log(m.level, m.message);
    };
  }

  /** Log lines before the first `onLog` are held for it. */
  private held: [level: LogLevel, message: string][] = [];
  private log(level: LogLevel, message: string): void {
    if (this.cbs.log.length) this.cbs.log.forEach((cb) => cb(level, message));
    else this.held.push([level, message]);
  }

  static async create(config: NafConfig, runDir: string): Promise<InThreadLearnerClient> {
    return new InThreadLearnerClient(await LearnerSession.create(config, runDir));
  }

  get resumed(): ResumeInfo | null { return this.session.resumed; }
  observe(tr: Transition): void { this.session.observe(tr); }
  endEpisode(info: EpisodeEnd): void { this.session.endEpisode(info); }
  onPolicy(cb: (s: PolicySnapshot) => void): void { this.cbs.policy.push(cb); this.session.publishAll(); }
  onController(cb: (c: LinearGaussianController) => void): void { this.cbs.controller.push(cb); this.session.publishAll(); }
  onStats(cb: (s: LearnerStats) => void): void { this.cbs.stats.push(cb); }
  onLog(cb: LogCallback): void {
    this.cbs.log.push(cb);
    for (const [level, message] of this.held.splice(0)) cb(level, message);
  }
  save(): Promise<string> { return this.session.save(); }
  greedyPolicy(): Promise<PolicySnapshot> { return Promise.resolve(this.session.greedySnapshot()); }
  recordEvaluation(record: EvalRecord): void { this.session.recordEvaluation(record); }
  close(): Promise<void> { return this.session.close(); }
}

/** Learner in a worker thread; messages are structured clones (typed arrays included). */
export class WorkerLearnerClient implements LearnerClient {
  private cbs: Callbacks = { policy: [], controller: [], stats: [], log: [] };
  /** Requests awaiting the worker's reply, per request type (replies come in request order). */
  private pending: Record<'save' | 'greedy', { resolve: (v: never) => void; reject: (e: Error) => void }[]> = { save: [], greedy: [] };
  private failure: Error | null = null;

  /**
   * @param tid the worker's Linux thread id (null elsewhere); `tids`: it and the threads the learner
   *   started (NAF's head worker), for the node's real-time setup
   */
  private constructor(private readonly worker: Worker, readonly resumed: ResumeInfo | null, readonly priority: string, readonly tid: number | null, readonly tids: number[]) {
    worker.on('message', (m) => {
      if (m.type === 'policy') this.cbs.policy.forEach((cb) => cb(m.snapshot));
      else if (m.type === 'controller') this.cbs.controller.forEach((cb) => cb(m.controller));
      else if (m.type === 'stats') this.cbs.stats.forEach((cb) => cb(m.stats));
      else if (m.type === 'log') this.log(m.level, m.message);
      else if (m.type === 'saved') this.pending.save.shift()?.resolve(m.path as never);
      else if (m.type === 'save-failed') this.pending.save.shift()?.reject(new Error(m.error));
      else if (m.type === 'greedy') this.pending.greedy.shift()?.resolve(m.snapshot as never);
    });
    worker.on('error', (e) => {
      this.failure = e;
      for (const p of [...this.pending.save.splice(0), ...this.pending.greedy.splice(0)]) p.reject(e);
    });
  }

  /** Starts the worker and waits until its learner is built. @throws the worker's start error. */
  static async create(config: NafConfig, runDir: string): Promise<WorkerLearnerClient> {
    const worker = new Worker(new URL('./learner_worker_boot.mjs', import.meta.url), { workerData: { config, runDir } });
    const early: [level: LogLevel, message: string][] = [];
    const ready = await new Promise<{ resumed: ResumeInfo | null; priority: string; tid: number | null; tids: number[] }>((resolve, reject) => {
      const onMsg = (m: { type: string; error?: string; resumed: ResumeInfo | null; priority: string; tid: number | null; tids: number[]; level: LogLevel; message: string }) => {
        if (m.type === 'ready') { worker.off('message', onMsg); resolve(m); }
        if (m.type === 'start-failed') reject(new Error(m.error));
        if (m.type === 'log') early.push([m.level, m.message]);
      };
      worker.on('message', onMsg);
      worker.once('error', reject);
    });
    const client = new WorkerLearnerClient(worker, ready.resumed, ready.priority, ready.tid, ready.tids ?? []);
    client.held.push(...early);
    worker.postMessage({ type: 'publish' });
    return client;
  }

  /** Log lines before the first `onLog` are held for it. */
  private held: [level: LogLevel, message: string][] = [];
  private log(level: LogLevel, message: string): void {
    if (this.cbs.log.length) this.cbs.log.forEach((cb) => cb(level, message));
    else this.held.push([level, message]);
  }

  /** Last error of the worker, if it died. */
  get error(): Error | null { return this.failure; }

  observe(tr: Transition): void { this.worker.postMessage({ type: 'observe', tr, sentAt: Date.now() }); }
  endEpisode(info: EpisodeEnd): void { this.worker.postMessage({ type: 'endEpisode', info }); }
  onPolicy(cb: (s: PolicySnapshot) => void): void { this.cbs.policy.push(cb); this.worker.postMessage({ type: 'publish' }); }
  onController(cb: (c: LinearGaussianController) => void): void { this.cbs.controller.push(cb); this.worker.postMessage({ type: 'publish' }); }
  onStats(cb: (s: LearnerStats) => void): void { this.cbs.stats.push(cb); }
  onLog(cb: LogCallback): void {
    this.cbs.log.push(cb);
    for (const [level, message] of this.held.splice(0)) cb(level, message);
  }
  save(): Promise<string> { return this.request<string>('save'); }
  greedyPolicy(): Promise<PolicySnapshot> { return this.request<PolicySnapshot>('greedy'); }
  /** Posts a request; resolves with the worker's reply (rejects with its death). */
  private request<T>(type: 'save' | 'greedy'): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise<T>((resolve, reject) => {
      this.pending[type].push({ resolve: resolve as (v: never) => void, reject });
      this.worker.postMessage({ type });
    });
  }
  recordEvaluation(record: EvalRecord): void { this.worker.postMessage({ type: 'evaluation', record }); }
  async close(): Promise<void> {
    this.worker.postMessage({ type: 'close' });
    await new Promise<void>((r) => { this.worker.once('exit', () => r()); setTimeout(() => { void this.worker.terminate(); }, 5000).unref(); });
  }
}
