import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KinematicChain } from '../src/env/kinematics.js';
import { MujocoArm } from '../src/env/mujoco_arm.js';
import { UrdfError } from '../src/env/urdf.js';
import { Rng } from '../src/util/rng.js';
import { derivedDamping } from '../src/control/damping_injection.js';

const URDF = 'urdf/reacher3.urdf';
const HOME = Float64Array.of(0, 0.8, 0.8);
const ZERO = new Float64Array(3);
/** The damping the control law injects on reacher3 (derived from its limits: effort / (0.4 x 20 rad/s)). */
const D = derivedDamping([0.6, 0.1, 0.03], [20, 20, 20], [0, 0, 0], 0.4);
const arms: MujocoArm[] = [];
async function make(opts: Parameters<typeof MujocoArm.create>[1] = {}, path = URDF): Promise<MujocoArm> {
  const a = await MujocoArm.create(path, opts);
  arms.push(a);
  return a;
}
after(() => arms.forEach((a) => a.dispose()));
const tmp = mkdtempSync(join(tmpdir(), 'naf-arm-'));

test('create: spec from the URDF, dt and timestep defaults, joint states by name', async () => {
  const arm = await make();
  assert.equal(arm.dt, 0.02);
  assert.equal(arm.timestep, 0.002);
  assert.deepEqual(arm.spec.jointNames, ['joint1', 'joint2', 'joint3']);
  assert.deepEqual([...arm.spec.effortLimits], [0.6, 0.1, 0.03]);
  const js = arm.reset(HOME, Float64Array.of(0.1, -0.2, 0.3));
  assert.deepEqual(js.name, ['joint1', 'joint2', 'joint3']);
  assert.deepEqual([...js.position], [...HOME]);
  assert.deepEqual([...js.velocity], [0.1, -0.2, 0.3]);
  assert.deepEqual([...js.effort], [0, 0, 0]);
  const s = arm.step(ZERO);
  assert.ok(Math.abs(s.stamp - js.stamp - 0.02) < 1e-12, 'one control period of simulation time');
  // Time keeps running across resets, so stamps are monotonic.
  assert.ok(arm.reset(HOME, ZERO).stamp >= s.stamp);
});

test('create rejects bad periods and bad URDFs with clear errors', async () => {
  await assert.rejects(MujocoArm.create(URDF, { dt: 0 }), /dt must be a positive number/);
  await assert.rejects(MujocoArm.create(URDF, { timestep: -1 }), /timestep must be a positive number/);
  await assert.rejects(MujocoArm.create(URDF, { dt: 0.025, timestep: 0.002 }), /integer multiple of timestep/);
  await assert.rejects(MujocoArm.create(URDF, { jointNames: ['joint1', 'nope'] }), UrdfError);
  const bad = join(tmp, 'bad.urdf');
  writeFileSync(bad, '<robot name="x"><link name="a"></robot>');
  await assert.rejects(MujocoArm.create(bad), /malformed XML/);
  // Valid URDF that MuJoCo cannot compile (moving links of zero mass): MuJoCo's message is kept.
  const massless = join(tmp, 'massless.urdf');
  writeFileSync(massless, readFileSync(URDF, 'utf8').replace('<mass value="0.0848"/>', '<mass value="0"/>').replace('<mass value="0.05"/>', '<mass value="0"/>'));
  await assert.rejects(MujocoArm.create(massless), /MuJoCo rejected .*massless\.urdf: mjCError: .*mass and inertia of moving bodies/);
});

test('torque clamping: above the limit is applied as the limit, NaN/Inf become 0', async () => {
  const a = await make(), b = await make();
  a.reset(HOME, ZERO);
  b.reset(HOME, ZERO);
  const sa = a.step(Float64Array.of(10, -10, 0.01));
  assert.deepEqual([...sa.effort], [0.6, -0.1, 0.01]);
  const sb = b.step(Float64Array.of(0.6, -0.1, 0.01));
  assert.deepEqual([...sa.position], [...sb.position]);
  assert.deepEqual([...sa.velocity], [...sb.velocity]);
  const na = a.step(Float64Array.of(NaN, Infinity, -Infinity));
  assert.deepEqual([...na.effort], [0, 0, 0]);
  const nb = b.step(ZERO);
  assert.deepEqual([...na.position], [...nb.position]);
  assert.deepEqual([...a.clampTorque([0.3, -0.05, -1])], [0.3, -0.05, -0.03]);
  assert.throws(() => a.step(Float64Array.of(0, 0)), /u must have 3 entries, got 2/);
  assert.throws(() => a.reset(Float64Array.of(0, NaN, 0), ZERO), /non-finite state for joint2/);
});

test('determinism: same seed and torques give identical trajectories, also after reset', async () => {
  const run = async (arm: MujocoArm) => {
    const rng = new Rng(42);
    const out: number[] = [];
    for (let ep = 0; ep < 2; ep++) {
      arm.reset(Float64Array.from(HOME, (h) => h + 0.1 * rng.normal()), ZERO);
      for (let t = 0; t < 50; t++) {
        const js = arm.step(Float64Array.from(arm.spec.effortLimits, (l) => 1.2 * l * (2 * rng.uniform() - 1)));
        out.push(...js.position, ...js.velocity);
      }
    }
    return out;
  };
  const a = await make();
  const first = await run(a);
  assert.deepEqual(await run(await make()), first, 'a second arm');
  assert.deepEqual(await run(a), first, 'the same arm again (reset clears all MuJoCo state)');
});

test('planar arm: gravity does no work, injected damping dissipates, joint limits hold', async () => {
  const arm = await make({ jointDamping: D });
  arm.reset(Float64Array.of(0.3, -1, 2), ZERO);
  let js = arm.reset(Float64Array.of(0.3, -1, 2), ZERO);
  for (let t = 0; t < 50; t++) js = arm.step(ZERO);
  assert.deepEqual([...js.position], [0.3, -1, 2], 'at rest with zero torque the arm stays put');
  // Zero torque from 5 rad/s: the speed falls in every 1 s window (the slowest damped mode has a
  // time constant <= 1 s, see the URDF) and is below 1% after 6 s.
  js = arm.reset(HOME, Float64Array.of(5, -5, 5));
  let speed = Math.hypot(...js.velocity);
  for (let w = 0; w < 6; w++) {
    for (let t = 0; t < 50; t++) js = arm.step(ZERO);
    const s = Math.hypot(...js.velocity);
    assert.ok(s < 0.6 * speed, `window ${w}: speed ${s} after ${speed}`);
    speed = s;
  }
  assert.ok(speed < 0.01 * Math.hypot(5, 5, 5), `velocities decay under damping: ${js.velocity}`);
  // Full torque for 2 s drives joint 2 into its stop at 2.6 rad; the limit constraint holds it there.
  arm.reset(HOME, ZERO);
  for (let t = 0; t < 100; t++) js = arm.step(Float64Array.of(0, 1, 0));
  assert.ok(js.position[1] > 2.5 && js.position[1] < 2.65, `joint2 at its limit: ${js.position[1]}`);
});

test('sizing: full torque on joint1 alone turns it > 2 rad in 0.5 s under the injected damping (crosses the workspace)', async () => {
  const arm = await make({ jointDamping: D });
  let js = arm.reset(HOME, ZERO);
  for (let t = 0; t < 25; t++) js = arm.step(Float64Array.of(1, 0, 0));
  assert.ok(js.position[0] > 2 && js.position[0] <= 3.05, `joint1 after 0.5 s: ${js.position[0]}`);
});

test('bodyPosition is MuJoCo xpos at the current state; unknown bodies and use after dispose are errors', async () => {
  const arm = await MujocoArm.create(URDF);
  arm.reset(ZERO, ZERO);
  assert.deepEqual([...arm.bodyPosition('fingertip')].map((v) => +v.toFixed(12)), [0.34, 0, 0.13]);
  const chain = new KinematicChain(arm.urdf, 'fingertip', arm.spec.jointNames);
  for (let t = 0; t < 3; t++) {
    const js = arm.step(Float64Array.of(0.6, -0.1, 0.03));
    const p = arm.bodyPosition('fingertip'), fk = chain.position(js.position);
    assert.ok(Math.hypot(p[0] - fk[0], p[1] - fk[1], p[2] - fk[2]) < 1e-12, 'xpos follows the stepped state');
  }
  assert.throws(() => arm.bodyPosition('hand'), /no body "hand"/);
  arm.dispose();
  arm.dispose();
  assert.throws(() => arm.step(ZERO), /used after dispose/);
});

test('package:// meshes that are not found are left out of the simulation and reported', async () => {
  const mesh = join(tmp, 'mesh.urdf');
  writeFileSync(mesh, readFileSync(URDF, 'utf8')
    .replace('<geometry><sphere radius="0.015"/></geometry>\n    </collision>', '<geometry><mesh filename="package://my_arm/meshes/tip.stl"/></geometry>\n    </collision>')
    .replace('<geometry><sphere radius="0.015"/></geometry>\n      <material name="red"/>', '<geometry><mesh filename="package://my_arm/meshes/tip.dae"/></geometry>\n      <material name="red"/>'));
  const arm = await make({}, mesh);
  const tip = arm.collision.links.find((l) => l.link === 'fingertip')!;
  assert.deepEqual(tip.dropped, [
    { element: 'visual', file: 'package://my_arm/meshes/tip.dae', reason: 'visual' },
    { element: 'collision', file: 'package://my_arm/meshes/tip.stl', reason: 'not found' },
  ]);
  arm.reset(HOME, ZERO);
  assert.ok(arm.bodyPosition('fingertip').every(Number.isFinite));
});

test('a URDF without a <mujoco> block still keeps its fingertip body', async () => {
  const path = join(tmp, 'plain.urdf');
  writeFileSync(path, readFileSync(URDF, 'utf8').replace(/<mujoco>[\s\S]*?<\/mujoco>/, ''));
  const arm = await make({}, path);
  arm.reset(ZERO, ZERO);
  assert.deepEqual([...arm.bodyPosition('fingertip')].map((v) => +v.toFixed(12)), [0.34, 0, 0.13]);
});
