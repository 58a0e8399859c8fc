/**
 * Gravity on the 6-DoF arm (urdf/ur5e.urdf): the rigid-body model (MuJoCo on the URDF) against
 * the simulated arm, gravity compensation holding the arm still, and homing under gravity with
 * gains derived from the arm.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { Matrix, solve } from 'ml-matrix';
import { parseConfig } from '../src/config/load.js';
import { paramsFileDir, resolveFileRelative } from '../src/config/params_file.js';
import { totalDamping } from '../src/control/damping_injection.js';
import { SupervisedArm } from '../src/safety/supervised_arm.js';
import { derivedHomingGains, homed, pdHomingTorque } from '../src/control/pd_homing.js';
import { KinematicChain } from '../src/env/kinematics.js';
import { MujocoArm } from '../src/env/mujoco_arm.js';
import { RigidBodyModel } from '../src/env/rigid_body.js';
import { buildArm, buildDampingPlan } from '../src/training/factory.js';
import { InThreadLearnerClient } from '../src/training/learner_client.js';
import { createInProcessSystem } from '../src/ros/sim/inprocess_system.js';
import { captureLogger } from './ros_fakes.js';
import type { Arm } from '../src/env/types.js';
import { Rng } from '../src/util/rng.js';

const URDF = 'urdf/ur5e.urdf';
const HOME = [0, -1.5708, 1.5708, -1.5708, -1.5708, 0];
const JOINTS = ['shoulder_pan_joint', 'shoulder_lift_joint', 'elbow_joint', 'wrist_1_joint', 'wrist_2_joint', 'wrist_3_joint'];
const owned: { dispose(): void }[] = [];
after(() => owned.forEach((o) => o.dispose()));
const keep = <T extends { dispose(): void }>(o: T): T => (owned.push(o), o);

/** Home and four poses around it (deterministic), all clear of self-contact. */
function poses(): Float64Array[] {
  const rng = new Rng(17);
  return [Float64Array.from(HOME), ...Array.from({ length: 4 }, () => Float64Array.from(HOME, (h) => h + 0.6 * (2 * rng.uniform() - 1)))];
}

test('M(q) of the rigid-body model is the simulated arm\'s inertia: one physics step from rest gives qd = dt (M + dt B)^-1 u (B the injected damping, implicit)', async () => {
  const rb = keep(await RigidBodyModel.create(URDF, JOINTS));
  const B = [24, 24, 24, 4.5, 4.5, 4.5];
  const arm = keep(await MujocoArm.create(URDF, { dt: 0.002, timestep: 0.002, jointNames: JOINTS, jointDamping: B }));
  const u = Float64Array.of(3, -4, 2, 0.5, -0.3, 0.1);
  for (const q of poses()) {
    const M = rb.massMatrix(q), g = rb.gravity(q);
    for (let i = 0; i < 6; i++) for (let j = 0; j < 6; j++) assert.ok(Math.abs(M[i * 6 + j] - M[j * 6 + i]) < 1e-12, 'symmetric');
    arm.reset(q, new Float64Array(6));
    const js = arm.step(Float64Array.from(u, (v, i) => v + g[i]));
    // MuJoCo's Euler step is implicit in the joint damping B: (M + dt B) qd1 = dt (u + g - g).
    const A = new Matrix(Array.from({ length: 6 }, (_, i) => Array.from({ length: 6 }, (_, j) => M[i * 6 + j] + (i === j ? 0.002 * (rb.damping[i] + B[i]) : 0))));
    const qd = solve(A, Matrix.columnVector(Array.from(u, (v) => 0.002 * v)));
    for (let i = 0; i < 6; i++) assert.ok(Math.abs(js.velocity[i] - qd.get(i, 0)) < 1e-9 * Math.max(1, Math.abs(qd.get(i, 0))), `joint ${i}: ${js.velocity[i]} vs ${qd.get(i, 0)}`);
  }
  assert.deepEqual([...rb.damping], [0, 0, 0, 0, 0, 0], 'URDF damping: UR\'s published 0');
});

test('gravity compensation (model) holds the UR5e still at five poses with zero policy torque: tool0 drifts < 1 mm in 2 s', async () => {
  const config = parseConfig({
    urdf_path: URDF, joints: JOINTS, task: { tip_link: 'tool0', home_pose: HOME, fixed_target: [0.4, 0.3, 0.4] },
    safety: { gravity_compensation: 'model' },
  });
  const held = keep(await buildArm(config));
  assert.ok(held instanceof SupervisedArm);
  const bare = keep(await MujocoArm.create(URDF, { jointNames: JOINTS }));
  const chain = new KinematicChain(bare.urdf, 'tool0', JOINTS);
  const drift = (arm: Arm, q: Float64Array) => {
    const p0 = chain.position(arm.reset(q, new Float64Array(6)).position);
    let js = arm.reset(q, new Float64Array(6));
    for (let t = 0; t < 100; t++) js = arm.step(new Float64Array(6)); // 100 x 20 ms
    const p = chain.position(js.position);
    return Math.hypot(p[0] - p0[0], p[1] - p0[1], p[2] - p0[2]);
  };
  for (const q of poses()) {
    const d = drift(held, q);
    assert.ok(d < 1e-3, `pose [${Array.from(q, (v) => v.toFixed(2))}]: drift ${(d * 1000).toFixed(4)} mm`);
    assert.ok(drift(bare, q) > 0.05, 'without compensation the same arm falls (gravity acts)');
  }
});

test('derived homing gains: critically damped where the joint damping is light, kp ~ b omega where it dominates', () => {
  // One joint of inertia 2 kg m^2: b = 0 gives a double pole at -omega = -10 rad/s (dt = 20 ms).
  let g = derivedHomingGains(Float64Array.of(2), Float64Array.of(0), 0.02);
  assert.ok(Math.abs(g.kp[0] - 2 * 100) < 1e-9 && Math.abs(g.kd[0] - 2 * 2 * 10) < 1e-9, `${g.kp} ${g.kd}`);
  // Heavily damped (b = 100 > 2 m omega = 40): no extra damping, poles at -10 and -(50 - 10).
  g = derivedHomingGains(Float64Array.of(2), Float64Array.of(100), 0.02);
  assert.equal(g.kd[0], 0);
  const [m, c, k] = [2, 100, g.kp[0]];
  const roots = [(-c + Math.sqrt(c * c - 4 * m * k)) / (2 * m), (-c - Math.sqrt(c * c - 4 * m * k)) / (2 * m)];
  assert.ok(Math.abs(roots[0] + 10) < 1e-9 && Math.abs(roots[1] + 40) < 1e-9, `poles ${roots}`);
  // A fast control loop is capped at omega = 10 rad/s.
  g = derivedHomingGains(Float64Array.of(1), Float64Array.of(0), 0.002);
  assert.ok(Math.abs(g.kp[0] - 100) < 1e-9);
  assert.throws(() => derivedHomingGains(Float64Array.of(1, 0, 0, 1), Float64Array.of(0), 0.02), /M must have 1 entries/);
  assert.throws(() => derivedHomingGains(Float64Array.of(-1), Float64Array.of(0), 0.02), /not positive definite/);
});

test('homing under gravity converges on the UR5e: PD with gains derived from M(q_home) and the injected damping + gravity compensation, torque-capped', async () => {
  const rb = keep(await RigidBodyModel.create(URDF, JOINTS));
  const config = parseConfig({
    urdf_path: URDF, joints: JOINTS, task: { tip_link: 'tool0', home_pose: HOME, fixed_target: [0.4, 0.3, 0.4], action_effort_fraction: 0.2 },
    safety: { gravity_compensation: 'model' },
  });
  const arm = keep(await buildArm(config));
  const home = Float64Array.from(HOME);
  const gains = derivedHomingGains(rb.massMatrix(home), totalDamping(buildDampingPlan(config)), arm.dt);
  const cap = Float64Array.of(30, 30, 30, 5.6, 5.6, 5.6);
  const rng = new Rng(3);
  for (let trial = 0; trial < 3; trial++) {
    let js = arm.reset(Float64Array.from(home, (h) => h + 0.5 * (2 * rng.uniform() - 1)), new Float64Array(6));
    let t = 0, saturated = false;
    for (; t < 250 && !homed(js.position, js.velocity, home, 0.01, 0.01); t++) {
      const u = pdHomingTorque(js.position, js.velocity, home, { ...gains, maxTorque: cap });
      if (u.some((v, i) => Math.abs(v) === cap[i])) saturated = true;
      js = arm.step(u);
    }
    assert.ok(t < 250, `trial ${trial}: not homed within 5 s (q - home = [${Array.from(js.position, (q, i) => (q - home[i]).toFixed(3))}])`);
    assert.ok(t * arm.dt < 3, `trial ${trial}: homed after ${(t * arm.dt).toFixed(2)} s`);
    if (trial === 0) assert.ok(saturated, 'the torque cap is active on a 0.5 rad error');
  }
});

test('the node on the UR5e through the sim bridge: homing from q = 0 under gravity converges, then episodes run', async () => {
  const runDir = mkdtempSync(join(tmpdir(), 'naf-ur5e-node-'));
  const file = (yaml.load(readFileSync('config/ur5e.yaml', 'utf8')) as { naf_trainer: { ros__parameters: Record<string, unknown> } }).naf_trainer.ros__parameters;
  const params = resolveFileRelative(file, paramsFileDir('config/ur5e.yaml')) as Record<string, Record<string, unknown>>;
  const cap = captureLogger();
  const sys = await createInProcessSystem({
    ...params, task: { ...params.task, horizon: 10 }, agent: { hidden: [16, 16], warmup_steps: 1000 }, training: { episodes: 2, checkpoint_every_episodes: 1000 },
  }, (config) => InThreadLearnerClient.create(config, runDir), cap.logger);
  const { bus, trainer } = sys;
  try {
    assert.equal(trainer.config.safety.homing_kp, 0, 'gains derived from the arm');
    for (let k = 0; k < 500 && trainer.state !== 'RUNNING'; k++) bus.advance(0.01);
    assert.equal(trainer.state, 'RUNNING', 'homed within 5 s');
    const homedAt = bus.now();
    for (let k = 0; k < 1000 && (trainer.state as string) !== 'DONE'; k++) bus.advance(0.01);
    assert.deepEqual([trainer.state, trainer.completed, trainer.aborted], ['DONE', 2, 0]);
    const c = trainer.supervisor.counts;
    assert.deepEqual([c.watchdog, c.non_finite, c.velocity_limit, c.torque_clamp], [0, 0, 0, 0], JSON.stringify(c));
    console.log(`# UR5e homing from q = 0 to home under gravity (node + sim bridge): homed at ${homedAt.toFixed(2)} s`);
  } finally {
    await sys.close();
    rmSync(runDir, { recursive: true, force: true });
  }
});
