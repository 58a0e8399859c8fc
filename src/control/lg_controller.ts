/**
 * Time-varying linear-Gaussian controllers (paper Sec. 3 eq. 4, appendix 8.1):
 *   pi_t(u | x) = N(u_hat_t + k_t + K_t (x − x_hat_t), Sigma_t).
 * Acting, the initial controller, the forward pass of the trajectory distribution under
 * linear-Gaussian dynamics, and the KL divergence between two controllers' trajectory
 * distributions (GPS `traj_opt_lqr_python.py::forward`, `traj_opt_utils.py::traj_distr_kl`).
 *
 * GPS stores u = K_t x + k_t (absolute state). Our layout is converted with
 * kAbs_t = u_hat_t + k_t − K_t x_hat_t (see `absoluteOffset`).
 */
import { Matrix } from 'ml-matrix';
import type { LinearGaussianController } from './types.js';
import type { LinearGaussianDynamics } from '../model/types.js';
import type { Rng } from '../util/rng.js';
import { choleskyLower, logDetFromChol, spdInverse } from '../model/gaussian_fit.js';

/**
 * The zero-mean initial controller: K_t = 0, k_t = 0, x_hat_t = x0, u_hat_t = 0 and
 * Sigma_t = diag(initVar · uMax_i²) (N·m)², i.e. GPS `init_pd` with zero gains (pure exploration
 * noise around zero torque) with the variance given per joint as a fraction of its squared torque
 * limit (`model_based.ilqg_init_var`), so every joint explores the same share of its range
 * (reacher3's limits differ 20×) and the std never exceeds the torque bound.
 * @param x0 [dX] initial state (nominal x_hat)  @param uMax [dU] N·m
 * @param initVar dimensionless fraction of uMax_i², in (0, 1]
 * @throws RangeError on bad sizes, non-positive uMax, or initVar outside (0, 1].
 */
export function initController(o: { T: number; dX: number; dU: number; uMax: Float64Array; initVar: number; x0: Float64Array }): LinearGaussianController {
  const { T, dX, dU } = o;
  for (const [k, v] of [['T', T], ['dX', dX], ['dU', dU]] as const) {
    if (!Number.isInteger(v) || v < 1) throw new RangeError(`initController: ${k} must be a positive integer, got ${v}`);
  }
  if (o.uMax.length !== dU || !o.uMax.every((v) => v > 0 && Number.isFinite(v))) throw new RangeError(`initController: uMax must be ${dU} positive finite N·m`);
  if (!(o.initVar > 0 && o.initVar <= 1)) throw new RangeError(`initController: initVar is a fraction of uMax² and must be in (0, 1], got ${o.initVar}`);
  if (o.x0.length !== dX || !o.x0.every(Number.isFinite)) throw new RangeError(`initController: x0 must be ${dX} finite numbers`);
  const cov = new Float64Array(dU * dU), chol = new Float64Array(dU * dU);
  for (let i = 0; i < dU; i++) {
    cov[i * dU + i] = o.initVar * o.uMax[i] ** 2;
    chol[i * dU + i] = Math.sqrt(o.initVar) * o.uMax[i];
  }
  const rep = (a: Float64Array) => Array.from({ length: T }, () => Float64Array.from(a));
  return {
    T, dX, dU, K: rep(new Float64Array(dU * dX)), k: rep(new Float64Array(dU)),
    xHat: rep(o.x0), uHat: rep(new Float64Array(dU)), cov: rep(cov), chol: rep(chol),
  };
}

/** GPS's absolute offset kAbs_t [dU] = u_hat_t + k_t − K_t x_hat_t, so that the mean is K_t x + kAbs_t. */
export function absoluteOffset(c: LinearGaussianController, t: number): Float64Array {
  const { dX, dU } = c, out = new Float64Array(dU);
  for (let i = 0; i < dU; i++) {
    let s = c.uHat[t][i] + c.k[t][i];
    for (let j = 0; j < dX; j++) s -= c.K[t][i * dX + j] * c.xHat[t][j];
    out[i] = s;
  }
  return out;
}

/**
 * u = u_hat_t + k_t + K_t (x − x_hat_t) + chol(Sigma_t) z (z ~ N(0, I) when `rng` is given, else
 * the mean), clamped to ±uMax so the executed torque respects the limits.
 * @param x [dX]  @param uMax [dU] N·m  @returns u [dU] N·m
 * @throws RangeError on t outside [0, T), wrong sizes or a non-finite x.
 */
export function actLG(c: LinearGaussianController, x: Float64Array, t: number, rng: Rng | null, uMax: Float64Array): Float64Array {
  const { dX, dU } = c;
  if (!Number.isInteger(t) || t < 0 || t >= c.T) throw new RangeError(`actLG: t must be an integer in [0, ${c.T}), got ${t}`);
  if (x.length !== dX || !x.every(Number.isFinite)) throw new RangeError(`actLG: x must be ${dX} finite numbers`);
  if (uMax.length !== dU) throw new RangeError(`actLG: uMax has ${uMax.length} entries, expected ${dU}`);
  const u = new Float64Array(dU);
  for (let i = 0; i < dU; i++) {
    let s = c.uHat[t][i] + c.k[t][i];
    for (let j = 0; j < dX; j++) s += c.K[t][i * dX + j] * (x[j] - c.xHat[t][j]);
    u[i] = s;
  }
  if (rng) {
    const z = rng.normals(new Float64Array(dU)), L = c.chol[t];
    for (let i = 0; i < dU; i++) for (let j = 0; j <= i; j++) u[i] += L[i * dU + j] * z[j];
  }
  for (let i = 0; i < dU; i++) u[i] = Math.min(uMax[i], Math.max(-uMax[i], u[i]));
  return u;
}

/** State-action marginals of a controller under linear-Gaussian dynamics. */
export interface TrajectoryMarginals {
  /** T entries of [dX+dU]: E[x_t; u_t] */
  mu: Float64Array[];
  /** T entries of [(dX+dU)²] row-major: Cov[x_t; u_t] */
  sigma: Float64Array[];
  /** [dX] mean and [dX*dX] covariance of the final state x_T */
  muT: Float64Array;
  sigmaT: Float64Array;
}

/**
 * Forward pass (GPS `TrajOptLQRPython.forward`): from x_0 ~ N(x0mu, x0sigma), with u_t = K_t x_t +
 * kAbs_t + noise(Sigma_t) and x_{t+1} ~ N(F_t [x_t; u_t] + f_t, N_t), propagate the Gaussian
 * marginals of [x_t; u_t] for t < T and of x_T. Linear dynamics ignore the torque clamp.
 * @throws RangeError when controller and dynamics sizes differ.
 */
export function forwardPass(c: LinearGaussianController, dyn: LinearGaussianDynamics): TrajectoryMarginals {
  checkPair(c, dyn, 'forwardPass');
  const { T, dX, dU } = c, D = dX + dU;
  let mx = Matrix.columnVector(Array.from(dyn.x0mu));
  let Sx = Matrix.from1DArray(dX, dX, dyn.x0sigma);
  const mu: Float64Array[] = [], sigma: Float64Array[] = [];
  for (let t = 0; t < T; t++) {
    const K = Matrix.from1DArray(dU, dX, c.K[t]);
    const KS = K.mmul(Sx);
    const S = new Matrix(D, D);
    S.setSubMatrix(Sx, 0, 0);
    S.setSubMatrix(KS.transpose(), 0, dX);
    S.setSubMatrix(KS, dX, 0);
    S.setSubMatrix(KS.mmul(K.transpose()).add(Matrix.from1DArray(dU, dU, c.cov[t])), dX, dX);
    const mu_u = K.mmul(mx).add(Matrix.columnVector(Array.from(absoluteOffset(c, t))));
    const m = Matrix.columnVector([...mx.getColumn(0), ...mu_u.getColumn(0)]);
    const Ssym = S.add(S.transpose()).mul(0.5);
    mu.push(Float64Array.from(m.getColumn(0)));
    sigma.push(Float64Array.from(Ssym.to1DArray()));
    const F = Matrix.from1DArray(dX, D, dyn.F[t]);
    mx = F.mmul(m).add(Matrix.columnVector(Array.from(dyn.f[t])));
    Sx = F.mmul(Ssym).mmul(F.transpose()).add(Matrix.from1DArray(dX, dX, dyn.N[t]));
    Sx = Sx.add(Sx.transpose()).mul(0.5);
  }
  return { mu, sigma, muT: Float64Array.from(mx.getColumn(0)), sigmaT: Float64Array.from(Sx.to1DArray()) };
}

/**
 * KL(p_new || p_prev) between the trajectory distributions of two controllers sharing the same
 * dynamics: Σ_t max(0, E_{(x,u) ~ new marginals}[log pi_new(u|x) − log pi_prev(u|x)]) — GPS
 * `traj_distr_kl` (the dynamics terms cancel). Marginals of `next` are computed unless given.
 * @returns total [nats] and perStep [T]
 * @throws RangeError on size mismatch or a controller covariance that is not positive definite.
 */
export function trajectoryKL(
  dyn: LinearGaussianDynamics,
  next: LinearGaussianController,
  prev: LinearGaussianController,
  marginals?: TrajectoryMarginals,
): { total: number; perStep: Float64Array } {
  checkPair(next, dyn, 'trajectoryKL');
  checkPair(prev, dyn, 'trajectoryKL');
  const { T, dX, dU } = next;
  const marg = marginals ?? forwardPass(next, dyn);
  const perStep = new Float64Array(T);
  const parts = (c: LinearGaussianController, t: number) => {
    const L = choleskyLower(Matrix.from1DArray(dU, dU, c.cov[t]));
    if (!L) throw new RangeError(`trajectoryKL: controller covariance at t=${t} is not positive definite`);
    const P = spdInverse(Matrix.from1DArray(dU, dU, c.cov[t]), 'controller covariance');
    const K = Matrix.from1DArray(dU, dX, c.K[t]);
    const k = Matrix.columnVector(Array.from(absoluteOffset(c, t)));
    const KtP = K.transpose().mmul(P);
    const M = new Matrix(dX + dU, dX + dU);
    M.setSubMatrix(KtP.mmul(K), 0, 0);
    M.setSubMatrix(KtP.clone().mul(-1), 0, dX);
    M.setSubMatrix(P.mmul(K).mul(-1), dX, 0);
    M.setSubMatrix(P, dX, dX);
    const v = Matrix.columnVector([...KtP.mmul(k).getColumn(0), ...P.mmul(k).mul(-1).getColumn(0)]);
    const cst = 0.5 * k.transpose().mmul(P).mmul(k).get(0, 0);
    return { M, v, cst, logdet: logDetFromChol(L) };
  };
  for (let t = 0; t < T; t++) {
    const a = parts(next, t), b = parts(prev, t);
    const dM = a.M.sub(b.M), dv = a.v.sub(b.v);
    const m = Matrix.columnVector(Array.from(marg.mu[t]));
    const S = Matrix.from1DArray(dX + dU, dX + dU, marg.sigma[t]);
    let tr = 0;
    for (let i = 0; i < dX + dU; i++) for (let j = 0; j < dX + dU; j++) tr += S.get(i, j) * dM.get(i, j);
    const kl = -0.5 * m.transpose().mmul(dM).mmul(m).get(0, 0) - m.transpose().mmul(dv).get(0, 0)
      - a.cst + b.cst - 0.5 * tr - 0.5 * a.logdet + 0.5 * b.logdet;
    perStep[t] = Math.max(0, kl);
  }
  return { total: perStep.reduce((s, v) => s + v, 0), perStep };
}

/** Plain-array (JSON-safe) form of a controller. */
export interface LGControllerState {
  T: number; dX: number; dU: number;
  K: number[][]; k: number[][]; xHat: number[][]; uHat: number[][]; cov: number[][]; chol: number[][];
}

const FIELDS = ['K', 'k', 'xHat', 'uHat', 'cov', 'chol'] as const;

/** Controller → plain arrays (for checkpoints). */
export function controllerToState(c: LinearGaussianController): LGControllerState {
  const s = { T: c.T, dX: c.dX, dU: c.dU } as LGControllerState;
  for (const f of FIELDS) s[f] = c[f].map((r) => Array.from(r));
  return s;
}

/** Plain arrays → controller, shape-checked. @throws RangeError naming the malformed field. */
export function controllerFromState(s: LGControllerState): LinearGaussianController {
  const { T, dX, dU } = s;
  const size = { K: dU * dX, k: dU, xHat: dX, uHat: dU, cov: dU * dU, chol: dU * dU };
  const c = { T, dX, dU } as LinearGaussianController;
  for (const f of FIELDS) {
    const rows = s[f];
    if (!Array.isArray(rows) || rows.length !== T || rows.some((r) => r.length !== size[f] || !r.every(Number.isFinite))) {
      throw new RangeError(`controllerFromState: field ${f} must be ${T} rows of ${size[f]} finite numbers`);
    }
    c[f] = rows.map((r) => Float64Array.from(r));
  }
  return c;
}

function checkPair(c: LinearGaussianController, dyn: LinearGaussianDynamics, who: string): void {
  if (c.T !== dyn.T || c.dX !== dyn.dX || c.dU !== dyn.dU) {
    throw new RangeError(`${who}: controller T/dX/dU ${c.T}/${c.dX}/${c.dU} != dynamics ${dyn.T}/${dyn.dX}/${dyn.dU}`);
  }
}
