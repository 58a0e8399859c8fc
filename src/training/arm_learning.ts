/**
 * One arm's share of Algorithm 2 (paper Sec. 5, lines 147 and 155-159): the episode being
 * recorded for B_f, the batches B_f (current n episodes) and B_old (the previous n: the start states
 * of that arm's imagination rollouts), its fitted time-varying linear model M (Sec. 5.3) and its
 * iLQG controller (appendix 8.1) with the KL trust-region state.
 *
 * These belong to an arm, not to the learner: the TVLG fit needs fixed-length episodes from one
 * low-variance initial-state distribution (Sec. 5.3), i.e. one arm's episodes, and the iLQG step
 * linearises around the trajectories of that arm's own controller. A learner with one arm is
 * the paper's Algorithm 2 exactly; a fleet learner holds one `ArmLearning` per arm and shares the
 * Q-function, R and R_f (`learner.ts`).
 *
 * The iLQG step is installed only when its controller respects the KL trust region
 * (KL <= epsilon·stepMult·T); a dual search that ends outside it (or finds no positive-definite
 * solution) keeps the previous controller: the fitted model is trusted only near the
 * trajectories it was fitted on.
 */
import type { Task } from '../env/types.js';
import type { DynamicsModel, Trajectory } from '../model/types.js';
import type { TvlgDynamics } from '../model/tvlg.js';
import { adaptStepMult, IlqgFailedError, ilqgStep, laplaceReturn, type IlqgStepOptions } from '../control/ilqg.js';
import { initController } from '../control/lg_controller.js';
import type { LinearGaussianController } from '../control/types.js';
import type { NafConfig } from '../config/schema.js';
import type { Rng } from '../util/rng.js';

/** An arm's models: the TVLG fit used by iLQG, and the model of its imagination rollouts (tvlg, nn or true). */
export interface ArmModels {
  tvlg: TvlgDynamics;
  imaginationModel: DynamicsModel;
}

/** What one refit of an arm did (the learner adds the fleet's refit count and the R_f ageing). */
export interface ArmRefit {
  /** One-step mean squared error of the previous model on the new batch (before refit). */
  predictionMse: number;
  /**
   * The same error of a trivial predictor on the same batch: x̂_{t+1} = the mean of x_{t+1} over the
   * previous batch B_old (the batch the model was fitted on), which ignores x_t and u_t
   * (`meanPathMse`). predictionMse / meanPathMse is the model's error on a scale-free footing
   * (`learning_health.ts`): well below 1 when the state and torque predict the next state, about 1
   * when the model has learned nothing beyond the average trajectory. NaN when predictionMse is,
   * or before there is a previous batch.
   */
  meanPathMse: number;
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
}

/** Serialisable per-arm state (between episodes: no episode in progress). */
export interface ArmState {
  Bf: Trajectory[];
  Bold: Trajectory[];
  controller: LinearGaussianController;
  tvlg: unknown;
  /** null when the imagination model is the TVLG fit itself. */
  imaginationModel: unknown;
  ilqg: ArmLearning['ilqg'];
  refits: number;
  ilqgRejected: number;
}

export class ArmLearning {
  /** Complete episodes of the current batch (at most n). */
  Bf: Trajectory[] = [];
  /** The previous batch: start states of this arm's imagination rollouts. */
  Bold: Trajectory[] = [];
  controller: LinearGaussianController;
  /** iLQG trust-region state: dual warm start, GPS step multiplier, last step's Laplace estimates. */
  ilqg = { eta: 1, stepMult: 1, baselineReturn: NaN, predictedReturn: NaN };
  /** Refits of this arm's model so far, and its iLQG steps not installed. */
  refits = 0;
  ilqgRejected = 0;
  private episodeX: Float64Array[] = [];
  private episodeU: Float64Array[] = [];

  constructor(readonly models: ArmModels, private readonly task: Task, private readonly config: NafConfig) {
    this.controller = initController({
      T: task.T, dX: task.dX, dU: task.dU, uMax: task.uMax,
      initVar: config.model_based.ilqg_init_var, x0: new Float64Array(task.dX),
    });
  }

  /** True when this arm can start imagination rollouts: a fitted model and a previous batch. */
  get canImagine(): boolean {
    return this.models.imaginationModel.ready && this.Bold.length > 0;
  }

  /** Records a real transition of the episode in progress (the B_f half of line 147). */
  record(tr: { x: Float64Array; u: Float64Array; x2: Float64Array; t: number }): void {
    if (tr.t === this.episodeU.length) {
      if (tr.t === 0) this.episodeX.push(tr.x);
      this.episodeX.push(tr.x2);
      this.episodeU.push(tr.u);
    }
  }

  /**
   * Ends the episode being recorded: a complete one (T steps) joins B_f; an incomplete one
   * (aborted on the arm) does not, since the per-step fit needs fixed-length episodes.
   * @returns true when B_f now holds n episodes (a refit is due).
   */
  closeEpisode(): boolean {
    if (this.episodeU.length === this.task.T) this.Bf.push({ x: this.episodeX, u: this.episodeU });
    this.episodeX = [];
    this.episodeU = [];
    return this.Bf.length >= this.config.model_based.refit_every_episodes;
  }

  /**
   * Lines 156-158: refits M on B_f, takes one iLQG step under it and installs it if it respects
   * the KL bound, and rotates the batches (B_old <- B_f, B_f <- {}).
   */
  refit(ilqgSearch?: Pick<IlqgStepOptions, 'maxIterations' | 'klTolerance' | 'minEta' | 'maxEta'>): ArmRefit {
    const { task, config } = this;
    const { tvlg, imaginationModel } = this.models;
    const predictionMse = imaginationModel.ready ? imaginationModel.oneStepMse(this.Bf) : NaN;
    const meanPath = imaginationModel.ready && this.Bold.length ? meanPathMse(this.Bold, this.Bf) : NaN;
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
        ...ilqgSearch, dynamics, rewardExpansion, prev: this.controller,
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
    return {
      predictionMse, meanPathMse: meanPath, fitMs: t1 - t0, ilqgMs: t2 - t1,
      kl: step?.kl ?? NaN, klBound: step?.klBound ?? klBound, eta: step?.eta ?? NaN,
      converged: step?.converged ?? false, accepted,
    };
  }

  /** m start states of imagination rollouts, uniform over B_old's episodes and time steps (line 149). */
  sampleStarts(m: number, rng: Rng): { x: Float64Array; t: number }[] {
    const out = [];
    for (let i = 0; i < m; i++) {
      const ep = this.Bold[rng.int(this.Bold.length)];
      const t = rng.int(ep.u.length);
      out.push({ x: ep.x[t], t });
    }
    return out;
  }

  getState(): ArmState {
    const { tvlg, imaginationModel } = this.models;
    return {
      Bf: this.Bf, Bold: this.Bold, controller: this.controller, tvlg: tvlg.getState(),
      imaginationModel: imaginationModel === tvlg ? null : imaginationModel.getState(),
      ilqg: this.ilqg, refits: this.refits, ilqgRejected: this.ilqgRejected,
    };
  }

  /** Restores `getState()` output (models built from the same config). */
  setState(s: ArmState): void {
    const { tvlg, imaginationModel } = this.models;
    this.Bf = s.Bf;
    this.Bold = s.Bold;
    this.controller = s.controller;
    tvlg.setState(s.tvlg);
    if (imaginationModel !== tvlg && s.imaginationModel !== null) imaginationModel.setState(s.imaginationModel);
    this.ilqg = s.ilqg;
    this.refits = s.refits;
    this.ilqgRejected = s.ilqgRejected;
  }
}

/**
 * One-step mean squared error on `batch` of the trivial "mean path" predictor
 * x̂_{t+1} = (1/|reference|) Σ_e x^e_{t+1}: the mean state at t+1 over `reference`'s episodes,
 * whatever x_t and u_t are. The mean over `batch`'s episodes, steps t in [0, T) and state dimensions
 * of (x_{t+1} − x̂_{t+1})², in the units² of x, as `DynamicsModel.oneStepMse`, so that the two
 * divide to a scale-free ratio. With `reference` = B_old (what the model was fitted on) and
 * `batch` = B_f, model and predictor are fitted on the same data and scored on the same new data.
 * O((|reference| + |batch|) T dX). NaN for an empty batch or reference.
 * @throws RangeError when the episodes' lengths or state sizes differ.
 */
export function meanPathMse(reference: Trajectory[], batch: Trajectory[]): number {
  if (!reference.length || !batch.length) return NaN;
  const steps = reference[0].x.length, dX = reference[0].x[0].length;
  for (const e of [...reference, ...batch]) {
    if (e.x.length !== steps || e.x.some((v) => v.length !== dX)) throw new RangeError(`meanPathMse: every episode needs ${steps} states of ${dX} entries`);
  }
  const mean = Array.from({ length: steps }, () => new Float64Array(dX));
  for (const e of reference) for (let t = 1; t < steps; t++) for (let j = 0; j < dX; j++) mean[t][j] += e.x[t][j] / reference.length;
  let s = 0;
  for (const e of batch) for (let t = 1; t < steps; t++) for (let j = 0; j < dX; j++) s += (e.x[t][j] - mean[t][j]) ** 2;
  return s / (batch.length * (steps - 1) * dX);
}
