/**
 * LQR backward pass for time-varying linear dynamics x_{t+1} = F_t [x_t; u_t] + f_t and a
 * quadratic cost per step, in cost form as GPS (`traj_opt_lqr_python.py::backward`):
 *   Q_t = cost_t + V_{t+1}(F_t [x; u] + f_t)
 *   Qtt_t = Cm_t + F_tᵀ Vxx_{t+1} F_t,   Qt_t = cv_t + F_tᵀ (Vx_{t+1} + Vxx_{t+1} f_t)
 *   K_t = −Quu⁻¹ Qux,  k_t = −Quu⁻¹ Qu,  Vxx_t = Qxx + Qxu K_t,  Vx_t = Qx + Qxu k_t.
 * This is the paper's appendix 8.1 recursion with costs = −rewards and with the dynamics bias f_t
 * kept (the appendix drops it). Controllers here are absolute, u = K_t x + k_t (GPS layout).
 */
import { Matrix } from 'ml-matrix';
import type { LinearGaussianDynamics } from '../model/types.js';
import type { RewardExpansion } from '../env/types.js';
import type { TrajectoryMarginals } from './lg_controller.js';
import { choleskyLower, spdInverse, spdSolve, symmetrize } from '../model/gaussian_fit.js';

/**
 * Quadratic cost per step in absolute coordinates y = [x; u] (dimension dX+dU):
 *   c_t(y) = cc_t + cv_tᵀ y + ½ yᵀ Cm_t y   (GPS `traj_info.cc / cv / Cm`).
 */
export interface QuadraticCost {
  T: number;
  dX: number;
  dU: number;
  /** [T] */
  cc: Float64Array;
  /** T entries of [dX+dU] */
  cv: Float64Array[];
  /** T entries of [(dX+dU)²] row-major, symmetric */
  Cm: Float64Array[];
}

/** Result of `backwardPass`: the new controller u = K_t x + k_t, Quu_t and the value function. */
export interface BackwardPassResult {
  /** T entries of [dU*dX] */
  K: Float64Array[];
  /** T entries of [dU] (absolute offset) */
  k: Float64Array[];
  /** T entries of [dU*dU]: Quu_t (GPS `inv_pol_covar`) */
  Quu: Float64Array[];
  /** T entries of [dU*dU]: Quu_t⁻¹ (GPS `pol_covar`) and its lower Cholesky factor */
  QuuInv: Float64Array[];
  cholQuuInv: Float64Array[];
  /** T+1 entries of [dX*dX] and [dX]: V_t(x) = ½ xᵀ Vxx_t x + Vx_tᵀ x + const (index T = terminal) */
  Vxx: Float64Array[];
  Vx: Float64Array[];
}

/** Thrown when Quu_t is not positive definite (GPS then raises eta and retries). */
export class NotPositiveDefiniteError extends RangeError {
  constructor(readonly t: number) {
    super(`backwardPass: Quu at t=${t} is not positive definite`);
    this.name = 'NotPositiveDefiniteError';
  }
}

/**
 * Finite-horizon LQR backward pass (see module doc). The objective is Σ_{t<T} c_t(x_t, u_t) plus
 * an optional terminal ½ x_Tᵀ Vxx x_T + Vxᵀ x_T.
 * @param dyn F [T][dX*(dX+dU)], f [T][dX]  @param cost Cm, cv as in `QuadraticCost`
 * @throws NotPositiveDefiniteError (with t) when some Quu_t is not PD; RangeError on bad sizes or
 * non-finite inputs.
 */
export function backwardPass(
  dyn: Pick<LinearGaussianDynamics, 'T' | 'dX' | 'dU' | 'F' | 'f'>,
  cost: Pick<QuadraticCost, 'Cm' | 'cv'>,
  terminal?: { Vxx: Float64Array; Vx: Float64Array },
): BackwardPassResult {
  const { T, dX, dU } = dyn, D = dX + dU;
  if (dyn.F.length !== T || dyn.f.length !== T || cost.Cm.length !== T || cost.cv.length !== T) {
    throw new RangeError(`backwardPass: F, f, Cm and cv must all have T=${T} entries`);
  }
  for (let t = 0; t < T; t++) {
    if (dyn.F[t].length !== dX * D || dyn.f[t].length !== dX || cost.Cm[t].length !== D * D || cost.cv[t].length !== D) {
      throw new RangeError(`backwardPass: wrong entry size at t=${t}`);
    }
    if (!dyn.F[t].every(Number.isFinite) || !dyn.f[t].every(Number.isFinite)) throw new RangeError(`backwardPass: NaNs encountered in dynamics at t=${t}`);
    if (!cost.Cm[t].every(Number.isFinite) || !cost.cv[t].every(Number.isFinite)) throw new RangeError(`backwardPass: non-finite cost at t=${t}`);
  }
  const out: BackwardPassResult = {
    K: new Array(T), k: new Array(T), Quu: new Array(T), QuuInv: new Array(T), cholQuuInv: new Array(T),
    Vxx: new Array(T + 1), Vx: new Array(T + 1),
  };
  let Vxx = terminal ? Matrix.from1DArray(dX, dX, terminal.Vxx) : Matrix.zeros(dX, dX);
  let Vx = Matrix.columnVector(terminal ? Array.from(terminal.Vx) : new Array(dX).fill(0));
  out.Vxx[T] = Float64Array.from(Vxx.to1DArray());
  out.Vx[T] = Float64Array.from(Vx.getColumn(0));
  for (let t = T - 1; t >= 0; t--) {
    const F = Matrix.from1DArray(dX, D, dyn.F[t]);
    const Ft = F.transpose();
    const Qtt = symmetrize(Matrix.from1DArray(D, D, cost.Cm[t]).add(Ft.mmul(Vxx).mmul(F)));
    const Qt = Matrix.columnVector(Array.from(cost.cv[t])).add(Ft.mmul(Vx.clone().add(Vxx.mmul(Matrix.columnVector(Array.from(dyn.f[t]))))));
    const Quu = Qtt.subMatrix(dX, D - 1, dX, D - 1);
    const Qux = Qtt.subMatrix(dX, D - 1, 0, dX - 1);
    const Qxx = Qtt.subMatrix(0, dX - 1, 0, dX - 1);
    const Qu = Qt.subMatrix(dX, D - 1, 0, 0);
    const Qx = Qt.subMatrix(0, dX - 1, 0, 0);
    if (!choleskyLower(Quu)) throw new NotPositiveDefiniteError(t);
    const K = spdSolve(Quu, Qux).mul(-1);
    const k = spdSolve(Quu, Qu).mul(-1);
    const QuuInv = spdInverse(Quu);
    const cholInv = choleskyLower(QuuInv);
    if (!cholInv) throw new NotPositiveDefiniteError(t);
    const Qxu = Qux.transpose();
    Vxx = symmetrize(Qxx.add(Qxu.mmul(K)));
    Vx = Qx.add(Qxu.mmul(k));
    out.K[t] = Float64Array.from(K.to1DArray());
    out.k[t] = Float64Array.from(k.getColumn(0));
    out.Quu[t] = Float64Array.from(Quu.to1DArray());
    out.QuuInv[t] = Float64Array.from(QuuInv.to1DArray());
    out.cholQuuInv[t] = Float64Array.from(cholInv.to1DArray());
    out.Vxx[t] = Float64Array.from(Vxx.to1DArray());
    out.Vx[t] = Float64Array.from(Vx.getColumn(0));
  }
  return out;
}

/**
 * Cost = −reward, expanded to second order around a nominal trajectory (x̂_t, û_t), re-expressed in
 * absolute coordinates as GPS `_eval_cost` does (expansion around ŷ, then around zero):
 *   Cm = −[[rxx, ruxᵀ], [rux, ruu]],  cv = −[rx; ru] − Cm ŷ,  cc = −r + [rx; ru]ᵀ ŷ + ½ ŷᵀ Cm ŷ.
 * @param expansions T reward expansions at (x̂_t, û_t)  @param nominal x̂ [T][dX], û [T][dU]
 * @throws RangeError on size mismatch or non-finite entries.
 */
export function quadratizeReward(expansions: RewardExpansion[], nominal: { x: Float64Array[]; u: Float64Array[] }): QuadraticCost {
  const T = expansions.length;
  if (T < 1 || nominal.x.length < T || nominal.u.length < T) throw new RangeError('quadratizeReward: need T expansions and T nominal states/actions');
  const dX = nominal.x[0].length, dU = nominal.u[0].length, D = dX + dU;
  const cost: QuadraticCost = { T, dX, dU, cc: new Float64Array(T), cv: [], Cm: [] };
  for (let t = 0; t < T; t++) {
    const e = expansions[t];
    if (e.rx.length !== dX || e.ru.length !== dU || e.rxx.length !== dX * dX || e.ruu.length !== dU * dU || e.rux.length !== dU * dX) {
      throw new RangeError(`quadratizeReward: reward expansion at t=${t} has the wrong sizes for dX=${dX}, dU=${dU}`);
    }
    const H = new Matrix(D, D);
    for (let i = 0; i < dX; i++) for (let j = 0; j < dX; j++) H.set(i, j, -e.rxx[i * dX + j]);
    for (let i = 0; i < dU; i++) {
      for (let j = 0; j < dU; j++) H.set(dX + i, dX + j, -e.ruu[i * dU + j]);
      for (let j = 0; j < dX; j++) {
        H.set(dX + i, j, -e.rux[i * dX + j]);
        H.set(j, dX + i, -e.rux[i * dX + j]);
      }
    }
    const Cm = symmetrize(H);
    const y = Matrix.columnVector([...nominal.x[t], ...nominal.u[t]]);
    const g = Matrix.columnVector([...e.rx, ...e.ru].map((v) => -v));
    const Cy = Cm.mmul(y);
    const cv = g.clone().sub(Cy);
    const cc = -e.r - g.transpose().mmul(y).get(0, 0) + 0.5 * y.transpose().mmul(Cy).get(0, 0);
    if (!Number.isFinite(cc) || !Cm.to1DArray().every(Number.isFinite)) throw new RangeError(`quadratizeReward: non-finite expansion at t=${t}`);
    cost.cc[t] = cc;
    cost.cv.push(Float64Array.from(cv.getColumn(0)));
    cost.Cm.push(Float64Array.from(Cm.to1DArray()));
  }
  return cost;
}

/**
 * Laplace estimate of the expected cost per step under Gaussian state-action marginals
 * (GPS `estimate_cost`): cc_t + ½ tr(Σ_t Cm_t) + ½ μ_tᵀ Cm_t μ_t + μ_tᵀ cv_t.  @returns [T]
 */
export function expectedCost(cost: QuadraticCost, marg: TrajectoryMarginals): Float64Array {
  const D = cost.dX + cost.dU, out = new Float64Array(cost.T);
  if (marg.mu.length !== cost.T) throw new RangeError(`expectedCost: marginals have ${marg.mu.length} steps, cost has ${cost.T}`);
  for (let t = 0; t < cost.T; t++) {
    const m = marg.mu[t], S = marg.sigma[t], C = cost.Cm[t], c = cost.cv[t];
    let s = cost.cc[t];
    for (let i = 0; i < D; i++) {
      s += m[i] * c[i];
      for (let j = 0; j < D; j++) s += 0.5 * C[i * D + j] * (S[i * D + j] + m[i] * m[j]);
    }
    out[t] = s;
  }
  return out;
}
