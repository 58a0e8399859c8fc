import { test } from 'node:test';
import assert from 'node:assert/strict';
import { homed, pdHomingTorque } from '../src/control/pd_homing.js';

test('PD homing drives a damped double integrator per joint to home without exceeding the torque cap', () => {
  // I qdd = u - b qd per joint (I kg·m², b N·m·s/rad), semi-implicit Euler at 1 kHz.
  const I = [0.05, 0.02, 0.01], b = [0.05, 0.02, 0.01], dt = 1e-3;
  const q = Float64Array.of(1.2, -2.0, 0.5), qd = Float64Array.of(0, 1.5, -1);
  const qHome = Float64Array.of(0, 0.3, -0.2);
  const gains = { kp: Float64Array.of(2, 1, 0.5), kd: Float64Array.of(0.6, 0.3, 0.15), maxTorque: Float64Array.of(0.5, 0.3, 0.2) };
  let steps = 0, saturated = false;
  while (!homed(q, qd, qHome, 0.01, 0.02) && steps < 30000) {
    const u = pdHomingTorque(q, qd, qHome, gains);
    for (let i = 0; i < 3; i++) {
      assert.ok(Math.abs(u[i]) <= gains.maxTorque[i]);
      if (Math.abs(u[i]) === gains.maxTorque[i]) saturated = true;
      qd[i] += (dt * (u[i] - b[i] * qd[i])) / I[i];
      q[i] += dt * qd[i];
    }
    steps++;
  }
  assert.ok(steps < 30000, `homed after ${steps * dt} s`);
  assert.ok(saturated, 'the cap was active during the large initial error');
  for (let i = 0; i < 3; i++) assert.ok(Math.abs(q[i] - qHome[i]) <= 0.01);
});

test('pdHomingTorque: sign and value of the unsaturated law; homed tolerances', () => {
  const u = pdHomingTorque(Float64Array.of(0.1), Float64Array.of(0.2), Float64Array.of(0.3), { kp: 2, kd: 0.5, maxTorque: Float64Array.of(10) });
  assert.ok(Math.abs(u[0] - (2 * 0.2 - 0.5 * 0.2)) < 1e-15);
  assert.equal(homed(Float64Array.of(0.1), Float64Array.of(0), Float64Array.of(0.105), 0.01, 0.01), true);
  assert.equal(homed(Float64Array.of(0.1), Float64Array.of(0.05), Float64Array.of(0.1), 0.01, 0.01), false);
});

test('pdHomingTorque and homed reject bad input by name', () => {
  const one = Float64Array.of(0), cap = Float64Array.of(1);
  assert.throws(() => pdHomingTorque(Float64Array.of(0, 0), one, one, { kp: 1, kd: 1, maxTorque: cap }), /same non-zero length/);
  assert.throws(() => pdHomingTorque(Float64Array.of(NaN), one, one, { kp: 1, kd: 1, maxTorque: cap }), /q has a non-finite entry/);
  assert.throws(() => pdHomingTorque(one, one, one, { kp: -1, kd: 1, maxTorque: cap }), /kp must be a non-negative/);
  assert.throws(() => pdHomingTorque(one, one, one, { kp: 1, kd: 1, maxTorque: Float64Array.of(0) }), /maxTorque must be 1 positive/);
  assert.throws(() => homed(one, one, one, 0, 1), /tolerances must be > 0/);
});
