/**
 * A learner fed transition by transition from outside (the ROS node), wherever it runs:
 * stores and trains (`Learner`), publishes policy snapshots every
 * `publish_policy_every_updates` updates and the controller after every refit, and checkpoints.
 * Transitions and episode ends name the learner's arm (0 for the single arm); the fleet learner
 * (`fleet_learner.ts`) feeds several arms' episodes through one session and keeps its own state in
 * the same checkpoint (`save(fleet)`, `resumedFleet`).
 *
 * The session keeps the node's run folder (`NodeRunFolder`: config.yaml, one metrics record per
 * completed episode, warnings.jsonl, summary.md and learning_curve.svg rebuilt after a checkpoint
 * at most once a minute, at the budget's end and on `close`), here in the learner's thread rather
 * than on the control loop's; a fleet's learner keeps one for all its arms.
 *
 * What the agent reports itself (`QAgent.takeNotices`: NAF's head worker failing, restarting,
 * given up) goes out as `log` messages too, each once, just before the next stats.
 *
 * Real-time accounting (reported in `LearnerStats`, emitted about once a second while
 * transitions arrive, after every episode and after every checkpoint): the learner's lag (wall
 * time between the actor sending a transition and the learner reaching it), the real steps and
 * updates shed because of it (`ros.max_learner_lag_ms`), and the checkpoint write time.
 */
import { join } from 'node:path';
import type { PolicySnapshot, ThreadStatus } from '../agent/types.js';
import type { LinearGaussianController } from '../control/types.js';
import type { NafConfig } from '../config/schema.js';
import { readLatestCheckpoint, writeCheckpoint } from './checkpoint.js';
import { NafAgent } from '../agent/naf/agent.js';
import { armSignature, assertSameArm, buildArmModels, buildLearning, loadConfigUrdf, type ArmSignature, type LearningParts } from './factory.js';
import { LearningHealth } from './learning_health.js';
import { learnerState, restoreLearner, type LearnerState, type RefitReport, type Transition } from './learner.js';
import type { EpisodeEnd, LearnerStats, LogLevel, ResumeInfo } from './learner_types.js';
import { NodeRunFolder } from './node_run_folder.js';
import type { EpisodeRecord, EvalRecord } from '../report/run_folder.js';

/** Messages of a session to its actor(s); `arm` names the learner's arm index (0 for a single arm). */
export type SessionMessage =
  | { type: 'policy'; snapshot: PolicySnapshot }
  | { type: 'controller'; controller: LinearGaussianController; arm: number }
  | { type: 'stats'; stats: LearnerStats }
  /** Something the node should log (the learner's thread has no logger of its own). */
  | { type: 'log'; level: LogLevel; message: string };

/** What a checkpoint of a session holds besides the learner (absent fields: written before they were kept). */
interface SessionCheckpoint {
  learner: LearnerState;
  arm: ArmSignature;
  node?: { completed: number; aborted: number };
  fleet?: unknown;
  /** Checkpoints of the run, this one included. */
  checkpoints?: number;
  /** Wall time of the run at the checkpoint, all sessions, s. */
  wallSeconds?: number;
}

export class LearnerSession {
  /** Log lines emitted before `emit` was set (a run folder that cannot be written at start). */
  private earlyLogs: SessionMessage[] = [];
  private emitTo: (m: SessionMessage) => void = (m) => { if (m.type === 'log') this.earlyLogs.push(m); };
  /** Where messages to the actor go (postMessage in the worker, callbacks in-thread); setting it delivers the log lines held until then. */
  get emit(): (m: SessionMessage) => void { return this.emitTo; }
  set emit(fn: (m: SessionMessage) => void) {
    this.emitTo = fn;
    for (const m of this.earlyLogs.splice(0)) fn(m);
  }
  private lastPublished = -Infinity;
  private lastReturn = NaN;
  /** Episodes ended by the node in this run (restored on resume), for the budget. */
  private completed = 0;
  private aborted = 0;
  /** Steps whose updates were dropped because the learner was behind real time. */
  private skippedSteps = 0;
  private shedUpdates = 0;
  private lag = { sum: 0, max: 0, n: 0 };
  private lastStatsAt = 0;
  /** Checkpoints of the run (all sessions). */
  private checkpoints = 0;
  private checkpointMs = NaN;
  /**
   * The learning-health checks of the completed episodes: rebuilt from the run folder's records on
   * resume (restarted where there are none).
   */
  private readonly health: LearningHealth;
  /** The run folder's records and summary; null when the session keeps none (`runFolder: false`). */
  private readonly folder: NodeRunFolder | null;
  /** Counters at the end of the previous episode, and when the learner reached its first transition (ms, performance.now). */
  private episodeStart = { updates: 0, imagined: 0, steps: 0, at: NaN };

  /**
   * @param checkpoint the state of the checkpoint resumed from (null: a new run)
   * @param runFolder keep the run folder's records and summary in `runDir`
   */
  private constructor(readonly config: NafConfig, readonly runDir: string, readonly parts: LearningParts, readonly resumed: ResumeInfo | null,
    checkpoint: SessionCheckpoint | null, runFolder: boolean) {
    if (resumed) [this.completed, this.aborted] = [resumed.completed, resumed.aborted];
    this.resumedFleet = checkpoint?.fleet ?? null;
    this.checkpoints = checkpoint ? checkpoint.checkpoints ?? 1 : 0;
    this.folder = runFolder
      ? NodeRunFolder.open(config, runDir, {
        resumedAt: resumed ? resumed.completed : null, wallSeconds: checkpoint?.wallSeconds,
        warn: (message) => this.emit({ type: 'log', level: 'warn', message }),
      })
      : null;
    const options = LearningHealth.optionsFor(config, loadConfigUrdf(config));
    this.health = this.folder?.previous.length
      ? LearningHealth.replay(options, this.folder.previous, [])
      : new LearningHealth(options);
    this.episodeStart = { updates: parts.agent.updates, imagined: parts.learner.imaginedTotal, steps: parts.learner.steps, at: NaN };
    if (parts.agent instanceof NafAgent) this.emit({ type: 'log', level: 'info', message: `learner: tfjs backend ${parts.backend.name}; ${parts.agent.describeUpdate()}` });
  }

  /** The fleet learner's own state in the checkpoint resumed from (`save(fleet)`); null for a new run or a single-arm checkpoint. */
  readonly resumedFleet: unknown;

  /**
   * Builds the learner; with `config.ros.resume` set, restores it from the newest checkpoint of
   * that run folder (refusing one of another arm; a fleet checkpoint's arms get their own models
   * built, `buildArmModels`) and reports it in `resumed`.
   * @param opts.runFolder keep the node's run folder in `runDir` (`NodeRunFolder`; default true)
   * @throws CheckpointError for a missing or corrupt checkpoint; Error for another arm.
   */
  static async create(config: NafConfig, runDir: string, opts: { runFolder?: boolean } = {}): Promise<LearnerSession> {
    const parts = await buildLearning(config);
    let resumed: ResumeInfo | null = null;
    let st: SessionCheckpoint | null = null;
    if (config.ros.resume) {
      const ckpt = readLatestCheckpoint(join(config.ros.resume, 'checkpoints'));
      st = ckpt.state as SessionCheckpoint;
      assertSameArm(ckpt.path, st.arm, parts);
      for (let i = 0; i < (st.learner.moreArms ?? []).length; i++) parts.learner.addArm(await buildArmModels(config, parts.task));
      parts.learner = await restoreLearner(parts.learner, st.learner);
      // Checkpoints written before the node counts were saved: every learner episode counts as completed.
      resumed = { checkpoint: ckpt.path, completed: st.node?.completed ?? parts.learner.episodes, aborted: st.node?.aborted ?? 0 };
    }
    return new LearnerSession(config, runDir, parts, resumed, st, opts.runFolder ?? true);
  }

  /**
   * Stores one real transition of `arm` and runs the per-step learning of Algorithm 2.
   * @param sentAt wall-clock ms (Date.now) when the actor sent it: when the learner reaches it
   *   more than `ros.max_learner_lag_ms` later, it is stored but trains nothing, so a learner that
   *   cannot keep up with the control rate sheds updates instead of building a backlog.
   * @param arm the learner's arm index (0: the single arm)
   * @param train false: store it and count its updates as shed without making them (a learner
   *   draining its queue at a stop: every episode it received is kept, none holds the stop up)
   */
  observe(tr: Transition, sentAt?: number, arm = 0, train = true): void {
    const { learner, agent } = this.parts;
    learner.observe(tr, arm);
    if (Number.isNaN(this.episodeStart.at)) this.episodeStart.at = performance.now();
    const now = Date.now();
    const lagMs = sentAt === undefined ? 0 : Math.max(0, now - sentAt);
    if (sentAt !== undefined) {
      this.lag.sum += lagMs;
      this.lag.max = Math.max(this.lag.max, lagMs);
      this.lag.n++;
    }
    const late = !train || lagMs > this.config.ros.max_learner_lag_ms;
    if (late) {
      this.skippedSteps++;
      this.shedUpdates += learner.updatesDue();
    }
    learner.afterStep(!late, arm);
    if (agent.updates - this.lastPublished >= this.config.training.publish_policy_every_updates) this.publishPolicy();
    if (now - this.lastStatsAt >= 1000) this.emitStats();
  }

  /** Ends `arm`'s episode (lines 155-159); after a refit sends that arm's new controller. */
  endEpisode(info: EpisodeEnd, arm = 0): void {
    const { learner } = this.parts;
    this.lastReturn = info.return;
    if (info.aborted) this.aborted++;
    else this.completed++;
    const updates = learner.episodeUpdates;
    const refit = learner.endEpisode(arm);
    if (!info.aborted) {
      const record = this.record(info, updates, refit ?? learner.lastRefit);
      const events = this.health.observeEpisode(record);
      record.warnings = this.health.codes;
      this.folder?.warnings(events);
      this.folder?.episode(record);
    }
    const { agent } = this.parts;
    this.episodeStart = { updates: agent.updates, imagined: learner.imaginedTotal, steps: learner.steps, at: NaN };
    if (refit) this.emit({ type: 'controller', controller: learner.arms[arm].controller, arm });
    this.emitStats();
  }

  /**
   * The run folder's record of the completed episode that just ended: what the actor saw (`info`)
   * and the learner's counters. Updates, imagined transitions and the rates count from the end of
   * the previous episode (an aborted one included); the rates are per wall-clock second of the
   * learner, from its first transition of the episode to the episode's end.
   */
  private record(info: EpisodeEnd, updates: { loss: number; qMean: number }, refit: RefitReport | null): EpisodeRecord {
    const { learner, agent } = this.parts;
    const s = (performance.now() - this.episodeStart.at) / 1000;
    const steps = info.steps ?? learner.steps - this.episodeStart.steps;
    const made = agent.updates - this.episodeStart.updates;
    const rate = (n: number) => (s > 0 ? n / s : NaN);
    return {
      episode: this.completed, controller: info.controller, return: info.return, finalDistance: info.finalDistance ?? NaN,
      updates: made, imagined: learner.imaginedTotal - this.episodeStart.imagined, loss: updates.loss, qMean: updates.qMean, steps,
      ...(info.interventions ? { interventions: info.interventions } : {}),
      totalSteps: learner.steps, totalUpdates: agent.updates, imaginedTotal: learner.imaginedTotal,
      refits: learner.refits, ilqgRejected: learner.ilqgRejected, fictionalSize: learner.Rf.size,
      modelMse: refit?.predictionMse ?? NaN, modelMseMeanPath: refit?.meanPathMse ?? NaN, divergences: agent.divergences,
      wallSeconds: this.folder?.wallSeconds ?? NaN, stepsPerSecond: rate(steps), updatesPerSecond: rate(made),
      aborted: this.aborted, ...(info.arm === undefined ? {} : { arm: info.arm }),
    };
  }

  /** Episodes ended in this run (all sessions): completed (to the horizon) and aborted. */
  get episodeCounts(): { completed: number; aborted: number } {
    return { completed: this.completed, aborted: this.aborted };
  }

  private emitStats(): void {
    for (const n of this.parts.agent.takeNotices()) this.emit({ type: 'log', level: n.level, message: n.text });
    this.emit({ type: 'stats', stats: this.stats() });
    this.lastStatsAt = Date.now();
    this.lag = { sum: 0, max: 0, n: 0 };
  }

  /** Sends the policy and every arm's controller (a new actor, a restarted learner). */
  publishAll(): void {
    this.publishPolicy();
    this.parts.learner.arms.forEach((a, arm) => this.emit({ type: 'controller', controller: a.controller, arm }));
  }

  /** Sends the policy now (and restarts the count to the next periodic one). */
  publishPolicyNow(): void {
    this.publishPolicy();
  }

  private publishPolicy(): void {
    this.lastPublished = this.parts.agent.updates;
    this.emit({ type: 'policy', snapshot: this.parts.agent.snapshot() });
  }

  /** Counters now; the lag figures cover the transitions since the previous emitted stats. */
  stats(): LearnerStats {
    const { learner, agent } = this.parts;
    return {
      at: Date.now(), episodes: learner.episodes, steps: learner.steps, updates: agent.updates, imaginedTotal: learner.imaginedTotal,
      lastReturn: this.lastReturn, divergences: agent.divergences, skippedSteps: this.skippedSteps, shedUpdates: this.shedUpdates,
      lagMeanMs: this.lag.n ? this.lag.sum / this.lag.n : 0, lagMaxMs: this.lag.max, lagSamples: this.lag.n,
      checkpoints: this.checkpoints, checkpointMs: this.checkpointMs,
      refits: learner.refits, ilqgRejected: learner.ilqgRejected, refit: learner.lastRefit, warnings: this.health.warnings,
      threads: agent.threadStatus(),
    };
  }

  /** The greedy policy (the averaged weights with `agent.policy_averaging`), for evaluation episodes on the arm. */
  greedySnapshot(): PolicySnapshot {
    return this.parts.agent.greedySnapshot();
  }

  /** An evaluation the node ran on the arm: one line of the run folder's eval.jsonl / eval.csv, with the learner's real steps so far. */
  recordEvaluation(record: EvalRecord): void {
    this.folder?.evaluation({ ...record, totalSteps: this.parts.learner.steps });
  }

  /**
   * Checkpoint of the learner (node runs: `<runDir>/checkpoints`), with the node's episode counts
   * so a resumed node continues them; its wall time is reported in the next stats.
   * @param fleet the fleet learner's own state (arms, seen episodes), restored as `resumedFleet`
   */
  async save(fleet?: unknown): Promise<string> {
    const { learner } = this.parts;
    const t0 = performance.now();
    // Counts first: they describe the learner state taken next.
    const episode = learner.episodes;
    const node = { completed: this.completed, aborted: this.aborted };
    const head = { config: this.config, episode, node, checkpoints: this.checkpoints + 1, wallSeconds: this.folder?.wallSeconds };
    const state = {
      // the config travels with the checkpoint, so `naf-ros eval`/deploy mode can rebuild the policy
      ...head, learner: await learnerState(learner), arm: armSignature(this.parts),
      ...(fleet === undefined ? {} : { fleet }),
    };
    const path = writeCheckpoint(join(this.runDir, 'checkpoints'), String(episode).padStart(7, '0'), state);
    this.checkpoints++;
    this.checkpointMs = performance.now() - t0;
    this.emitStats();
    // The summary and the curve follow the checkpoints (at most once a minute; always at the budget's end).
    void this.folder?.report(this.completed >= this.config.training.episodes);
    return path;
  }

  /**
   * Ends the session: rebuilds the run folder's summary.md and learning_curve.svg (after a rebuild
   * still running) and frees the agent. Never rejects.
   */
  async close(): Promise<void> {
    await this.folder?.report(true);
    this.dispose();
  }

  dispose(): void {
    this.parts.agent.dispose();
  }
}
