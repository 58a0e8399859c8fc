/**
 * One KL-constrained iLQG step ("iLQG_OneStep", paper Sec. 5 / Algorithm 2 and appendix 8.1, with
 * the trust region of Levine & Abbeel 2014), following GPS `traj_opt_lqr_python.py::update` and
 * `algorithm_traj_opt.py::compute_costs`:
 *
 *   max_pi E[Σ_t r(x_t, u_t)]  s.t.  KL(p_new(τ) || p_prev(τ)) <= ε T
 *
 * The Lagrangian is minimised by an LQR backward pass on the cost (−reward)/eta plus the KL terms
 * of the previous controller (u = K x + k, precision P):
 *   fCm_t = Cm_t/eta + [[Kᵀ P K, −Kᵀ P], [−P K, P]],  fcv_t = cv_t/eta + [Kᵀ P k; −P k],
 * and eta is found by a dual search bracketed in log space (×0.1 / ×10 steps, then geometric
 * bisection; GPS master). The new covariance is Sigma_t = Quu_t⁻¹ of that augmented problem (GPS
 * `pol_covar`), i.e. c = eta in the paper's −c Q_uu⁻¹ up to the KL term.
 */
import { Matrix } from 'ml-matrix';
import type { LinearGaussianController } from './types.js';
import type { LinearGaussianDynamics } from '../model/types.js';
import type { RewardExpansion } from '../env/types.js';
import { absoluteOffset, forwardPass, trajectoryKL, type TrajectoryMarginals } from './lg_controller.js';
import { backwardPass, expectedCost, NotPositiveDefiniteError, quadratizeReward, type BackwardPassResult, type QuadraticCost } from './lqr.js';
import { spdInverse } from '../model/gaussian_fit.js';

/** Reward expansion r(x, u) at step t (the task's `rewardExpansion`, which is maximised). */
export type RewardExpansionFn = (x: Float64Array, u: Float64Array, t: number) => RewardExpansion;

export interface IlqgStepOptions {
  /** Fitted p_t(x'|x,u) with x0mu/x0sigma (e.g. `TvlgDynamics.params()`). */
  dynamics: LinearGaussianDynamics;
  rewardExpansion: RewardExpansionFn;
  /** Controller the samples came from; the KL is measured against it. */
  prev: LinearGaussianController;
  /** epsilon: KL bound per step (GPS 'kl_step', default there 0.2); the total bound is epsilon·stepMult·T. */
  klStep: number;
  /** GPS 'step_mult' (see `adaptStepMult`), default 1. */
  stepMult?: number;
  /** Initial dual variable (warm start with the previous step's eta), default 1. */
  etaInit?: number;
  /** Dual search bracket (GPS TRAJ_OPT_LQR min_eta 1e-8, max_eta 1e16). */
  minEta?: number;
  maxEta?: number;
  /** Dual search iterations (GPS DGD_MAX_ITER 50). */
  maxIterations?: number;
  /** Accept (1 − klTolerance)·bound <= KL <= bound (GPS accepts |KL − bound| < 0.1 bound). */
  klTolerance?: number;
  /** First eta increment when Quu is not PD (GPS del0 1e-4). */
  del0?: number;
}

export interface IlqgStepResult {
  controller: LinearGaussianController;
  /** Dual variable of the returned controller (warm start for the next step). */
  eta: number;
  /** KL(new || prev) of the returned controller, nats, and the bound epsilon·stepMult·T. */
  kl: number;
  klBound: number;
  /** True when the KL landed in the accepted band, or below it with eta at its floor. */
  converged: boolean;
  /**
   * KL <= klBound: the returned controller respects the trust region. Always true when converged;
   * when the search did not converge it is true iff some iterate was feasible (the returned one is
   * then a smaller step than allowed). When false the controller breaks the bound and must not be
   * installed (the learner keeps the previous controller, `Learner.ilqgRejected`).
   */
  withinBound: boolean;
  iterations: number;
  /** Laplace estimates Σ_t E[r] under `dynamics` and the quadratic reward model: new and previous controller. */
  predictedReturn: number;
  baselineReturn: number;
  /** The quadratic cost (−reward) model expanded around the previous controller's mean trajectory. */
  cost: QuadraticCost;
}

/**
 * One KL-constrained iLQG update (see module doc). The reward is expanded around the mean
 * trajectory of `prev` under `dynamics` (forward pass from x0mu, x0sigma); the returned controller
 * uses that trajectory as x_hat/u_hat, so u = u_hat + k + K (x − x_hat) = K x + kAbs (eq. 4).
 * When the dual search does not converge the feasible iterate with the largest KL is returned
 * (or, if none was feasible, the last one, with converged = false and withinBound = false: a
 * controller the caller must not install).
 * @throws RangeError on bad options/sizes; IlqgFailedError when no eta <= 1e16 makes Quu positive
 * definite (GPS: "Failed to find PD solution even for very large eta").
 */
export function ilqgStep(o: IlqgStepOptions): IlqgStepResult {
  const { dynamics: dyn, prev } = o;
  const stepMult = o.stepMult ?? 1, minEta = o.minEta ?? 1e-8, maxEta = o.maxEta ?? 1e16;
  const maxIter = o.maxIterations ?? 50, tol = o.klTolerance ?? 0.1, del0 = o.del0 ?? 1e-4;
  if (!(o.klStep > 0) || !(stepMult > 0)) throw new RangeError(`ilqgStep: klStep and stepMult must be > 0, got ${o.klStep}, ${stepMult}`);
  if (!(minEta > 0 && maxEta > minEta)) throw new RangeError(`ilqgStep: need 0 < minEta < maxEta, got ${minEta}, ${maxEta}`);
  if (!(tol > 0 && tol < 1)) throw new RangeError(`ilqgStep: klTolerance must be in (0, 1), got ${tol}`);
  const { T, dX, dU } = dyn;
  const bound = o.klStep * stepMult * T;

  const prevMarg = forwardPass(prev, dyn);
  const xHat = prevMarg.mu.map((m) => m.slice(0, dX)), uHat = prevMarg.mu.map((m) => m.slice(dX));
  const cost = quadratizeReward(xHat.map((x, t) => o.rewardExpansion(x, uHat[t], t)), { x: xHat, u: uHat });
  const klTerms = klPenaltyTerms(prev);

  let lo = minEta, hi = maxEta;
  let eta = Math.min(maxEta, Math.max(minEta, o.etaInit ?? 1));
  type Cand = { controller: LinearGaussianController; marg: TrajectoryMarginals; eta: number; kl: number };
  let last: Cand | null = null, best: Cand | null = null, converged = false, itr = 0;
  for (; itr < maxIter && !converged; itr++) {
    const bw = backwardWithEta(dyn, cost, klTerms, eta, del0);
    eta = bw.eta;
    const controller = toController(bw.res, xHat, uHat, T, dX, dU);
    const marg = forwardPass(controller, dyn);
    const kl = trajectoryKL(dyn, controller, prev, marg).total;
    last = { controller, marg, eta, kl };
    const con = kl - bound;
    if (con <= 0 && (!best || kl > best.kl)) best = last;
    if (con <= 0 && (con >= -tol * bound || (lo === minEta && eta < 10 * minEta))) {
      converged = true; // in the band, or the bound is inactive even at the smallest eta
    } else if (con < 0) {
      hi = eta; // eta too big: the step is smaller than allowed
      eta = Math.max(Math.sqrt(lo * hi), 0.1 * hi);
    } else {
      lo = eta; // eta too small: KL too large
      eta = Math.min(Math.sqrt(lo * hi), 10 * lo);
    }
  }
  const pick = converged ? last! : best ?? last!;
  const sum = (v: Float64Array) => v.reduce((s, x) => s + x, 0);
  return {
    controller: pick.controller, eta: pick.eta, kl: pick.kl, klBound: bound, converged, withinBound: pick.kl <= bound, iterations: itr,
    predictedReturn: -sum(expectedCost(cost, pick.marg)),
    baselineReturn: -sum(expectedCost(cost, prevMarg)),
    cost,
  };
}

/** No eta up to 1e16 gives a positive-definite Quu: no iLQG step exists under these dynamics and cost. */
export class IlqgFailedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'IlqgFailedError';
  }
}

/** KL terms of the previous controller per step (GPS `compute_costs`): [(dX+dU)²] and [dX+dU]. */
function klPenaltyTerms(prev: LinearGaussianController): { Cm: Float64Array[]; cv: Float64Array[] } {
  const { T, dX, dU } = prev, D = dX + dU;
  const Cm: Float64Array[] = [], cv: Float64Array[] = [];
  for (let t = 0; t < T; t++) {
    const P = spdInverse(Matrix.from1DArray(dU, dU, prev.cov[t]), `previous controller covariance at t=${t}`);
    const K = Matrix.from1DArray(dU, dX, prev.K[t]);
    const k = Matrix.columnVector(Array.from(absoluteOffset(prev, t)));
    const KtP = K.transpose().mmul(P);
    const M = new Matrix(D, D);
    M.setSubMatrix(KtP.mmul(K), 0, 0);
    M.setSubMatrix(KtP.clone().mul(-1), 0, dX);
    M.setSubMatrix(P.mmul(K).mul(-1), dX, 0);
    M.setSubMatrix(P, dX, dX);
    Cm.push(Float64Array.from(M.add(M.transpose()).mul(0.5).to1DArray()));
    cv.push(Float64Array.from([...KtP.mmul(k).getColumn(0), ...P.mmul(k).mul(-1).getColumn(0)]));
  }
  return { Cm, cv };
}

/**
 * Backward pass on cost/eta + KL terms; on a non-PD Quu retries with eta = eta0 + del, del ×= 2
 * (GPS `backward`). @throws IlqgFailedError once eta reaches 1e16.
 */
function backwardWithEta(
  dyn: LinearGaussianDynamics, cost: QuadraticCost, kl: { Cm: Float64Array[]; cv: Float64Array[] }, eta0: number, del0: number,
): { res: BackwardPassResult; eta: number } {
  let eta = eta0, del = del0;
  for (;;) {
    const Cm = cost.Cm.map((C, t) => C.map((v, i) => v / eta + kl.Cm[t][i]));
    const cv = cost.cv.map((c, t) => c.map((v, i) => v / eta + kl.cv[t][i]));
    try {
      return { res: backwardPass(dyn, { Cm, cv }), eta };
    } catch (e) {
      if (!(e instanceof NotPositiveDefiniteError)) throw e;
      eta = eta0 + del;
      del *= 2;
      if (eta >= 1e16) {
        throw new IlqgFailedError('ilqgStep: failed to find a PD solution even for very large eta (check that dynamics and cost are reasonably well conditioned)');
      }
    }
  }
}

/** Absolute GPS controller (K, kAbs, Quu⁻¹) → our layout around the nominal (x_hat, u_hat). */
function toController(
  r: BackwardPassResult, xHat: Float64Array[], uHat: Float64Array[], T: number, dX: number, dU: number,
): LinearGaussianController {
  const k = r.k.map((kAbs, t) => {
    const out = new Float64Array(dU);
    for (let i = 0; i < dU; i++) {
      let s = kAbs[i] - uHat[t][i];
      for (let j = 0; j < dX; j++) s += r.K[t][i * dX + j] * xHat[t][j];
      out[i] = s;
    }
    return out;
  });
  return {
    T, dX, dU, K: r.K, k, xHat: xHat.map((v) => v.slice()), uHat: uHat.map((v) => v.slice()),
    cov: r.QuuInv, chol: r.cholQuuInv,
  };
}

/**
 * Laplace estimate of E[Σ_t r(x_t, u_t)] of `ctrl` under `dyn`, with the reward expanded around
 * the controller's own mean trajectory: Σ_t r(μ_t) + ½ tr(Σ_t ∇²r(μ_t)) (GPS `estimate_cost`).
 * Used as the "actual" value in `adaptStepMult` once new dynamics have been fitted.
 */
export function laplaceReturn(ctrl: LinearGaussianController, dyn: LinearGaussianDynamics, rewardExpansion: RewardExpansionFn): number {
  const marg = forwardPass(ctrl, dyn);
  const x = marg.mu.map((m) => m.slice(0, dyn.dX)), u = marg.mu.map((m) => m.slice(dyn.dX));
  const cost = quadratizeReward(x.map((xt, t) => rewardExpansion(xt, u[t], t)), { x, u });
  return -expectedCost(cost, marg).reduce((s, v) => s + v, 0);
}

/**
 * Step-size adaptation (GPS `_stepadjust` / `_set_new_mult`), in rewards: modelling the
 * improvement as I(KL) = a·KL − b·KL², the best multiplier of the step is
 * pred / (2 (pred − act)), clipped to [0.1, 5]; the new step_mult is clipped to [min, max].
 * @param baselineReturn previous controller, previous dynamics (`IlqgStepResult.baselineReturn`)
 * @param predictedReturn new controller, previous dynamics (`IlqgStepResult.predictedReturn`)
 * @param actualReturn new controller, dynamics refitted on its samples (`laplaceReturn`)
 */
export function adaptStepMult(
  o: { baselineReturn: number; predictedReturn: number; actualReturn: number; stepMult: number; minStepMult?: number; maxStepMult?: number },
): number {
  const predImpr = o.predictedReturn - o.baselineReturn;
  const actImpr = o.actualReturn - o.baselineReturn;
  if (![predImpr, actImpr, o.stepMult].every(Number.isFinite)) throw new RangeError('adaptStepMult: non-finite input');
  const mult = Math.max(0.1, Math.min(5, predImpr / (2 * Math.max(1e-4, predImpr - actImpr))));
  return Math.max(o.minStepMult ?? 0.01, Math.min(o.maxStepMult ?? 10, mult * o.stepMult));
}
