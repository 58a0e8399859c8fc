import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Matrix } from 'ml-matrix';
import { Rng } from '../src/util/rng.js';
import { TvlgDynamics } from '../src/model/tvlg.js';
import { choleskyLower, GaussianMixture } from '../src/model/gaussian_fit.js';
import type { Trajectory } from '../src/model/types.js';

/** A known time-varying linear-Gaussian system: F_t [dX, dX+dU], f_t [dX], chol(N_t) [dX, dX]. */
function makeSystem(rng: Rng, T: number, dX: number, dU: number, noise: number) {
  const F: Matrix[] = [], f: Float64Array[] = [], L: Matrix[] = [];
  for (let t = 0; t < T; t++) {
    const A = Matrix.eye(dX, dX + dU).mul(0.9);
    for (let i = 0; i < dX; i++) for (let j = 0; j < dX + dU; j++) A.set(i, j, A.get(i, j) + (0.3 / Math.sqrt(dX)) * rng.normal());
    F.push(A);
    f.push(Float64Array.from({ length: dX }, () => 0.3 * rng.normal()));
    const l = new Matrix(dX, dX);
    for (let i = 0; i < dX; i++) for (let j = 0; j <= i; j++) l.set(i, j, i === j ? noise * (1 + 0.5 * rng.uniform()) : 0.3 * noise * rng.normal());
    L.push(l);
  }
  return { F, f, L };
}

function rollout(sys: ReturnType<typeof makeSystem>, rng: Rng, T: number, dX: number, dU: number, x0std: number): Trajectory {
  const x = [Float64Array.from({ length: dX }, () => x0std * rng.normal())];
  const u: Float64Array[] = [];
  for (let t = 0; t < T; t++) {
    u.push(Float64Array.from({ length: dU }, () => rng.normal()));
    const y = Matrix.columnVector([...x[t], ...u[t]]);
    const z = Matrix.columnVector(Array.from(rng.normals(new Float64Array(dX))));
    const next = sys.F[t].mmul(y).add(sys.L[t].mmul(z)).getColumn(0).map((v, i) => v + sys.f[t][i]);
    x.push(Float64Array.from(next));
  }
  return { x, u };
}

test('TvlgDynamics recovers a known time-varying linear-Gaussian system from many episodes', () => {
  const rng = new Rng(11);
  const T = 4, dX = 3, dU = 2;
  const sys = makeSystem(rng, T, dX, dU, 0.1);
  const eps = Array.from({ length: 3000 }, () => rollout(sys, rng, T, dX, dU, 1));
  const model = new TvlgDynamics({ T, dX, dU, priorStrength: 1, regularization: 1e-6 });
  const rep = model.fit(eps);
  const p = model.params();
  for (let t = 0; t < T; t++) {
    const F = Matrix.from1DArray(dX, dX + dU, p.F[t]);
    const errF = F.clone().sub(sys.F[t]).abs().max();
    assert.ok(errF < 0.01, `F_${t} max abs error ${errF}`);
    for (let i = 0; i < dX; i++) assert.ok(Math.abs(p.f[t][i] - sys.f[t][i]) < 0.01, `f_${t}[${i}]`);
    const Ntrue = sys.L[t].mmul(sys.L[t].transpose());
    const N = Matrix.from1DArray(dX, dX, p.N[t]);
    const relN = N.clone().sub(Ntrue).norm() / Ntrue.norm();
    assert.ok(relN < 0.1, `N_${t} relative error ${relN}`);
  }
  // The one-step error of the mean is the noise variance (trace N / dX), not more.
  const noiseVar = sys.L.reduce((s, l) => s + l.mmul(l.transpose()).trace(), 0) / (T * dX);
  assert.ok(rep.oneStepMse < noiseVar * 1.1 && rep.oneStepMse > noiseVar * 0.9, `mse ${rep.oneStepMse} vs noise ${noiseVar}`);
  assert.ok(rep.ms >= 0);
});

test('TvlgDynamics with 5 episodes in dX=11, dU=3: finite, positive definite, predicts held-out data', () => {
  const rng = new Rng(5);
  const T = 100, dX = 11, dU = 3;
  const base = makeSystem(rng, 1, dX, dU, 0.02);
  // Slowly varying system (the prior pools over time, so the per-step fit can use it).
  const sys = { F: Array(T).fill(base.F[0]), f: Array(T).fill(base.f[0]), L: Array(T).fill(base.L[0]) };
  const eps = Array.from({ length: 5 }, () => rollout(sys, rng, T, dX, dU, 0.01));
  const model = new TvlgDynamics({ T, dX, dU });
  model.fit(eps);
  const p = model.params();
  for (let t = 0; t < T; t++) {
    assert.ok(p.F[t].every(Number.isFinite) && p.f[t].every(Number.isFinite) && p.N[t].every(Number.isFinite), `finite at ${t}`);
    assert.ok(choleskyLower(Matrix.from1DArray(dX, dX, p.N[t])) !== null, `N_${t} PD`);
  }
  assert.ok(choleskyLower(Matrix.from1DArray(dX, dX, p.x0sigma)) !== null, 'x0sigma PD');
  // Held-out episodes: the one-step error is close to the true noise level (trace N / dX).
  const test = Array.from({ length: 5 }, () => rollout(sys, rng, T, dX, dU, 0.01));
  const noiseVar = base.L[0].mmul(base.L[0].transpose()).trace() / dX;
  const mse = model.oneStepMse(test);
  assert.ok(mse < 3 * noiseVar, `held-out mse ${mse} vs noise variance ${noiseVar}`);
});

test('TvlgDynamics.step samples with covariance N_t; state round-trips through JSON', () => {
  const rng = new Rng(3);
  const T = 3, dX = 2, dU = 1;
  const sys = makeSystem(rng, T, dX, dU, 0.3);
  const model = new TvlgDynamics({ T, dX, dU });
  model.fit(Array.from({ length: 50 }, () => rollout(sys, rng, T, dX, dU, 1)));
  const x = Float64Array.of(0.5, -0.2), u = Float64Array.of(0.3);
  const mean = model.step(x, u, 1);
  const n = 20000, s = new Matrix(dX, dX);
  for (let k = 0; k < n; k++) {
    const d = model.step(x, u, 1, rng).map((v, i) => v - mean[i]);
    for (let i = 0; i < dX; i++) for (let j = 0; j < dX; j++) s.set(i, j, s.get(i, j) + (d[i] * d[j]) / n);
  }
  const N = Matrix.from1DArray(dX, dX, model.params().N[1]);
  assert.ok(s.clone().sub(N).norm() / N.norm() < 0.05, 'sample covariance matches N_1');

  const copy = new TvlgDynamics({ T, dX, dU });
  copy.setState(JSON.parse(JSON.stringify(model.getState())));
  assert.ok(copy.ready);
  assert.deepEqual(Array.from(copy.step(x, u, 2)), Array.from(model.step(x, u, 2)));
  assert.throws(() => new TvlgDynamics({ T: 4, dX, dU }).setState(model.getState()), /dimensions/);
});

test('TvlgDynamics rejects bad input with clear errors', () => {
  const model = new TvlgDynamics({ T: 3, dX: 2, dU: 1 });
  const ep = (T: number): Trajectory => ({
    x: Array.from({ length: T + 1 }, () => new Float64Array(2)),
    u: Array.from({ length: T }, () => new Float64Array(1)),
  });
  assert.equal(model.ready, false);
  assert.throws(() => model.step(new Float64Array(2), new Float64Array(1), 0), /not been fitted/);
  assert.throws(() => model.fit([ep(3)]), /need >= 2 episodes/);
  assert.throws(() => model.fit([ep(3), ep(4)]), /episode 1 has 5 states \/ 4 actions, expected T\+1=4 \/ T=3/);
  const bad = ep(3);
  bad.x[2][0] = NaN;
  assert.throws(() => model.fit([ep(3), bad]), /not 2 finite numbers/);
  const rng = new Rng(1);
  const sys = makeSystem(rng, 3, 2, 1, 0.1);
  model.fit([0, 1, 2].map(() => rollout(sys, rng, 3, 2, 1, 1)));
  assert.throws(() => model.step(new Float64Array(2), new Float64Array(1), 3), /RangeError|t must be/);
  assert.throws(() => new TvlgDynamics({ T: 0, dX: 2, dU: 1 }), /T must be a positive integer/);
});

/** Two independent damped pendulums (θ'' = −10 sin θ − 0.1 θ' + u), swinging through large angles. */
function pendulumEpisode(rng: Rng, T: number, phase: number): Trajectory {
  const nP = 2, dt = 0.05;
  const x = [Float64Array.of(2.5 + 0.01 * rng.normal(), 2.5 + 0.01 * rng.normal(), 0.01 * rng.normal(), 0.01 * rng.normal())];
  const u: Float64Array[] = [];
  for (let t = 0; t < T; t++) {
    const ut = Float64Array.from({ length: nP }, (_, i) => 2 * Math.sin(0.2 * t + phase + i) + 0.5 * rng.normal());
    u.push(ut);
    const y = new Float64Array(2 * nP);
    for (let i = 0; i < nP; i++) {
      const w = x[t][nP + i] + dt * (-10 * Math.sin(x[t][i]) - 0.1 * x[t][nP + i] + ut[i]);
      y[nP + i] = w + 1e-3 * rng.normal();
      y[i] = x[t][i] + dt * y[nP + i] + 1e-3 * rng.normal();
    }
    x.push(y);
  }
  return { x, u };
}

test('GMM prior (GPS DynamicsPriorGMM) beats the pooled prior on a nonlinear system; its state round-trips', () => {
  const T = 30, dX = 4, dU = 2;
  const mse: Record<string, number> = {};
  let gmmModel: TvlgDynamics | null = null;
  for (const prior of ['pooled', 'gmm'] as const) {
    const rng = new Rng(7);
    const model = new TvlgDynamics({ T, dX, dU, prior, seed: 3 });
    for (let it = 0; it < 3; it++) model.fit(Array.from({ length: 5 }, () => pendulumEpisode(rng, T, 0.3 * it)));
    mse[prior] = model.oneStepMse(Array.from({ length: 5 }, () => pendulumEpisode(rng, T, 0.6)));
    if (prior === 'gmm') gmmModel = model;
  }
  assert.ok(mse.gmm < 0.3 * mse.pooled, `held-out mse gmm ${mse.gmm} vs pooled ${mse.pooled}`);
  // Restoring the state (incl. the mixture and its rng) and refitting gives the same model.
  const copy = new TvlgDynamics({ T, dX, dU, prior: 'gmm', seed: 99 });
  copy.setState(JSON.parse(JSON.stringify(gmmModel!.getState())));
  const batch = Array.from({ length: 5 }, () => pendulumEpisode(new Rng(5), T, 0.9));
  gmmModel!.fit(batch);
  copy.fit(batch);
  assert.deepEqual(Array.from(copy.params().F[10]), Array.from(gmmModel!.params().F[10]));
});

test('GaussianMixture EM separates well-separated clusters', () => {
  const rng = new Rng(4);
  const centres = [[0, 0], [5, 5], [-5, 4]];
  const pts = Array.from({ length: 300 }, (_, i) => centres[i % 3].map((c) => c + 0.3 * rng.normal()));
  const gmm = new GaussianMixture(() => rng.uniform());
  gmm.update(new Matrix(pts), 3);
  for (const c of centres) {
    const nearest = Math.min(...gmm.mu.map((m) => Math.hypot(m[0] - c[0], m[1] - c[1])));
    assert.ok(nearest < 0.1, `a cluster mean near (${c})`);
  }
  const masses = Array.from(gmm.logmass, Math.exp);
  assert.ok(masses.every((m) => Math.abs(m - 1 / 3) < 0.02), `masses ${masses}`);
  // The prior of points from one cluster is (close to) that cluster.
  const prior = gmm.prior(new Matrix([[5.1, 4.9], [4.9, 5.2]]), 1);
  assert.ok(Math.hypot(prior.mu0[0] - 5, prior.mu0[1] - 5) < 0.1);
  assert.ok(Math.abs(prior.Phi.get(0, 0) - 0.09) < 0.03, `Phi ${prior.Phi.get(0, 0)}`);
});
