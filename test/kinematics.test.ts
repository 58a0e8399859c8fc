import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KinematicChain, axisAngleToMatrix, rpyToMatrix } from '../src/env/kinematics.js';
import { MujocoArm } from '../src/env/mujoco_arm.js';
import { armSpecFromUrdf, jointPath, loadUrdf, parseUrdf, UrdfError } from '../src/env/urdf.js';
import { Rng } from '../src/util/rng.js';
import { SPATIAL } from './spatial_arm.js';

const URDF = 'urdf/reacher3.urdf';
const arms: MujocoArm[] = [];
after(() => arms.forEach((a) => a.dispose()));

function randomQ(rng: Rng, lo: Float64Array, hi: Float64Array): Float64Array {
  return Float64Array.from(lo, (l, i) => {
    const a = Number.isFinite(l) ? l : -Math.PI, b = Number.isFinite(hi[i]) ? hi[i] : Math.PI;
    return a + (b - a) * rng.uniform();
  });
}

test('rpyToMatrix is Rz(yaw) Ry(pitch) Rx(roll); axisAngleToMatrix is a rotation about the axis', () => {
  const R = rpyToMatrix([Math.PI / 2, 0, 0]); // roll 90 deg: y -> z
  assert.ok(Math.abs(R[3 * 2 + 1] - 1) < 1e-15 && Math.abs(R[3 * 1 + 1]) < 1e-15);
  const Y = rpyToMatrix([0, 0, Math.PI / 2]); // yaw 90 deg: x -> y
  assert.ok(Math.abs(Y[3 * 1 + 0] - 1) < 1e-15);
  // Fixed-axis rpy equals the composition of the elementary rotations.
  const [r, p, y] = [0.3, -0.7, 1.1];
  const Rx = axisAngleToMatrix([1, 0, 0], r), Ry = axisAngleToMatrix([0, 1, 0], p), Rz = axisAngleToMatrix([0, 0, 1], y);
  const mul = (A: Float64Array, B: Float64Array) =>
    Float64Array.from({ length: 9 }, (_, k) => A[3 * Math.floor(k / 3)] * B[k % 3] + A[3 * Math.floor(k / 3) + 1] * B[3 + (k % 3)] + A[3 * Math.floor(k / 3) + 2] * B[6 + (k % 3)]);
  const expected = mul(Rz, mul(Ry, Rx));
  rpyToMatrix([r, p, y]).forEach((v, k) => assert.ok(Math.abs(v - expected[k]) < 1e-15));
  // Rodrigues about a general axis leaves the axis fixed and is orthonormal.
  const a: [number, number, number] = [2 / 3, -1 / 3, 2 / 3];
  const A = axisAngleToMatrix(a, 0.9);
  for (let i = 0; i < 3; i++) assert.ok(Math.abs(A[3 * i] * a[0] + A[3 * i + 1] * a[1] + A[3 * i + 2] * a[2] - a[i]) < 1e-15);
  const AtA = mul(Float64Array.from({ length: 9 }, (_, k) => A[3 * (k % 3) + Math.floor(k / 3)]), A);
  AtA.forEach((v, k) => assert.ok(Math.abs(v - (k % 4 === 0 ? 1 : 0)) < 1e-15));
});

test('reacher3 fingertip FK equals the planar closed form', () => {
  const m = loadUrdf(URDF);
  const chain = new KinematicChain(m, 'fingertip', ['joint1', 'joint2', 'joint3']);
  const rng = new Rng(3);
  for (let k = 0; k < 100; k++) {
    const q = randomQ(rng, Float64Array.of(-3, -2.6, -2.6), Float64Array.of(3, 2.6, 2.6));
    const a1 = q[0], a2 = a1 + q[1], a3 = a2 + q[2];
    const x = 0.12 * Math.cos(a1) + 0.12 * Math.cos(a2) + 0.1 * Math.cos(a3);
    const y = 0.12 * Math.sin(a1) + 0.12 * Math.sin(a2) + 0.1 * Math.sin(a3);
    const p = chain.position(q);
    assert.ok(Math.abs(p[0] - x) < 1e-12 && Math.abs(p[1] - y) < 1e-12 && Math.abs(p[2] - 0.13) < 1e-12, `q=${q}`);
  }
});

for (const [label, xml, links, file] of [
  ['reacher3', null, ['base_link', 'link1', 'link2', 'link3', 'fingertip'], URDF],
  ['spatial arm (rpy, tilted axes, prismatic, continuous)', SPATIAL, ['base', 'a', 'b', 'c', 'tool'], ''],
  ['ur5e (6-DoF, gravity-loaded)', null, ['shoulder_link', 'upper_arm_link', 'forearm_link', 'wrist_1_link', 'wrist_2_link', 'wrist_3_link', 'flange', 'tool0'], 'urdf/ur5e.urdf'],
] as const) {
  test(`FK agrees with MuJoCo's body positions to 1e-9 m over 200 random configurations: ${label}`, async () => {
    let path: string = file;
    if (xml) {
      path = join(mkdtempSync(join(tmpdir(), 'naf-fk-')), 'spatial.urdf');
      writeFileSync(path, xml);
    }
    const arm = await MujocoArm.create(path, { dt: 0.02 });
    arms.push(arm);
    // Each link's chain reads the actuated joints on its own path from the root.
    const chains = links.map((l) => new KinematicChain(arm.urdf, l, jointPath(arm.urdf, l).filter((j) => j.type !== 'fixed').map((j) => j.name)));
    const rng = new Rng(11);
    let worst = 0;
    for (let k = 0; k < 200; k++) {
      const q = randomQ(rng, arm.spec.lowerLimits, arm.spec.upperLimits);
      arm.reset(q, new Float64Array(q.length));
      links.forEach((l, i) => {
        const qi = chains[i].jointNames.map((n) => q[arm.spec.jointNames.indexOf(n)]);
        const p = chains[i].position(qi), ref = arm.bodyPosition(l);
        for (let c = 0; c < 3; c++) worst = Math.max(worst, Math.abs(p[c] - ref[c]));
      });
    }
    assert.ok(worst < 1e-9, `max |FK - MuJoCo| = ${worst} m`);
  });
}

test('position Jacobian matches central finite differences (revolute, continuous and prismatic joints)', () => {
  for (const [m, tip] of [[loadUrdf(URDF), 'fingertip'], [parseUrdf(SPATIAL), 'tool']] as const) {
    const spec = armSpecFromUrdf(m);
    const chain = new KinematicChain(m, tip, spec.jointNames);
    const nJ = spec.jointNames.length;
    const rng = new Rng(5);
    for (let k = 0; k < 50; k++) {
      const q = randomQ(rng, spec.lowerLimits, spec.upperLimits);
      const J = chain.jacobian(q);
      const h = 1e-6;
      for (let j = 0; j < nJ; j++) {
        const qp = Float64Array.from(q), qm = Float64Array.from(q);
        qp[j] += h;
        qm[j] -= h;
        const pp = chain.position(qp), pm = chain.position(qm);
        for (let r = 0; r < 3; r++) {
          const fd = (pp[r] - pm[r]) / (2 * h);
          assert.ok(Math.abs(J[r * nJ + j] - fd) < 1e-8, `${tip} J[${r},${j}] = ${J[r * nJ + j]} vs fd ${fd}`);
        }
      }
    }
  }
});

test('KinematicChain rejects a q of the wrong length and joints off the path', () => {
  const m = loadUrdf(URDF);
  const chain = new KinematicChain(m, 'fingertip', ['joint1', 'joint2', 'joint3']);
  assert.throws(() => chain.position([0, 0]), /q must have 3 entries, got 2/);
  assert.throws(() => new KinematicChain(m, 'fingertip', ['joint1', 'joint2']), (e: Error) => e instanceof UrdfError && /joint "joint3" on the path to "fingertip" is not in q/.test(e.message));
  assert.throws(() => new KinematicChain(m, 'link1', ['joint1', 'joint2']), /joint "joint2" is not on the path to "link1"/);
  assert.throws(() => new KinematicChain(m, 'hand', ['joint1']), /unknown link "hand"/);
});
