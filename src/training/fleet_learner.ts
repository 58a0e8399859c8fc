/**
 * The fleet learner (Gu, Holly, Lillicrap, Levine, ICRA 2017, "asynchronous NAF"):
 * several arms collect episodes in parallel, one learner trains the one Q-function on the pooled
 * replay R (and R_f), and each arm acts with the newest parameters it has received.
 *
 * Built from the single arm's parts: a `LearnerSession` (the learner, its real-time shedding, its
 * policy publication every `training.publish_policy_every_updates` updates, its checkpoints) whose
 * `Learner` holds one `ArmLearning` per arm (B_f, B_old, TVLG model, iLQG controller). What this
 * class adds is what a network brings:
 *  - arms identified by name (the actor's ROS namespace, e.g. `/arm1`), registered when their
 *    first episode arrives, each with its own models (`buildArmModels`);
 *  - whole episodes in (Algorithm 2's model fit needs whole, fixed-length episodes), deduplicated
 *    by (arm, actor session, episode number): an episode arriving late, twice (a redelivery from
 *    the actor's transient-local history after a learner restart) or out of order is stored in R
 *    exactly once. The actor session (its start time) is part of the key so that an actor that
 *    restarts and counts from 1 again is not mistaken for a duplicate;
 *  - the run's budget `training.episodes` counted over the fleet (episodes completed to the horizon,
 *    all arms); when it is reached the learner checkpoints, publishes its final policy marked done
 *    (actors then hold zero torque) and takes no more episodes;
 *  - a checkpoint every `training.checkpoint_every_episodes` fleet episodes, with this state
 *    (arms, seen episodes, counts) inside, so `ros.resume` restores the fleet's state, per-arm models
 *    and controllers included;
 *  - no episode it received is lost at a stop: `close` takes every episode already queued — stored
 *    in R and its arm's batch, its updates shed (counted) so that the stop is not held up by
 *    training — writes a checkpoint after the last one, and refuses what comes later ('closed':
 *    not taken, so the actor's transient-local history delivers it again to the resumed learner);
 *  - a ledger, `episodes.jsonl` in the run folder: one line per episode taken, with its key (arm,
 *    actor session, episode) and `taken` (the fleet's count of episodes taken, completed and
 *    aborted, after it), cut back to the checkpoint on resume, so that exactly-once delivery
 *    is checkable against the actors' own counts.
 *
 * Real time: an episode arrives whole when it ends. Its step t is given the deadline
 * `receivedAt + t·c/T + ros.max_learner_lag_ms`, c the arm's episode cycle (the time between its
 * last two episodes' arrivals — the episode plus homing —, clamped to [T·dt, 10·T·dt]; T·dt for an
 * arm's first episode): the learner may spend one cycle of each arm on that arm's episode, using
 * the time the arms spend homing (the asynchrony Gu et al. 2017 rely on: robots never wait for
 * the learner, the learner never idles while there is work), and a learner that cannot keep up
 * with N arms sheds the updates of the steps it reaches after their deadline (counted in the
 * status) instead of building a backlog. Without `receivedAt` (in-thread, tests) every step trains.
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PolicySnapshot } from '../agent/types.js';
import type { LinearGaussianController } from '../control/types.js';
import type { NafConfig } from '../config/schema.js';
import { buildArmModels } from './factory.js';
import { LearnerSession } from './learner_session.js';
import type { LearnerStats, ResumeInfo } from './learner_types.js';
import type { EpisodeInterventions } from '../safety/supervised_arm.js';
import { RUN_FILES, truncateRecords } from '../report/run_folder.js';

/** One finished episode of one arm, as an actor sends it. */
export interface FleetEpisode {
  /** The arm's name: its actor's ROS namespace (e.g. `/arm1`). */
  arm: string;
  /** The actor's session: its start time, ms since the epoch (a restarted actor has a new one). */
  session: number;
  /** Episode number within the session, 1-based. */
  episode: number;
  controller: 'naf' | 'ilqg';
  /** Ended early (watchdog, e-stop, pause, a publisher conflict): kept in R, not in B_f. */
  aborted: boolean;
  /** Sum of the rewards. */
  return: number;
  /** Version of the policy the actor held at the end of the episode (-1: none). */
  policyVersion: number;
  /** Observations x_0 .. x_steps, each [dX] (none when the episode has no step). */
  x: Float64Array[];
  /** Torques actually published u_0 .. u_{steps-1}, each [dU] N·m. */
  u: Float64Array[];
  /** Rewards r_0 .. r_{steps-1}. */
  r: Float64Array;
  /** True-terminal flags of the steps (time-limit ends are not terminal). */
  terminal: boolean[];
  /** Control steps in which the arm's safety supervisor changed the command, by rule (absent: not sent). */
  interventions?: EpisodeInterventions;
}

/** The learner's status as actors read it (`fleet.status_topic`): counts, budget, whether it is done. */
export interface FleetInfo {
  /** Episodes the learner took from all arms: completed (to the horizon) and aborted. */
  completed: number;
  aborted: number;
  /** The run's budget (training.episodes, completed episodes of all arms), and whether it is reached. */
  budget: number;
  done: boolean;
  /** The learner's cumulative figures (steps reached, updates made and shed), for the actors' /diagnostics. */
  steps: number;
  updates: number;
  shedSteps: number;
  shedUpdates: number;
  checkpoints: number;
  arms: number;
  /** Version (updates) of the newest policy published. */
  policyVersion: number;
}

export interface FleetArmStatus {
  id: string;
  /** The learner's arm index (its `ArmLearning`). */
  index: number;
  completed: number;
  aborted: number;
  /** Episodes refused because they were already stored. */
  duplicates: number;
  /** Seconds since the arm's last episode arrived (Infinity: none in this learner session). */
  silentS: number;
  refits: number;
  ilqgRejected: number;
  /** Actor sessions seen (restarts of the actor). */
  sessions: number;
}

export interface FleetStatus {
  arms: FleetArmStatus[];
  duplicates: number;
  /** Episodes refused because the budget was reached. */
  afterBudget: number;
  done: boolean;
  budget: number;
}

export type FleetMessage =
  | { type: 'policy'; snapshot: PolicySnapshot; info: FleetInfo }
  | { type: 'controller'; arm: string; controller: LinearGaussianController; version: number }
  | { type: 'stats'; stats: LearnerStats; fleet: FleetStatus; info: FleetInfo }
  | { type: 'log'; level: 'info' | 'warn' | 'error'; text: string };

/** What the learner did with an episode; 'closed': it came after `close` began and was not taken. */
export type IngestResult = 'accepted' | 'duplicate' | 'after_budget' | 'closed';

/** One line of the ledger `episodes.jsonl`: an episode the learner took (its key and outcome). */
export interface LedgerLine extends Pick<FleetEpisode, 'arm' | 'session' | 'episode' | 'controller' | 'aborted' | 'return'> {
  /** The fleet's episodes taken (completed and aborted) with this one. */
  taken: number;
  /** True when it was taken (from some step on) while the learner was stopping: stored, those steps' updates shed. */
  drained: boolean;
  /** Wall clock when it was taken (ISO 8601). */
  at: string;
}

/** Episodes of one actor session already stored: all of 1..high, and `extra` above it. */
interface SeenEpisodes { high: number; extra: number[] }

interface ArmRecord {
  id: string;
  index: number;
  completed: number;
  aborted: number;
  duplicates: number;
  sessions: Map<number, SeenEpisodes>;
  /** Wall clock of the last episode, ms (NaN: none in this learner session). */
  lastAt: number;
  /** `receivedAt` of the arm's last episode, ms (NaN: none yet). */
  lastReceivedAt: number;
}

/** The fleet's part of a checkpoint (JSON). */
export interface FleetState {
  arms: { id: string; index: number; completed: number; aborted: number; duplicates: number; sessions: [number, number, number[]][] }[];
  done: boolean;
  afterBudget: number;
}

export class FleetLearner {
  /** Log lines emitted before `emit` was set (a run folder that cannot be written at start). */
  private earlyLogs: FleetMessage[] = [];
  private emitTo: (m: FleetMessage) => void = (m) => { if (m.type === 'log') this.earlyLogs.push(m); };
  /** Where messages go (postMessage in the worker, callbacks in-thread); setting it delivers the log lines held until then. */
  get emit(): (m: FleetMessage) => void { return this.emitTo; }
  set emit(fn: (m: FleetMessage) => void) {
    this.emitTo = fn;
    for (const m of this.earlyLogs.splice(0)) fn(m);
  }
  private readonly arms = new Map<string, ArmRecord>();
  /** Arm id by learner arm index. */
  private readonly ids: string[] = [];
  private done = false;
  private afterBudget = 0;
  private sinceCheckpoint = 0;
  private policyVersion = -1;
  /** Serialises ingestion and checkpoints (registering an arm may build a model asynchronously). */
  private queue: Promise<unknown> = Promise.resolve();
  /** Set by `close`: episodes already queued are taken without updates, later ones refused. */
  private closing = false;
  /** Set by `abort`: nothing more is taken or written. */
  private aborted = false;
  /**
   * True once the owner has asked for a stop that `close` has not reached yet (the worker client
   * sets a shared flag before it posts 'close', so the episodes queued in the thread's message
   * port are taken without updates too, the one in progress from its next step on).
   */
  stopRequested: () => boolean = () => false;
  private readonly ledger: string;
  private ledgerFailed = false;

  private constructor(readonly session: LearnerSession) {
    this.ledger = join(session.runDir, RUN_FILES.fleetEpisodes);
    if (session.resumed) {
      // Episodes taken after the checkpoint are not in it: the resumed learner takes them again.
      try {
        truncateRecords(session.runDir, RUN_FILES.fleetEpisodes, null, session.resumed.completed + session.resumed.aborted, 'taken');
      } catch (e) {
        this.ledgerFailed = true;
        this.emit({ type: 'log', level: 'warn', text: `cannot cut ${this.ledger} back to the checkpoint: ${(e as Error).message}; the ledger is not kept in this session` });
      }
    }
    const s = session.resumedFleet as FleetState | null;
    if (s) {
      for (const a of s.arms) {
        const rec: ArmRecord = {
          id: a.id, index: a.index, completed: a.completed, aborted: a.aborted, duplicates: a.duplicates, lastAt: NaN, lastReceivedAt: NaN,
          sessions: new Map(a.sessions.map(([k, high, extra]) => [k, { high, extra: [...extra] }])),
        };
        this.arms.set(a.id, rec);
        this.ids[a.index] = a.id;
      }
      this.afterBudget = s.afterBudget;
    }
    this.done = this.budgetReached();
    session.emit = (m) => {
      if (m.type === 'policy') {
        this.policyVersion = m.snapshot.version;
        this.emit({ type: 'policy', snapshot: m.snapshot, info: this.policyInfo() });
      }
      else if (m.type === 'controller') {
        const id = this.ids[m.arm];
        if (id !== undefined) this.emit({ type: 'controller', arm: id, controller: m.controller, version: this.session.parts.learner.arms[m.arm].refits });
      } else if (m.type === 'stats') this.emit({ type: 'stats', stats: m.stats, fleet: this.status(), info: this.policyInfo() });
      else this.emit({ type: 'log', level: m.level, text: m.message });
    };
  }

  /**
   * Builds the learner; with `config.ros.resume`, restores the fleet (learner, arms with their
   * models and controllers, seen episodes, counts) from the newest checkpoint of that run folder.
   * @throws CheckpointError / Error as `LearnerSession.create`.
   */
  static async create(config: NafConfig, runDir: string): Promise<FleetLearner> {
    return new FleetLearner(await LearnerSession.create(config, runDir));
  }

  get resumed(): ResumeInfo | null {
    return this.session.resumed;
  }

  get config(): NafConfig {
    return this.session.config;
  }

  /** True once the run's budget of completed episodes is reached. */
  get isDone(): boolean {
    return this.done;
  }

  /**
   * Takes one episode: refused if the budget is reached or it is already stored; else its
   * transitions go to R and its arm's episode (Algorithm 2 per step: imagination from that arm's
   * B_old, I·l + I updates), then the episode ends (the arm's refit and iLQG step when its B_f is
   * full). Resolves when done; calls are processed in order. After `close` began: 'closed' (not
   * taken).
   * @param receivedAt wall clock (Date.now) when the episode reached the learner node: steps the
   *   learner reaches later than their deadline are stored but train nothing (see the module doc)
   */
  ingest(ep: FleetEpisode, receivedAt?: number): Promise<IngestResult> {
    if (this.closing) return Promise.resolve('closed');
    const p = this.queue.then(() => this.ingestNow(ep, receivedAt));
    this.queue = p.catch(() => undefined);
    return p;
  }

  private async ingestNow(ep: FleetEpisode, receivedAt?: number): Promise<IngestResult> {
    if (this.aborted) return 'closed';
    if (this.done) {
      this.afterBudget++;
      return 'after_budget';
    }
    const rec = await this.arm(ep.arm);
    const seen = rec.sessions.get(ep.session) ?? { high: 0, extra: [] };
    if (ep.episode <= seen.high || seen.extra.includes(ep.episode)) {
      rec.duplicates++;
      return 'duplicate';
    }
    seen.extra.push(ep.episode);
    seen.extra.sort((a, b) => a - b);
    while (seen.extra[0] === seen.high + 1) seen.high = seen.extra.shift()!;
    rec.sessions.set(ep.session, seen);
    const T = this.session.parts.task.T;
    const episodeMs = (1000 * T) / this.config.control_rate_hz;
    const cycleMs = receivedAt === undefined || Number.isNaN(rec.lastReceivedAt) ? episodeMs : Math.min(10 * episodeMs, Math.max(episodeMs, receivedAt - rec.lastReceivedAt));
    if (receivedAt !== undefined) rec.lastReceivedAt = receivedAt;
    let drained = false;
    for (let t = 0; t < ep.u.length; t++) {
      drained ||= this.closing || this.stopRequested();
      this.session.observe({ x: ep.x[t], u: ep.u[t], r: ep.r[t], x2: ep.x[t + 1], terminal: ep.terminal[t], t },
        receivedAt === undefined ? undefined : receivedAt + (t * cycleMs) / T, rec.index, !drained);
    }
    if (ep.aborted) rec.aborted++;
    else rec.completed++;
    rec.lastAt = Date.now();
    // The run folder's record: the final distance from the last observation (tip - target is in it).
    const steps = ep.u.length;
    this.session.endEpisode({
      controller: ep.controller, return: ep.return, aborted: ep.aborted, steps, arm: ep.arm,
      finalDistance: steps > 0 ? this.session.parts.task.distance(ep.x[steps]) : NaN,
      ...(ep.interventions ? { interventions: ep.interventions } : {}),
    }, rec.index);
    this.sinceCheckpoint++;
    this.record(ep, drained);
    if (this.budgetReached()) {
      this.done = true;
      const { completed, aborted } = this.session.episodeCounts;
      this.emit({ type: 'log', level: 'info', text: `training budget of ${this.config.training.episodes} episodes (training.episodes, completed episodes of all arms) done ` +
        `(${completed} completed, ${aborted} aborted); final checkpoint and policy published; the actors hold zero torque. ` +
        `To train further, resume this run with a larger budget (ros.resume and training.episodes; fleet.launch.py resume:=<run folder> episodes:=<total>)` });
      await this.checkpoint();
      this.session.publishPolicyNow();
    } else if (this.sinceCheckpoint >= this.config.training.checkpoint_every_episodes) {
      await this.checkpoint();
    }
    return 'accepted';
  }

  /** The ledger line and the log line of an episode taken. */
  private record(ep: FleetEpisode, drained: boolean): void {
    const { completed, aborted } = this.session.episodeCounts;
    const line: LedgerLine = {
      arm: ep.arm, session: ep.session, episode: ep.episode, controller: ep.controller, aborted: ep.aborted,
      return: ep.return, taken: completed + aborted, drained, at: new Date().toISOString(),
    };
    if (!this.ledgerFailed) {
      try {
        appendFileSync(this.ledger, JSON.stringify(line) + '\n');
      } catch (e) {
        this.ledgerFailed = true;
        this.emit({ type: 'log', level: 'warn', text: `cannot write ${this.ledger}: ${(e as Error).message}; training goes on without the ledger (said once)` });
      }
    }
    this.emit({ type: 'log', level: 'info', text: `took episode ${ep.episode} of arm ${ep.arm} (session ${ep.session}): ${ep.controller}, ` +
      `${ep.aborted ? 'aborted' : 'completed'}, return ${ep.return.toFixed(3)}; fleet episodes taken ${line.taken}${drained ? ' (stopping: stored, its updates shed)' : ''}` });
  }

  /** The periodic checkpoint: a failure is logged (training goes on; the next one may succeed). */
  private async checkpoint(): Promise<void> {
    try {
      await this.saveNow();
    } catch (e) {
      this.emit({ type: 'log', level: 'error', text: `checkpoint failed: ${(e as Error).message}; training goes on` });
    }
  }

  /** The record of arm `id`, registered (with its own models) on its first episode. */
  private async arm(id: string): Promise<ArmRecord> {
    const known = this.arms.get(id);
    if (known) return known;
    const { learner, task } = this.session.parts;
    // The learner's arm 0 exists from the start (a single-arm checkpoint resumed as a fleet: its
    // batches and controller go to the first arm that reports).
    const index = this.ids.length === 0 ? 0 : learner.addArm(await buildArmModels(this.config, task));
    const rec: ArmRecord = { id, index, completed: 0, aborted: 0, duplicates: 0, sessions: new Map(), lastAt: NaN, lastReceivedAt: NaN };
    this.arms.set(id, rec);
    this.ids[index] = id;
    this.emit({ type: 'log', level: 'info', text: `arm ${id} joined the fleet (learner arm ${index}, ${this.arms.size} arm${this.arms.size === 1 ? '' : 's'}); its own model and iLQG controller start now` });
    this.emit({ type: 'controller', arm: id, controller: learner.arms[index].controller, version: learner.arms[index].refits });
    return rec;
  }

  private budgetReached(): boolean {
    return this.session.episodeCounts.completed >= this.config.training.episodes;
  }

  /** The policy and every known arm's controller (at start, for actors that join). */
  publishAll(): void {
    this.session.publishAll();
  }

  policyInfo(): FleetInfo {
    const st = this.session.stats();
    const { completed, aborted } = this.session.episodeCounts;
    return {
      completed, aborted, budget: this.config.training.episodes, done: this.done,
      steps: st.steps, updates: st.updates, shedSteps: st.skippedSteps, shedUpdates: st.shedUpdates,
      checkpoints: st.checkpoints, arms: this.arms.size, policyVersion: this.policyVersion,
    };
  }

  status(): FleetStatus {
    const now = Date.now();
    const learner = this.session.parts.learner;
    const arms = [...this.arms.values()].map((a) => ({
      id: a.id, index: a.index, completed: a.completed, aborted: a.aborted, duplicates: a.duplicates,
      silentS: Number.isNaN(a.lastAt) ? Infinity : (now - a.lastAt) / 1000,
      refits: learner.arms[a.index].refits, ilqgRejected: learner.arms[a.index].ilqgRejected, sessions: a.sessions.size,
    }));
    return { arms, duplicates: arms.reduce((n, a) => n + a.duplicates, 0), afterBudget: this.afterBudget, done: this.done, budget: this.config.training.episodes };
  }

  stats(): { stats: LearnerStats; fleet: FleetStatus } {
    return { stats: this.session.stats(), fleet: this.status() };
  }

  /** The fleet's part of a checkpoint. */
  state(): FleetState {
    return {
      arms: [...this.arms.values()].map((a) => ({
        id: a.id, index: a.index, completed: a.completed, aborted: a.aborted, duplicates: a.duplicates,
        sessions: [...a.sessions].map(([k, s]) => [k, s.high, [...s.extra]] as [number, number, number[]]),
      })),
      done: this.done, afterBudget: this.afterBudget,
    };
  }

  /** Writes a checkpoint after the episodes taken so far; resolves to its file. */
  save(): Promise<string> {
    const p = this.queue.then(() => this.saveNow());
    this.queue = p.catch(() => undefined);
    return p;
  }

  private async saveNow(): Promise<string> {
    this.sinceCheckpoint = 0;
    return this.session.save(this.state());
  }

  /** Waits for the episodes and checkpoints queued so far. */
  async idle(): Promise<void> {
    await this.queue;
  }

  /**
   * The stop: takes every episode already queued (stored, updates shed), refuses later ones
   * ('closed'), writes a checkpoint after the last episode taken when the newest one is older,
   * rebuilds the run folder's summary and curve, frees the learner. Never rejects (a failed
   * checkpoint is logged).
   */
  async close(): Promise<void> {
    this.closing = true;
    await this.idle();
    if (this.sinceCheckpoint > 0) {
      await this.checkpoint();
      const { completed, aborted } = this.session.episodeCounts;
      this.emit({ type: 'log', level: 'info', text: `stopped: checkpoint after the last episode taken (fleet episodes taken ${completed + aborted})` });
    }
    await this.session.close();
  }

  /**
   * Ends the learner at once, as a crash (SIGKILL) would: queued episodes are not taken (they
   * resolve 'closed'), no checkpoint is written, the run folder's summary is not rebuilt. For
   * drills and tests of what a resumed learner recovers.
   */
  abort(): void {
    this.closing = this.aborted = true;
    this.session.dispose();
  }

  dispose(): void {
    this.session.dispose();
  }
}
