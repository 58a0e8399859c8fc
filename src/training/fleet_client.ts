/**
 * The fleet learner behind one interface, in the caller's thread or in a worker thread — the
 * fleet's counterpart of `learner_client.ts`. The learner node (`src/ros/fleet/naf_learner_node.ts`)
 * hands it every episode an actor sends and publishes what it emits: the policy (with the fleet's
 * counts), each arm's iLQG controller, stats and log lines.
 *
 * `InThreadFleetClient` trains before `ingest` resolves and never sheds (deterministic, for
 * tests); `WorkerFleetClient` runs the same `FleetLearner` in a `worker_threads` worker at
 * `ros.learner_nice`, so the learner node's executor (subscriptions, publishers, services) never
 * waits for a gradient step, and sheds updates it cannot make in time (`fleet_learner.ts`).
 */
import { Worker } from 'node:worker_threads';
import type { PolicySnapshot } from '../agent/types.js';
import type { LinearGaussianController } from '../control/types.js';
import type { NafConfig } from '../config/schema.js';
import { FleetLearner, type FleetEpisode, type FleetMessage, type FleetInfo, type FleetStatus, type IngestResult } from './fleet_learner.js';
import type { LearnerStats, ResumeInfo } from './learner_types.js';

export type { FleetEpisode, FleetInfo, FleetStatus, IngestResult };

export interface FleetLearnerClient {
  /** The checkpoint the learner was restored from (`ros.resume`), or null for a new run. */
  readonly resumed: ResumeInfo | null;
  /** How the learner thread was scheduled, for the node's log; '' in-thread. */
  readonly priority: string;
  /** The learner's budget state at start (a resumed finished run is done at once). */
  readonly startInfo: FleetInfo;
  /**
   * One episode of an arm; resolves with what the learner did with it.
   * @param receivedAt wall clock (Date.now) when it reached the learner node (worker: its steps' deadlines)
   */
  ingest(ep: FleetEpisode, receivedAt: number): Promise<IngestResult>;
  onPolicy(cb: (snapshot: PolicySnapshot, info: FleetInfo) => void): void;
  /** `version`: the arm's refits so far (0: its initial controller). */
  onController(cb: (arm: string, controller: LinearGaussianController, version: number) => void): void;
  onStats(cb: (stats: LearnerStats, fleet: FleetStatus, info: FleetInfo) => void): void;
  onLog(cb: (level: 'info' | 'warn' | 'error', text: string) => void): void;
  /** Sends the policy and every known arm's controller again. */
  publishAll(): void;
  /** Writes a checkpoint after the episodes taken so far; resolves to its file. */
  save(): Promise<string>;
  /**
   * The stop: every episode already handed to `ingest` is taken (stored; the updates of steps
   * reached after the stop began are shed) and a checkpoint is written after the last one; later
   * episodes resolve 'closed'. Resolves when the learner is closed.
   */
  close(): Promise<void>;
  /** Ends the learner at once, as a crash would (`FleetLearner.abort`; the worker is terminated): nothing more is taken or written. */
  abort(): Promise<void>;
}

interface Callbacks {
  policy: ((s: PolicySnapshot, i: FleetInfo) => void)[];
  controller: ((arm: string, c: LinearGaussianController, v: number) => void)[];
  stats: ((s: LearnerStats, f: FleetStatus, i: FleetInfo) => void)[];
  log: ((level: 'info' | 'warn' | 'error', text: string) => void)[];
}
const callbacks = (): Callbacks => ({ policy: [], controller: [], stats: [], log: [] });

/** Log lines that came before the first `onLog` callback, held for it. */
type HeldLogs = Extract<FleetMessage, { type: 'log' }>[];

function dispatch(cbs: Callbacks, m: FleetMessage, held: HeldLogs): void {
  if (m.type === 'policy') cbs.policy.forEach((cb) => cb(m.snapshot, m.info));
  else if (m.type === 'controller') cbs.controller.forEach((cb) => cb(m.arm, m.controller, m.version));
  else if (m.type === 'stats') cbs.stats.forEach((cb) => cb(m.stats, m.fleet, m.info));
  else if (cbs.log.length) cbs.log.forEach((cb) => cb(m.level, m.text));
  else held.push(m);
}

function addLog(cbs: Callbacks, cb: Callbacks['log'][number], held: HeldLogs): void {
  cbs.log.push(cb);
  for (const m of held.splice(0)) cb(m.level, m.text);
}

/** The fleet learner in the caller's thread: `ingest` trains every step before it resolves. */
export class InThreadFleetClient implements FleetLearnerClient {
  private readonly cbs = callbacks();
  private readonly held: HeldLogs = [];
  readonly priority = '';
  readonly startInfo: FleetInfo;
  private constructor(readonly learner: FleetLearner) {
    learner.emit = (m) => dispatch(this.cbs, m, this.held);
    this.startInfo = learner.policyInfo();
  }

  static async create(config: NafConfig, runDir: string): Promise<InThreadFleetClient> {
    return new InThreadFleetClient(await FleetLearner.create(config, runDir));
  }

  get resumed(): ResumeInfo | null { return this.learner.resumed; }
  /** Deterministic: the receipt time is not used (no step is shed). */
  ingest(ep: FleetEpisode): Promise<IngestResult> { return this.learner.ingest(ep); }
  onPolicy(cb: Callbacks['policy'][number]): void { this.cbs.policy.push(cb); }
  onController(cb: Callbacks['controller'][number]): void { this.cbs.controller.push(cb); }
  onStats(cb: Callbacks['stats'][number]): void { this.cbs.stats.push(cb); }
  onLog(cb: Callbacks['log'][number]): void { addLog(this.cbs, cb, this.held); }
  publishAll(): void { this.learner.publishAll(); }
  save(): Promise<string> { return this.learner.save(); }
  close(): Promise<void> { return this.learner.close(); }
  async abort(): Promise<void> { this.learner.abort(); }
}

/** The fleet learner in a worker thread; messages are structured clones (typed arrays included). */
export class WorkerFleetClient implements FleetLearnerClient {
  private readonly cbs = callbacks();
  private readonly held: HeldLogs = [];
  private readonly pending = new Map<number, { resolve: (v: never) => void; reject: (e: Error) => void }>();
  private seq = 0;
  private failure: Error | null = null;

  /** @param tid the worker's Linux thread id (null elsewhere), for the node's real-time setup */
  private constructor(private readonly worker: Worker, private readonly stop: Int32Array, readonly resumed: ResumeInfo | null, readonly priority: string, readonly tid: number | null, readonly startInfo: FleetInfo) {
    worker.on('message', (m: FleetMessage | { type: 'reply'; id: number; value?: unknown; error?: string }) => {
      if (m.type === 'reply') {
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        if (m.error !== undefined) p?.reject(new Error(m.error));
        else p?.resolve(m.value as never);
      } else dispatch(this.cbs, m, this.held);
    });
    worker.on('error', (e) => {
      this.failure = e;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
    });
  }

  /** Starts the worker and waits until its learner is built. @throws the worker's start error. */
  static async create(config: NafConfig, runDir: string): Promise<WorkerFleetClient> {
    const stop = new Int32Array(new SharedArrayBuffer(4));
    const worker = new Worker(new URL('./fleet_worker_boot.mjs', import.meta.url), { workerData: { config, runDir, stop: stop.buffer } });
    type Ready = { type: string; error?: string; resumed: ResumeInfo | null; priority: string; tid: number | null; info: FleetInfo; level: 'info' | 'warn' | 'error'; text: string };
    const early: HeldLogs = [];
    const ready = await new Promise<Ready>((resolve, reject) => {
      const onMsg = (m: Ready) => {
        if (m.type === 'ready') { worker.off('message', onMsg); resolve(m); }
        if (m.type === 'start-failed') reject(new Error(m.error));
        if (m.type === 'log') early.push({ type: 'log', level: m.level, text: m.text });
      };
      worker.on('message', onMsg);
      worker.once('error', reject);
    });
    const client = new WorkerFleetClient(worker, stop, ready.resumed, ready.priority, ready.tid, ready.info);
    client.held.push(...early);
    return client;
  }

  /** Last error of the worker, if it died. */
  get error(): Error | null { return this.failure; }

  private request<T>(msg: Record<string, unknown>): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    const id = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: never) => void, reject });
      this.worker.postMessage({ ...msg, id });
    });
  }

  ingest(ep: FleetEpisode, receivedAt: number): Promise<IngestResult> { return this.request({ type: 'episode', ep, receivedAt }); }
  onPolicy(cb: Callbacks['policy'][number]): void { this.cbs.policy.push(cb); }
  onController(cb: Callbacks['controller'][number]): void { this.cbs.controller.push(cb); }
  onStats(cb: Callbacks['stats'][number]): void { this.cbs.stats.push(cb); }
  onLog(cb: Callbacks['log'][number]): void { addLog(this.cbs, cb, this.held); }
  publishAll(): void { this.worker.postMessage({ type: 'publish' }); }
  save(): Promise<string> { return this.request({ type: 'save' }); }
  /**
   * The stop: the learner takes every episode already sent (stored in R, updates shed from the
   * stop on), checkpoints after the last, rebuilds the run folder's summary, and its thread ends
   * (terminated if it has not after 5 s). Episodes sent after this are not taken (those the thread
   * still sees resolve 'closed').
   */
  async close(): Promise<void> {
    Atomics.store(this.stop, 0, 1);
    this.worker.postMessage({ type: 'close' });
    await new Promise<void>((r) => { this.worker.once('exit', () => r()); setTimeout(() => { void this.worker.terminate(); }, 5000).unref(); });
  }
  async abort(): Promise<void> { await this.worker.terminate(); }
}
