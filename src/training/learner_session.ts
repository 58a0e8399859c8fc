/**
 * A learner fed transition by transition from outside (the ROS node), wherever it runs:
 * stores and trains (`Learner`), publishes policy snapshots every
 * `publish_policy_every_updates` updates and the controller after every refit, and checkpoints.
 * Transitions and episode ends name the learner's arm (0 for the single arm); the fleet learner
 * (`fleet_learner.ts`) feeds several arms' episodes through one session and keeps its own state in
 * the same checkpoint (`save(fleet)`, `resumedFleet`).
 *
 * What the agent reports itself (`QAgent.takeNotices`: NAF's head worker failing, restarting,
 * given up) goes out as `log` messages, each once, just before the next stats.
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
import { armSignature, assertSameArm, buildArmModels, buildLearning, loadConfigUrdf, type ArmSignature, type LearningParts } from './factory.js';
import { LearningHealth, type HealthWarning } from './learning_health.js';
import { learnerState, restoreLearner, type LearnerState, type RefitReport, type Transition } from './learner.js';
import type { EpisodeEnd } from './learner_client.js';

export interface LearnerStats {
  /** Wall clock when the stats were taken, ms (Date.now). */
  at: number;
  episodes: number;
  steps: number;
  updates: number;
  imaginedTotal: number;
  lastReturn: number;
  divergences: number;
  /** Real steps that trained nothing because the learner was behind real time (cumulative). */
  skippedSteps: number;
  /** The minibatch updates those steps would have made (I, plus I·l from R_f while imagining; cumulative). */
  shedUpdates: number;
  /** Learner lag over the transitions since the previous stats: mean and max, ms; count of them. */
  lagMeanMs: number;
  lagMaxMs: number;
  lagSamples: number;
  /** Checkpoints written by this session, and the wall time of the last one, ms (NaN before the first). */
  checkpoints: number;
  checkpointMs: number;
  /** Model refits so far, and their iLQG steps not installed because they broke the KL trust region. */
  refits: number;
  ilqgRejected: number;
  /** The newest refit's report (its `accepted` says whether its iLQG step was installed). */
  refit: RefitReport | null;
  /**
   * Learning-health warnings active now (`learning_health.ts`: model error, TD loss, Q range, on
   * every completed episode; the greedy-distance check needs evaluations, which the node does not
   * run). Absent from learners that do not check.
   */
  warnings?: HealthWarning[];
  /**
   * The threads of one NAF update (`agent.learner_threads`): in use, head-worker failures, whether
   * the update fell back to one thread for good (issue 20). Absent from learners before it.
   */
  threads?: ThreadStatus;
}

/** What a session restored from (`ros.resume`): the checkpoint folder and the episode counts in it. */
export interface ResumeInfo {
  checkpoint: string;
  /** Episodes the node completed (ran to the horizon) and aborted before the checkpoint. */
  completed: number;
  aborted: number;
}

/** Messages of a session to its actor(s); `arm` names the learner's arm index (0 for a single arm). */
export type SessionMessage =
  | { type: 'policy'; snapshot: PolicySnapshot }
  | { type: 'controller'; controller: LinearGaussianController; arm: number }
  | { type: 'stats'; stats: LearnerStats }
  /** A line for the node's log, sent once: what the agent reported (`QAgent.takeNotices`: its head worker failed, restarted, was given up). */
  | { type: 'log'; level: 'info' | 'warn' | 'error'; text: string };

export class LearnerSession {
  /** Where messages to the actor go (postMessage in the worker, callbacks in-thread). */
  emit: (m: SessionMessage) => void = () => {};
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
  private checkpoints = 0;
  private checkpointMs = NaN;
  /** The learning-health checks of the completed episodes (restarted, not restored, on resume). */
  private readonly health: LearningHealth;

  /**
   * @param resumedFleet the fleet learner's own state in the checkpoint resumed from (`save(fleet)`),
   *   null for a new run or a single-arm checkpoint
   */
  private constructor(readonly config: NafConfig, readonly runDir: string, readonly parts: LearningParts, readonly resumed: ResumeInfo | null,
    readonly resumedFleet: unknown = null) {
    if (resumed) [this.completed, this.aborted] = [resumed.completed, resumed.aborted];
    this.health = new LearningHealth(LearningHealth.optionsFor(config, loadConfigUrdf(config)));
  }

  /**
   * Builds the learner; with `config.ros.resume` set, restores it from the newest checkpoint of
   * that run folder (refusing one of another arm; a fleet checkpoint's arms get their own models
   * built, `buildArmModels`) and reports it in `resumed`.
   * @throws CheckpointError for a missing or corrupt checkpoint; Error for another arm.
   */
  static async create(config: NafConfig, runDir: string): Promise<LearnerSession> {
    const parts = await buildLearning(config);
    let resumed: ResumeInfo | null = null;
    let fleet: unknown = null;
    if (config.ros.resume) {
      const ckpt = readLatestCheckpoint(join(config.ros.resume, 'checkpoints'));
      const st = ckpt.state as { learner: LearnerState; arm: ArmSignature; node?: { completed: number; aborted: number }; fleet?: unknown };
      assertSameArm(ckpt.path, st.arm, parts);
      for (let i = 0; i < (st.learner.moreArms ?? []).length; i++) parts.learner.addArm(await buildArmModels(config, parts.task));
      parts.learner = await restoreLearner(parts.learner, st.learner);
      // Checkpoints written before the node counts were saved: every learner episode counts as completed.
      resumed = { checkpoint: ckpt.path, completed: st.node?.completed ?? parts.learner.episodes, aborted: st.node?.aborted ?? 0 };
      fleet = st.fleet ?? null;
    }
    return new LearnerSession(config, runDir, parts, resumed, fleet);
  }

  /**
   * Stores one real transition of `arm` and runs the per-step learning of Algorithm 2.
   * @param sentAt wall-clock ms (Date.now) when the actor sent it: when the learner reaches it
   *   more than `ros.max_learner_lag_ms` later, it is stored but trains nothing, so a learner that
   *   cannot keep up with the control rate sheds updates instead of building a backlog.
   * @param arm the learner's arm index (0: the single arm)
   */
  observe(tr: Transition, sentAt?: number, arm = 0): void {
    const { learner, agent } = this.parts;
    learner.observe(tr, arm);
    const now = Date.now();
    const lagMs = sentAt === undefined ? 0 : Math.max(0, now - sentAt);
    if (sentAt !== undefined) {
      this.lag.sum += lagMs;
      this.lag.max = Math.max(this.lag.max, lagMs);
      this.lag.n++;
    }
    const late = lagMs > this.config.ros.max_learner_lag_ms;
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
      const r = refit ?? learner.lastRefit;
      this.health.observeEpisode({
        episode: this.completed, ...updates, modelMse: r?.predictionMse ?? NaN, modelMseMeanPath: r?.meanPathMse ?? NaN,
        refits: learner.refits, divergences: this.parts.agent.divergences,
      });
    }
    if (refit) this.emit({ type: 'controller', controller: learner.arms[arm].controller, arm });
    this.emitStats();
  }

  /** Episodes ended in this run (all sessions): completed (to the horizon) and aborted. */
  get episodeCounts(): { completed: number; aborted: number } {
    return { completed: this.completed, aborted: this.aborted };
  }

  private emitStats(): void {
    for (const n of this.parts.agent.takeNotices()) this.emit({ type: 'log', level: n.level, text: n.text });
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

  /**
   * Checkpoint of the learner (node runs: `<runDir>/checkpoints`), with the node's episode counts
   * so a resumed node continues them; its wall time is reported in the next stats.
   * @param fleet the fleet learner's own state (arms, seen episodes), restored as `resumedFleet`
   */
  async save(fleet?: unknown): Promise<string> {
    const { learner } = this.parts;
    const t0 = performance.now();
    const state = {
      // the config travels with the checkpoint, so `naf-ros eval`/deploy mode can rebuild the policy
      config: this.config,
      episode: learner.episodes, learner: await learnerState(learner),
      arm: armSignature(this.parts), node: { completed: this.completed, aborted: this.aborted },
      ...(fleet === undefined ? {} : { fleet }),
    };
    const path = writeCheckpoint(join(this.runDir, 'checkpoints'), String(learner.episodes).padStart(7, '0'), state);
    this.checkpoints++;
    this.checkpointMs = performance.now() - t0;
    this.emitStats();
    return path;
  }

  dispose(): void {
    this.parts.agent.dispose();
  }
}
