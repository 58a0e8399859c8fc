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
 * Two guards the paper does not spell out (issue 11):
 *  - the iLQG step is installed only when its controller respects the KL trust region
 *    (KL <= epsilon·stepMult·T); a dual search that ends outside it (or finds no positive-definite
 *    solution) keeps the previous controller, counted in `ilqgRejected` and in the refit report;
 *  - R_f holds the rollouts of the last k refits' models only (`model_based.fictional_max_age_refits`,
 *    `FictionalBuffer`), so rollouts of models and policies many refits old stop training Q.
 */
import type { QAgent, TransitionBatch, UpdateStats } from '../agent/types.js';
import { ReplayBuffer } from '../agent/replay.js';
import type { Task } from '../env/types.js';
import type { DynamicsModel, Trajectory } from '../model/types.js';
import type { TvlgDynamics } from '../model/tvlg.js';
import { adaptStepMult, IlqgFailedError, ilqgStep, laplaceReturn, type IlqgStepOptions } from '../control/ilqg.js';
import { initController } from '../control/lg_controller.js';
import type { LinearGaussianController } from '../control/types.js';
import type { NafConfig } from '../config/schema.js';
import { Rng } from '../util/rng.js';
import { imagine } from './imagination.js';
import { FictionalBuffer, type FictionalBufferState } from './fictional_buffer.js';

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
  loss: number;
}

export interface RefitReport {
  /** Refits so far, this one included (the generation of the rollouts the new model imagines). */
  refit: number;
  /** One-step mean squared error of the previous model on the new batch (before refit). */
  predictionMse: number;
  fitMs: number;
  ilqgMs: number;
  /** KL(new || previous controller) of the iLQG step's result, nats (NaN when iLQG failed), and its bound epsilon·stepMult·T. */
  kl: number;
  klBound: number;
  eta: number;
  /** The eta dual search landed in its accepted band (`IlqgStepResult.converged`). */
  converged: boolean;
  /** The new controller was installed; false: it broke the KL bound (or iLQG failed) and the previous one was kept. */
  accepted: boolean;
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
  /** Complete episodes of the current batch (at most n). */
  Bf: Trajectory[] = [];
  /** The previous batch: start states of the imagination rollouts. */
  Bold: Trajectory[] = [];
  controller: LinearGaussianController;
  /** Counters (checkpointed). */
  steps = 0;
  episodes = 0;
  imaginedTotal = 0;
  /** Model refits so far (the generation of new imagined rollouts). */
  refits = 0;
  /** iLQG steps not installed because their controller broke the KL bound (or iLQG failed). */
  ilqgRejected = 0;
  lastRefit: RefitReport | null = null;
  /** iLQG trust-region state: dual warm start, GPS step multiplier, last step's Laplace estimates. */
  ilqg = { eta: 1, stepMult: 1, baselineReturn: NaN, predictedReturn: NaN };
  private episodeX: Float64Array[] = [];
  private episodeU: Float64Array[] = [];
  private lossSum = 0;
  private lossCount = 0;

  constructor(readonly parts: LearnerParts) {
    const { config, task } = parts;
    this.R = new ReplayBuffer(config.agent.replay_capacity, task.dX, task.dU);
    this.Rf = new FictionalBuffer(config.model_based.fictional_capacity, task.dX, task.dU, config.model_based.fictional_max_age_refits);
    this.controller = initController({
      T: task.T, dX: task.dX, dU: task.dU, uMax: task.uMax,
      initVar: config.model_based.ilqg_init_var, x0: new Float64Array(task.dX),
    });
  }

  get agent(): QAgent {
    return this.parts.agent;
  }

  /** True while imagination rollouts are generated (enabled, before the switch-off episode). */
  get imaginationActive(): boolean {
    const mb = this.parts.config.model_based;
    return mb.enabled && this.episodes < mb.imagination_off_after_episodes;
  }

  /** Stores a real transition in R and in the episode being recorded for B_f (line 147). */
  observe(tr: Transition): void {
    this.R.add(tr.x, tr.u, tr.r, tr.x2, tr.terminal, tr.t);
    if (tr.t === this.episodeU.length) {
      if (tr.t === 0) this.episodeX.push(tr.x);
      this.episodeX.push(tr.x2);
      this.episodeU.push(tr.u);
    }
  }

  /**
   * Lines 148-153 after one real step. `train: false` (a learner that has fallen behind real
   * time) counts the step but runs neither imagination nor updates.
   */
  afterStep(train = true): StepReport {
    const { config, task, agent, rng, imaginationModel } = this.parts;
    const mb = config.model_based;
    const a = config.agent;
    this.steps++;
    if (!train) return { updates: 0, imagined: 0, loss: NaN };
    let imagined = 0;
    if (this.imaginationActive && imaginationModel.ready && this.Bold.length > 0 && this.steps % mb.imagination_every_steps === 0) {
      const generation = this.refits;
      imagined = imagine({
        model: imaginationModel, agent, task, l: mb.imagination_length, rng,
        Rf: { add: (x, u, r, x2, terminal, t) => this.Rf.add(x, u, r, x2, terminal, t, generation) },
        noiseSigma: config.exploration.sigma, starts: this.sampleStarts(mb.imagination_starts),
      });
      this.imaginedTotal += imagined;
    }
    const updates = this.updatesDue();
    const fictional = updates - (updates > 0 ? a.updates_per_step : 0);
    for (let i = 0; i < fictional; i++) this.track(agent.update(this.scaled(this.Rf.sample(a.batch_size, rng))));
    if (updates > 0) for (let i = 0; i < a.updates_per_step; i++) this.track(agent.update(this.scaled(this.R.sample(a.batch_size, rng))));
    const loss = this.lossCount ? this.lossSum / this.lossCount : NaN;
    return { updates, imagined, loss };
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
   * Ends the episode being recorded (lines 155-159). Incomplete episodes (aborted on the arm)
   * stay in R but not in B_f, whose fit needs fixed-length episodes.
   * @returns the refit report when this episode completed a batch of n episodes.
   */
  endEpisode(): RefitReport | null {
    const { config, task, agent } = this.parts;
    this.episodes++;
    if (config.agent.policy_averaging > 0) agent.averagePolicy(config.agent.policy_averaging);
    if (this.episodeU.length === task.T) this.Bf.push({ x: this.episodeX, u: this.episodeU });
    this.episodeX = [];
    this.episodeU = [];
    this.lossSum = 0;
    this.lossCount = 0;
    if (this.Bf.length < config.model_based.refit_every_episodes) return null;
    return this.refit();
  }

  /**
   * Refits M on B_f, takes one iLQG step and installs it if it respects the KL bound, rotates the
   * batches, and ages R_f.
   */
  private refit(): RefitReport {
    const { config, task, tvlg, imaginationModel } = this.parts;
    const predictionMse = imaginationModel.ready ? imaginationModel.oneStepMse(this.Bf) : NaN;
    const t0 = performance.now();
    tvlg.fit(this.Bf);
    if (imaginationModel !== tvlg) imaginationModel.fit(this.Bf);
    const t1 = performance.now();
    const dynamics = tvlg.params();
    const rewardExpansion = (x: Float64Array, u: Float64Array) => task.rewardExpansion(x, u);
    const g = this.ilqg;
    if (Number.isFinite(g.predictedReturn)) {
      // GPS step adjustment: the last step's predicted improvement against the one the new
      // model attributes to the controller that generated this batch.
      const actualReturn = laplaceReturn(this.controller, dynamics, rewardExpansion);
      if (Number.isFinite(actualReturn)) g.stepMult = adaptStepMult({ ...g, actualReturn, stepMult: g.stepMult });
    }
    const klBound = config.model_based.ilqg_kl_step * g.stepMult * task.T;
    let step: ReturnType<typeof ilqgStep> | null = null;
    try {
      step = ilqgStep({
        ...this.parts.ilqgSearch, dynamics, rewardExpansion, prev: this.controller,
        klStep: config.model_based.ilqg_kl_step, stepMult: g.stepMult, etaInit: g.eta,
      });
    } catch (e) {
      if (!(e instanceof IlqgFailedError)) throw e;
    }
    const accepted = step !== null && step.withinBound;
    if (accepted) {
      this.controller = step!.controller;
      this.ilqg = { eta: step!.eta, stepMult: g.stepMult, baselineReturn: step!.baselineReturn, predictedReturn: step!.predictedReturn };
    } else {
      // The previous controller stays (the next batch's iLQG episodes come from it again). No
      // prediction was installed, so the next refit makes no step adjustment.
      this.ilqgRejected++;
      this.ilqg = { eta: g.eta, stepMult: g.stepMult, baselineReturn: NaN, predictedReturn: NaN };
    }
    const t2 = performance.now();
    this.Bold = this.Bf;
    this.Bf = [];
    this.refits++;
    const fictionalDropped = this.Rf.age(this.refits);
    this.lastRefit = {
      refit: this.refits, predictionMse, fitMs: t1 - t0, ilqgMs: t2 - t1,
      kl: step?.kl ?? NaN, klBound: step?.klBound ?? klBound, eta: step?.eta ?? NaN,
      converged: step?.converged ?? false, accepted, fictionalDropped,
    };
    return this.lastRefit;
  }

  private sampleStarts(m: number): { x: Float64Array; t: number }[] {
    const { rng } = this.parts;
    const out = [];
    for (let i = 0; i < m; i++) {
      const ep = this.Bold[rng.int(this.Bold.length)];
      const t = rng.int(ep.u.length);
      out.push({ x: ep.x[t], t });
    }
    return out;
  }

  private scaled(b: TransitionBatch): TransitionBatch {
    const s = this.parts.config.agent.reward_scale;
    if (s !== 1) for (let i = 0; i < b.B; i++) b.r[i] *= s;
    return b;
  }

  private track(s: UpdateStats): void {
    if (!s.skipped && Number.isFinite(s.loss)) {
      this.lossSum += s.loss;
      this.lossCount++;
    }
  }
}

/** Serialisable learner state (typed arrays inside; see `checkpoint.ts`). */
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
  /** `refits` and `ilqgRejected` are absent in checkpoints written before they existed. */
  counters: { steps: number; episodes: number; imaginedTotal: number; refits?: number; ilqgRejected?: number };
  ilqg: Learner['ilqg'];
  rng: ReturnType<Rng['state']>;
}

/** Complete learner state for a checkpoint (between episodes). */
export async function learnerState(l: Learner): Promise<LearnerState> {
  const p = l.parts;
  return {
    agent: await p.agent.getState(),
    R: l.R.getState(),
    Rf: l.Rf.getState(),
    Bf: l.Bf,
    Bold: l.Bold,
    controller: l.controller,
    tvlg: p.tvlg.getState(),
    imaginationModel: p.imaginationModel === p.tvlg ? null : p.imaginationModel.getState(),
    counters: { steps: l.steps, episodes: l.episodes, imaginedTotal: l.imaginedTotal, refits: l.refits, ilqgRejected: l.ilqgRejected },
    ilqg: l.ilqg,
    rng: p.rng.state(),
  };
}

/**
 * Restores `learnerState` output into a learner built from the same config.
 * @throws Error naming the mismatch (buffer or network shapes) when it does not fit.
 */
export async function restoreLearner(l: Learner, s: LearnerState): Promise<Learner> {
  const p = l.parts;
  await p.agent.setState(s.agent);
  const restored = new Learner({ ...p, rng: new Rng(0, s.rng) });
  restored.R.setState(s.R);
  // Checkpoints from before the refit counter: one refit per n episodes (exact unless episodes were
  // aborted on the arm); their R_f counts as the current generation.
  const refits = s.counters.refits ?? Math.floor(s.counters.episodes / p.config.model_based.refit_every_episodes);
  restored.Rf.setState(s.Rf, refits);
  restored.Bf = s.Bf;
  restored.Bold = s.Bold;
  restored.controller = s.controller;
  p.tvlg.setState(s.tvlg);
  if (p.imaginationModel !== p.tvlg && s.imaginationModel !== null) p.imaginationModel.setState(s.imaginationModel);
  Object.assign(restored, s.counters, { refits, ilqgRejected: s.counters.ilqgRejected ?? 0 });
  restored.ilqg = s.ilqg;
  return restored;
}
