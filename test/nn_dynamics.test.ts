import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../src/util/rng.js';
import { NnDynamics } from '../src/model/nn_dynamics.js';
import type { Trajectory } from '../src/model/types.js';

/** x' = A x + B u + noise, dX = 2 (position, velocity), dU = 1, dt = 0.1 s, noise std 0.01. */
function episodes(rng: Rng, n: number, T: number): Trajectory[] {
  const out: Trajectory[] = [];
  for (let k = 0; k < n; k++) {
    const x = [Float64Array.of(rng.normal(), rng.normal())], u: Float64Array[] = [];
    for (let t = 0; t < T; t++) {
      const a = rng.normal();
      u.push(Float64Array.of(a));
      const [p, v] = x[t];
      x.push(Float64Array.of(p + 0.1 * v + 0.005 * a + 0.01 * rng.normal(), 0.98 * v + 0.1 * a + 0.01 * rng.normal()));
    }
    out.push({ x, u });
  }
  return out;
}

test('NnDynamics learns a linear system: held-out error near the noise floor, JS forward = tfjs forward', () => {
  const rng = new Rng(31);
  const model = new NnDynamics({ dX: 2, dU: 1, hidden: [32, 32], learningRate: 3e-3, stepsPerFit: 400, seed: 1, T: 20 });
  const data = episodes(rng, 40, 20);
  const before = tf.memory().numTensors;
  // Two fits: the dataset accumulates all episodes given so far.
  model.fit(data.slice(0, 20));
  model.fit(data.slice(20));
  assert.equal(model.datasetSize, 800);
  assert.equal(tf.memory().numTensors, before, 'no tensors leak across fits');
  const heldOut = episodes(rng, 10, 20);
  // Predicting x' = x would cost ~ mean of (0.1 v)² and (0.1 a - 0.02 v)² ≈ 0.01; the noise floor is 1e-4.
  const mse = model.oneStepMse(heldOut);
  assert.ok(mse < 3e-4, `held-out one-step mse ${mse}`);
  const std = model.noiseStd();
  assert.ok(std.every((s) => s > 0.005 && s < 0.03), `residual std ${Array.from(std)}`);
  const x = [Float64Array.of(0.3, -0.5), Float64Array.of(-1, 1)], u = [Float64Array.of(0.2), Float64Array.of(-1)];
  const viaTf = model.predictDeltaTf(x, u);
  for (let r = 0; r < 2; r++) {
    const js = model.step(x[r], u[r], 0);
    for (let i = 0; i < 2; i++) assert.ok(Math.abs(js[i] - x[r][i] - viaTf[r * 2 + i]) < 1e-5, 'JS and tfjs forward agree');
  }
});

test('NnDynamics: sampling adds the residual noise, state round-trips exactly, ring buffer is capped', () => {
  const rng = new Rng(2);
  const model = new NnDynamics({ dX: 2, dU: 1, hidden: [16], stepsPerFit: 50, capacity: 150, seed: 3 });
  model.fit(episodes(rng, 10, 20));
  assert.equal(model.datasetSize, 150, 'capped at capacity');
  const x = Float64Array.of(0.1, 0.2), u = Float64Array.of(0.5);
  const mean = model.step(x, u, 5);
  const n = 4000, s2 = [0, 0];
  for (let k = 0; k < n; k++) model.step(x, u, 5, rng).forEach((v, i) => { s2[i] += (v - mean[i]) ** 2 / n; });
  const std = model.noiseStd();
  for (let i = 0; i < 2; i++) assert.ok(Math.abs(Math.sqrt(s2[i]) / std[i] - 1) < 0.05, 'sample std = residual std');

  const copy = new NnDynamics({ dX: 2, dU: 1, hidden: [16], stepsPerFit: 50, capacity: 150, seed: 99 });
  copy.setState(model.getState());
  assert.deepEqual(Array.from(copy.step(x, u, 0)), Array.from(mean));
  // Same data, same Adam moments and rng: continued training stays identical.
  const more = episodes(rng, 2, 20);
  model.fit(more);
  copy.fit(more);
  assert.deepEqual(Array.from(copy.step(x, u, 0)), Array.from(model.step(x, u, 0)));
  assert.throws(() => new NnDynamics({ dX: 2, dU: 1, hidden: [8] }).setState(model.getState()), /layer sizes/);
  model.dispose();
  copy.dispose();
});

test('NnDynamics rejects bad input', () => {
  const model = new NnDynamics({ dX: 2, dU: 1, hidden: [4], stepsPerFit: 1, T: 3 });
  assert.equal(model.ready, false);
  assert.throws(() => model.step(new Float64Array(2), new Float64Array(1), 0), /not been fitted/);
  assert.throws(() => model.fit([{ x: [new Float64Array(2)], u: [new Float64Array(1)] }]), /need one more state/);
  assert.throws(() => model.fit([{ x: [new Float64Array(2), Float64Array.of(NaN, 0)], u: [new Float64Array(1)] }]), /not 2 finite numbers/);
  model.fit([{ x: [new Float64Array(2), new Float64Array(2)], u: [new Float64Array(1)] }]);
  assert.throws(() => model.step(new Float64Array(2), new Float64Array(1), 3), /bad time step 3/);
  assert.throws(() => new NnDynamics({ dX: 2, dU: 1, hidden: [] }), /hidden must be positive integers/);
  model.dispose();
});
