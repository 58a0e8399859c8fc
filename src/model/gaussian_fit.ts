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
 * n0 = (P − 2 − D)/P, floored at 0 here; `DynamicsPriorGMM.eval`: n0, m ×= strength, Phi ×= m). The prior acts
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
  // n0 floored at 0 (GPS does not): with fewer than D + 2 pooled points it would go negative.
  return { mu0: mu, Phi, m: strength, n0: Math.max(0, (strength * (P - 2 - D)) / P) };
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

/** Plain-array state of a `GaussianMixture` (JSON-safe). */
export interface GmmState {
  mu: number[][];
  sigma: number[][];
  logmass: number[];
  N: number;
}

/**
 * Gaussian mixture fitted by EM over [x_t; u_t; x_{t+1}] points, used as the dynamics prior of
 * GPS `DynamicsPriorGMM` (Levine, Finn et al. 2016, "End-to-end training of deep visuomotor
 * policies", appendix A.3; GPS `utility/gmm.py`): + 1e-6 I after each M-step, tiny clusters
 * rebooted, warm start when K is unchanged; stops when the log-likelihood decreases or changes by
 * < 1e-5 relative. Two deliberate deviations: GPS assigns points to clusters uniformly at random,
 * which starts every cluster at the global mean (a symmetric saddle EM barely leaves), so we
 * assign each point to the nearest of K random data points instead; and GPS's `moments`
 * multiplies by mu_k instead of (mu_k − mu0) in the spread term, fixed here.
 */
export class GaussianMixture {
  mu: Float64Array[] = [];
  sigma: Matrix[] = [];
  logmass: Float64Array = new Float64Array(0);
  /** Number of points at the last (re)initialisation (GPS `self.N`, sets the prior's n0). */
  N = 0;

  /** @param uniform random numbers in [0, 1) for the initial assignment (e.g. `() => rng.uniform()`) */
  constructor(private readonly uniform: () => number) {}

  get K(): number {
    return this.mu.length;
  }

  /** EM on data [n, D] with K clusters. @throws RangeError when n < K or K < 1. */
  update(data: Matrix, K: number, maxIterations = 100): void {
    const n = data.rows, D = data.columns;
    if (!(K >= 1) || n < K) throw new RangeError(`GaussianMixture.update: need 1 <= K <= n points, got K=${K}, n=${n}`);
    const rows = Array.from({ length: n }, (_, i) => Float64Array.from(data.getRow(i)));
    if (this.K !== K || this.mu[0]?.length !== D) {
      // Initialisation: each point goes to the nearest (per-dimension standardised distance) of K
      // distinct random data points; every cluster starts with the pooled covariance + 2e-6 I.
      this.N = n;
      const pooled = meanAndCovariance(data);
      const sd = Array.from({ length: D }, (_, a) => Math.sqrt(pooled.sigma.get(a, a)) || 1);
      const order = Array.from({ length: n }, (_, i) => i);
      for (let i = 0; i < K; i++) { // partial Fisher-Yates: K distinct indices
        const j = i + Math.min(n - 1 - i, Math.floor(this.uniform() * (n - i)));
        [order[i], order[j]] = [order[j], order[i]];
      }
      const centres = order.slice(0, K);
      const sums = centres.map(() => new Float64Array(D)), counts = new Float64Array(K);
      for (const r of rows) {
        let best = 0, bestD = Infinity;
        centres.forEach((c, k) => {
          let d2 = 0;
          for (let a = 0; a < D; a++) d2 += ((r[a] - rows[c][a]) / sd[a]) ** 2;
          if (d2 < bestD) { bestD = d2; best = k; }
        });
        counts[best]++;
        for (let a = 0; a < D; a++) sums[best][a] += r[a];
      }
      this.mu = centres.map((c, k) => (counts[k] ? sums[k].map((v) => v / counts[k]) : rows[c].slice()));
      this.sigma = centres.map(() => pooled.sigma.clone().add(Matrix.eye(D).mul(2e-6)));
      this.logmass = new Float64Array(K).fill(Math.log(1 / K));
    }
    let prevll = -Infinity;
    for (let itr = 0; itr < maxIterations; itr++) {
      const logobs = this.estep(rows);
      const rowLse = logobs.map(logSumExp);
      const ll = rowLse.reduce((s, v) => s + v, 0);
      if (ll < prevll || Math.abs(ll - prevll) < 1e-5 * Math.abs(prevll)) break;
      prevll = ll;
      const logw = logobs.map((r, i) => r.map((v) => v - rowLse[i])); // responsibilities
      const colLse = Array.from({ length: K }, (_, k) => logSumExp(logw.map((r) => r[k])));
      const massLse = logSumExp(Float64Array.from(colLse));
      const w = new Float64Array(n), d = new Float64Array(D);
      for (let k = 0; k < K; k++) {
        this.logmass[k] = colLse[k] - massLse;
        const reboot = Math.exp(this.logmass[k]) < 1e-4 / K;
        for (let i = 0; i < n; i++) w[i] = reboot ? 1 / n : Math.exp(logw[i][k] - colLse[k]);
        const mu = new Float64Array(D), S = new Float64Array(D * D);
        for (let i = 0; i < n; i++) for (let a = 0; a < D; a++) mu[a] += w[i] * rows[i][a];
        for (let i = 0; i < n; i++) {
          if (w[i] < 1e-14) continue; // negligible next to the 1e-6 regularisation
          const r = rows[i];
          for (let a = 0; a < D; a++) d[a] = r[a] - mu[a];
          for (let a = 0; a < D; a++) {
            const wa = w[i] * d[a];
            for (let b = 0; b <= a; b++) S[a * D + b] += wa * d[b];
          }
        }
        for (let a = 0; a < D; a++) {
          S[a * D + a] += 1e-6;
          for (let b = 0; b < a; b++) S[b * D + a] = S[a * D + b];
        }
        this.mu[k] = mu;
        this.sigma[k] = Matrix.from1DArray(D, D, S);
      }
    }
  }

  /** log(mass_k N(x_i | mu_k, Sigma_k)) for every point and cluster: [n][K]. */
  estep(rows: Float64Array[]): Float64Array[] {
    const D = this.mu[0].length, out = rows.map(() => new Float64Array(this.K));
    const z = new Float64Array(D);
    for (let k = 0; k < this.K; k++) {
      const Lm = choleskyLower(this.sigma[k]);
      if (!Lm) throw new RangeError(`GaussianMixture: covariance of cluster ${k} is not positive definite`);
      const L = Float64Array.from(Lm.to1DArray()), mu = this.mu[k];
      const logdet = logDetFromChol(Lm);
      rows.forEach((x, i) => {
        let q = 0; // ‖L⁻¹ (x − mu)‖² by forward substitution with the Cholesky factor
        for (let a = 0; a < D; a++) {
          let s = x[a] - mu[a];
          for (let b = 0; b < a; b++) s -= L[a * D + b] * z[b];
          z[a] = s / L[a * D + a];
          q += z[a] * z[a];
        }
        out[i][k] = -0.5 * (D * Math.log(2 * Math.PI) + logdet + q) + this.logmass[k];
      });
    }
    return out;
  }

  /**
   * NIW prior for query points [n, D] (GPS `GMM.inference` then `DynamicsPriorGMM.eval`): cluster
   * weights = responsibilities averaged over the points; mu0 = Σ w_k mu_k,
   * Phi = Σ w_k (Sigma_k + (mu_k − mu0)(mu_k − mu0)ᵀ); m = 1, n0 = (N − 2 − D)/N; then n0, m ×= strength
   * and Phi ×= m. @throws Error before the first update.
   */
  prior(pts: Matrix, strength: number): NiwPrior {
    if (this.K === 0) throw new Error('GaussianMixture.prior: the mixture has not been fitted');
    const D = this.mu[0].length;
    const logobs = this.estep(Array.from({ length: pts.rows }, (_, i) => Float64Array.from(pts.getRow(i))));
    const logw = logobs.map((r) => { const l = logSumExp(r); return r.map((v) => v - l); });
    const wts = Array.from({ length: this.K }, (_, k) => Math.exp(logSumExp(logw.map((r) => r[k])) - Math.log(pts.rows)));
    const mu0 = new Float64Array(D);
    wts.forEach((w, k) => { for (let a = 0; a < D; a++) mu0[a] += w * this.mu[k][a]; });
    const Phi = new Matrix(D, D);
    wts.forEach((w, k) => {
      const d = Matrix.columnVector(Array.from(this.mu[k], (v, a) => v - mu0[a]));
      Phi.add(this.sigma[k].clone().add(d.mmul(d.transpose())).mul(w));
    });
    const m = strength, n0 = Math.max(0, (strength * (this.N - 2 - D)) / this.N);
    return { mu0, Phi: symmetrize(Phi).mul(m), m, n0 };
  }

  getState(): GmmState {
    return { mu: this.mu.map((v) => Array.from(v)), sigma: this.sigma.map((S) => S.to1DArray()), logmass: Array.from(this.logmass), N: this.N };
  }

  setState(s: GmmState): void {
    const D = s.mu[0]?.length ?? 0;
    this.mu = s.mu.map((v) => Float64Array.from(v));
    this.sigma = s.sigma.map((v) => Matrix.from1DArray(D, D, v));
    this.logmass = Float64Array.from(s.logmass);
    this.N = s.N;
  }
}

function logSumExp(v: ArrayLike<number>): number {
  let m = -Infinity;
  for (let i = 0; i < v.length; i++) m = Math.max(m, v[i]);
  if (m === -Infinity) return -Infinity;
  let s = 0;
  for (let i = 0; i < v.length; i++) s += Math.exp(v[i] - m);
  return m + Math.log(s);
}
