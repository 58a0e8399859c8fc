/**
 * Damping injection: the derived D, where it runs (the simulator's joints in
 * `hardware` mode, the node's command in `node` mode), applied alike by the embedded training arm,
 * the node and deploy's bridge, and `node` mode refused where the sampled loop is unstable.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { parseConfig } from '../src/config/load.js';
import { checkNodeDamping } from '../src/config/control_law.js';
import { DampingInjection, dampingPlan, derivedDamping, nodeDampingCheck, NODE_DAMPING_MAX, totalDamping } from '../src/control/damping_injection.js';
import { MujocoArm } from '../src/env/mujoco_arm.js';
import { RigidBodyModel } from '../src/env/rigid_body.js';
import { SupervisedArm } from '../src/safety/supervised_arm.js';
import { buildArm, buildArmDynamics, buildDampingPlan, simulatedRobotDamping } from '../src/training/factory.js';
import { InThreadLearnerClient } from '../src/training/learner_client.js';
import { createInProcessSystem } from '../src/ros/sim/inprocess_system.js';
import { captureLogger } from './ros_fakes.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const owned: { dispose(): void }[] = [];
after(() => owned.forEach((o) => o.dispose()));
const keep = <T extends { dispose(): void }>(o: T): T => (owned.push(o), o);

const UR5E = {
  urdf_path: 'urdf/ur5e.urdf',
  joints: ['shoulder_pan_joint', 'shoulder_lift_joint', 'elbow_joint', 'wrist_1_joint', 'wrist_2_joint', 'wrist_3_joint'],
  task: { tip_link: 'tool0', home_pose: [0, -1.5708, 1.5708, -1.5708, -1.5708, 0], fixed_target: [0.4, 0.3, 0.4], action_effort_fraction: 0.2 },
  safety: { gravity_compensation: 'model', velocity_limit: 3.14 },
};

test('derived damping: D = max(0, u_max / (kappa v) - b); given values are used as they are; errors name the parameter', () => {
  const D = derivedDamping([30, 5.6], [Math.PI, Math.PI], [0, 1], 0.4);
  assert.ok(Math.abs(D[0] - 30 / (0.4 * Math.PI)) < 1e-12);
  assert.ok(Math.abs(D[1] - (5.6 / (0.4 * Math.PI) - 1)) < 1e-12, 'the URDF damping counts toward it');
  assert.equal(derivedDamping([1], [1], [10], 0.4)[0], 0, 'never negative');
  // reacher3: the values its URDF was hand-tuned to before the rule existed (0.07, 0.013, 0.004)
  assert.deepEqual(Array.from(derivedDamping([0.6, 0.1, 0.03], [20, 20, 20], [0, 0, 0], 0.4), (d) => +d.toFixed(5)), [0.075, 0.0125, 0.00375]);
  const given = dampingPlan({ mode: 'node', given: [1, 2], uMax: [1, 1], speedLimit: [1, 1], urdfDamping: [0, 0], speedFraction: 0.4 });
  assert.deepEqual([...given.D, given.derived], [1, 2, false]);
  assert.deepEqual([...dampingPlan({ mode: 'none', given: [], uMax: [1], speedLimit: [1], urdfDamping: [0.5], speedFraction: 0.4 }).D], [0], 'none injects nothing');
  assert.deepEqual([...totalDamping(dampingPlan({ mode: 'hardware', given: [], uMax: [4], speedLimit: [10], urdfDamping: [0.5], speedFraction: 0.4 }))], [1]);
  assert.throws(() => dampingPlan({ mode: 'node', given: [1], uMax: [1, 1], speedLimit: [1, 1], urdfDamping: [0, 0], speedFraction: 0.4 }), /safety\.joint_damping: must be \[\] \(derived\) or 2 finite values >= 0/);
  assert.throws(() => dampingPlan({ mode: 'node', given: [1, -1], uMax: [1, 1], speedLimit: [1, 1], urdfDamping: [0, 0], speedFraction: 0.4 }), /safety\.joint_damping/);
  assert.throws(() => parseConfig({ safety: { damping_injection: 'driver' } }), /safety\.damping_injection/);
  assert.throws(() => parseConfig({ safety: { damping_speed_fraction: 0 } }), /safety\.damping_speed_fraction/);
});

test('DampingInjection: -D qd in node mode only; the simulator takes D in hardware mode only', () => {
  const plan = (mode: 'none' | 'node' | 'hardware') => dampingPlan({ mode, given: [2, 3], uMax: [1, 1], speedLimit: [1, 1], urdfDamping: [0, 0], speedFraction: 0.4 });
  assert.deepEqual([...new DampingInjection(plan('node')).torque([1, -2])], [-2, 6]);
  assert.deepEqual([...new DampingInjection(plan('node')).torque([NaN, 1])], [0, -3], 'a non-finite velocity gives no torque');
  assert.deepEqual([...new DampingInjection(plan('hardware')).torque([1, -2])], [0, 0]);
  assert.deepEqual([...new DampingInjection(plan('hardware')).simulatorDamping()], [2, 3]);
  assert.deepEqual([...new DampingInjection(plan('node')).simulatorDamping()], [0, 0]);
  assert.throws(() => new DampingInjection(plan('node')).torque([1]), /qd must have 2 entries/);
});

test('the sampled-data check: dt * lambda_max(M^-1 D) on a 1-DoF joint is D dt / m', () => {
  const c = nodeDampingCheck(Float64Array.of(10), () => Float64Array.of(2), [[0]], 0.02);
  assert.ok(Math.abs(c.worst - 0.1) < 1e-12 && c.ok);
  assert.ok(Math.abs(c.maxStable[0] - NODE_DAMPING_MAX * 2 / 0.02) < 1e-9);
  assert.equal(nodeDampingCheck(Float64Array.of(60), () => Float64Array.of(2), [[0]], 0.02).ok, false);
});

test('node mode is refused on the UR5e at 50 Hz, naming the wrist and the alternative; on reacher3 refused at 50 Hz (coupled rate 0.77), accepted at 100 Hz', async () => {
  const ur = parseConfig({ ...UR5E, safety: { ...UR5E.safety, damping_injection: 'node' } });
  const rb = keep(await RigidBodyModel.create('urdf/ur5e.urdf', UR5E.joints));
  assert.throws(() => checkNodeDamping(ur, buildDampingPlan(ur), rb), (e: Error) => {
    assert.match(e.message, /safety\.damping_injection: node adds −D q̇ at 50 Hz, stable only while dt·λ_max\(M⁻¹D\) <= 0\.5/);
    assert.match(e.message, /wrist_3_joint \(D [0-9.]+, dt·D\/m [0-9.e+]+, at most [0-9.e-]+ N·m·s\/rad\)/);
    assert.match(e.message, /Use hardware/);
    return true;
  });
  await assert.rejects(buildArm(ur), /safety\.damping_injection: node/, 'the embedded run refuses it at start');
  const reacher = parseConfig({ safety: { damping_injection: 'node' } });
  const dyn = keep(await buildArmDynamics(reacher));
  // Each joint alone is at 0.30-0.36, but the coupled rate of the sampled loop is 0.77: too close to 1.
  assert.throws(() => checkNodeDamping(reacher, buildDampingPlan(reacher), dyn), /got 0\.769 on this arm: joint1 \(D 0\.075, dt·D\/m 0\.364/);
  const fast = parseConfig({ control_rate_hz: 100, safety: { damping_injection: 'node' } });
  checkNodeDamping(fast, buildDampingPlan(fast), dyn);
});

/** Joint speed after one control period from qd0 with zero command, on `arm`. */
function decay(arm: { reset(q: Float64Array, qd: Float64Array): unknown; step(u: Float64Array): { velocity: Float64Array } }, q: number[], qd0: number[]): number[] {
  arm.reset(Float64Array.from(q), Float64Array.from(qd0));
  return Array.from(arm.step(new Float64Array(q.length)).velocity);
}

test('hardware mode: the embedded training arm has D in its joints at the physics step (as a MuJoCo arm given D); node mode: the supervisor adds -D qd per control period', async () => {
  const hw = parseConfig({});
  const D = buildDampingPlan(hw).D;
  assert.deepEqual(Array.from(D, (d) => +d.toFixed(5)), [0.075, 0.0125, 0.00375]);
  const trained = keep(await buildArm(hw));
  assert.ok(trained instanceof SupervisedArm);
  const reference = keep(await MujocoArm.create('urdf/reacher3.urdf', { jointDamping: D }));
  const bare = keep(await MujocoArm.create('urdf/reacher3.urdf'));
  const q = [0, 0.8, 0.8], qd = [3, -2, 1];
  assert.deepEqual(decay(trained, q, qd), decay(reference, q, qd), 'the training arm = the arm with D in its joints');
  assert.deepEqual([...simulatedRobotDamping(hw)], [...D], 'the MuJoCo bridges (naf-ros run, the in-process node) take the same D');
  const free = decay(bare, q, qd);
  assert.ok(Math.hypot(...decay(reference, q, qd)) < 0.9 * Math.hypot(...free), 'D brakes');
  // node mode: the same D, applied by the supervisor as a torque held over the 20 ms period
  // node mode (stable at 100 Hz, see above): the same D, applied by the supervisor as a torque held over the period
  const nodeConfig = parseConfig({ control_rate_hz: 100, safety: { damping_injection: 'node' } });
  const node = keep(await buildArm(nodeConfig));
  assert.deepEqual([...simulatedRobotDamping(nodeConfig)], [0, 0, 0], 'no D in the simulated joints');
  const bare100 = keep(await MujocoArm.create('urdf/reacher3.urdf', { dt: 0.01 }));
  node.reset(Float64Array.from(q), Float64Array.from(qd));
  const held = Float64Array.from(D, (d, j) => -d * qd[j]);
  bare100.reset(Float64Array.from(q), Float64Array.from(qd));
  assert.deepEqual(Array.from(node.step(new Float64Array(3)).velocity), Array.from(bare100.step(held).velocity));
  assert.deepEqual([...node.lastControl], [0, 0, 0], 'the controller\'s share excludes the damping term');
});

test('the node applies the same law: hardware mode publishes no damping term, node mode publishes -D qd, and the start line says which', async () => {
  for (const mode of ['hardware', 'node'] as const) {
    const runDir = mkdtempSync(join(tmpdir(), 'naf-damping-node-'));
    const cap = captureLogger();
    const sys = await createInProcessSystem({
      control_rate_hz: 100, task: { horizon: 10 }, agent: { hidden: [8, 8], warmup_steps: 1000 }, training: { episodes: 1, checkpoint_every_episodes: 1000 },
      safety: { damping_injection: mode },
    }, (config) => InThreadLearnerClient.create(config, runDir), cap.logger);
    try {
      const { trainer } = sys;
      assert.equal(trainer.damping.mode, mode);
      assert.deepEqual(Array.from(trainer.damping.D, (d) => +d.toFixed(5)), [0.075, 0.0125, 0.00375]);
      assert.match(cap.lines.map((l) => l.message).join('\n'), mode === 'hardware' ? /damping injection hardware: the robot adds −D q̇ in its own loop/ : /damping injection node \(naf_ros adds −D q̇ at the control rate\)/);
      const qd = Float64Array.of(1, -1, 0.5);
      const js = { name: ['joint1', 'joint2', 'joint3'], position: Float64Array.of(0, 0.8, 0.8), velocity: qd, effort: new Float64Array(3), stamp: 0 };
      const f = trainer.supervisor.filter(new Float64Array(3), js, 0, 0);
      const expected = mode === 'node' ? Array.from(trainer.damping.D, (d, j) => -d * qd[j]) : [0, 0, 0];
      assert.deepEqual(Array.from(f.u), expected);
      assert.deepEqual(Array.from(f.control), [0, 0, 0]);
    } finally {
      await sys.close();
      rmSync(runDir, { recursive: true, force: true });
    }
  }
});
