/**
 * The learning half of Algorithm 2 (paper Sec. 5): replay R, fictional buffer R_f, the batch of
 * the current n episodes B_f and the previous one B_old, the fitted model M and the iLQG
 * controller. With imagination disabled and p = 1 it is exactly Algorithm 1 (Sec. 4).
 *
 * Per real step (`afterStep`): every m steps, when M exists, imagine l steps from m start states
 * of B_old (lines 148-152); then I * l minibatch updates from R_f and I from R (line 153).
 * Per episode (`endEpisode`): when B_f holds n complete episodes, refit M (Sec. 5.3), take one
 * iLQG step under it (appendix 8.1), B_old <- B_f, B_f <- {} (lines 155-159).
 *
 * A fleet (Gu, Holly, Lillicrap, Levine 2017; docs/fleet.md): several arms feed one learner. What is
 * shared and what belongs to an arm:
 *  - shared: the Q-function (the agent), R, R_f, the step and episode counters, the random stream;
 *  - per arm (`ArmLearning`): the episode being recorded, B_f, B_old, the TVLG model (and the
 *    imagination model), the iLQG controller and its trust-region state. Each transition names its
 *    arm; imagination at a real step of arm a starts from a's B_old under a's model and feeds the
 *    one R_f, so every arm's model feeds the one Q-function in proportion to its real steps.
 * With one arm (arm 0, the default everywhere) this is the paper's Algorithm 2 exactly.
 *
 * Two guards the paper does not spell out:
 *  - the iLQG step is installed only when its controller respects the KL trust region
 *    (KL <= epsilon·stepMult·T); a dual search that ends outside it (or finds no positive-definite
 *    solution) keeps the previous controller, counted in `ilqgRejected` and in the refit report;
 *  - R_f holds the rollouts of the last k refits' models only (`model_based.fictional_max_age_refits`,
 *    `FictionalBuffer`), so rollouts of models and policies many refits old stop training Q. The
 *    generation of a rollout is the learner's refit count (all arms); with N arms the bound keeps
 *    the last k·N generations, i.e. about k refits of every arm (exactly k with one arm).
 */
import type { QAgent, TransitionBatch, UpdateStats } from '../agent/types.js';
import { ReplayBuffer } from '../agent/replay.js';
import type { Task } from '../env/types.js';
import type { DynamicsModel, Trajectory } from '../model/types.js';
import type { TvlgDynamics } from '../model/tvlg.js';
import type { IlqgStepOptions } from '../control/ilqg.js';
import type { LinearGaussianController } from '../control/types.js';
import type { NafConfig } from '../config/schema.js';
import { Rng } from '../util/rng.js';
import { imagine } from './imagination.js';
import { FictionalBuffer, type FictionalBufferState } from './fictional_buffer.js';
import { ArmLearning, type ArmModels, type ArmRefit, type ArmState } from './arm_learning.js';

export type { ArmModels, ArmState };

export interface Transition {
  /** [dX] */ x: Float64Array;
  /** [dU] N·m */ u: Float64Array;
  r: number;
  /** [dX] */ x2: Float64Array;
  /** true terminal (no bootstrap); time-limit ends are not terminal */
  terminal: boolean;
  /** step within the episode, 0-based */
  t: number;
}

export interface StepReport {
  updates: number;
  imagined: number;
  /** Mean minibatch Bellman loss of the episode's updates so far (NaN before any). */
  loss: number;
  /** Mean Q(x, u) of the episode's minibatches so far (NaN before any), in scaled reward units (`agent.reward_scale`). */
  qMean: number;
}

/** What a refit did: the arm's part (`ArmRefit`: fit, iLQG step, trust region) and the learner's. */
export interface RefitReport extends ArmRefit {
  /** Refits so far, this one included (the generation of the rollouts the new model imagines). */
  refit: number;
  /** Imagined transitions dropped from R_f by the age bound at this refit. */
  fictionalDropped: number;
}

export interface LearnerParts {
  config: NafConfig;
  task: Task;
  agent: QAgent;
  /** Time-varying linear model used by iLQG (and by imagination when dynamics = tvlg). */
  tvlg: TvlgDynamics;
  /** Model of the imagination rollouts (tvlg, nn or true). */
  imaginationModel: DynamicsModel;
  rng: Rng;
  /** Settings of iLQG's eta dual search (`ilqgStep`; default GPS's: 50 iterations, 10% band, eta in [1e-8, 1e16]). */
  ilqgSearch?: Pick<IlqgStepOptions, 'maxIterations' | 'klTolerance' | 'minEta' | 'maxEta'>;
}

export class Learner {
  readonly R: ReplayBuffer;
  /** R_f, aged by refits (`FictionalBuffer`). */
  readonly Rf: FictionalBuffer;
  /** Per-arm batches, models and controllers; arm 0 is built from `parts.tvlg` / `parts.imaginationModel`. */
  readonly arms: ArmLearning[];
  /** Counters (checkpointed). */
  steps = 0;
  episodes = 0;
  imaginedTotal = 0;
  /** Model refits so far, all arms (the generation of new imagined rollouts). */
  refits = 0;
  /** iLQG steps not installed because their controller broke the KL bound (or iLQG failed), all arms. */
  ilqgRejected = 0;
  lastRefit: RefitReport | null = null;
  private lossSum = 0;
  private lossCount = 0;
  private qSum = 0;

  /** @param moreArms models of arms 1, 2, ... (a fleet); none for a single arm. */
  constructor(readonly parts: LearnerParts, moreArms: ArmModels[] = []) {
    const { config, task } = parts;
    this.R = new ReplayBuffer(config.agent.replay_capacity, task.dX, task.dU);
    this.Rf = new FictionalBuffer(config.model_based.fictional_capacity, task.dX, task.dU, config.model_based.fictional_max_age_refits);
    this.arms = [{ tvlg: parts.tvlg, imaginationModel: parts.imaginationModel }, ...moreArms].map((m) => new ArmLearning(m, task, config));
  }

  get agent(): QAgent {
    return this.parts.agent;
  }

  /** Adds an arm (a fleet actor seen for the first time) with its own models; returns its index. */
  addArm(models: ArmModels): number {
    this.arms.push(new ArmLearning(models, this.parts.task, this.parts.config));
    return this.arms.length - 1;
  }

  /** Arm 0's iLQG controller (the single arm's). */
  get controller(): LinearGaussianController { return this.arms[0].controller; }
  set controller(c: LinearGaussianController) { this.arms[0].controller = c; }
  /** Arm 0's current batch B_f and previous batch B_old. */
  get Bf(): Trajectory[] { return this.arms[0].Bf; }
  set Bf(b: Trajectory[]) { this.arms[0].Bf = b; }
  get Bold(): Trajectory[] { return this.arms[0].Bold; }
  set Bold(b: Trajectory[]) { this.arms[0].Bold = b; }
  /** Arm 0's iLQG trust-region state: dual warm start, GPS step multiplier, last step's Laplace estimates. */
  get ilqg(): ArmLearning['ilqg'] { return this.arms[0].ilqg; }
  set ilqg(g: ArmLearning['ilqg']) { this.arms[0].ilqg = g; }

  /** True while imagination rollouts are generated (enabled, before the switch-off episode). */
  get imaginationActive(): boolean {
    const mb = this.parts.config.model_based;
    return mb.enabled && this.episodes < mb.imagination_off_after_episodes;
  }

  /** Stores a real transition of `arm` in R and in the episode being recorded for its B_f (line 147). */
  observe(tr: Transition, arm = 0): void {
    this.R.add(tr.x, tr.u, tr.r, tr.x2, tr.terminal, tr.t);
    this.arms[arm].record(tr);
  }

  /**
   * Lines 148-153 after one real step of `arm`. `train: false` (a learner that has fallen behind
   * real time) counts the step but runs neither imagination nor updates.
   */
  afterStep(train = true, arm = 0): StepReport {
    const { config, task, agent, rng } = this.parts;
    const mb = config.model_based;
    const a = config.agent;
    this.steps++;
    if (!train) return { updates: 0, imagined: 0, loss: NaN, qMean: NaN };
    let imagined = 0;
    const source = this.arms[arm];
    if (this.imaginationActive && source.canImagine && this.steps % mb.imagination_every_steps === 0) {
      const generation = this.refits;
      imagined = imagine({
        model: source.models.imaginationModel, agent, task, l: mb.imagination_length, rng,
        Rf: { add: (x, u, r, x2, terminal, t) => this.Rf.add(x, u, r, x2, terminal, t, generation) },
        noiseSigma: config.exploration.sigma, starts: source.sampleStarts(mb.imagination_starts, rng),
      });
      this.imaginedTotal += imagined;
    }
    const updates = this.updatesDue();
    const fictional = updates - (updates > 0 ? a.updates_per_step : 0);
    for (let i = 0; i < fictional; i++) this.track(agent.update(this.scaled(this.Rf.sample(a.batch_size, rng))));
    if (updates > 0) for (let i = 0; i < a.updates_per_step; i++) this.track(agent.update(this.scaled(this.R.sample(a.batch_size, rng))));
    return { updates, imagined, ...this.episodeUpdates };
  }

  /**
   * Mean loss and mean Q of the minibatch updates of the episode in progress (those the divergence
   * guard did not skip); NaN before any. Reset by `endEpisode`.
   */
  get episodeUpdates(): { loss: number; qMean: number } {
    const n = this.lossCount;
    return { loss: n ? this.lossSum / n : NaN, qMean: n ? this.qSum / n : NaN };
  }

  /**
   * Minibatch updates a training step makes now (line 153): I from R once R holds a batch and the
   * warm-up is over, plus I·l from R_f while imagination is active and R_f holds a batch.
   */
  updatesDue(): number {
    const { config } = this.parts;
    const a = config.agent;
    if (this.R.size < Math.max(a.batch_size, a.warmup_steps)) return 0;
    const fictional = this.imaginationActive && this.Rf.size >= a.batch_size ? a.updates_per_step * config.model_based.imagination_length : 0;
    return fictional + a.updates_per_step;
  }

  /**
   * Ends the episode `arm` was recording (lines 155-159). Incomplete episodes (aborted on the arm)
   * stay in R but not in B_f, whose fit needs fixed-length episodes.
   * @returns the refit report when this episode completed a batch of n episodes of that arm.
   */
  endEpisode(arm = 0): RefitReport | null {
    const { config, agent } = this.parts;
    this.episodes++;
    // Polyak averaging of the policy once per real episode (of any arm in a fleet), bias-corrected
    // from the first episode with updates (`LearnerBase.averagePolicy`).
    if (config.agent.policy_averaging > 0) agent.averagePolicy(config.agent.policy_averaging);
    this.lossSum = 0;
    this.lossCount = 0;
    this.qSum = 0;
    if (!this.arms[arm].closeEpisode()) return null;
    return this.refit(arm);
  }

  /** Refits `arm`'s model, its iLQG step (installed within the KL bound), and ages R_f. */
  private refit(arm: number): RefitReport {
    const r = this.arms[arm].refit(this.parts.ilqgSearch);
    if (!r.accepted) this.ilqgRejected++;
    this.refits++;
    const fictionalDropped = this.Rf.age(this.refits, this.Rf.maxAgeRefits * this.arms.length);
    this.lastRefit = { refit: this.refits, ...r, fictionalDropped };
    return this.lastRefit;
  }

  private scaled(b: TransitionBatch): TransitionBatch {
    const s = this.parts.config.agent.reward_scale;
    if (s !== 1) for (let i = 0; i < b.B; i++) b.r[i] *= s;
    return b;
  }

  private track(s: UpdateStats): void {
    if (!s.skipped && Number.isFinite(s.loss) && Number.isFinite(s.qMean)) {
      this.lossSum += s.loss;
      this.qSum += s.qMean;
      this.lossCount++;
    }
  }
}

/**
 * Serialisable learner state (typed arrays inside; see `checkpoint.ts`). Arm 0's batches, models
 * and controller are at the top level (as in checkpoints of a single arm); a fleet's arms 1, 2, ...
 * are in `moreArms`.
 */
export interface LearnerState {
  agent: Awaited<ReturnType<QAgent['getState']>>;
  R: ReturnType<ReplayBuffer['getState']>;
  /** R_f with its generation blocks (checkpoints written before the age bound hold the ring state only). */
  Rf: FictionalBufferState | ReturnType<ReplayBuffer['getState']>;
  Bf: Trajectory[];
  Bold: Trajectory[];
  controller: LinearGaussianController;
  tvlg: unknown;
  imaginationModel: unknown;
  /** `refits` and `ilqgRejected` (all arms) are absent in checkpoints written before they existed. */
  counters: { steps: number; episodes: number; imaginedTotal: number; refits?: number; ilqgRejected?: number };
  ilqg: ArmLearning['ilqg'];
  rng: ReturnType<Rng['state']>;
  /** Arm 0's own refit and rejection counts (absent before fleets: then the totals above). */
  arm0?: { refits: number; ilqgRejected: number };
  /** Arms 1, 2, ... of a fleet (absent or empty for a single arm). */
  moreArms?: ArmState[];
}

/** Complete learner state for a checkpoint (between episodes). */
export async function learnerState(l: Learner): Promise<LearnerState> {
  const p = l.parts;
  const a0 = l.arms[0].getState();
  return {
    agent: await p.agent.getState(),
    R: l.R.getState(),
    Rf: l.Rf.getState(),
    Bf: a0.Bf,
    Bold: a0.Bold,
    controller: a0.controller,
    tvlg: a0.tvlg,
    imaginationModel: a0.imaginationModel,
    counters: { steps: l.steps, episodes: l.episodes, imaginedTotal: l.imaginedTotal, refits: l.refits, ilqgRejected: l.ilqgRejected },
    ilqg: a0.ilqg,
    rng: p.rng.state(),
    arm0: { refits: a0.refits, ilqgRejected: a0.ilqgRejected },
    moreArms: l.arms.slice(1).map((a) => a.getState()),
  };
}

/**
 * Restores `learnerState` output into a learner built from the same config, with as many arms as
 * the state holds (`l` must have them: `Learner.addArm` with each arm's models first).
 * @throws Error naming the mismatch (buffer or network shapes, or the number of arms) when it does not fit.
 */
export async function restoreLearner(l: Learner, s: LearnerState): Promise<Learner> {
  const p = l.parts;
  const more = s.moreArms ?? [];
  if (l.arms.length !== 1 + more.length) throw new Error(`restoreLearner: the checkpoint holds ${1 + more.length} arms, the learner was built with ${l.arms.length}`);
  await p.agent.setState(s.agent);
  const restored = new Learner({ ...p, rng: new Rng(0, s.rng) }, l.arms.slice(1).map((a) => a.models));
  restored.R.setState(s.R);
  // Checkpoints from before the refit counter: one refit per n episodes (exact unless episodes were
  // aborted on the arm); their R_f counts as the current generation.
  const refits = s.counters.refits ?? Math.floor(s.counters.episodes / p.config.model_based.refit_every_episodes);
  const ilqgRejected = s.counters.ilqgRejected ?? 0;
  restored.Rf.setState(s.Rf, refits);
  restored.arms[0].setState({
    Bf: s.Bf, Bold: s.Bold, controller: s.controller, tvlg: s.tvlg, imaginationModel: s.imaginationModel, ilqg: s.ilqg,
    refits: s.arm0?.refits ?? refits, ilqgRejected: s.arm0?.ilqgRejected ?? ilqgRejected,
  });
  more.forEach((a, i) => restored.arms[i + 1].setState(a));
  Object.assign(restored, s.counters, { refits, ilqgRejected });
  return restored;
}
