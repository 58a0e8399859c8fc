/**
 * Small fakes for the ROS tests: a capturing winston logger, a learner client that records what
 * the node hands it, an actor with a settable policy, and a tiny task. Not a test file itself.
 */
import { Writable } from 'node:stream';
import winston from 'winston';
import { parseConfig } from '../src/config/load.js';
import type { NafConfig } from '../src/config/schema.js';
import type { PolicySnapshot } from '../src/agent/types.js';
import type { LinearGaussianController } from '../src/control/types.js';
import type { ArmSpec, EpisodeStart, JointStateRecord, RewardExpansion, Task } from '../src/env/types.js';
import type { TrainerActor } from '../src/ros/trainer/naf_trainer_node.js';
import type { JointStateMsg } from '../src/ros/transport/transport.js';
import { toTimeMsg } from '../src/ros/transport/transport.js';
import type { Transition } from '../src/training/learner.js';
import type { LearnerClient } from '../src/training/learner_client.js';
import type { EpisodeEnd, LearnerStats, ResumeInfo } from '../src/training/learner_types.js';
import type { Logger } from '../src/util/logger.js';

export interface LogLine { level: string; message: string }

/** A winston logger that keeps every line. */
export function captureLogger(): { logger: Logger; lines: LogLine[]; count(level: string, re: RegExp): number } {
  const lines: LogLine[] = [];
  const stream = new Writable({ objectMode: true, write(info: LogLine, _e, cb) { lines.push({ level: info.level, message: String(info.message) }); cb(); } });
  const logger = winston.createLogger({ level: 'debug', transports: [new winston.transports.Stream({ stream })] });
  return { logger, lines, count: (level, re) => lines.filter((l) => l.level === level && re.test(l.message)).length };
}

export class FakeLearner implements LearnerClient {
  observed: Transition[] = [];
  episodes: EpisodeEnd[] = [];
  saves = 0;
  failSave: string | null = null;
  policyCbs: ((s: PolicySnapshot) => void)[] = [];
  statsCbs: ((s: LearnerStats) => void)[] = [];
  readonly priority = 'fake learner';
  constructor(readonly resumed: ResumeInfo | null = null) {}
  observe(tr: Transition): void { this.observed.push(tr); }
  endEpisode(info: EpisodeEnd): void { this.episodes.push(info); }
  onPolicy(cb: (s: PolicySnapshot) => void): void { this.policyCbs.push(cb); }
  onController(_cb: (c: LinearGaussianController) => void): void {}
  onStats(cb: (s: LearnerStats) => void): void { this.statsCbs.push(cb); }
  /** Delivers learner stats as the learner would (zeros for what `s` does not give). */
  publishStats(s: Partial<LearnerStats>): void {
    const full: LearnerStats = {
      at: Date.now(), episodes: 0, steps: 0, updates: 0, imaginedTotal: 0, lastReturn: NaN, divergences: 0, skippedSteps: 0, shedUpdates: 0,
      lagMeanMs: 0, lagMaxMs: 0, lagSamples: 0, checkpoints: 0, checkpointMs: NaN, refits: 0, ilqgRejected: 0, refit: null, ...s,
    };
    for (const cb of this.statsCbs) cb(full);
  }
  async save(): Promise<string> {
    if (this.failSave) throw new Error(this.failSave);
    return `runs/test/checkpoint-${++this.saves}`;
  }
  async close(): Promise<void> {}
  /** Delivers a (dummy) policy snapshot as the learner would. */
  publishPolicy(version = 0): void {
    const snap = { kind: 'naf', dX: 0, dU: 0, uMax: new Float64Array(0), version, heads: {}, meta: {} } as PolicySnapshot;
    for (const cb of this.policyCbs) cb(snap);
  }
}

/** Actor whose action is `policy(x, t)`; p checked against the cap like EpisodeActor. */
export class FakeActor implements TrainerActor {
  policyVersion = -1;
  onPolicyFraction: number;
  begun = 0;
  constructor(public policy: (x: Float64Array, t: number) => Float64Array, p: number, private readonly cap: number) {
    this.onPolicyFraction = p;
  }
  setOnPolicyFraction(p: number): void {
    if (p > this.cap) throw new RangeError(`p ${p} above cap ${this.cap}`);
    this.onPolicyFraction = p;
  }
  setPolicy(s: PolicySnapshot): void { this.policyVersion = s.version; }
  setController(): void {}
  beginEpisode(): 'naf' { this.begun++; return 'naf'; }
  act(x: Float64Array, t: number): Float64Array { return this.policy(x, t); }
}

/** Task with x = [q, qd], r = -|q - home|^2, fixed start at `home`, horizon T. */
export class TinyTask implements Task {
  readonly dX: number;
  readonly dU: number;
  readonly uMax: Float64Array;
  constructor(readonly home: number[], readonly T: number) {
    this.dU = home.length;
    this.dX = 2 * home.length;
    this.uMax = new Float64Array(home.length).fill(10);
  }
  observe(js: JointStateRecord): Float64Array {
    const x = new Float64Array(this.dX);
    x.set(js.position, 0);
    x.set(js.velocity, this.dU);
    return x;
  }
  reward(x: Float64Array): number {
    let r = 0;
    for (let i = 0; i < this.dU; i++) r -= (x[i] - this.home[i]) ** 2;
    return r;
  }
  rewardExpansion(): RewardExpansion { throw new Error('not used'); }
  sampleEpisodeStart(): EpisodeStart {
    return { q: Float64Array.from(this.home), qd: new Float64Array(this.dU), target: new Float64Array(2) };
  }
  setTarget(): void {}
  distance(): number { return 0; }
  jointsFromObservation(x: Float64Array) { return { q: x.slice(0, this.dU), qd: x.slice(this.dU) }; }
}

/** A 3-joint spec with ±5 N·m effort, ±10 rad/s, position limits ±2 rad. */
export function testSpec(names = ['joint1', 'joint2', 'joint3']): ArmSpec {
  const n = names.length;
  return {
    jointNames: names,
    effortLimits: new Float64Array(n).fill(5),
    velocityLimits: new Float64Array(n).fill(10),
    lowerLimits: new Float64Array(n).fill(-2),
    upperLimits: new Float64Array(n).fill(2),
  };
}

/** A validated config with test-friendly defaults plus `over` (nested like the params file). */
export function testConfig(over: Record<string, unknown> = {}): NafConfig {
  const base: Record<string, Record<string, unknown>> = {
    task: { horizon: 5, home_pose: [0, 0.5, 0.5] },
    model_based: { on_policy_fraction: 0.3, max_on_policy_fraction: 0.5 },
    safety: { max_effort: 3, state_timeout_ms: 50, velocity_limit: 8, soft_limit_margin: 0.2, homing_tolerance: 0.05, homing_timeout_s: 5, homing_kp: 0.2, homing_kd: 0.004 },
    training: { episodes: 100, checkpoint_every_episodes: 1000 },
  };
  const merged: Record<string, unknown> = { control_rate_hz: 50, ...base };
  for (const [k, v] of Object.entries(over)) {
    merged[k] = v && typeof v === 'object' && !Array.isArray(v) ? { ...(base[k] ?? {}), ...(v as object) } : v;
  }
  return parseConfig(merged, 'test config');
}

/** A JointState message. */
export function jointState(t: number, names: string[], q: number[], qd: number[] = q.map(() => 0), effort: number[] = []): JointStateMsg {
  return { header: { stamp: toTimeMsg(t), frame_id: '' }, name: names, position: q, velocity: qd, effort };
}
