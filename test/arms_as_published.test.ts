/**
 * Arms as their makers publish them: xacro output that keeps `xmlns:xacro` is a
 * plain URDF; a gripper's fingers (a side branch, one a `<mimic>`) are accepted by train, deploy
 * (`naf-ros run`) and the sim bridge, where they are simulated but neither controlled nor published.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { armIssues, xacroMarker } from '../src/config/arm_checks.js';
import { parseConfig } from '../src/config/load.js';
import { MujocoArm } from '../src/env/mujoco_arm.js';
import { runEmbeddedDeploy } from '../src/ros/deploy/deploy_system.js';
import { InProcessBus } from '../src/ros/transport/inprocess_transport.js';
import { createBridgeArm, declareSimBridgeParameters, SimBridgeNode } from '../src/ros/sim/sim_bridge_node.js';
import type { JointStateMsg } from '../src/ros/transport/transport.js';
import { Trainer } from '../src/training/trainer.js';
import { silentLogger } from '../src/util/logger.js';
import { BRANCHED_HOME, BRANCHED_JOINTS, boxStl, branchedArmUrdf, tetraObj, writeTree } from './branched_arm.js';

const dir = mkdtempSync(join(tmpdir(), 'naf-published-'));
const urdf = join(dir, 'arm', 'arm.urdf');
writeTree({
  [join(dir, 'pkgs', 'mypkg', 'meshes', 'box.stl')]: boxStl(0.03, 0.02, 0.02),
  [join(dir, 'arm', 'meshes', 'tetra.obj')]: tetraObj(0.05),
  [urdf]: branchedArmUrdf(),
});
const disposers: (() => void)[] = [];
after(() => disposers.forEach((d) => d()));

const config = parseConfig({
  seed: 3, urdf_path: urdf, mesh_search_path: [join(dir, 'pkgs')], joints: BRANCHED_JOINTS,
  task: { horizon: 10, tip_link: 'tool', home_pose: BRANCHED_HOME, target_mode: 'random', random_target_spread: 0.3 },
  agent: { hidden: [16, 16], warmup_steps: 10, batch_size: 8, replay_capacity: 1000, updates_per_step: 1 },
  model_based: { refit_every_episodes: 2, imagination_length: 2 },
  training: { episodes: 2, eval_every_episodes: 2, eval_episodes: 1, test_episodes: 1 },
  safety: { gravity_compensation: 'model' },
});

test('xacro is xacro elements or ${...}/$(...) substitutions, never the namespace declaration alone', () => {
  assert.deepEqual(armIssues(config), [], 'a URDF with xmlns:xacro, fingers and meshes passes every check');
  assert.equal(xacroMarker(branchedArmUrdf()), null);
  const ns = 'xmlns:xacro="http://www.ros.org/wiki/xacro"';
  assert.equal(xacroMarker(`<robot name="a" ${ns}><xacro:macro name="m" params="p"/></robot>`), '<xacro:macro>');
  assert.equal(xacroMarker('<robot name="a" xmlns:x="http://ros.org/wiki/xacro"><x:property name="l" value="1"/></robot>'), '<x:property>', 'any prefix bound to the namespace');
  assert.equal(xacroMarker('<robot name="a"><link name="${prefix}base"/></robot>'), '${prefix}base in <link name>');
  assert.equal(xacroMarker('<robot name="a"><!-- ${not} $(looked at) --><link name="b"/></robot>'), null, 'comments are not looked at');
  const xacro = join(dir, 'arm.urdf.xacro');
  writeFileSync(xacro, `<robot name="a" ${ns}><xacro:include filename="arm.xacro"/></robot>`);
  assert.deepEqual(armIssues({ ...config, urdf_path: xacro }), [
    `urdf_path: must be a plain URDF, not xacro (run \`xacro ${xacro} > arm.urdf\` and give arm.urdf; the ROS launch files run xacro themselves); got ${JSON.stringify(xacro)}`,
  ]);
});

test('a side-branch arm trains, then deploys (naf-ros run) with its configured joints', async () => {
  const runDir = join(dir, 'run');
  const t = await Trainer.create(config, runDir, silentLogger());
  const trained = await t.run();
  t.dispose();
  assert.equal(trained.stopped, false);
  let line = '';
  const out = await runEmbeddedDeploy(runDir, { episodes: 1, logger: silentLogger(), onArm: (l) => (line = l) });
  assert.equal(out.state, 'DONE');
  assert.equal(out.episodes.length, 1);
  assert.ok(Number.isFinite(out.episodes[0].finalDistance));
  assert.match(line, /^collision: 2 meshes \(OBJ, STL\) \+ 3 primitives on 5 links; dropped 2 .*; no contact at the home pose$/);
});

test('the sim bridge simulates the fingers passively and publishes the controlled joints only', async () => {
  await assert.rejects(MujocoArm.create(urdf), /broken chain: joint "finger_left" is not on the path/, 'the default (every movable joint) needs one serial chain');
  const bus = new InProcessBus();
  const node = bus.createNode('naf_sim_bridge');
  const cfg = declareSimBridgeParameters(node, { urdf_path: urdf, joints: BRANCHED_JOINTS, initial_positions: BRANCHED_HOME, publish_clock: false, mesh_search_path: [join(dir, 'pkgs')] });
  const { arm, collision } = await createBridgeArm(cfg, dir);
  disposers.push(() => arm.dispose());
  assert.match(collision, /^collision: 2 meshes .*; no contact at the initial pose$/);
  assert.deepEqual(arm.spec.jointNames, BRANCHED_JOINTS);
  const bridge = new SimBridgeNode(node, arm, cfg, silentLogger());
  const states: JointStateMsg[] = [];
  const probe = bus.createNode('probe');
  probe.createSubscription('sensor_msgs/msg/JointState', '/joint_states', 'sensor_data', (m) => states.push(m));
  const cmd = probe.createPublisher('std_msgs/msg/Float64MultiArray', '/effort_controller/commands', 'default');
  bus.advance(0.05);
  cmd.publish({ layout: { dim: [], data_offset: 0 }, data: [0.5, 0, 0, 0] });
  bus.advance(0.2);
  bridge.shutdown();
  assert.ok(states.length > 10);
  assert.deepEqual(states.at(-1)!.name, BRANCHED_JOINTS);
  assert.ok(states.at(-1)!.position[0] > BRANCHED_HOME[0] + 0.01, 'q1 driven by the command');
  assert.ok(Array.from(states.at(-1)!.position).every(Number.isFinite));
});

test('a mesh_search_path entry that is no folder is named', () => {
  assert.deepEqual(armIssues({ ...config, mesh_search_path: [join(dir, 'pkgs'), join(dir, 'nowhere')] }), [
    `mesh_search_path: must be existing folders (that hold ROS packages; in a params file relative to its folder); got ${JSON.stringify([join(dir, 'pkgs'), join(dir, 'nowhere')])}: "${join(dir, 'nowhere')}" is not a folder`,
  ]);
});
