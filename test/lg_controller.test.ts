import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CholeskyDecomposition, Matrix, determinant, inverse } from 'ml-matrix';
import { Rng } from '../src/util/rng.js';
import {
  absoluteOffset, actLG, controllerFromState, controllerToState, forwardPass, initController, trajectoryKL,
} from '../src/control/lg_controller.js';
import type { LinearGaussianController } from '../src/control/types.js';
import type { LinearGaussianDynamics } from '../src/model/types.js';

const randArr = (rng: Rng, n: number, s = 1) => Float64Array.from({ length: n }, () => s * rng.normal());

/** A random controller with PD covariances. */
function randomController(rng: Rng, T: number, dX: number, dU: number): LinearGaussianController {
  const cov: Float64Array[] = [], chol: Float64Array[] = [];
  for (let t = 0; t < T; t++) {
    const L = new Matrix(dU, dU);
    for (let i = 0; i < dU; i++) for (let j = 0; j <= i; j++) L.set(i, j, i === j ? 0.3 + Math.abs(rng.normal()) * 0.3 : 0.2 * rng.normal());
    chol.push(Float64Array.from(L.to1DArray()));
    cov.push(Float64Array.from(L.mmul(L.transpose()).to1DArray()));
  }
  const rep = (n: number, s: number) => Array.from({ length: T }, () => randArr(rng, n, s));
  return { T, dX, dU, K: rep(dU * dX, 0.3), k: rep(dU, 0.5), xHat: rep(dX, 1), uHat: rep(dU, 1), cov, chol };
}

function randomDynamics(rng: Rng, T: number, dX: number, dU: number): LinearGaussianDynamics {
  const F: Float64Array[] = [], f: Float64Array[] = [], N: Float64Array[] = [];
  for (let t = 0; t < T; t++) {
    const A = Matrix.eye(dX, dX + dU).mul(0.9).add(Matrix.from1DArray(dX, dX + dU, randArr(rng, dX * (dX + dU), 0.2)));
    F.push(Float64Array.from(A.to1DArray()));
    f.push(randArr(rng, dX, 0.3));
    const B = Matrix.from1DArray(dX, dX, randArr(rng, dX * dX, 0.1));
    N.push(Float64Array.from(B.mmul(B.transpose()).add(Matrix.eye(dX).mul(0.01)).to1DArray()));
  }
  const x0sigma = Float64Array.from(Matrix.eye(dX).mul(0.04).to1DArray());
  return { T, dX, dU, F, f, N, x0mu: randArr(rng, dX), x0sigma };
}

test('initController: zero mean, K = 0, covariance initVar·uMax² per joint (initVar a fraction of uMax²)', () => {
  const c = initController({ T: 4, dX: 3, dU: 2, uMax: Float64Array.of(2, 0.5), initVar: 0.25, x0: Float64Array.of(1, 2, 3) });
  assert.equal(c.K.length, 4);
  // std = sqrt(0.25) uMax = half of each joint's limit, whatever the limit (2 N·m and 0.5 N·m)
  assert.deepEqual(Array.from(c.cov[3]), [1, 0, 0, 0.0625]);
  assert.deepEqual(Array.from(c.chol[0]), [1, 0, 0, 0.25]);
  assert.deepEqual(Array.from(actLG(c, Float64Array.of(5, 5, 5), 2, null, Float64Array.of(2, 0.5))), [0, 0]);
  const full = initController({ T: 1, dX: 3, dU: 2, uMax: Float64Array.of(2, 0.5), initVar: 1, x0: Float64Array.of(1, 2, 3) });
  assert.deepEqual(Array.from(full.chol[0]), [2, 0, 0, 0.5], 'initVar 1: std = uMax');
  assert.throws(() => initController({ T: 4, dX: 3, dU: 2, uMax: Float64Array.of(2), initVar: 1, x0: new Float64Array(3) }), /uMax must be 2/);
  assert.throws(() => initController({ T: 4, dX: 3, dU: 2, uMax: Float64Array.of(2, 2), initVar: 0, x0: new Float64Array(3) }), /initVar is a fraction of uMax² and must be in \(0, 1\], got 0/);
  assert.throws(() => initController({ T: 4, dX: 3, dU: 2, uMax: Float64Array.of(2, 2), initVar: 1.5, x0: new Float64Array(3) }), /must be in \(0, 1\], got 1.5/);
});

test('actLG: mean is u_hat + k + K (x - x_hat) = K x + kAbs, samples have covariance Sigma, output clamped to ±uMax', () => {
  const rng = new Rng(2);
  const c = randomController(rng, 3, 4, 2);
  const big = Float64Array.of(1e9, 1e9);
  const x = randArr(rng, 4);
  const u = actLG(c, x, 1, null, big);
  const K = Matrix.from1DArray(2, 4, c.K[1]);
  const viaAbs = K.mmul(Matrix.columnVector(Array.from(x))).getColumn(0).map((v, i) => v + absoluteOffset(c, 1)[i]);
  for (let i = 0; i < 2; i++) assert.ok(Math.abs(u[i] - viaAbs[i]) < 1e-12);
  const n = 20000, S = new Matrix(2, 2);
  for (let s = 0; s < n; s++) {
    const d = actLG(c, x, 1, rng, big).map((v, i) => v - u[i]);
    for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) S.set(i, j, S.get(i, j) + (d[i] * d[j]) / n);
  }
  const cov = Matrix.from1DArray(2, 2, c.cov[1]);
  assert.ok(S.clone().sub(cov).norm() / cov.norm() < 0.05, 'sample covariance matches Sigma_1');

  const uMax = Float64Array.of(0.2, 0.3);
  c.k[0] = Float64Array.of(100, -100);
  assert.deepEqual(Array.from(actLG(c, x, 0, null, uMax)), [0.2, -0.3]);
  for (let s = 0; s < 200; s++) {
    const v = actLG(c, x, 2, rng, uMax);
    assert.ok(Math.abs(v[0]) <= 0.2 && Math.abs(v[1]) <= 0.3);
  }
  assert.throws(() => actLG(c, x, 3, null, uMax), /t must be an integer in \[0, 3\)/);
  assert.throws(() => actLG(c, Float64Array.of(NaN, 0, 0, 0), 0, null, uMax), /x must be 4 finite numbers/);
});

test('forwardPass matches Monte-Carlo rollouts of the controller through the dynamics', () => {
  const rng = new Rng(8);
  const T = 5, dX = 2, dU = 1, D = dX + dU;
  const c = randomController(rng, T, dX, dU), dyn = randomDynamics(rng, T, dX, dU);
  const marg = forwardPass(c, dyn);
  const n = 20000, big = Float64Array.of(1e9);
  const sum = Array.from({ length: T }, () => new Float64Array(D)), sq = Array.from({ length: T }, () => new Float64Array(D * D));
  const L0 = Math.sqrt(0.04);
  const Ln = dyn.N.map((N) => new CholeskyDecomposition(Matrix.from1DArray(dX, dX, N)).lowerTriangularMatrix);
  for (let s = 0; s < n; s++) {
    let x = Float64Array.from(dyn.x0mu, (m) => m + L0 * rng.normal());
    for (let t = 0; t < T; t++) {
      const u = actLG(c, x, t, rng, big);
      const y = [...x, ...u];
      for (let i = 0; i < D; i++) {
        sum[t][i] += y[i] / n;
        for (let j = 0; j < D; j++) sq[t][i * D + j] += (y[i] * y[j]) / n;
      }
      const mean = Matrix.from1DArray(dX, D, dyn.F[t]).mmul(Matrix.columnVector(y)).getColumn(0);
      const z = Ln[t].mmul(Matrix.columnVector(Array.from(rng.normals(new Float64Array(dX))))).getColumn(0);
      x = Float64Array.from(mean, (m, i) => m + dyn.f[t][i] + z[i]);
    }
  }
  for (let t = 0; t < T; t++) {
    for (let i = 0; i < D; i++) {
      const sd = Math.sqrt(marg.sigma[t][i * D + i]);
      assert.ok(Math.abs(sum[t][i] - marg.mu[t][i]) < 0.05 * sd + 1e-3, `mean t=${t} i=${i}`);
      for (let j = 0; j < D; j++) {
        const cov = sq[t][i * D + j] - sum[t][i] * sum[t][j];
        const scale = Math.sqrt(marg.sigma[t][i * D + i] * marg.sigma[t][j * D + j]);
        assert.ok(Math.abs(cov - marg.sigma[t][i * D + j]) < 0.05 * scale, `cov t=${t} (${i},${j})`);
      }
    }
  }
});

test('trajectoryKL: zero for the same controller, equals the closed-form Gaussian KL averaged over the new state marginals', () => {
  const rng = new Rng(13);
  const T = 4, dX = 3, dU = 2;
  const dyn = randomDynamics(rng, T, dX, dU);
  const a = randomController(rng, T, dX, dU), b = randomController(rng, T, dX, dU);
  assert.ok(trajectoryKL(dyn, a, a).total < 1e-10);
  const { total, perStep } = trajectoryKL(dyn, a, b);
  const marg = forwardPass(a, dyn);
  // KL(N(Ka x + ka, Sa) || N(Kb x + kb, Sb)) averaged over x ~ N(mu_x, Sigma_x) (GPS traj_distr_kl_alt).
  let want = 0;
  for (let t = 0; t < T; t++) {
    const Sa = Matrix.from1DArray(dU, dU, a.cov[t]), Sb = Matrix.from1DArray(dU, dU, b.cov[t]);
    const Pb = inverse(Sb);
    const dK = Matrix.from1DArray(dU, dX, b.K[t]).sub(Matrix.from1DArray(dU, dX, a.K[t]));
    const dk = Matrix.columnVector(Array.from(absoluteOffset(b, t))).sub(Matrix.columnVector(Array.from(absoluteOffset(a, t))));
    const D = dX + dU;
    const mx = Matrix.columnVector(Array.from(marg.mu[t].slice(0, dX)));
    const Sx = Matrix.from1DArray(D, D, marg.sigma[t]).subMatrix(0, dX - 1, 0, dX - 1);
    const dm = dK.mmul(mx).add(dk);
    const kl = 0.5 * (Math.log(determinant(Sb) / determinant(Sa)) - dU + Pb.mmul(Sa).trace() + dm.transpose().mmul(Pb).mmul(dm).get(0, 0)
      + dK.transpose().mmul(Pb).mmul(dK).mmul(Sx).trace());
    assert.ok(Math.abs(perStep[t] - Math.max(0, kl)) < 1e-9 * (1 + kl), `step ${t}: ${perStep[t]} vs ${kl}`);
    want += Math.max(0, kl);
  }
  assert.ok(Math.abs(total - want) < 1e-9 * (1 + want));
  assert.ok(total > 0);
});

test('controller state round-trips through JSON and malformed state is rejected', () => {
  const c = randomController(new Rng(1), 3, 2, 2);
  const back = controllerFromState(JSON.parse(JSON.stringify(controllerToState(c))));
  assert.deepEqual(back.K.map((r) => Array.from(r)), c.K.map((r) => Array.from(r)));
  assert.deepEqual(back.chol.map((r) => Array.from(r)), c.chol.map((r) => Array.from(r)));
  const bad = controllerToState(c);
  bad.cov[1] = [1, 2, 3];
  assert.throws(() => controllerFromState(bad), /field cov must be 3 rows of 4 finite numbers/);
});
