/**
 * naf_sim_bridge exposes an arm like Gazebo + ros2_control (joint order by the controller's
 * `joints`, command-size check, command hold/timeout, /clock), and naf_trainer's homing
 * converges on the MuJoCo arm through it over the in-process bus.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { InProcessBus } from '../src/ros/transport/inprocess_transport.js';
import { declareSimBridgeParameters, SimBridgeNode, type SimBridgeConfig } from '../src/ros/sim/sim_bridge_node.js';
import { NafTrainerNode } from '../src/ros/trainer/naf_trainer_node.js';
import { declareConfigParameters } from '../src/ros/trainer/parameters.js';
import { MujocoArm } from '../src/env/mujoco_arm.js';
import { ReachTask } from '../src/env/reach_task.js';
import { armSpecFromUrdf, parseUrdf } from '../src/env/urdf.js';
import type { Arm, JointStateRecord } from '../src/env/types.js';
import type { ClockMsg, JointStateMsg } from '../src/ros/transport/transport.js';
import { fromTimeMsg } from '../src/ros/transport/transport.js';
import { Rng } from '../src/util/rng.js';
import { simulatedRobotDamping } from '../src/training/factory.js';
import { captureLogger, FakeActor, FakeLearner, testConfig, testSpec } from './ros_fakes.js';

/** Arm whose state is q += u * dt (records applied torques). */
class FakeArm implements Arm {
  readonly spec = testSpec();
  readonly dt = 0.01;
  q = new Float64Array(3);
  applied: number[][] = [];
  private t = 0;
  reset(q: Float64Array): JointStateRecord { this.q = q.slice(); return this.rec(new Float64Array(3)); }
  step(u: Float64Array): JointStateRecord {
    this.applied.push(Array.from(u));
    this.t += this.dt;
    for (let i = 0; i < 3; i++) this.q[i] += u[i] * this.dt;
    return this.rec(u);
  }
  private rec(u: Float64Array): JointStateRecord {
    return { name: [...this.spec.jointNames], position: this.q.slice(), velocity: u.slice(), effort: u.slice(), stamp: this.t };
  }
  dispose(): void {}
}

function bridgeSetup(cfg: Partial<SimBridgeConfig>) {
  const bus = new InProcessBus();
  const cap = captureLogger();
  const node = bus.createNode('naf_sim_bridge');
  const arm = new FakeArm();
  const bridge = new SimBridgeNode(node, arm, declareSimBridgeParameters(node, cfg), cap.logger);
  const probe = bus.createNode('probe');
  const states: JointStateMsg[] = [], clocks: number[] = [];
  probe.createSubscription('sensor_msgs/msg/JointState', '/joint_states', 'sensor_data', (m) => states.push(m));
  probe.createSubscription('rosgraph_msgs/msg/Clock', '/clock', 'default', (m: ClockMsg) => clocks.push(fromTimeMsg(m.clock)));
  const cmd = probe.createPublisher('std_msgs/msg/Float64MultiArray', '/effort_controller/commands', 'default');
  const send = (data: number[]) => cmd.publish({ layout: { dim: [], data_offset: 0 }, data });
  return { bus, arm, bridge, states, clocks, send, cap };
}

test('commands follow the controller joint order; other lengths are ignored with one error', () => {
  const s = bridgeSetup({ joints: ['joint3', 'joint1', 'joint2'], publish_clock: false, initial_positions: [0.1, 0.2, 0.3] });
  s.send([3, 1, 2]);
  s.bus.advance(0.01);
  assert.deepEqual(s.arm.applied[0], [1, 2, 3]);
  s.send([9, 9]);
  s.send([9, 9]);
  s.bus.advance(0.01);
  assert.deepEqual(s.arm.applied[1], [1, 2, 3], 'held the last valid command');
  assert.equal(s.bridge.rejectedCommands, 2);
  assert.equal(s.cap.count('error', /command has 2 values, expected 3 \(joints joint3, joint1, joint2\)/), 1);
  assert.deepEqual(s.states[0].name, ['joint1', 'joint2', 'joint3']);
  assert.deepEqual(Array.from(s.states[0].position).map((v) => +v.toFixed(9)), [0.11, 0.22, 0.33], 'started at initial_positions');
  assert.equal(fromTimeMsg(s.states[0].header.stamp), 0.01, 'stamped with the node clock when /clock is not published');
  assert.deepEqual(s.clocks, []);
  assert.throws(() => bridgeSetup({ joints: ['joint9'] }), /controller joint "joint9" is not in the arm/);
  assert.throws(() => bridgeSetup({ initial_positions: [0] }), /initial_positions has 1 values, the arm has 3 joints/);
});

test('the held command is zeroed after command_timeout_ms (0 holds forever, like ros2_control)', () => {
  const s = bridgeSetup({ command_timeout_ms: 50 });
  s.send([1, 1, 1]);
  s.bus.advance(0.1);
  const nonzero = s.arm.applied.filter((u) => u[0] !== 0).length;
  assert.ok(nonzero >= 5 && nonzero <= 6, `${nonzero} periods with the command`);
  assert.deepEqual(s.arm.applied.at(-1), [0, 0, 0]);
  assert.equal(s.cap.count('warn', /no effort command for 50 ms/), 1);
  const hold = bridgeSetup({ command_timeout_ms: 0 });
  hold.send([1, 1, 1]);
  hold.bus.advance(1);
  assert.ok(hold.arm.applied.every((u) => u[0] === 1));
});

test('publish_clock: /clock carries simulation time and joint states are stamped with it', () => {
  const s = bridgeSetup({ publish_clock: true });
  s.bus.advance(0.05);
  assert.deepEqual(s.clocks.map((c) => +c.toFixed(9)), [0.01, 0.02, 0.03, 0.04, 0.05]);
  assert.deepEqual(s.states.map((m) => +fromTimeMsg(m.header.stamp).toFixed(9)), [0.01, 0.02, 0.03, 0.04, 0.05]);
});

test('homing converges on the MuJoCo arm through the sim bridge, then the episode starts', async () => {
  const urdfPath = new URL('../urdf/reacher3.urdf', import.meta.url).pathname;
  const bus = new InProcessBus();
  const cap = captureLogger();
  const bridgeNode = bus.createNode('naf_sim_bridge');
  const node = bus.createNode('naf_trainer');
  // Homing gains for reacher3 at 50 Hz: kd * dt * [M^-1]_33 (3167 /(kg m^2)) must stay well below 1.
  const config = declareConfigParameters(node, testConfig({
    task: { home_pose: [0.3, 0.6, 0.6], horizon: 50, init_std: 0.01 },
    safety: { max_effort: 1, homing_kp: 0.2, homing_kd: 0.004, homing_max_effort: 0.5, homing_tolerance: 0.03, homing_timeout_s: 10, soft_limit_margin: 0.1, velocity_limit: 20, state_timeout_ms: 100 },
  }));
  // The bridge plays the robot's own loop: it injects the damping of damping_injection: hardware.
  const arm = await MujocoArm.create(urdfPath, { dt: 0.01, timestep: 0.002, jointDamping: simulatedRobotDamping(config) });
  const bridge = new SimBridgeNode(bridgeNode, arm, declareSimBridgeParameters(bridgeNode, { publish_clock: false }), cap.logger);
  const model = parseUrdf(readFileSync(urdfPath, 'utf8'));
  const task = new ReachTask(model, { jointNames: config.joints, T: config.task.horizon, homePose: config.task.home_pose, initStd: config.task.init_std });
  const learner = new FakeLearner();
  const actor = new FakeActor(() => new Float64Array(3), 0.3, 0.5);
  const trainer = new NafTrainerNode({ node, config, spec: armSpecFromUrdf(model, config.joints), task, actor, learner, rng: new Rng(3), logger: cap.logger, steadyNow: () => bus.now() });
  learner.publishPolicy(0);
  let homedAt = NaN;
  for (let k = 0; k < 800 && Number.isNaN(homedAt); k++) {
    bus.advance(0.01);
    if (trainer.state === 'RUNNING') homedAt = bus.now();
  }
  assert.ok(!Number.isNaN(homedAt), `not homed after 8 s: state ${trainer.state}, q = ${Array.from(trainer.input.latest?.position ?? [])}, qd = ${Array.from(trainer.input.latest?.velocity ?? [])}`);
  const q = trainer.input.latest!.position;
  [0.3, 0.6, 0.6].forEach((h, i) => assert.ok(Math.abs(q[i] - h) < 0.03 + 3 * 0.01 * 3, `joint${i + 1} at ${q[i]}`));
  assert.ok(Array.from(trainer.input.latest!.velocity).every((v) => Math.abs(v) < 0.03));
  assert.equal(trainer.supervisor.counts.watchdog, 0, 'joint states never went stale');
  console.log(`# homing from q = 0 to (0.3, 0.6, 0.6) rad on MuJoCo reacher3: homed at ${homedAt.toFixed(2)} s`);
  bridge.shutdown();
  arm.dispose();
});
