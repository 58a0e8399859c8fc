/**
 * A learner fed transition by transition from outside (the ROS node), wherever it runs:
 * stores and trains (`Learner`), publishes policy snapshots every
 * `publish_policy_every_updates` updates and the controller after every refit, and checkpoints.
 */
import { join } from 'node:path';
import type { PolicySnapshot } from '../agent/types.js';
import type { LinearGaussianController } from '../control/types.js';
import type { NafConfig } from '../config/schema.js';
import { writeCheckpoint } from './checkpoint.js';
import { buildLearning, type LearningParts } from './factory.js';
import { learnerState, type RefitReport, type Transition } from './learner.js';
import type { EpisodeEnd } from './learner_client.js';

export interface LearnerStats {
  episodes: number;
  steps: number;
  updates: number;
  imaginedTotal: number;
  lastReturn: number;
  divergences: number;
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

  static async create(config: NafConfig, runDir: string): Promise<LearnerSession> {
    return new LearnerSession(config, runDir, await buildLearning(config));
  }

  /** Stores one real transition and runs the per-step learning of Algorithm 2. */
  observe(tr: Transition): void {
    const { learner, agent } = this.parts;
    learner.observe(tr);
    learner.afterStep();
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
      lastReturn: this.lastReturn, divergences: agent.divergences, refit: learner.lastRefit,
    };
  }

  /** Checkpoint of the learner (node runs: `<runDir>/checkpoints`). */
  async save(): Promise<string> {
    const { learner, task, spec } = this.parts;
    const state = {
      episode: learner.episodes, learner: await learnerState(learner),
      arm: { joints: spec.jointNames, dX: task.dX, dU: task.dU },
    };
    return writeCheckpoint(join(this.runDir, 'checkpoints'), String(learner.episodes).padStart(7, '0'), state);
  }

  dispose(): void {
    this.parts.agent.dispose();
  }
}
