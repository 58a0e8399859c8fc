import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { MujocoArm } from '../src/env/mujoco_arm.js';
import { ReachTask } from '../src/env/reach_task.js';
import { loadUrdf } from '../src/env/urdf.js';
import { TrueDynamics } from '../src/model/true_dynamics.js';
import type { Trajectory } from '../src/model/types.js';
import { Rng } from '../src/util/rng.js';

const URDF = 'urdf/reacher3.urdf';
let arm: MujocoArm;
let model: TrueDynamics;
let task: ReachTask;
before(async () => {
  arm = await MujocoArm.create(URDF);
  task = new ReachTask(loadUrdf(URDF), { targetMode: 'random' });
  model = await TrueDynamics.create(URDF, task);
});
after(() => {
  arm.dispose();
  model.dispose();
});

/** One episode on the real arm with random torques (up to 1.5x the limits: the clamp is exercised). */
function episode(seed: number, T = task.T): Trajectory {
  const rng = new Rng(seed);
  const s = task.sampleEpisodeStart(rng);
  let js = arm.reset(s.q, s.qd);
  const x = [task.observe(js)], u: Float64Array[] = [];
  for (let t = 0; t < T; t++) {
    u.push(Float64Array.from(task.uMax, (m) => 1.5 * m * (2 * rng.uniform() - 1)));
    js = arm.step(u[t]);
    x.push(task.observe(js));
  }
  return { x, u };
}

test('TrueDynamics.step reproduces stepping the arm', () => {
  assert.equal(model.kind, 'true');
  assert.equal(model.ready, true);
  assert.equal(model.dt, arm.dt);
  for (const seed of [1, 2]) {
    const ep = episode(seed);
    for (let t = 0; t < task.T; t++) {
      const pred = model.step(ep.x[t], ep.u[t], t);
      for (let i = 0; i < task.dX; i++) assert.ok(Math.abs(pred[i] - ep.x[t + 1][i]) < 1e-9, `t=${t} dim ${i}: ${pred[i]} vs ${ep.x[t + 1][i]}`);
    }
  }
});

test('each state keeps its own target (random-target mode), whatever the task target is now', () => {
  const ep = episode(3, 5);
  const target = task.targetFromObservation(ep.x[0]);
  task.setTarget(Float64Array.of(-0.25, 0.1, 0.13)); // a new episode's target
  const pred = model.step(ep.x[2], ep.u[2], 2);
  const t2 = task.targetFromObservation(pred);
  assert.ok(Math.hypot(t2[0] - target[0], t2[1] - target[1]) < 1e-12);
  assert.ok(Math.abs(task.distance(pred) - task.distance(ep.x[3])) < 1e-9);
});

test('TrueDynamics uses its own arm: imagination does not disturb the real episode', () => {
  const s = task.sampleEpisodeStart(new Rng(4));
  const u = Float64Array.of(0.3, -0.05, 0.02);
  const state = (js: { position: Float64Array; velocity: Float64Array }) => [...js.position, ...js.velocity];
  arm.reset(s.q, s.qd);
  const ref = [state(arm.step(u)), state(arm.step(u))];
  arm.reset(s.q, s.qd);
  const first = state(arm.step(u));
  for (let k = 0; k < 5; k++) model.step(task.observation(Float64Array.of(1, -1, 2), Float64Array.of(2, 2, 2)), u, k);
  const second = state(arm.step(u));
  assert.deepEqual([first, second], ref);
});

test('fit is a no-op that reports the honest one-step error; oneStepMse sees a wrong model', () => {
  const eps = [episode(5, 20), episode(6, 20)];
  const report = model.fit(eps);
  assert.ok(report.oneStepMse < 1e-18, `same simulator: ${report.oneStepMse}`);
  assert.ok(report.ms >= 0);
  assert.ok(Number.isNaN(model.fit([]).oneStepMse));
  // Data from a different plant (joint velocities observed 10% high) has a real one-step error.
  const skewed = eps.map((e) => ({ u: e.u, x: e.x.map((x) => Float64Array.from(x, (v, i) => (i >= 6 && i < 9 ? 1.1 * v : v))) }));
  assert.ok(model.oneStepMse(skewed) > 1e-4, `${model.oneStepMse(skewed)}`);
  assert.throws(() => model.oneStepMse([{ x: eps[0].x.slice(0, 3), u: eps[0].u }]), /3 states for 20 actions/);
});

test('step rejects t outside [0, T); state round-trips and rejects foreign state', () => {
  const x = task.observation(Float64Array.of(0, 0.8, 0.8), new Float64Array(3));
  const u = new Float64Array(3);
  assert.throws(() => model.step(x, u, task.T), RangeError);
  assert.throws(() => model.step(x, u, -1), /t must be an integer in \[0, 100\), got -1/);
  assert.throws(() => model.step(x, u, 0.5), RangeError);
  assert.equal(model.step(x, u, task.T - 1).length, task.dX);
  model.setState(JSON.parse(JSON.stringify(model.getState())));
  assert.throws(() => model.setState({ kind: 'tvlg' }), /expected \{ kind: 'true' \}/);
});

test('the constructor takes a dedicated Arm and checks its joints against the task', async () => {
  const sub = await MujocoArm.create(URDF, { jointNames: ['joint1'] });
  assert.throws(() => new TrueDynamics(sub, task), /arm joints \[joint1\] differ from the task's \[joint1,joint2,joint3\]/);
  sub.dispose();
  const own = new TrueDynamics(await MujocoArm.create(URDF), task);
  const ep = episode(12, 3);
  const pred = own.step(ep.x[1], ep.u[1], 1);
  pred.forEach((v, i) => assert.ok(Math.abs(v - ep.x[2][i]) < 1e-9));
  own.dispose();
});
