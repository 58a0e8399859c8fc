/**
 * The normalized advantage function of Gu et al. 2016, Sec. 4, on the raw outputs of the V, mu
 * and L networks — in plain JS, shared by the learner (loss and its gradient), the queries and the
 * plain-JS actor of the control loop:
 *
 *   Q(x, u) = A(x, u) + V(x),   A(x, u) = -1/2 (u - mu(x))^T P(x) (u - mu(x)),   P(x) = L(x) L(x)^T
 *
 *  - mu(x) = uMax ⊙ tanh(z(x)): the greedy action, inside the bounds;
 *  - L(x): lower-triangular dU x dU from dU(dU+1)/2 linear outputs l_k, entry (i, j), j <= i, from
 *    k = i(i+1)/2 + j (row-major lower triangle); the diagonal is exp(clamp(l_k, lo, hi)) (paper:
 *    "diagonal terms exponentiated"; the clamp prevents the exp overflow behind the NaNs of public
 *    NAF code, DESIGN.md Sec. 8). The L network never sees u, so argmax_u Q = mu(x) exactly.
 *  - A = -1/2 ||L^T (u - mu)||^2: the matrix product P = L L^T (not elementwise), evaluated as a
 *    sum of squares, so A <= 0 holds exactly in floating point.
 *
 * Arrays are row-major: z [N*dU], l [N*nL], L [N*dU*dU], u and mu [N*dU].
 */

export interface NafHeadConfig {
  dU: number;
  /** [dU] action bound of mu = uMax tanh(z) */
  uMax: Float64Array;
  /** [lo, hi] clamp of L's pre-exponent diagonal */
  lDiag: readonly [number, number];
}

/** Number of L outputs, dU(dU+1)/2. */
export const lCount = (dU: number): number => (dU * (dU + 1)) / 2;

/** Index of L entry (i, j), j <= i, among the dU(dU+1)/2 outputs of the L head. */
export function triIndex(i: number, j: number): number {
  return (i * (i + 1)) / 2 + j;
}

/** mu = uMax ⊙ tanh(z) for `rows` rows of z starting at row 0: [rows*dU]. */
export function muFromZ(cfg: NafHeadConfig, z: ArrayLike<number>, rows: number): Float64Array {
  const { dU, uMax } = cfg;
  const out = new Float64Array(rows * dU);
  for (let i = 0; i < out.length; i++) out[i] = uMax[i % dU] * Math.tanh(z[i]);
  return out;
}

/** Writes L of the outputs l[lOff .. lOff+nL) into out[oOff .. oOff+dU*dU) (row-major, zeros above). */
export function lowerInto(cfg: NafHeadConfig, l: ArrayLike<number>, lOff: number, out: Float64Array | Float32Array, oOff: number): void {
  const { dU, lDiag } = cfg;
  for (let i = 0; i < dU; i++) {
    for (let j = 0; j < dU; j++) {
      const k = lOff + triIndex(i, j);
      out[oOff + i * dU + j] = j < i ? l[k] : j === i ? Math.exp(Math.min(lDiag[1], Math.max(lDiag[0], l[k]))) : 0;
    }
  }
}

/** L [rows*dU*dU] from l [rows*nL]. */
export function lowerFromL(cfg: NafHeadConfig, l: ArrayLike<number>, rows: number): Float64Array {
  const { dU } = cfg;
  const nL = lCount(dU);
  const out = new Float64Array(rows * dU * dU);
  for (let r = 0; r < rows; r++) lowerInto(cfg, l, r * nL, out, r * dU * dU);
  return out;
}

/** A(x, u) [rows] = -1/2 ||L^T (u - mu)||^2 from L [rows*dU*dU], mu and u [rows*dU]. */
export function advantage(cfg: NafHeadConfig, L: ArrayLike<number>, mu: ArrayLike<number>, u: ArrayLike<number>, rows: number): Float64Array {
  const { dU } = cfg;
  const out = new Float64Array(rows);
  for (let r = 0; r < rows; r++) {
    let s = 0;
    for (let j = 0; j < dU; j++) {
      // w_j = sum_k d_k L_kj (only k >= j: L is lower-triangular)
      let w = 0;
      for (let k = j; k < dU; k++) w += (u[r * dU + k] - mu[r * dU + k]) * L[r * dU * dU + k * dU + j];
      s += w * w;
    }
    out[r] = -0.5 * s;
  }
  return out;
}

/** Inputs of the NAF loss: raw network outputs and the minibatch (Algorithm 1, line "Set y_i"). */
export interface NafLossInputs {
  N: number;
  /** V(x) [N] */
  V: ArrayLike<number>;
  /** mu network's linear outputs z(x) [N*dU] */
  z: ArrayLike<number>;
  /** L network's linear outputs l(x) [N*nL] */
  l: ArrayLike<number>;
  /** target network's V'(x') [N] */
  Vnext: ArrayLike<number>;
  /** [N*dU] actions taken */
  u: ArrayLike<number>;
  /** [N] rewards */
  r: ArrayLike<number>;
  /** [N] 1 for true terminal states (no bootstrap); time-limit truncations have 0 */
  terminal: ArrayLike<number>;
  gamma: number;
}

/** The loss, mean Q, and the loss gradient with respect to each raw output. */
export interface NafLossResult {
  /** L = 1/N sum_i (y_i - Q(x_i, u_i))^2 */
  loss: number;
  /** mean_i Q(x_i, u_i) */
  qMean: number;
  /** dL/dV [N] */
  dV: Float32Array;
  /** dL/dz [N*dU] */
  dz: Float32Array;
  /** dL/dl [N*nL] */
  dl: Float32Array;
}

/**
 * Algorithm 1's loss y_i = r_i + gamma (1 - terminal_i) V'(x'_i), L = 1/N sum_i (y_i - Q_i)^2, and
 * its gradient with respect to the raw outputs, by the chain rule through Q = V + A:
 *   e_i = 2 (Q_i - y_i) / N = dL/dV_i;  w = L^T d with d = u - mu;  dL/dw = -e w;
 *   dL/dd = L dL/dw;  dL/dmu = -dL/dd;  dL/dz = dL/dmu ⊙ uMax ⊙ (1 - tanh^2 z);
 *   dL/dL_kj = d_k (dL/dw)_j for j <= k;  off-diagonal dl = dL;  diagonal dl = dL_ii L_ii inside the
 *   clamp (inclusive bounds, as tfjs's clipByValue gradient), 0 outside it.
 */
export function nafLoss(cfg: NafHeadConfig, a: NafLossInputs): NafLossResult {
  const { dU, uMax, lDiag } = cfg;
  const { N } = a;
  const nL = lCount(dU);
  const dV = new Float32Array(N);
  const dz = new Float32Array(N * dU);
  const dl = new Float32Array(N * nL);
  const L = new Float64Array(dU * dU);
  const d = new Float64Array(dU);
  const w = new Float64Array(dU);
  const tanh = new Float64Array(dU);
  let loss = 0;
  let qSum = 0;
  for (let i = 0; i < N; i++) {
    lowerInto(cfg, a.l, i * nL, L, 0);
    let s = 0;
    for (let k = 0; k < dU; k++) {
      tanh[k] = Math.tanh(a.z[i * dU + k]);
      d[k] = a.u[i * dU + k] - uMax[k] * tanh[k];
    }
    for (let j = 0; j < dU; j++) {
      let wj = 0;
      for (let k = j; k < dU; k++) wj += d[k] * L[k * dU + j];
      w[j] = wj;
      s += wj * wj;
    }
    const Q = a.V[i] - 0.5 * s;
    const y = a.r[i] + a.gamma * (1 - a.terminal[i]) * a.Vnext[i];
    loss += (Q - y) * (Q - y);
    qSum += Q;
    const ei = (2 * (Q - y)) / N; // dL/dQ_i = dL/dV_i
    dV[i] = ei;
    for (let j = 0; j < dU; j++) w[j] *= -ei; // w now holds dL/dw
    for (let k = 0; k < dU; k++) {
      let dd = 0;
      for (let j = 0; j <= k; j++) dd += L[k * dU + j] * w[j];
      // dL/dmu_k = -dd; dL/dz_k = dL/dmu_k uMax_k (1 - tanh^2)
      dz[i * dU + k] = -dd * uMax[k] * (1 - tanh[k] * tanh[k]);
      for (let j = 0; j <= k; j++) {
        const g = d[k] * w[j];
        const idx = i * nL + triIndex(k, j);
        if (j < k) dl[idx] = g;
        else {
          const raw = a.l[idx];
          dl[idx] = raw >= lDiag[0] && raw <= lDiag[1] ? g * L[k * dU + k] : 0;
        }
      }
    }
  }
  return { loss: loss / N, qMean: qSum / N, dV, dz, dl };
}
