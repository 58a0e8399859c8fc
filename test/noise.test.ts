import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inverse, Matrix } from 'ml-matrix';
import { createNoise, GaussianNoise, OUNoise, PrecisionNoise, solveLowerTransposed } from '../src/agent/noise.js';
import { Rng } from '../src/util/rng.js';

/** Sample covariance of rows (mean known to be 0). */
function covariance(rows: Float64Array[], n: number): number[][] {
  const C = Array.from({ length: n }, () => new Array(n).fill(0));
  for (const r of rows) for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) C[i][j] += r[i] * r[j];
  return C.map((row) => row.map((v) => v / rows.length));
}

test('OUNoise: stationary variance sigma^2 dt / (1 - (1 - theta dt)^2), lag-1 correlation 1 - theta dt, scaled by uMax', () => {
  for (const { theta, sigma, dt } of [
    { theta: 0.15, sigma: 0.3, dt: 1 },
    { theta: 2, sigma: 0.5, dt: 0.05 },
  ]) {
    const uMax = new Float64Array([2, 5]);
    const n = new OUNoise({ dU: 2, uMax, theta, sigma, dt }, new Rng(11));
    const expected = (sigma * sigma * dt) / (1 - (1 - theta * dt) ** 2);
    assert.ok(Math.abs(n.stationaryVariance() - expected) < 1e-12);
    for (let k = 0; k < 500; k++) n.sample(); // burn-in
    let s2 = [0, 0], lag = 0, prev = n.getState()[0];
    const K = 200000;
    for (let k = 0; k < K; k++) {
      const v = n.sample();
      for (let j = 0; j < 2; j++) s2[j] += (v[j] / uMax[j]) ** 2;
      lag += (v[0] / uMax[0]) * prev;
      prev = v[0] / uMax[0];
    }
    s2 = s2.map((s) => s / K);
    for (const v of s2) assert.ok(Math.abs(v / expected - 1) < 0.06, `theta=${theta} dt=${dt}: var ${v} vs ${expected}`);
    assert.ok(Math.abs(lag / K / s2[0] - (1 - theta * dt)) < 0.02, `lag-1 correlation ${lag / K / s2[0]}`);
  }
});

test('OUNoise: reset zeroes the process; state round trip continues the same sequence', () => {
  const rng = new Rng(5);
  const a = new OUNoise({ dU: 3, uMax: new Float64Array([1, 2, 3]) }, rng);
  for (let k = 0; k < 10; k++) a.sample();
  const saved = JSON.parse(JSON.stringify(a.getState()));
  const rngState = rng.state();
  const next = [a.sample(), a.sample()];
  const b = new OUNoise({ dU: 3, uMax: new Float64Array([1, 2, 3]) }, new Rng(0, rngState));
  b.setState(saved);
  assert.deepEqual([b.sample(), b.sample()], next);
  a.reset();
  assert.deepEqual(a.getState(), [0, 0, 0]);
  assert.throws(() => a.setState([1, 2]), /expected 3 finite numbers/);
});

test('GaussianNoise: iid N(0, (sigma uMax)^2) per joint', () => {
  const g = new GaussianNoise({ dU: 2, uMax: new Float64Array([1, 4]), sigma: 0.5 }, new Rng(2));
  const rows: Float64Array[] = [];
  for (let k = 0; k < 40000; k++) rows.push(g.sample());
  const C = covariance(rows, 2);
  assert.ok(Math.abs(C[0][0] / 0.25 - 1) < 0.04, `var0 ${C[0][0]}`);
  assert.ok(Math.abs(C[1][1] / 4 - 1) < 0.04, `var1 ${C[1][1]}`);
  assert.ok(Math.abs(C[0][1]) < 0.03);
});

// L lower-triangular with a positive diagonal, P = L L^T strongly non-diagonal
const L = new Float64Array([2, 0, 0, -1.5, 0.8, 0, 0.7, 1.2, 1.5]);
const P = new Matrix([[2, 0, 0], [-1.5, 0.8, 0], [0.7, 1.2, 1.5]]).mmul(new Matrix([[2, 0, 0], [-1.5, 0.8, 0], [0.7, 1.2, 1.5]]).transpose());
const Pinv = inverse(P).to2DArray();

test('solveLowerTransposed solves L^T w = z', () => {
  const z = new Float64Array([0.3, -1, 2]);
  const w = solveLowerTransposed(L, 3, Float64Array.from(z));
  const Lt = new Matrix([[2, 0, 0], [-1.5, 0.8, 0], [0.7, 1.2, 1.5]]).transpose();
  const back = Lt.mmul(Matrix.columnVector(Array.from(w))).to1DArray();
  back.forEach((v, i) => assert.ok(Math.abs(v - z[i]) < 1e-12));
  assert.throws(() => solveLowerTransposed(new Float64Array([1, 0, 0, 0]), 2, new Float64Array(2)), /L\[1\]\[1\] = 0/);
});

test('PrecisionNoise: covariance of the samples is c P^-1 (iid and temporally correlated)', () => {
  const c = 0.7;
  for (const theta of [1, 0.3]) {
    const n = new PrecisionNoise({ dU: 3, uMax: new Float64Array([1, 1, 1]), c, theta, dt: 1 }, new Rng(8));
    for (let k = 0; k < 200; k++) n.sample(L);
    const rows: Float64Array[] = [];
    for (let k = 0; k < 60000; k++) rows.push(n.sample(L));
    const C = covariance(rows, 3);
    for (let i = 0; i < 3; i++) {
      for (let j = 0; j < 3; j++) {
        const want = c * Pinv[i][j];
        const scale = c * Math.sqrt(Pinv[i][i] * Pinv[j][j]);
        assert.ok(Math.abs(C[i][j] - want) < 0.05 * scale, `theta=${theta} C[${i}][${j}] = ${C[i][j]}, c P^-1 = ${want}`);
      }
    }
  }
});

test('PrecisionNoise needs L(x); createNoise builds each kind and rejects bad options', () => {
  const opts = { dU: 3, uMax: new Float64Array([1, 1, 1]) };
  const p = createNoise('precision', opts, new Rng(1));
  assert.throws(() => p.sample(), /needs L\(x\)/);
  assert.throws(() => p.sample(new Float64Array(4)), /dU\*dU=9/);
  assert.ok(createNoise('ou', opts, new Rng(1)) instanceof OUNoise);
  assert.ok(createNoise('gaussian', opts, new Rng(1)) instanceof GaussianNoise);
  assert.deepEqual(Array.from(createNoise('none', opts, new Rng(1)).sample()), [0, 0, 0]);
  assert.throws(() => createNoise('pink' as never, opts, new Rng(1)), /kind must be/);
  assert.throws(() => new OUNoise({ ...opts, theta: 2, dt: 1 }, new Rng(1)), /theta\*dt <= 1/);
  assert.throws(() => new OUNoise({ ...opts, uMax: new Float64Array([1, 1]) }, new Rng(1)), /uMax must be a Float64Array of dU=3/);
  assert.throws(() => new PrecisionNoise({ ...opts, c: 0 }, new Rng(1)), /c must be finite and > 0/);
});
