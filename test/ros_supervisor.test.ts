/**
 * Safety supervisor rules and the /diagnostics report built from its counters.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Matrix, solve } from 'ml-matrix';
import { SafetySupervisor } from '../src/safety/supervisor.js';
import { GravityCompensation } from '../src/control/gravity_compensation.js';
import { KinematicChain } from '../src/env/kinematics.js';
import { RigidBodyModel } from '../src/env/rigid_body.js';
import { loadUrdf } from '../src/env/urdf.js';
import { DIAG_ERROR, DIAG_OK, DIAG_WARN, JitterMeter, loopStatus, safetyStatus, SAFETY_STATUS_NAME } from '../src/ros/trainer/diagnostics.js';
import { JOINT_STATE_REJECTIONS } from '../src/ros/trainer/joint_state_input.js';
import type { JointStateRecord } from '../src/env/types.js';
import { captureLogger, testSpec } from './ros_fakes.js';

const opts = { maxEffort: 3, stateTimeoutMs: 50, velocityLimit: 8, softLimitMargin: 0.2, maxOnPolicyFraction: 0.5 };
const state = (q: number[], qd: number[] = [0, 0, 0]): JointStateRecord => ({
  name: ['joint1', 'joint2', 'joint3'], position: Float64Array.from(q), velocity: Float64Array.from(qd), effort: new Float64Array(3), stamp: 1,
});
const make = (spec = testSpec()) => {
  const cap = captureLogger();
  return { ...cap, sup: new SafetySupervisor(spec, opts, cap.logger) };
};
const f = (sup: SafetySupervisor, u: number[], js: JointStateRecord | null = state([0, 0, 0]), at = 1.0, now = 1.0) =>
  sup.filter(Float64Array.from(u), js, at, now);

test('torque clamp is min(URDF effort limit, max_effort) per joint', () => {
  const spec = testSpec();
  spec.effortLimits[2] = 0.5; // URDF limit below the configured cap
  const { sup } = make(spec);
  assert.deepEqual(Array.from(sup.effortLimit), [3, 3, 0.5]);
  const r = f(sup, [10, -2, -4]);
  assert.deepEqual(Array.from(r.u), [3, -2, -0.5]);
  assert.deepEqual(r.interventions, ['torque_clamp']);
  assert.equal(sup.counts.torque_clamp, 1);
  assert.deepEqual(Array.from(f(sup, [1, 1, 0.1]).u), [1, 1, 0.1], 'within limits: unchanged');
});

test('soft position limits remove torque pushing further out, keep torque back in', () => {
  const { sup } = make();
  assert.deepEqual([sup.softLower[0], sup.softUpper[0]], [-1.8, 1.8]);
  const js = state([1.9, -1.9, 1.0]);
  assert.deepEqual(Array.from(f(sup, [1, -1, 1], js).u), [0, 0, 1]);
  assert.deepEqual(Array.from(f(sup, [-1, 1, 1], js).u), [-1, 1, 1], 'restoring torque passes');
  assert.equal(sup.counts.soft_limit, 1);
});

test('velocity limit removes accelerating torque, keeps braking torque', () => {
  const { sup } = make();
  const js = state([0, 0, 0], [9, -9, 9]);
  assert.deepEqual(Array.from(f(sup, [1, -1, -1], js).u), [0, 0, -1]);
  assert.equal(sup.counts.velocity_limit, 1);
  assert.deepEqual(Array.from(f(sup, [1, 1, 1], state([0, 0, 0], [7, 7, 7])).u), [1, 1, 1], 'below the limit');
});

test('watchdog: no state or a state older than state_timeout_ms gives zero torque and halts', () => {
  const { sup, count } = make();
  let r = f(sup, [1, 1, 1], null);
  assert.deepEqual([Array.from(r.u), r.halted, r.interventions], [[0, 0, 0], true, ['watchdog']]);
  r = f(sup, [1, 1, 1], state([0, 0, 0]), 1.0, 1.049);
  assert.equal(r.halted, false, 'within 50 ms');
  r = f(sup, [1, 1, 1], state([0, 0, 0]), 1.0, 1.051);
  assert.deepEqual([Array.from(r.u), r.halted], [[0, 0, 0], true]);
  f(sup, [1, 1, 1], state([0, 0, 0]), 1.0, 1.2);
  assert.equal(sup.counts.watchdog, 3);
  assert.equal(count('error', /safety: watchdog/), 2, 'logged at the start of each run of interventions');
  assert.equal(count('info', /watchdog cleared after 1 control step/), 1);
});

test('e-stop latches: zero torque until an explicit release', () => {
  const { sup, count } = make();
  sup.engageEstop('test');
  sup.engageEstop('again');
  for (let k = 0; k < 3; k++) assert.deepEqual(Array.from(f(sup, [1, 1, 1]).u), [0, 0, 0]);
  assert.equal(sup.estopLatched, true);
  assert.equal(count('error', /E-STOP engaged/), 1);
  sup.releaseEstop('operator');
  assert.deepEqual(Array.from(f(sup, [1, 1, 1]).u), [1, 1, 1]);
  assert.equal(sup.counts.estop, 3);
});

test('NaN/Inf never published: zero torque on all joints', () => {
  const { sup } = make();
  for (const bad of [[NaN, 1, 1], [1, Infinity, 1], [1, 1, -Infinity]]) {
    const r = f(sup, bad);
    assert.deepEqual(Array.from(r.u), [0, 0, 0]);
    assert.ok(r.u.every(Number.isFinite));
  }
  assert.equal(sup.counts.non_finite, 3);
});

test('on_policy_fraction is never above max_on_policy_fraction', () => {
  const { sup } = make();
  assert.equal(sup.guardOnPolicyFraction(0.3), 0.3);
  assert.equal(sup.guardOnPolicyFraction(0.5), 0.5);
  assert.equal(sup.guardOnPolicyFraction(0.9), 0.5);
  assert.equal(sup.guardOnPolicyFraction(-1), 0);
  assert.equal(sup.counts.p_cap, 2);
});

test('bad options and wiring are errors naming the value', () => {
  const { logger } = captureLogger();
  assert.throws(() => new SafetySupervisor(testSpec(), { ...opts, maxEffort: 0 }, logger), /max_effort must be > 0/);
  assert.throws(() => new SafetySupervisor(testSpec(), { ...opts, softLimitMargin: 2.5 }, logger), /leaves no range on joint1/);
  assert.throws(() => new SafetySupervisor(testSpec(), { ...opts, maxOnPolicyFraction: 1.5 }, logger), /max_on_policy_fraction/);
  const { sup } = make();
  assert.throws(() => f(sup, [1, 1]), /u has 2 entries, expected 3/);
});

test('diagnostics: safety status level, message and counters', () => {
  const { sup } = make();
  const rejected = Object.fromEntries(JOINT_STATE_REJECTIONS.map((r) => [r, 0])) as Record<(typeof JOINT_STATE_REJECTIONS)[number], number>;
  const base = { estopLatched: false, counts: { ...sup.counts }, previousCounts: { ...sup.counts }, rejected, missingJoints: [], stateStale: false, stateTimeoutMs: 50, maxOnPolicyFraction: 0.5, onPolicyFraction: 0.3 };
  assert.equal(safetyStatus(base, '/naf_trainer').level, DIAG_OK);
  const prev = { ...sup.counts };
  f(sup, [10, 0, 0]);
  const warn = safetyStatus({ ...base, counts: { ...sup.counts }, previousCounts: prev }, '/naf_trainer');
  assert.deepEqual([warn.level, warn.name, warn.message], [DIAG_WARN, SAFETY_STATUS_NAME, 'interventions: torque_clamp']);
  assert.equal(warn.values.find((v) => v.key === 'interventions.torque_clamp')!.value, '1');
  assert.equal(safetyStatus({ ...base, counts: { ...sup.counts }, previousCounts: { ...sup.counts } }, 'x').level, DIAG_OK, 'WARN only while acting');
  assert.equal(safetyStatus({ ...base, estopLatched: true }, 'x').message, 'e-stop latched');
  assert.equal(safetyStatus({ ...base, missingJoints: ['joint2'] }, 'x').level, DIAG_ERROR);
  assert.equal(safetyStatus({ ...base, stateStale: true }, 'x').level, DIAG_ERROR);
});

test('jitter meter: |interval - period| statistics; loop status warns above 20% of the period', () => {
  const m = new JitterMeter(0.02, 100);
  [0, 0.02, 0.041, 0.06, 0.085].forEach((t) => m.tick(t));
  const s = m.stats();
  assert.equal(s.n, 4);
  assert.ok(Math.abs(s.max - 0.005) < 1e-12 && Math.abs(s.mean - 0.00175) < 1e-12, JSON.stringify(s));
  const st = loopStatus({ state: 'RUNNING', episode: 1, step: 2, controller: 'naf', policyVersion: 3, lastReturn: null, period: 0.02, jitterMean: s.mean, jitterP99: s.p99, jitterMax: s.max, jitterSamples: s.n }, 'x');
  assert.equal(st.level, DIAG_WARN);
  assert.equal(st.values.find((v) => v.key === 'jitter_max_ms')!.value, '5.000');
});

test('routine interventions are logged at most every 10 s per kind, with the steps in between', () => {
  const { sup, count, lines } = make();
  for (let k = 0; k < 100; k++) f(sup, k % 2 ? [10, 0, 0] : [0, 0, 0], state([0, 0, 0]), k * 0.02, k * 0.02);
  assert.equal(sup.counts.torque_clamp, 50);
  assert.equal(count('warn', /torque_clamp/), 1);
  f(sup, [0, 0, 0], state([0, 0, 0]), 12, 12);
  f(sup, [10, 0, 0], state([0, 0, 0]), 12.02, 12.02);
  assert.equal(count('warn', /torque_clamp/), 2);
  assert.match(lines.at(-1)!.message, /\(49 more step\(s\) since the last report\)/);
});

describe('on the 6-DoF arm (urdf/ur5e.urdf, gravity-loaded)', () => {
  const URDF = 'urdf/ur5e.urdf';
  const HOME = [0, -1.5708, 1.5708, -1.5708, -1.5708, 0];
  let rb: RigidBodyModel;
  let chain: KinematicChain;
  before(async () => {
    rb = await RigidBodyModel.create(URDF);
    chain = new KinematicChain(loadUrdf(URDF), 'tool0', rb.spec.jointNames);
  });
  after(() => rb.dispose());
  const urState = (q: number[]): JointStateRecord => ({ name: rb.spec.jointNames, position: Float64Array.from(q), velocity: new Float64Array(6), effort: new Float64Array(6), stamp: 1 });
  const urOpts = { ...opts, maxEffort: 150, velocityLimit: 3.14, softLimitMargin: 0.1 };

  test('gravity compensation (model) is added to every torque, also under e-stop and a broken policy; the clamp bounds the total', () => {
    const { logger } = captureLogger();
    const sup = new SafetySupervisor(rb.spec, { ...urOpts, gravity: new GravityCompensation('model', rb, 6) }, logger);
    const js = urState(HOME), g = rb.gravity(HOME);
    assert.ok(Math.abs(g[1]) > 10, `the shoulder carries the arm: g = ${g}`);
    const u = Float64Array.of(1, 2, 3, 0.1, 0.2, 0.3);
    sup.filter(u, js, 1, 1).u.forEach((v, i) => assert.ok(Math.abs(v - (u[i] + g[i])) < 1e-12));
    sup.filter(Float64Array.of(NaN, 0, 0, 0, 0, 0), js, 1, 1).u.forEach((v, i) => assert.ok(Math.abs(v - g[i]) < 1e-12, 'non-finite: no policy torque, the arm is still held'));
    sup.engageEstop('test');
    const stop = sup.filter(u, js, 1, 1);
    assert.equal(stop.halted, true);
    stop.u.forEach((v, i) => assert.ok(Math.abs(v - g[i]) < 1e-12, 'e-stop: no controller torque, the arm is held'));
    assert.deepEqual(Array.from(sup.filter(u, js, 1, 2).u), [0, 0, 0, 0, 0, 0], 'stale joint states: zero torque (q unknown)');
    sup.releaseEstop('test');
    const big = sup.filter(Float64Array.of(0, -140, 0, 0, 0, 0), js, 1, 1);
    assert.equal(big.u[1], -150, 'u + g(q) clamped to the effort limit');
    assert.ok(big.interventions.includes('torque_clamp'));
  });

  test('workspace limit: outside the box, the torque accelerating the tool outward is removed; inward torque passes; counted and on /diagnostics', () => {
    const { logger, count } = captureLogger();
    const q = HOME;
    const p = chain.position(q);
    // A box whose +x wall the tool has crossed by 1 cm, and whose -z wall it has crossed by 1 cm.
    const min = Float64Array.of(-1, -1, p[2] + 0.01), max = Float64Array.of(p[0] - 0.01, 1, 2);
    const sup = new SafetySupervisor(rb.spec, { ...urOpts, workspace: { min, max, tip: chain, dynamics: rb } }, logger);
    const js = urState(q);
    const J = chain.jacobian(q), M = rb.massMatrix(q);
    const Minv = solve(new Matrix(Array.from({ length: 6 }, (_, i) => Array.from(M.subarray(i * 6, i * 6 + 6)))), Matrix.eye(6));
    const accel = (u: ArrayLike<number>) => [0, 1, 2].map((k) => Matrix.rowVector(Array.from(J.subarray(k * 6, k * 6 + 6))).mmul(Minv).mmul(Matrix.columnVector(Array.from(u))).get(0, 0));
    // J^T f for a tip force pushing out (+x, -z) and sideways (+y).
    const jt = (f: number[]) => Float64Array.from({ length: 6 }, (_, i) => f[0] * J[i] + f[1] * J[6 + i] + f[2] * J[12 + i]);
    const prev = { ...sup.counts };
    const r = sup.filter(jt([50, 30, -50]), js, 1, 1);
    assert.deepEqual(r.interventions, ['workspace_limit']);
    assert.ok(Math.hypot(...r.u) <= Math.hypot(...jt([50, 30, -50])) + 1e-9, 'the rule only removes torque');
    const a = accel(r.u);
    const a0 = accel(jt([50, 30, -50]));
    assert.ok(a0[0] > 1 && a0[2] < -1, `it pushed out: ${a0}`);
    assert.ok(Math.abs(a[0]) < 1e-6 * Math.abs(a0[0]) && Math.abs(a[2]) < 1e-6 * Math.abs(a0[2]), `no outward tip acceleration left: ${a}`);
    assert.equal(sup.counts.workspace_limit, 1);
    assert.equal(count('warn', /safety: workspace_limit: tip outside the workspace \(x .* > .*, z .* < .*\)/), 1);
    const inward = jt([-50, 0, 50]);
    assert.deepEqual(Array.from(sup.filter(inward, js, 1, 1).u), Array.from(inward), 'torque bringing the tool back in passes unchanged');
    // A torque that accelerates the tool along the wall only (+y): u = M J^T (J J^T)^-1 [0, 1, 0].
    const Jm = new Matrix([0, 1, 2].map((k) => Array.from(J.subarray(k * 6, k * 6 + 6))));
    const along = new Matrix(Array.from({ length: 6 }, (_, i) => Array.from(M.subarray(i * 6, i * 6 + 6)))).mmul(Jm.transpose()).mmul(solve(Jm.mmul(Jm.transpose()), Matrix.columnVector([0, 1, 0]))).to1DArray();
    assert.deepEqual(sup.filter(Float64Array.from(along), js, 1, 1).interventions, [], 'moving along the wall passes');
    const inside = urState([0.1, -1.6, 1.5, -1.5, -1.5, 0.2]);
    assert.ok(chain.position(inside.position)[0] < max[0] && chain.position(inside.position)[2] > min[2]);
    assert.deepEqual(sup.filter(jt([50, 0, -50]), inside, 1, 1).interventions, [], 'inside the box nothing acts');
    const rejected = Object.fromEntries(JOINT_STATE_REJECTIONS.map((k) => [k, 0])) as Record<(typeof JOINT_STATE_REJECTIONS)[number], number>;
    const st = safetyStatus({ estopLatched: false, counts: { ...sup.counts }, previousCounts: prev, rejected, missingJoints: [], stateStale: false, stateTimeoutMs: 50, maxOnPolicyFraction: 0.5, onPolicyFraction: 0.3 }, '/naf_trainer');
    assert.deepEqual([st.level, st.message], [DIAG_WARN, 'interventions: workspace_limit']);
    assert.equal(st.values.find((v) => v.key === 'interventions.workspace_limit')!.value, '1');
  });
});
