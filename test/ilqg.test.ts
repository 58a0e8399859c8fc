import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Rng } from '../src/util/rng.js';
import { adaptStepMult, ilqgStep, laplaceReturn, type RewardExpansionFn } from '../src/control/ilqg.js';
import { backwardPass, quadratizeReward } from '../src/control/lqr.js';
import { absoluteOffset, actLG, forwardPass, initController, trajectoryKL } from '../src/control/lg_controller.js';
import { TvlgDynamics } from '../src/model/tvlg.js';
import type { LinearGaussianDynamics, Trajectory } from '../src/model/types.js';

/**
 * Planar point mass, x = [p (m, 2); v (m/s, 2)], u = force (N, 2), dt = 0.1 s, unit mass.
 * F_t [x; u] + f_t with f_t = 0, small process noise.
 */
const dt = 0.1, T = 30, dX = 4, dU = 2;
const target = Float64Array.of(1, -0.5);
function pointMass(): LinearGaussianDynamics {
  const F = new Float64Array(dX * (dX + dU));
  const set = (i: number, j: number, v: number) => { F[i * (dX + dU) + j] = v; };
  for (let i = 0; i < 2; i++) {
    set(i, i, 1); set(i, 2 + i, dt); set(i, 4 + i, 0.5 * dt * dt);
    set(2 + i, 2 + i, 1); set(2 + i, 4 + i, dt);
  }
  const N = new Float64Array(dX * dX);
  for (let i = 0; i < dX; i++) N[i * dX + i] = 1e-4;
  const x0sigma = new Float64Array(dX * dX);
  for (let i = 0; i < dX; i++) x0sigma[i * dX + i] = 1e-4;
  return { T, dX, dU, F: Array(T).fill(F), f: Array(T).fill(new Float64Array(dX)), N: Array(T).fill(N), x0mu: new Float64Array(dX), x0sigma };
}

/** r = -½ (|p - target|² + 0.1 |v|² + 0.01 |u|²): quadratic, so expansions are exact. */
const quadReward: RewardExpansionFn = (x, u) => {
  const d = [x[0] - target[0], x[1] - target[1]];
  const r = -0.5 * (d[0] ** 2 + d[1] ** 2 + 0.1 * (x[2] ** 2 + x[3] ** 2) + 0.01 * (u[0] ** 2 + u[1] ** 2));
  const rxx = new Float64Array(16);
  rxx[0] = rxx[5] = -1;
  rxx[10] = rxx[15] = -0.1;
  return {
    r, rx: Float64Array.of(-d[0], -d[1], -0.1 * x[2], -0.1 * x[3]), ru: Float64Array.of(-0.01 * u[0], -0.01 * u[1]),
    rxx, ruu: Float64Array.of(-0.01, 0, 0, -0.01), rux: new Float64Array(dU * dX),
  };
};

const uMax = Float64Array.of(50, 50);
/** Initial controller of variance 1 N² (initVar is a fraction of uMax² = 2500 N²). */
const prev0 = () => initController({ T, dX, dU, uMax, initVar: 1 / 2500, x0: new Float64Array(dX) });

test('ilqgStep with a tight KL bound: (1 - 0.1) εT <= KL <= εT, return improves, Laplace prediction exact on LQ', () => {
  const dyn = pointMass(), prev = prev0();
  const res = ilqgStep({ dynamics: dyn, rewardExpansion: quadReward, prev, klStep: 0.05 });
  assert.equal(res.klBound, 0.05 * T);
  assert.ok(res.converged, 'dual search converged');
  assert.ok(res.kl <= res.klBound && res.kl >= 0.9 * res.klBound, `KL ${res.kl} vs bound ${res.klBound}`);
  assert.ok(Math.abs(trajectoryKL(dyn, res.controller, prev).total - res.kl) < 1e-9, 'reported KL is the controller KL');
  assert.ok(res.predictedReturn > res.baselineReturn + 1, `predicted ${res.predictedReturn} vs baseline ${res.baselineReturn}`);
  // Linear dynamics + quadratic reward: the Laplace estimate is the exact expected return.
  assert.ok(Math.abs(laplaceReturn(res.controller, dyn, quadReward) - res.predictedReturn) < 1e-8 * Math.abs(res.predictedReturn));
  // x_hat/u_hat are the previous controller's mean trajectory (the expansion point).
  const m = forwardPass(prev, dyn).mu;
  assert.deepEqual(Array.from(res.controller.xHat[7]), Array.from(m[7].slice(0, dX)));
  // Covariances stay positive definite and are chol · cholᵀ.
  for (let t = 0; t < T; t++) {
    const L = res.controller.chol[t], C = res.controller.cov[t];
    for (let i = 0; i < dU; i++) for (let j = 0; j < dU; j++) {
      let s = 0;
      for (let k = 0; k < dU; k++) s += L[i * dU + k] * L[j * dU + k];
      assert.ok(Math.abs(s - C[i * dU + j]) < 1e-10 * (1 + Math.abs(C[i * dU + j])));
    }
  }
});

test('ilqgStep with a loose KL bound recovers the LQR optimum', () => {
  const dyn = pointMass(), prev = prev0();
  const res = ilqgStep({ dynamics: dyn, rewardExpansion: quadReward, prev, klStep: 1e4 });
  assert.ok(res.converged && res.kl <= res.klBound);
  assert.ok(res.eta < 1e-6, `eta ${res.eta} at its floor`);
  const nominal = forwardPass(prev, dyn).mu;
  const x = nominal.map((m) => m.slice(0, dX)), u = nominal.map((m) => m.slice(dX));
  const lqr = backwardPass(dyn, quadratizeReward(x.map((xt, t) => quadReward(xt, u[t], t)), { x, u }));
  for (let t = 0; t < T; t++) {
    const kAbs = absoluteOffset(res.controller, t);
    for (let i = 0; i < dU; i++) {
      assert.ok(Math.abs(kAbs[i] - lqr.k[t][i]) < 1e-5 * (1 + Math.abs(lqr.k[t][i])), `k_${t}`);
      for (let j = 0; j < dX; j++) {
        const a = res.controller.K[t][i * dX + j], b = lqr.K[t][i * dX + j];
        assert.ok(Math.abs(a - b) < 1e-5 * (1 + Math.abs(b)), `K_${t}`);
      }
    }
  }
});

test('repeated ilqgStep: every step within its bound, the return rises monotonically towards the LQR optimum', () => {
  const dyn = pointMass();
  let ctrl = prev0(), eta = 1;
  const start = laplaceReturn(ctrl, dyn, quadReward);
  const opt = ilqgStep({ dynamics: dyn, rewardExpansion: quadReward, prev: ctrl, klStep: 1e4 });
  const best = laplaceReturn(opt.controller, dyn, quadReward);
  let last = start;
  for (let i = 0; i < 8; i++) {
    const res = ilqgStep({ dynamics: dyn, rewardExpansion: quadReward, prev: ctrl, klStep: 0.5, etaInit: eta });
    assert.ok(res.kl <= res.klBound, `iteration ${i}: KL ${res.kl} > ${res.klBound}`);
    const ret = laplaceReturn(res.controller, dyn, quadReward);
    assert.ok(ret > last, `iteration ${i}: return ${ret} <= ${last}`);
    ctrl = res.controller; eta = res.eta; last = ret;
  }
  assert.ok((best - last) < 0.02 * (best - start), `gap to optimum ${best - last} of ${best - start}`);
});

/**
 * Point mass with quadratic drag, torque clamp and a non-quadratic reward (smooth distance), learnt
 * from 5 sampled rollouts per iteration (the paper's n = 5) with a refitted TVLG model. Returns the
 * mean sampled return before each iteration and after the last one.
 */
function runNonlinear(klStep: number, iterations: number, adapt: boolean): { returns: number[]; stepMults: number[] } {
  const rng = new Rng(17), uLim = Float64Array.of(2, 2), c = 0.5, alpha = 1e-2, wu = 1e-3;
  const reward = (x: Float64Array, u: Float64Array) => -Math.sqrt((x[0] - target[0]) ** 2 + (x[1] - target[1]) ** 2 + alpha) - wu * (u[0] ** 2 + u[1] ** 2);
  const rexp: RewardExpansionFn = (x, u) => {
    const d = [x[0] - target[0], x[1] - target[1]], s = Math.sqrt(d[0] ** 2 + d[1] ** 2 + alpha);
    const rxx = new Float64Array(16);
    for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) rxx[i * 4 + j] = -((i === j ? 1 : 0) / s - (d[i] * d[j]) / s ** 3);
    return {
      r: reward(x, u), rx: Float64Array.of(-d[0] / s, -d[1] / s, 0, 0), ru: Float64Array.of(-2 * wu * u[0], -2 * wu * u[1]),
      rxx, ruu: Float64Array.of(-2 * wu, 0, 0, -2 * wu), rux: new Float64Array(8),
    };
  };
  const stepTrue = (x: Float64Array, u: Float64Array): Float64Array => {
    const y = new Float64Array(4);
    for (let i = 0; i < 2; i++) {
      const a = u[i] - c * x[2 + i] * Math.abs(x[2 + i]);
      y[i] = x[i] + dt * x[2 + i] + 0.5 * dt * dt * a + 1e-3 * rng.normal();
      y[2 + i] = x[2 + i] + dt * a + 1e-3 * rng.normal();
    }
    return y;
  };
  const sample = (ctrl: ReturnType<typeof prev0>): { eps: Trajectory[]; ret: number } => {
    const eps: Trajectory[] = [];
    let ret = 0;
    for (let n = 0; n < 5; n++) {
      const x: Float64Array[] = [Float64Array.from({ length: 4 }, () => 0.01 * rng.normal())], u: Float64Array[] = [];
      for (let t = 0; t < T; t++) {
        u.push(actLG(ctrl, x[t], t, rng, uLim));
        ret += reward(x[t], u[t]) / 5;
        x.push(stepTrue(x[t], u[t]));
      }
      eps.push({ x, u });
    }
    return { eps, ret };
  };
  let ctrl = initController({ T, dX, dU, uMax: uLim, initVar: 0.5 / 4, x0: new Float64Array(dX) }); // 0.5 N² of uLim² = 4 N²
  const model = new TvlgDynamics({ T, dX, dU });
  let eta = 1, stepMult = 1, last: ReturnType<typeof ilqgStep> | null = null;
  const returns: number[] = [], stepMults: number[] = [];
  for (let it = 0; it < iterations; it++) {
    const { eps, ret } = sample(ctrl);
    returns.push(ret);
    model.fit(eps);
    if (adapt && last) {
      const actualReturn = laplaceReturn(ctrl, model.params(), rexp);
      stepMult = adaptStepMult({ baselineReturn: last.baselineReturn, predictedReturn: last.predictedReturn, actualReturn, stepMult });
    }
    stepMults.push(stepMult);
    const res = ilqgStep({ dynamics: model.params(), rewardExpansion: rexp, prev: ctrl, klStep, stepMult, etaInit: eta });
    assert.ok(res.kl <= res.klBound, `iteration ${it}: KL ${res.kl} > ${res.klBound}`);
    ctrl = res.controller; eta = res.eta; last = res;
  }
  returns.push(sample(ctrl).ret);
  return { returns, stepMults };
}

test('ilqgStep on sampled rollouts of a nonlinear task with refitted TVLG improves the real return', () => {
  // Standing still costs about T·|target| ≈ 34; reaching the target under the torque limit ≈ -10.
  const { returns } = runNonlinear(0.2, 6, false);
  const first = returns[0], final = returns[returns.length - 1];
  assert.ok(first < -30 && final > -13, `returns ${returns.map((r) => r.toFixed(2)).join(' ')}`);
});

test('step-size adaptation rescues a too-large KL step on the nonlinear task', () => {
  const fixed = runNonlinear(2, 7, false), adaptive = runNonlinear(2, 7, true);
  const fin = (r: number[]) => r[r.length - 1];
  assert.ok(adaptive.stepMults.some((m) => m < 1), `step multiplier shrank: ${adaptive.stepMults.map((m) => m.toFixed(2)).join(' ')}`);
  assert.ok(fin(adaptive.returns) > -13, `adaptive returns ${adaptive.returns.map((r) => r.toFixed(2)).join(' ')}`);
  assert.ok(fin(adaptive.returns) > fin(fixed.returns) + 3, `fixed returns ${fixed.returns.map((r) => r.toFixed(2)).join(' ')}`);
});

test('adaptStepMult follows GPS: multiplier pred / 2(pred - act) clipped to [0.1, 5], step clipped to [min, max]', () => {
  // Actual as good as predicted: grow by the max factor 5.
  assert.equal(adaptStepMult({ baselineReturn: 0, predictedReturn: 1, actualReturn: 1, stepMult: 1 }), 5);
  // Actual half of predicted: pred / 2(pred - act) = 1 / (2 · 0.5) = 1.
  assert.ok(Math.abs(adaptStepMult({ baselineReturn: 0, predictedReturn: 1, actualReturn: 0.5, stepMult: 2 }) - 2) < 1e-12);
  // Got worse: shrink by 10x, but not below min.
  assert.ok(Math.abs(adaptStepMult({ baselineReturn: 0, predictedReturn: 1, actualReturn: -3, stepMult: 1 }) - 0.125) < 1e-12);
  assert.equal(adaptStepMult({ baselineReturn: 0, predictedReturn: 1, actualReturn: -30, stepMult: 0.05 }), 0.01);
  assert.equal(adaptStepMult({ baselineReturn: 0, predictedReturn: 1, actualReturn: 1, stepMult: 4 }), 10);
  assert.throws(() => adaptStepMult({ baselineReturn: 0, predictedReturn: NaN, actualReturn: 1, stepMult: 1 }), /non-finite/);
});

test('ilqgStep rejects bad options', () => {
  const dyn = pointMass(), prev = prev0();
  assert.throws(() => ilqgStep({ dynamics: dyn, rewardExpansion: quadReward, prev, klStep: 0 }), /klStep and stepMult must be > 0/);
  const wrong = initController({ T: T + 1, dX, dU, uMax, initVar: 1 / 2500, x0: new Float64Array(dX) });
  assert.throws(() => ilqgStep({ dynamics: dyn, rewardExpansion: quadReward, prev: wrong, klStep: 0.1 }), /controller T\/dX\/dU/);
});

test('ilqgStep that runs out of dual-search iterations outside the trust region says so: withinBound false', () => {
  const dyn = pointMass(), prev = prev0();
  // eta at its floor is the unconstrained LQR step, far outside a KL bound of 0.05 per step; one
  // iteration cannot bracket it.
  const res = ilqgStep({ dynamics: dyn, rewardExpansion: quadReward, prev, klStep: 0.05, etaInit: 1e-8, maxIterations: 1 });
  assert.equal(res.converged, false);
  assert.ok(res.kl > res.klBound, `KL ${res.kl} vs bound ${res.klBound}`);
  assert.equal(res.withinBound, false);
  // With its full budget the same search converges inside the bound.
  const full = ilqgStep({ dynamics: dyn, rewardExpansion: quadReward, prev, klStep: 0.05, etaInit: 1e-8 });
  assert.ok(full.converged && full.withinBound && full.kl <= full.klBound);
});
