import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Matrix, solve } from 'ml-matrix';
import { MujocoArm } from '../src/env/mujoco_arm.js';
import { REACH_DEFAULTS, ReachTask, TaskOptionError } from '../src/env/reach_task.js';
import { loadUrdf, parseUrdf } from '../src/env/urdf.js';
import { Rng } from '../src/util/rng.js';
import { derivedDamping } from '../src/control/damping_injection.js';
import { SPATIAL } from './spatial_arm.js';

const URDF = 'urdf/reacher3.urdf';
const model = loadUrdf(URDF);
const arms: MujocoArm[] = [];
after(() => arms.forEach((a) => a.dispose()));

function close(a: number, b: number, tol: number, what: string): void {
  assert.ok(Math.abs(a - b) <= tol, `${what}: ${a} vs ${b}`);
}

test('planar reacher3: observation [cos q, sin q, qd, tip - target (x, y)], dX = 11', () => {
  const task = new ReachTask(model);
  assert.equal(task.dX, 11);
  assert.equal(task.dU, 3);
  assert.equal(task.T, 100);
  assert.deepEqual([...task.uMax], [0.6, 0.1, 0.03]);
  assert.deepEqual(task.errorAxes, [0, 1], 'planar about z: the tip error keeps its x, y (dX = 11 as before)');
  assert.deepEqual([...task.getTarget()].map((v) => +v.toFixed(12)), [0.2, -0.02, 0.13], 'a 2-D target takes the tip height as z');
  const q = Float64Array.of(0.3, -1.2, 2.0), qd = Float64Array.of(0.5, -0.25, 1.5);
  const x = task.observe({ name: ['joint1', 'joint2', 'joint3'], position: q, velocity: qd, effort: new Float64Array(3), stamp: 0 });
  for (let i = 0; i < 3; i++) {
    close(x[i], Math.cos(q[i]), 0, `cos q${i}`);
    close(x[3 + i], Math.sin(q[i]), 0, `sin q${i}`);
    close(x[6 + i], qd[i], 0, `qd${i}`);
  }
  const a1 = q[0], a2 = a1 + q[1], a3 = a2 + q[2];
  const tip = [0.12 * Math.cos(a1) + 0.12 * Math.cos(a2) + 0.1 * Math.cos(a3), 0.12 * Math.sin(a1) + 0.12 * Math.sin(a2) + 0.1 * Math.sin(a3)];
  close(x[9], tip[0] - 0.2, 1e-12, 'dx');
  close(x[10], tip[1] + 0.02, 1e-12, 'dy');
  close(task.distance(x), Math.hypot(x[9], x[10]), 0, 'distance');
});

test('observe matches joints by name, ignores extra joints, rejects missing or non-finite ones', () => {
  const task = new ReachTask(model);
  const q = Float64Array.of(0.1, 0.2, 0.3), qd = Float64Array.of(1, 2, 3);
  const ref = task.observation(q, qd);
  const shuffled = task.observe({
    name: ['gripper', 'joint3', 'joint1', 'joint2'],
    position: Float64Array.of(9, 0.3, 0.1, 0.2),
    velocity: Float64Array.of(9, 3, 1, 2),
    effort: new Float64Array(4),
    stamp: 1,
  });
  assert.deepEqual([...shuffled], [...ref]);
  const js = { name: ['joint1', 'joint3'], position: Float64Array.of(0, 0), velocity: Float64Array.of(0, 0), effort: new Float64Array(2), stamp: 0 };
  assert.throws(() => task.observe(js), /joint "joint2" missing from the joint state \[joint1, joint3\]/);
  const bad = { name: ['joint1', 'joint2', 'joint3'], position: Float64Array.of(0, NaN, 0), velocity: new Float64Array(3), effort: new Float64Array(3), stamp: 0 };
  assert.throws(() => task.observe(bad), /non-finite state for "joint2"/);
});

test('jointsFromObservation and targetFromObservation invert the observation', () => {
  const task = new ReachTask(model, { targetMode: 'random' });
  const rng = new Rng(8);
  for (let k = 0; k < 50; k++) {
    const s = task.sampleEpisodeStart(rng);
    const q = Float64Array.of(3 * (2 * rng.uniform() - 1), 2.6 * (2 * rng.uniform() - 1), 2.6 * (2 * rng.uniform() - 1));
    const qd = Float64Array.of(rng.normal(), rng.normal(), rng.normal());
    const x = task.observation(q, qd);
    const back = task.jointsFromObservation(x);
    back.q.forEach((v, i) => close(v, q[i], 1e-12, 'q'));
    assert.deepEqual([...back.qd], [...qd]);
    task.setTarget(Float64Array.of(0, 0, 0)); // x carries its own target
    const t = task.targetFromObservation(x);
    for (let c = 0; c < 3; c++) close(t[c], s.target[c], 1e-12, `target ${c}`);
  }
});

test('reward: smoothed distance and normalised torque penalty, with documented values', () => {
  const task = new ReachTask(model, { torquePenalty: 0.01, distanceSmoothing: 0.01 });
  const x = new Float64Array(11);
  x[0] = x[1] = x[2] = 1;
  close(task.reward(x, new Float64Array(3)), 0, 0, 'at the target with no torque');
  x[9] = 0.3;
  x[10] = -0.4; // |d| = 0.5
  close(task.reward(x, new Float64Array(3)), -(Math.sqrt(0.25 + 1e-4) - 0.01), 1e-15, 'far');
  close(task.reward(x, task.uMax), -(Math.sqrt(0.25 + 1e-4) - 0.01) - 0.03, 1e-15, 'full torque costs 3c');
  x[9] = 0.001;
  x[10] = 0; // near the target the distance term is ~ |d|^2 / (2 delta)
  const near = task.reward(x, new Float64Array(3));
  close(near, -(Math.sqrt(1e-6 + 1e-4) - 0.01), 1e-15, 'near');
  close(near / -(1e-6 / 0.02), 1, 0.01, 'near, quadratic');
  assert.throws(() => task.reward(new Float64Array(10), new Float64Array(3)), /x must have 11 entries, got 10/);
  assert.throws(() => task.reward(x, new Float64Array(2)), /u must have 3 entries, got 2/);
});

test('rewardExpansion matches finite differences of r', () => {
  const task = new ReachTask(model);
  const rng = new Rng(21);
  const { dX, dU } = task;
  for (let k = 0; k < 30; k++) {
    const x = Float64Array.from({ length: dX }, () => rng.normal());
    const scale = k % 3 === 0 ? 0.005 : 0.2; // both inside and outside the smoothing radius
    x[9] = scale * rng.normal();
    x[10] = scale * rng.normal();
    const u = Float64Array.from(task.uMax, (m) => 1.5 * m * rng.normal());
    const e = task.rewardExpansion(x, u);
    close(e.r, task.reward(x, u), 0, 'r');
    const z = Float64Array.from([...x, ...u]);
    const n = dX + dU;
    const f = (v: Float64Array) => task.reward(v.subarray(0, dX), v.subarray(dX));
    const g = (i: number) => (i < dX ? e.rx[i] : e.ru[i - dX]);
    const H = (i: number, j: number) => {
      if (i < dX && j < dX) return e.rxx[i * dX + j];
      if (i >= dX && j >= dX) return e.ruu[(i - dX) * dU + (j - dX)];
      return i >= dX ? e.rux[(i - dX) * dX + j] : e.rux[(j - dX) * dX + i];
    };
    for (let i = 0; i < n; i++) {
      const h = i < dX ? 1e-6 : 1e-6 * task.uMax[i - dX];
      const zp = Float64Array.from(z), zm = Float64Array.from(z);
      zp[i] += h;
      zm[i] -= h;
      close(g(i), (f(zp) - f(zm)) / (2 * h), 1e-6 * Math.max(1, Math.abs(g(i))), `gradient ${i}`);
      for (let j = 0; j < n; j++) {
        const hj = j < dX ? 1e-4 * scale : 1e-4 * task.uMax[j - dX];
        const hi = i < dX ? 1e-4 * scale : 1e-4 * task.uMax[i - dX];
        const pp = Float64Array.from(z), pm = Float64Array.from(z), mp = Float64Array.from(z), mm = Float64Array.from(z);
        pp[i] += hi; pp[j] += hj;
        pm[i] += hi; pm[j] -= hj;
        mp[i] -= hi; mp[j] += hj;
        mm[i] -= hi; mm[j] -= hj;
        const fd = (f(pp) - f(pm) - f(mp) + f(mm)) / (4 * hi * hj);
        close(H(i, j), fd, 1e-4 * Math.max(1, Math.abs(H(i, j))), `Hessian ${i},${j}`);
      }
    }
  }
});

test('initial states: q ~ N(home, initStd^2), qd ~ N(0, initStd^2), reproducible from the seed', () => {
  const task = new ReachTask(model, { initStd: 0.05 });
  const rng = new Rng(5);
  const n = 4000;
  const sum = new Float64Array(6), sq = new Float64Array(6);
  for (let k = 0; k < n; k++) {
    const s = task.sampleEpisodeStart(rng);
    for (let i = 0; i < 3; i++) {
      const dev = [s.q[i] - REACH_DEFAULTS.homePose[i], s.qd[i]];
      dev.forEach((v, j) => { sum[3 * j + i] += v; sq[3 * j + i] += v * v; });
    }
  }
  for (let c = 0; c < 6; c++) {
    const mean = sum[c] / n, std = Math.sqrt(sq[c] / n - mean * mean);
    assert.ok(Math.abs(mean) < 4 * 0.05 / Math.sqrt(n), `mean ${c}: ${mean}`);
    assert.ok(Math.abs(std / 0.05 - 1) < 0.05, `std ${c}: ${std}`);
  }
  const a = new ReachTask(model).sampleEpisodeStart(new Rng(9));
  const b = new ReachTask(model).sampleEpisodeStart(new Rng(9));
  assert.deepEqual(a, b);
});

test('fixed vs random targets: fixed is constant; random targets are tips of configurations around home, inside the box', () => {
  const fixed = new ReachTask(model);
  const rng = new Rng(2);
  for (let k = 0; k < 20; k++) assert.deepEqual([...fixed.sampleEpisodeStart(rng).target].map((v) => +v.toFixed(12)), [0.2, -0.02, 0.13]);
  const home = fixed.tipPosition(Float64Array.from(REACH_DEFAULTS.homePose));
  close(Math.hypot(home[0] - 0.2, home[1] + 0.02), 0.206, 1e-3, 'default target distance from the home fingertip');

  // Whole-range spread: targets all over the plane, at the tip's height, within the reach.
  const task = new ReachTask(model, { targetMode: 'random', softLimitMargin: 0.1 });
  const quadrants = new Set<number>();
  for (let k = 0; k < 500; k++) {
    const { target } = task.sampleEpisodeStart(rng);
    assert.deepEqual([...task.getTarget()], [...target], 'the drawn target becomes current');
    assert.ok(Math.hypot(target[0], target[1]) <= 0.34 + 1e-12 && Math.abs(target[2] - 0.13) < 1e-12, `target ${target}`);
    quadrants.add((target[0] > 0 ? 1 : 0) + (target[1] > 0 ? 2 : 0));
  }
  assert.equal(quadrants.size, 4);
  // A fixed-target task draws random targets when asked (the held-out test on random targets).
  const asked = new Set(Array.from({ length: 50 }, () => Array.from(fixed.sampleEpisodeStart(rng, 'random').target).join()));
  assert.equal(asked.size, 50);
  // A small spread keeps targets near the home tip; a workspace box filters them.
  const near = new ReachTask(model, { targetMode: 'random', randomTargetSpread: 0.2, workspaceMin: [0, -1, -1], workspaceMax: [1, 1, 1] });
  for (let k = 0; k < 200; k++) {
    const { target } = near.sampleEpisodeStart(rng);
    assert.ok(target[0] >= 0, `inside the box: ${target}`);
    assert.ok(Math.hypot(target[0] - home[0], target[1] - home[1]) < 0.2 * (0.34 + 0.22 + 0.1), `near home: ${target}`);
  }
});

test('the default target is reachable under the torque clamp and the injected damping: a Jacobian-transpose controller gets there', async () => {
  const arm = await MujocoArm.create(URDF, { jointDamping: derivedDamping([0.6, 0.1, 0.03], [20, 20, 20], [0, 0, 0], 0.4) });
  arms.push(arm);
  const task = new ReachTask(arm.urdf);
  const s = task.sampleEpisodeStart(new Rng(1));
  let js = arm.reset(s.q, s.qd);
  let x = task.observe(js);
  const d0 = task.distance(x);
  let saturated = 0;
  for (let t = 0; t < task.T; t++) {
    const J = task.chain.jacobian(js.position);
    const v = [0, 1].map((r) => J[3 * r] * js.velocity[0] + J[3 * r + 1] * js.velocity[1] + J[3 * r + 2] * js.velocity[2]);
    const F = [0, 1].map((r) => -20 * x[9 + r] - 2 * v[r]); // N, a spring-damper pulling the fingertip
    const u = Float64Array.from([0, 1, 2], (i) => J[i] * F[0] + J[3 + i] * F[1]);
    js = arm.step(u);
    if (js.effort.some((e, i) => Math.abs(e) === task.uMax[i])) saturated++;
    x = task.observe(js);
  }
  assert.ok(d0 > 0.19, `starts ${d0} m away`);
  assert.ok(saturated > 5, 'the torque limits are active on the way');
  assert.ok(task.distance(x) < 0.005, `ends ${task.distance(x)} m from the target`);
});

test('options are validated with errors naming the field', () => {
  const bad: [object, RegExp][] = [
    [{ T: 0 }, /option 'T' must be an integer >= 1, got 0/],
    [{ T: 2.5 }, /option 'T'/],
    [{ homePose: [0, 0] }, /option 'homePose' must be an array of 3 finite numbers/],
    [{ homePose: [0, 2.7, 0] }, /option 'homePose' must be within the soft limits of joint2, \[-2.6, 2.6\]/],
    [{ homePose: [0, 2.55, 0], softLimitMargin: 0.1 }, /option 'homePose' must be within the soft limits of joint2, \[-2.5, 2.5\]/],
    [{ initStd: -1 }, /option 'initStd' must be a finite number >= 0/],
    [{ targetMode: 'moving' }, /option 'targetMode' must be 'fixed' or 'random', got "moving"/],
    [{ fixedTarget: [0.5, 0] }, /option 'fixedTarget' must be reachable by fingertip within the soft joint limits \(the closest point found is \[0\.34, 0, 0\.13\] m, 0\.160 m away\)/],
    [{ fixedTarget: [0.2, 0, 0.3] }, /option 'fixedTarget' must be reachable: the tip of this planar arm stays at z = 0.13 m/],
    [{ fixedTarget: [NaN, 0] }, /option 'fixedTarget' must be an array of 2 or 3 finite numbers/],
    [{ fixedTarget: [0.2, 0], workspaceMin: [-1, 0.1, -1], workspaceMax: [1, 1, 1] }, /option 'fixedTarget' must be inside the workspace box/],
    [{ workspaceMin: [0.3, -1, -1], workspaceMax: [1, 1, 1] }, /option 'workspaceMin' must be a box containing the tip at the home pose/],
    [{ workspaceMin: [0, 0, 0], workspaceMax: [1, -1, 1] }, /option 'workspaceMax' must be greater than workspaceMin/],
    [{ randomTargetSpread: 0 }, /option 'randomTargetSpread' must be a number > 0/],
    [{ torquePenalty: -0.1 }, /option 'torquePenalty' must be a finite number >= 0/],
    [{ distanceSmoothing: 0 }, /option 'distanceSmoothing' must be a finite number > 0/],
    [{ actionEffortFraction: 1.5 }, /option 'actionEffortFraction' must be a number > 0 and <= 1/],
  ];
  for (const [opts, re] of bad) {
    assert.throws(() => new ReachTask(model, opts as never), (e: Error) => e instanceof TaskOptionError && re.test(e.message), JSON.stringify(opts));
  }
  // undefined means "use the default" (config loaders pass absent keys that way)
  assert.equal(new ReachTask(model, { T: undefined, homePose: undefined, torquePenalty: undefined }).T, 100);
  assert.throws(() => new ReachTask(model, { tipLink: 'hand' }), /unknown link "hand"/);
  assert.throws(() => new ReachTask(model).setTarget(Float64Array.of(0, Infinity, 0)), /target must be finite/);
  assert.throws(() => new ReachTask(model).setTarget(Float64Array.of(0, 0)), /target must have 3 entries/);
});

test('spatial arm with a prismatic and a continuous joint: observation [cos, sin (q1, q2, q4), q3, qd, 3-D tip error]', () => {
  const m = parseUrdf(SPATIAL);
  const task = new ReachTask(m, { tipLink: 'tool', homePose: [0.2, -0.4, 0.05, 1.0], fixedTarget: [0.25, 0.1, 0.5] });
  assert.deepEqual(task.errorAxes, [0, 1, 2]);
  assert.equal(task.dX, 2 * 3 + 1 + 4 + 3);
  const q = Float64Array.of(0.3, -1.1, 0.07, 2.9), qd = Float64Array.of(0.1, 0.2, -0.3, 0.4);
  const x = task.observation(q, qd);
  assert.deepEqual([...x.subarray(0, 3)], [Math.cos(0.3), Math.cos(-1.1), Math.cos(2.9)]);
  assert.deepEqual([...x.subarray(3, 6)], [Math.sin(0.3), Math.sin(-1.1), Math.sin(2.9)]);
  assert.equal(x[6], 0.07, 'prismatic joint: its position, m');
  assert.deepEqual([...x.subarray(7, 11)], [...qd]);
  const p = task.tipPosition(q), t = task.getTarget();
  for (let c = 0; c < 3; c++) close(x[11 + c], p[c] - t[c], 1e-15, `d${c}`);
  const back = task.jointsFromObservation(x);
  back.q.forEach((v, i) => close(v, q[i], 1e-12, `q${i}`));
  const tt = task.targetFromObservation(x);
  for (let c = 0; c < 3; c++) close(tt[c], t[c], 1e-12, `target ${c}`);
  assert.throws(() => new ReachTask(m, { tipLink: 'tool', homePose: [0, 0, 0, 0], fixedTarget: [0.2, -0.1] }), /option 'fixedTarget' must be an array of 3 finite numbers/);
});

test('urdf/ur5e.urdf: spatial 3-D tip error, dX = 21; a target out of reach names the closest reachable point', () => {
  const ur = loadUrdf('urdf/ur5e.urdf');
  const home = [0, -1.5708, 1.5708, -1.5708, -1.5708, 0];
  const task = new ReachTask(ur, { tipLink: 'tool0', homePose: home, fixedTarget: [0.3, 0.3, 0.4], softLimitMargin: 0.1, actionEffortFraction: 0.2 });
  assert.equal(task.dX, 21);
  assert.deepEqual([...task.uMax].map((v) => +v.toFixed(9)), [30, 30, 30, 5.6, 5.6, 5.6]);
  assert.throws(() => new ReachTask(ur, { tipLink: 'tool0', homePose: home, fixedTarget: [1.2, 0, 0.3] }),
    /option 'fixedTarget' must be reachable by tool0 within the soft joint limits \(the closest point found is \[[-\d., ]+\] m, 0\.2\d\d m away\)/);
});
