/**
 * The joint-states publisher rule (joint_state_input.ts): one source publisher; a second one
 * naming the configured joints is refused and, while both are alive, holds zero torque with the
 * episode aborted, reported on /diagnostics and logged without flooding; a source that went
 * silent is replaced; without GIDs the ROS graph's publisher count decides.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RosNode } from '../src/ros/transport/transport.js';
import { NafTrainerNode } from '../src/ros/trainer/naf_trainer_node.js';
import { declareConfigParameters } from '../src/ros/trainer/parameters.js';
import { InProcessBus } from '../src/ros/transport/inprocess_transport.js';
import { Rng } from '../src/util/rng.js';
import { captureLogger, FakeActor, FakeLearner, jointState, testConfig, testSpec, TinyTask } from './ros_fakes.js';
import { diagValue, J, trainerHarness } from './ros_trainer_harness.js';

const S = 'naf_trainer: safety';

test('a second publisher at 1 kHz: refused, zero torque and the episode aborted while it runs, reported; training resumes after it stops', () => {
  const s = trainerHarness({ config: { ros: { joint_states_conflict_hold_s: 0.5 } } });
  s.bus.advance(0.1);
  assert.equal(s.trainer.state, 'RUNNING');
  const rogue = s.bus.createNode('rogue_driver');
  const pub = rogue.createPublisher('sensor_msgs/msg/JointState', '/joint_states', 'sensor_data');
  const rogueTimer = rogue.createTimer(0.001, () => pub.publish(jointState(s.bus.now(), J, [1, 1, 1])));
  const t0 = s.bus.now();
  s.bus.advance(2.0);
  const after = s.cmds.filter((c) => c.t > t0 + 0.02 + 1e-9);
  assert.ok(after.length >= 95 && after.every((c) => c.u.every((v) => v === 0)), 'zero torque from the first control period after the second publisher appeared');
  assert.equal(s.learner.episodes.at(-1)!.aborted, true);
  assert.equal(s.cap.count('warn', /episode aborted after \d+ of 5 steps: joint_states from more than one publisher/), 1);
  assert.ok(s.learner.observed.every((tr) => tr.x[0] !== 1 && tr.x2[0] !== 1), 'no state of the second publisher reached the learner');
  assert.deepEqual(Array.from(s.trainer.input.latest!.position), s.config.task.home_pose, 'the state is the source\'s');
  assert.ok(s.trainer.input.rejected.other_publisher >= 1900, `refused ${s.trainer.input.rejected.other_publisher}`);
  const d = s.diags.at(-1)!;
  assert.equal(d.status[0].level, 2);
  assert.match(d.status[0].message, /^joint_states from more than one publisher \(source 4, others 6, 2 in the graph\): zero torque$/);
  assert.equal(diagValue(d, S, 'joint_states_conflict'), 'true');
  assert.equal(diagValue(d, S, 'joint_states_publishers'), '2');
  assert.equal(diagValue(d, S, 'joint_states_conflicts'), '1');
  assert.ok(Number(diagValue(d, S, 'joint_states_conflict_steps')) >= 95);
  // ~2000 refused messages, a handful of lines (without the rate limit: 178 ERROR lines in 3 s).
  assert.equal(s.cap.count('error', /other_publisher/), 1);
  assert.equal(s.cap.count('error', /^joint_states from more than one publisher/), 1);

  rogueTimer.cancel();
  pub.destroy();
  s.bus.advance(0.4);
  assert.equal(s.trainer.input.conflict(s.bus.now()), true, 'held for joint_states_conflict_hold_s after the last message');
  s.bus.advance(0.3);
  assert.equal(s.cap.count('info', /^joint_states from one publisher again: homing resumes$/), 1);
  assert.equal(s.trainer.state, 'RUNNING');
  assert.deepEqual(s.cmds.at(-1)!.u, [1, 1, 1]);
  s.bus.advance(1.0);
  assert.equal(diagValue(s.diags.at(-1)!, S, 'joint_states_publishers'), '1');
  assert.equal(s.diags.at(-1)!.status[0].level, 0);
});

test('a source that went silent (driver restarted with a new GID) is replaced by the next publisher', () => {
  const s = trainerHarness();
  s.bus.advance(0.1);
  const first = s.trainer.input.source;
  s.driver.on = false;
  s.bus.advance(1.2); // longer than the 1 s hold: the old source is gone
  const restarted = s.bus.createNode('driver_restarted');
  const pub = restarted.createPublisher('sensor_msgs/msg/JointState', '/joint_states', 'sensor_data');
  restarted.createTimer(0.01, () => pub.publish(jointState(s.bus.now(), J, s.config.task.home_pose)));
  s.bus.advance(0.3);
  assert.notEqual(s.trainer.input.source, first);
  assert.equal(s.trainer.input.rejected.other_publisher, 0);
  assert.equal(s.cap.count('warn', /joint_states source changed from publisher 4 \(silent for 1\.\d+ s\)/), 1);
  assert.equal(s.trainer.state, 'RUNNING');
});

test('a middleware without publisher GIDs: more than one publisher in the graph is the conflict', () => {
  const bus = new InProcessBus();
  const real = bus.createNode('naf_trainer');
  // The node as a middleware without GIDs would present it.
  const node: RosNode = Object.assign(Object.create(real) as RosNode, {
    createSubscription: (type: never, topic: string, qos: never, cb: (m: unknown, info: { publisherGid: string }) => void) =>
      real.createSubscription(type, topic, qos, (m: unknown) => cb(m, { publisherGid: '' })),
  });
  const cap = captureLogger();
  const config = declareConfigParameters(node, testConfig());
  const learner = new FakeLearner();
  const trainer = new NafTrainerNode({
    node, config, spec: testSpec(), task: new TinyTask(config.task.home_pose, 5), learner, rng: new Rng(1), logger: cap.logger,
    actor: new FakeActor(() => Float64Array.of(1, 1, 1), 0.3, 0.5),
  });
  learner.publishPolicy(0);
  const drivers = [bus.createNode('driver_a'), bus.createNode('driver_b')].map((n) => n.createPublisher('sensor_msgs/msg/JointState', '/joint_states', 'sensor_data'));
  const cmds: number[][] = [];
  bus.createNode('probe').createSubscription('std_msgs/msg/Float64MultiArray', '/effort_controller/commands', 'default', (m) => cmds.push(Array.from(m.data)));
  bus.createNode('clock').createTimer(0.01, () => drivers[0].publish(jointState(bus.now(), J, config.task.home_pose)));
  bus.advance(1.05); // the first report counts 2 publishers (driver_b is in the graph, silent)
  assert.equal(trainer.input.source, '');
  assert.equal(trainer.graphPublishers, 2);
  bus.advance(0.1);
  assert.ok(cmds.slice(-5).every((u) => u.every((v) => v === 0)));
  assert.equal(cap.count('error', /^joint_states from more than one publisher \(source \(no gid\), others seen in the graph; 2 on the topic\)/), 1);
  trainer.shutdown();
});
