/**
 * A learner fed transition by transition from outside (the ROS node), wherever it runs:
 * stores and trains (`Learner`), publishes policy snapshots every
 * `publish_policy_every_updates` updates and the controller after every refit, and checkpoints.
 */
import { join } from 'node:path';
import type { PolicySnapshot } from '../agent/types.js';
import type { LinearGaussianController } from '../control/types.js';
import type { NafConfig } from '../config/schema.js';
import { readLatestCheckpoint, writeCheckpoint } from './checkpoint.js';
import { armSignature, assertSameArm, buildLearning, type ArmSignature, type LearningParts } from './factory.js';
import { learnerState, restoreLearner, type LearnerState, type RefitReport, type Transition } from './learner.js';
import type { EpisodeEnd } from './learner_client.js';

export interface LearnerStats {
  episodes: number;
  steps: number;
  updates: number;
  imaginedTotal: number;
  lastReturn: number;
  divergences: number;
  /** Real steps that trained nothing because the learner was behind real time. */
  skippedSteps: number;
  /** Model refits so far, and their iLQG steps not installed because they broke the KL trust region. */
  refits: number;
  ilqgRejected: number;
  /** The newest refit's report (its `accepted` says whether its iLQG step was installed). */
  refit: RefitReport | null;
}

export type SessionMessage =
  | { type: 'policy'; snapshot: PolicySnapshot }
  | { type: 'controller'; controller: LinearGaussianController }
  | { type: 'stats'; stats: LearnerStats };

export class LearnerSession {
  /** Where messages to the actor go (postMessage in the worker, callbacks in-thread). */
  emit: (m: SessionMessage) => void = () => {};
  private lastPublished = -Infinity;
  private lastReturn = NaN;

  private constructor(readonly config: NafConfig, readonly runDir: string, readonly parts: LearningParts) {}

  /**
   * Builds the learner; with `config.ros.resume` set, restores it from the newest checkpoint of
   * that run folder (refusing one of another arm).
   * @throws CheckpointError for a missing or corrupt checkpoint; Error for another arm.
   */
  static async create(config: NafConfig, runDir: string): Promise<LearnerSession> {
    const parts = await buildLearning(config);
    if (config.ros.resume) {
      const ckpt = readLatestCheckpoint(join(config.ros.resume, 'checkpoints'));
      const st = ckpt.state as { learner: LearnerState; arm: ArmSignature };
      assertSameArm(ckpt.path, st.arm, parts);
      parts.learner = await restoreLearner(parts.learner, st.learner);
    }
    return new LearnerSession(config, runDir, parts);
  }

  /** Steps whose updates were dropped because the learner was behind real time. */
  private skippedSteps = 0;

  /**
   * Stores one real transition and runs the per-step learning of Algorithm 2.
   * @param sentAt wall-clock ms (Date.now) when the actor sent it: when the learner reaches it
   *   more than `ros.max_learner_lag_ms` later, it is stored but trains nothing, so a learner that
   *   cannot keep up with the control rate sheds updates instead of building a backlog.
   */
  observe(tr: Transition, sentAt?: number): void {
    const { learner, agent } = this.parts;
    learner.observe(tr);
    const late = sentAt !== undefined && Date.now() - sentAt > this.config.ros.max_learner_lag_ms;
    if (late) this.skippedSteps++;
    learner.afterStep(!late);
    if (agent.updates - this.lastPublished >= this.config.training.publish_policy_every_updates) this.publishPolicy();
  }

  endEpisode(info: EpisodeEnd): void {
    const { learner } = this.parts;
    this.lastReturn = info.return;
    const refit = learner.endEpisode();
    if (refit) this.emit({ type: 'controller', controller: learner.controller });
    this.emit({ type: 'stats', stats: this.stats() });
  }

  publishAll(): void {
    this.publishPolicy();
    this.emit({ type: 'controller', controller: this.parts.learner.controller });
  }

  private publishPolicy(): void {
    this.lastPublished = this.parts.agent.updates;
    this.emit({ type: 'policy', snapshot: this.parts.agent.snapshot() });
  }

  stats(): LearnerStats {
    const { learner, agent } = this.parts;
    return {
      episodes: learner.episodes, steps: learner.steps, updates: agent.updates, imaginedTotal: learner.imaginedTotal,
      lastReturn: this.lastReturn, divergences: agent.divergences, skippedSteps: this.skippedSteps,
      refits: learner.refits, ilqgRejected: learner.ilqgRejected, refit: learner.lastRefit,
    };
  }

  /** Checkpoint of the learner (node runs: `<runDir>/checkpoints`). */
  async save(): Promise<string> {
    const { learner } = this.parts;
    const state = {
      // the config travels with the checkpoint, so `naf-ros eval`/deploy mode can rebuild the policy
      config: this.config,
      episode: learner.episodes, learner: await learnerState(learner),
      arm: armSignature(this.parts),
    };
    return writeCheckpoint(join(this.runDir, 'checkpoints'), String(learner.episodes).padStart(7, '0'), state);
  }

  dispose(): void {
    this.parts.agent.dispose();
  }
}
