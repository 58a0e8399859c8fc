/**
 * Gaussian fitting with a normal-inverse-Wishart (NIW) prior and Gaussian conditioning, the core
 * of the time-varying linear-Gaussian dynamics fit (paper Sec. 5.3), plus the small symmetric
 * positive-definite helpers the LQR/iLQG code shares. All linear algebra goes through ml-matrix.
 *
 * Reference: Guided Policy Search (github.com/cbfinn/gps), `algorithm_utils.py::gauss_fit_joint_prior`
 * and `utility/gmm.py::GMM.inference` (single-cluster case), `dynamics/dynamics_prior_gmm.py::eval`.
 */
import { CholeskyDecomposition, Matrix } from 'ml-matrix';

/** A NIW prior on a D-dimensional Gaussian: mean mu0 [D], scale Phi [D,D], pseudo-counts m, n0. */
export interface NiwPrior {
  mu0: Float64Array;
  Phi: Matrix;
  m: number;
  n0: number;
}

/** ½ (A + Aᵀ): exactly symmetric (IEEE addition commutes), as ml-matrix's Cholesky requires. */
export function symmetrize(A: Matrix): Matrix {
  return A.clone().add(A.transpose()).mul(0.5);
}

/**
 * Lower Cholesky factor L (A = L Lᵀ) of a symmetric matrix, or null when A is not positive
 * definite (or has non-finite entries). A is symmetrised first.
 */
export function choleskyLower(A: Matrix): Matrix | null {
  const S = symmetrize(A);
  for (let i = 0; i < S.rows; i++) {
    for (let j = 0; j < S.columns; j++) if (!Number.isFinite(S.get(i, j))) return null;
  }
  const c = new CholeskyDecomposition(S);
  return c.isPositiveDefinite() ? c.lowerTriangularMatrix : null;
}

/**
 * X = A⁻¹ B for symmetric positive-definite A [n,n], B [n,k], by Cholesky (ml-matrix).
 * @throws RangeError `what` is not positive definite.
 */
export function spdSolve(A: Matrix, B: Matrix, what = 'matrix'): Matrix {
  const S = symmetrize(A);
  const c = new CholeskyDecomposition(S);
  if (!c.isPositiveDefinite()) throw new RangeError(`${what} is not positive definite`);
  return c.solve(B);
}

/** A⁻¹ for symmetric positive-definite A, symmetrised. @throws RangeError when A is not PD. */
export function spdInverse(A: Matrix, what = 'matrix'): Matrix {
  return symmetrize(spdSolve(A, Matrix.eye(A.rows), what));
}

/** log det A from its lower Cholesky factor L: 2 Σ log L_ii. */
export function logDetFromChol(L: Matrix): number {
  let s = 0;
  for (let i = 0; i < L.rows; i++) s += Math.log(L.get(i, i));
  return 2 * s;
}

/**
 * Rows [n, D] → mean [D] and maximum-likelihood covariance [D,D] (divides by n, as GPS's GMM and
 * `gauss_fit_joint_prior` with weights 1/n). @throws RangeError when there are no rows.
 */
export function meanAndCovariance(Y: Matrix): { mu: Float64Array; sigma: Matrix } {
  const n = Y.rows;
  if (n < 1) throw new RangeError('meanAndCovariance: need at least one row');
  const mu = Float64Array.from(Y.mean('column'));
  const diff = Y.clone().subRowVector(Array.from(mu));
  const sigma = symmetrize(diff.transpose().mmul(diff).mul(1 / n));
  return { mu, sigma };
}

/**
 * The NIW prior GPS's `DynamicsPriorGMM` yields with a single cluster: mu0 = pooled mean,
 * Phi = strength · (pooled covariance + 1e-6 I), m = strength, n0 = strength · (P − 2 − D) / P,
 * where P is the number of pooled points and D their dimension (`GMM.inference`: m = P/P,
 * n0 = (P − 2 − D)/P; `DynamicsPriorGMM.eval`: n0, m ×= strength, Phi ×= m). The prior acts
 * like ≈ `strength` pseudo-observations drawn from the pooled distribution.
 * @param pooled [P, D] points [x_t; u_t; x_{t+1}] from all time steps of all kept episodes.
 * @throws RangeError when strength <= 0 or fewer than 2 points.
 */
export function pooledNiwPrior(pooled: Matrix, strength: number): NiwPrior {
  if (!(strength > 0) || !Number.isFinite(strength)) {
    throw new RangeError(`pooledNiwPrior: strength must be a positive number, got ${strength}`);
  }
  if (pooled.rows < 2) throw new RangeError(`pooledNiwPrior: need >= 2 pooled points, got ${pooled.rows}`);
  const P = pooled.rows;
  const D = pooled.columns;
  const { mu, sigma } = meanAndCovariance(pooled);
  // GMM M-step regularisation (gmm.py: "+ 1e-6 * np.eye(Do)").
  const Phi = sigma.add(Matrix.eye(D).mul(1e-6)).mul(strength);
  return { mu0: mu, Phi, m: strength, n0: (strength * (P - 2 - D)) / P };
}

/** p(y | z) = N(F z + f, N) for the split z = Y[:, :dIn], y = Y[:, dIn:]. */
export interface ConditionalGaussian {
  /** [dOut, dIn] */
  F: Matrix;
  /** [dOut] */
  f: Float64Array;
  /** [dOut, dOut] symmetric */
  N: Matrix;
}

/**
 * MAP Gaussian fit of points Y [n, D] under a NIW prior, then conditioning of the last D − dIn
 * coordinates on the first dIn (GPS `gauss_fit_joint_prior`, equal weights 1/n):
 *   Σ = (n Σ̂ + Phi + n m/(n + m) (μ̂ − mu0)(μ̂ − mu0)ᵀ) / (n + n0), symmetrised;
 *   Σ[in,in] += regularization·I;  μ = μ̂ (GPS keeps the empirical mean);
 *   F = (Σ[in,in]⁻¹ Σ[in,out])ᵀ,  f = μ[out] − F μ[in],  N = Σ[out,out] − F Σ[in,in] Fᵀ (symmetrised).
 * @throws RangeError on shape mismatch or when Σ[in,in] is not positive definite.
 */
export function gaussFitJointPrior(
  Y: Matrix,
  prior: NiwPrior,
  dIn: number,
  regularization: number,
): ConditionalGaussian {
  const n = Y.rows;
  const D = Y.columns;
  if (prior.mu0.length !== D || prior.Phi.rows !== D) {
    throw new RangeError(`gaussFitJointPrior: prior dimension ${prior.mu0.length} != data dimension ${D}`);
  }
  if (!(dIn > 0 && dIn < D)) throw new RangeError(`gaussFitJointPrior: dIn must be in (0, ${D}), got ${dIn}`);
  const { mu, sigma: empsig } = meanAndCovariance(Y);
  const d = Matrix.columnVector(Array.from(mu, (v, i) => v - prior.mu0[i]));
  const sigma = empsig
    .mul(n)
    .add(prior.Phi)
    .add(d.mmul(d.transpose()).mul((n * prior.m) / (n + prior.m)))
    .mul(1 / (n + prior.n0));
  const S = symmetrize(sigma);
  for (let i = 0; i < dIn; i++) S.set(i, i, S.get(i, i) + regularization);
  return conditionGaussian(mu, S, dIn);
}

/**
 * Conditions N(mu, S) (S [D,D]) on its first dIn coordinates: the linear-Gaussian p(y | z) above.
 * @throws RangeError when S[in,in] is not positive definite.
 */
export function conditionGaussian(mu: Float64Array, S: Matrix, dIn: number): ConditionalGaussian {
  const D = S.rows;
  const Sii = S.subMatrix(0, dIn - 1, 0, dIn - 1);
  const Sio = S.subMatrix(0, dIn - 1, dIn, D - 1);
  const Soo = S.subMatrix(dIn, D - 1, dIn, D - 1);
  const F = spdSolve(Sii, Sio, 'Sigma[xu,xu]').transpose();
  const muIn = Matrix.columnVector(Array.from(mu.subarray(0, dIn)));
  const Fmu = F.mmul(muIn).getColumn(0);
  const f = Float64Array.from(mu.subarray(dIn), (v, i) => v - Fmu[i]);
  const N = symmetrize(Soo.sub(F.mmul(Sii).mmul(F.transpose())));
  return { F, f, N };
}
