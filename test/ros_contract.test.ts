/**
 * The transport contract: the same scenarios over the in-process bus and over real ROS 2
 * (rclnodejs). The rclnodejs suite is skipped, with the reason printed, when rclnodejs cannot be
 * loaded (no sourced ROS 2 / not installed). To run it against a ROS 2 install without adding
 * rclnodejs to package.json: `source <ros>/setup.bash; NODE_PATH=<dir with node_modules/rclnodejs>
 * node --import tsx --test test/ros_contract.test.ts` (the loader falls back to `require`, which
 * honours NODE_PATH).
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { InProcessBus } from '../src/ros/transport/inprocess_transport.js';
import { RclnodejsContext } from '../src/ros/transport/rclnodejs_transport.js';
import { declareConfigParameters, installParameterValidation } from '../src/ros/trainer/parameters.js';
import type { BoolMsg, Float64MultiArrayMsg, JointStateMsg, ParameterValue, RosNode } from '../src/ros/transport/transport.js';
import { fromTimeMsg } from '../src/ros/transport/transport.js';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { spawn } from 'node:child_process';
import { nafRosPrefix, REPO } from './ros_prefix.js';
import { rclnodejsOrSkip } from './ros_env.js';
import yaml from 'js-yaml';
import { parseConfig } from '../src/config/load.js';
import { InThreadLearnerClient } from '../src/training/learner_client.js';
import { declareSimBridgeParameters, SimBridgeNode } from '../src/ros/sim/sim_bridge_node.js';
import { NafTrainerNode } from '../src/ros/trainer/naf_trainer_node.js';
import { MujocoArm } from '../src/env/mujoco_arm.js';
import { ReachTask } from '../src/env/reach_task.js';
import { armSpecFromUrdf, parseUrdf } from '../src/env/urdf.js';
import { Rng } from '../src/util/rng.js';
import { buildAgent, buildTask, simulatedRobotDamping } from '../src/training/factory.js';
import { createActor } from '../src/agent/actor.js';
import { decodeEpisode, decodePolicy, encodeEpisode, encodePolicy } from '../src/ros/fleet/fleet_messages.js';
import { EPISODES_IN_QOS, NafLearnerNode } from '../src/ros/fleet/naf_learner_node.js';
import { RosLearnerClient } from '../src/ros/fleet/ros_learner_client.js';
import { InThreadFleetClient } from '../src/training/fleet_client.js';
import { captureLogger, FakeActor, FakeLearner, testConfig, testSpec, TinyTask, jointState } from './ros_fakes.js';

interface Harness {
  /** Topic/service prefix unique to this run (several test runs may share a ROS domain). */
  prefix: string;
  node(name: string, overrides?: Record<string, ParameterValue>, namespace?: string): RosNode;
  /** Lets time pass (manual clock, or real time) until `pred` or `timeoutS`; returns pred(). */
  waitFor(pred: () => boolean, timeoutS: number): Promise<boolean>;
}

function inProcessHarness(): Harness {
  const bus = new InProcessBus();
  return {
    prefix: '/contract',
    node: (name, overrides, namespace) => bus.createNode(name, { parameterOverrides: overrides, namespace }),
    waitFor: async (pred, timeoutS) => {
      for (let t = 0; t < timeoutS && !pred(); t += 0.01) {
        bus.advance(0.01);
        await new Promise((r) => setImmediate(r));
      }
      return pred();
    },
  };
}

function rosHarness(ctx: RclnodejsContext): Harness {
  const tag = `c${process.pid}_${Date.now() % 100000}`;
  return {
    prefix: `/naf_contract_${tag}`,
    node: (name, overrides, namespace) => {
      const n = ctx.createNode(`${name}_${tag}`, { parameterOverrides: overrides, namespace });
      ctx.spin();
      return n;
    },
    waitFor: async (pred, timeoutS) => {
      const end = Date.now() + timeoutS * 1000;
      while (!pred() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
      return pred();
    },
  };
}

/** The scenarios, each against a fresh pair of nodes. */
const scenarios: Record<string, (h: Harness) => Promise<void>> = {
  'publish/subscribe JointState (sensor_data) and Float64MultiArray (default)': async (h) => {
    const a = h.node('pub'), b = h.node('sub');
    const states: JointStateMsg[] = [], cmds: Float64MultiArrayMsg[] = [];
    b.createSubscription('sensor_msgs/msg/JointState', `${h.prefix}/joint_states`, 'sensor_data', (m) => states.push(m));
    b.createSubscription('std_msgs/msg/Float64MultiArray', `${h.prefix}/commands`, 'default', (m) => cmds.push(m));
    const js = a.createPublisher('sensor_msgs/msg/JointState', `${h.prefix}/joint_states`, 'sensor_data');
    const cmd = a.createPublisher('std_msgs/msg/Float64MultiArray', `${h.prefix}/commands`, 'default');
    const timer = a.createTimer(0.02, () => {
      js.publish(jointState(12.25, ['joint2', 'joint1'], [0.5, -1.25], [0.1, 0.2], []));
      cmd.publish({ layout: { dim: [], data_offset: 0 }, data: [1, 2.5, -3.25] });
    });
    assert.ok(await h.waitFor(() => states.length > 0 && cmds.length > 0, 10), 'messages arrive');
    timer.cancel();
    const s = states[0];
    assert.deepEqual(s.name, ['joint2', 'joint1']);
    assert.deepEqual(Array.from(s.position), [0.5, -1.25]);
    assert.deepEqual(Array.from(s.velocity), [0.1, 0.2]);
    assert.equal(s.effort.length, 0);
    assert.equal(fromTimeMsg(s.header.stamp), 12.25);
    assert.ok(s.position instanceof Float64Array, 'float64[] arrives as Float64Array');
    assert.deepEqual(Array.from(cmds[0].data), [1, 2.5, -3.25]);
  },

  'latched (transient local) e-stop reaches a late subscriber': async (h) => {
    const a = h.node('estop_pub');
    const pub = a.createPublisher('std_msgs/msg/Bool', `${h.prefix}/estop`, 'latched');
    pub.publish({ data: true });
    await h.waitFor(() => false, 0.3);
    const late = h.node('estop_late');
    const got: BoolMsg[] = [];
    late.createSubscription('std_msgs/msg/Bool', `${h.prefix}/estop`, 'latched', (m) => got.push(m));
    assert.ok(await h.waitFor(() => got.length > 0, 10), 'late subscriber got the latched message');
    assert.deepEqual(got, [{ data: true }]);
  },

  'std_srvs/Trigger service call and ~/ name expansion': async (h) => {
    const srv = h.node('trigger_srv'), cli = h.node('trigger_cli');
    let n = 0;
    srv.createService('std_srvs/srv/Trigger', '~/pause', async () => ({ success: true, message: `paused ${++n}` }));
    const name = srv.resolveName('~/pause');
    assert.equal(name, `/${srv.name}/pause`);
    let resp: { success: boolean; message: string } | null = null;
    cli.createClient('std_srvs/srv/Trigger', name).call({}, 10).then((r) => { resp = r; });
    assert.ok(await h.waitFor(() => resp !== null, 10), 'service answered');
    assert.deepEqual(resp, { success: true, message: 'paused 1' });
  },

  'parameters: override, integer-as-double, range/read-only/type/undeclared/callback rejection with our reasons': async (h) => {
    const n = h.node('params', { gain: 2 });
    assert.equal(n.declareParameter('gain', 0.5, { type: 'double', description: 'gain', floatingPointRange: { from: 0, to: 10, step: 0 } }), 2);
    n.declareParameter('cap', 0.5, { type: 'double', description: 'cap', readOnly: true });
    n.declareParameter('hidden', [200, 200], { type: 'integer_array', description: 'sizes' });
    n.declareParameter('names', ['a', 'b'], { type: 'string_array', description: 'names' });
    n.addOnSetParametersCallback((ups) => {
      const g = ups.find((u) => u.name === 'gain');
      return g && (g.value as number) > 5 ? { successful: false, reason: `gain ${g.value} is above the cap 5` } : { successful: true, reason: '' };
    });
    const post: string[] = [];
    n.addPostSetParametersCallback((ups) => post.push(...ups.map((u) => `${u.name}=${u.value}`)));
    assert.deepEqual(n.setParameters([{ name: 'gain', value: 7 }]), { successful: false, reason: 'gain 7 is above the cap 5' });
    assert.deepEqual(n.setParameters([{ name: 'gain', value: 11 }]), { successful: false, reason: "Parameter gain doesn't comply with floating point range [0, 10]; got 11" });
    const fqn = n.resolveName('~');
    assert.deepEqual(n.setParameters([{ name: 'cap', value: 0.1 }]), { successful: false, reason: `cap is read-only: it is set at launch (params file or launch argument) and fixed while ${fqn} runs; nothing was changed` });
    assert.deepEqual(n.setParameters([{ name: 'gain', value: 'abc' }]), { successful: false, reason: 'gain must be a double (a number) in [0, 10]; got the string "abc" (nothing was changed)' });
    assert.match(n.setParameters([{ name: 'gian', value: 1 }]).reason, new RegExp(`^gian is not a parameter of ${fqn} \\(did you mean 'gain'\\?\\); undeclared parameters are refused`));
    assert.equal(n.getParameter('gain'), 2);
    assert.deepEqual(n.setParameters([{ name: 'gain', value: 3 }]), { successful: true, reason: '' });
    assert.equal(n.getParameter('gain'), 3);
    assert.deepEqual(n.getParameter('hidden'), [200, 200]);
    assert.deepEqual(n.getParameter('names'), ['a', 'b']);
    assert.deepEqual(post, ['gain=3']);
  },

  'each message says its publisher (GID); the graph counts the publishers of a topic': async (h) => {
    const a = h.node('gid_a'), b = h.node('gid_b'), sub = h.node('gid_sub');
    const gids = new Map<string, number>();
    sub.createSubscription('std_msgs/msg/Float64', `${h.prefix}/gid`, 'default', (m, info) => gids.set(info.publisherGid, m.data));
    const pa = a.createPublisher('std_msgs/msg/Float64', `${h.prefix}/gid`, 'default');
    const pb = b.createPublisher('std_msgs/msg/Float64', `${h.prefix}/gid`, 'default');
    const timer = a.createTimer(0.02, () => { pa.publish({ data: 1 }); pb.publish({ data: 2 }); });
    assert.ok(await h.waitFor(() => gids.size >= 2 && sub.countPublishers(`${h.prefix}/gid`) === 2, 10), `GIDs ${[...gids.keys()]}, count ${sub.countPublishers(`${h.prefix}/gid`)}`);
    timer.cancel();
    assert.equal(gids.size, 2, 'two distinct GIDs');
    assert.deepEqual([...gids.values()].sort(), [1, 2]);
    for (const g of gids.keys()) assert.match(g, /^[0-9a-f]{32,48}$/);
    assert.equal(sub.countPublishers(`${h.prefix}/nobody`), 0);
  },

  'fleet messages: a 2x200 NAF policy (~87k values, latched) and episodes arrive intact; an actor\'s episode history (transient local) reaches a learner that subscribes later': async (h) => {
    const config = parseConfig({ task: { horizon: 5 } });
    const task = buildTask(config);
    const agent = buildAgent(config, task);
    const snap = agent.snapshot();
    agent.dispose();
    const a = h.node('fleet_actor'), l = h.node('fleet_learner');
    const history = { reliability: 'reliable', durability: 'transient_local', depth: 4 } as const;
    const epPub = a.createPublisher('std_msgs/msg/Float64MultiArray', `${h.prefix}/episodes`, history);
    const x = () => Float64Array.from({ length: 11 }, (_, i) => i * 0.1);
    const episode = (n: number) => ({ arm: '/arm7', session: 1234, episode: n, controller: 'naf' as const, aborted: false, return: -n, policyVersion: 3,
      x: Array.from({ length: 6 }, x), u: Array.from({ length: 5 }, () => Float64Array.of(0.1, -0.01, 0.003)), r: Float64Array.of(-1, -1, -1, -1, -1), terminal: [false, false, false, false, false] });
    for (let n = 1; n <= 6; n++) epPub.publish(encodeEpisode(episode(n), task));
    await h.waitFor(() => false, 0.5);
    const got: number[] = [];
    l.createSubscription('std_msgs/msg/Float64MultiArray', `${h.prefix}/episodes`, EPISODES_IN_QOS, (m) => got.push(decodeEpisode(m, { dX: 11, dU: 3, T: 5 }).episode));
    assert.ok(await h.waitFor(() => got.length >= 4, 10), `the last 4 episodes of the history: ${got}`);
    assert.deepEqual(got, [3, 4, 5, 6]);
    const polPub = l.createPublisher('std_msgs/msg/Float64MultiArray', `${h.prefix}/policy`, 'latched');
    polPub.publish(encodePolicy(snap, 99));
    await h.waitFor(() => false, 0.3);
    let policy: ReturnType<typeof decodePolicy> | null = null;
    a.createSubscription('std_msgs/msg/Float64MultiArray', `${h.prefix}/policy`, 'latched', (m) => { policy = decodePolicy(m, { dX: 11, dU: 3, kind: 'naf', architecture: 'separate', hidden: [200, 200] }); });
    assert.ok(await h.waitFor(() => policy !== null, 10), 'the latched policy reaches a late actor');
    const back = policy as unknown as ReturnType<typeof decodePolicy>;
    assert.equal(back.incarnation, 99);
    const probe = Float64Array.from({ length: 11 }, (_, i) => Math.sin(i));
    assert.deepEqual(createActor(back.snapshot).mu(probe), createActor(snap).mu(probe), 'bit-exact weights');
  },

  'fleet over the transport: an actor (namespaced) sends an episode; the learner takes it and answers with the policy, the arm\'s controller and its status': async (h) => {
    const fleet = { episodes_topic: `${h.prefix}/learner/episodes`, policy_topic: `${h.prefix}/learner/policy`, status_topic: `${h.prefix}/learner/status`, controller_topic: 'ilqg_controller' };
    const params = { task: { horizon: 5 }, agent: { hidden: [8, 8], warmup_steps: 5, batch_size: 4, replay_capacity: 1000 }, training: { checkpoint_every_episodes: 1000 }, fleet };
    const config = parseConfig(params);
    const task = buildTask(config);
    const cap = captureLogger();
    const client = await InThreadFleetClient.create(config, mkdtempSync(join(tmpdir(), 'naf-contract-fleet-')));
    const learner = new NafLearnerNode({ node: h.node('naf_learner'), config, dims: task, client, logger: cap.logger });
    const actorNode = h.node('naf_trainer', {}, `${h.prefix}/arm1`);
    const actor = new RosLearnerClient(actorNode, parseConfig({ ...params, fleet: { ...fleet, role: 'actor' } }), task, cap.logger);
    let controllers = 0;
    actor.onController(() => controllers++);
    try {
      assert.ok(await h.waitFor(() => actor.policyHeld?.incarnation === learner.incarnation && actor.status !== null, 15), 'the latched policy and status reach the actor');
      const x = new Float64Array(11);
      for (let t = 0; t < 5; t++) actor.observe({ x, u: new Float64Array(3), r: -1, x2: x, terminal: false, t });
      actor.endEpisode({ controller: 'naf', return: -5, aborted: false });
      assert.ok(await h.waitFor(() => learner.accepted === 1 && actor.controllerHeld.incarnation === learner.incarnation, 15),
        `episode taken (${learner.accepted}, refused ${JSON.stringify(learner.refused)}) and the arm's controller back on ${actorNode.resolveName('ilqg_controller')}`);
      assert.equal(controllers, 2, 'the initial one, then the learner\'s');
      assert.ok(await h.waitFor(() => actor.status?.completed === 1, 5), 'the status counts it');
      assert.equal(learner.fleet?.arms[0]?.id ?? actorNode.namespace, actorNode.namespace);
    } finally {
      learner.shutdown();
      await client.close();
    }
  },

  'timer fires repeatedly on the node clock and can be cancelled': async (h) => {
    const n = h.node('timer');
    let k = 0;
    const t0 = n.now();
    const timer = n.createTimer(0.02, () => k++);
    assert.ok(await h.waitFor(() => k >= 3, 5));
    timer.cancel();
    const after = k;
    await h.waitFor(() => false, 0.1);
    assert.ok(k <= after + 1, 'no more calls after cancel');
    assert.ok(n.now() > t0);
  },
};

describe('transport contract: in-process bus', () => {
  for (const [name, run] of Object.entries(scenarios)) test(name, () => run(inProcessHarness()));
});

const { ctx, skip: loadSkip } = await rclnodejsOrSkip('ros_contract');
after(async () => { await ctx?.shutdown(); });

/** Runs the ros2 CLI asynchronously (a blocked event loop could not serve the node's parameter services). */
function ros2(args: string[]): Promise<{ out: string; err: string; code: number }> {
  return new Promise((resolve) => execFile('ros2', args, { encoding: 'utf8', timeout: 60000 }, (e, out, err) => resolve({ out, err, code: e ? ((e as { code?: number }).code ?? 1) : 0 })));
}

describe('transport contract: rclnodejs (real ROS 2)', () => {
  for (const [name, run] of Object.entries(scenarios)) {
    test(name, async (t) => {
      if (!ctx) return t.skip(loadSkip);
      await run(rosHarness(ctx));
    });
  }

  test('ros2 param set: above the cap, wrong type, undeclared name, read-only: each refused with our own reason (ros2 CLI)', async (t) => {
    if (!ctx) return t.skip(loadSkip);
    if ((await ros2(['--help'])).code !== 0) return t.skip('ros2 CLI not on PATH');
    const h = rosHarness(ctx);
    const node = h.node('naf_trainer', { 'model_based.on_policy_fraction': 0.3, 'safety.homing_kp': 1 });
    let cfg = declareConfigParameters(node, testConfig());
    installParameterValidation(node, () => cfg, (next) => { cfg = next; });
    const fqn = node.resolveName('~');
    const high = await ros2(['param', 'set', fqn, 'model_based.on_policy_fraction', '0.9']);
    assert.match(high.out + high.err, /Setting parameter failed: model_based\.on_policy_fraction: must be <= model_based\.max_on_policy_fraction \(0\.5, the safety cap\); got 0\.9/);
    const ok = await ros2(['param', 'set', fqn, 'model_based.on_policy_fraction', '0']);
    assert.match(ok.out, /Set parameter successful/, 'an integer literal for a double parameter is accepted');
    assert.equal(cfg.model_based.on_policy_fraction, 0);
    const ro = await ros2(['param', 'set', fqn, 'model_based.max_on_policy_fraction', '1.0']);
    assert.match(ro.out + ro.err, /Setting parameter failed: model_based\.max_on_policy_fraction is read-only: it is set at launch/);
    const abc = await ros2(['param', 'set', fqn, 'model_based.on_policy_fraction', 'abc']);
    assert.match(abc.out + abc.err, /Setting parameter failed: model_based\.on_policy_fraction must be a double \(a number\) in \[0, 1\]; got the string "abc" \(nothing was changed\)/);
    const typo = await ros2(['param', 'set', fqn, 'model_based.on_policy_fractoin', '0.2']);
    assert.match(typo.out + typo.err, /Setting parameter failed: model_based\.on_policy_fractoin is not a parameter of \S+ \(did you mean 'model_based\.on_policy_fraction'\?\); undeclared parameters are refused/);
    assert.doesNotMatch(abc.out + abc.err + typo.out + typo.err, /does not {2}readonly/);
    assert.equal(cfg.model_based.on_policy_fraction, 0, 'nothing changed');
    const desc = await ros2(['param', 'describe', fqn, 'model_based.max_on_policy_fraction']);
    assert.match(desc.out, /Read only: true/i);
    assert.match(desc.out, /Safety cap on p/);
  });

  test('naf_trainer + naf_sim_bridge (MuJoCo) over DDS: homing converges, the episode starts', async (t) => {
    if (!ctx) return t.skip(loadSkip);
    const h = rosHarness(ctx);
    const topics = { joint_states_topic: `${h.prefix}/joint_states`, effort_command_topic: `${h.prefix}/commands` };
    const urdfPath = new URL('../urdf/reacher3.urdf', import.meta.url).pathname;
    const bridgeNode = h.node('bridge');
    // Wall time (no /clock: another test run on this ROS domain could publish one); mujoco.launch.py runs sim time.
    const node = h.node('naf_trainer');
    const config = declareConfigParameters(node, testConfig({
      task: { home_pose: [0.3, 0.6, 0.6], horizon: 50 },
      safety: { max_effort: 1, homing_kp: 0.2, homing_kd: 0.004, homing_tolerance: 0.03, homing_timeout_s: 20, state_timeout_ms: 100, velocity_limit: 20, soft_limit_margin: 0.1 },
      ros: { ...topics, estop_topic: '~/estop' },
    }));
    // The bridge plays the robot's joint-impedance loop (damping_injection: hardware).
    const arm = await MujocoArm.create(urdfPath, { dt: 0.01, timestep: 0.002, jointDamping: simulatedRobotDamping(config) });
    const cap = captureLogger();
    const bridge = new SimBridgeNode(bridgeNode, arm, declareSimBridgeParameters(bridgeNode, { ...topics, publish_clock: false }), cap.logger);
    const model = parseUrdf(readFileSync(urdfPath, 'utf8'));
    const task = new ReachTask(model, { jointNames: config.joints, T: config.task.horizon, homePose: config.task.home_pose, initStd: config.task.init_std });
    const learner = new FakeLearner();
    const trainer = new NafTrainerNode({ node, config, spec: armSpecFromUrdf(model, config.joints), task, actor: new FakeActor(() => new Float64Array(3), 0.3, 0.5), learner, rng: new Rng(3), logger: cap.logger });
    learner.publishPolicy(0);
    try {
      assert.ok(await h.waitFor(() => trainer.state === 'RUNNING', 30), `state ${trainer.state}; q ${Array.from(trainer.input.latest?.position ?? [])}`);
      assert.ok(bridge.steps > 0 && trainer.input.rejectedTotal === 0, `rejected joint states: ${JSON.stringify(trainer.input.rejected)}`);
      const j = trainer.jitter.stats();
      console.log(`# over DDS: homed after ${(bridge.steps * 0.01).toFixed(2)} s of simulation; control jitter mean ${(j.mean * 1e3).toFixed(2)} ms, p99 ${(j.p99 * 1e3).toFixed(2)} ms, max ${(j.max * 1e3).toFixed(2)} ms over ${j.n} periods`);
    } finally {
      trainer.shutdown();
      bridge.shutdown();
      arm.dispose();
    }
  });

  test('naf_trainer over DDS: a second joint_states publisher is refused and holds zero torque until it stops', async (t) => {
    if (!ctx) return t.skip(loadSkip);
    const h = rosHarness(ctx);
    const topics = { joint_states_topic: `${h.prefix}/pub_rule/joint_states`, effort_command_topic: `${h.prefix}/pub_rule/commands` };
    const node = h.node('naf_trainer_pubrule');
    const config = declareConfigParameters(node, testConfig({ ros: { ...topics, estop_topic: '~/estop', joint_states_conflict_hold_s: 0.5 } }));
    const cap = captureLogger();
    const learner = new FakeLearner();
    const trainer = new NafTrainerNode({
      node, config, spec: testSpec(), task: new TinyTask(config.task.home_pose, 50), learner, rng: new Rng(1), logger: cap.logger,
      actor: new FakeActor(() => Float64Array.of(1, 1, 1), 0.3, 0.5),
    });
    learner.publishPolicy(0);
    const drv = h.node('driver'), rogue = h.node('rogue'), probe = h.node('probe');
    const cmds: { at: number; u: number[] }[] = [];
    probe.createSubscription('std_msgs/msg/Float64MultiArray', topics.effort_command_topic, 'default', (m) => cmds.push({ at: Date.now(), u: Array.from(m.data) }));
    const dPub = drv.createPublisher('sensor_msgs/msg/JointState', topics.joint_states_topic, 'sensor_data');
    const dTimer = drv.createTimer(0.01, () => dPub.publish(jointState(drv.now(), ['joint1', 'joint2', 'joint3'], config.task.home_pose)));
    try {
      assert.ok(await h.waitFor(() => trainer.state === 'RUNNING', 20), `state ${trainer.state}`);
      const rPub = rogue.createPublisher('sensor_msgs/msg/JointState', topics.joint_states_topic, 'sensor_data');
      const rTimer = rogue.createTimer(0.002, () => rPub.publish(jointState(rogue.now(), ['joint1', 'joint2', 'joint3'], [1, 1, 1])));
      assert.ok(await h.waitFor(() => trainer.input.conflict(node.now()), 10), 'conflict detected');
      const detected = Date.now();
      await h.waitFor(() => false, 1.5);
      assert.ok(trainer.input.rejected.other_publisher > 100, `refused ${trainer.input.rejected.other_publisher}`);
      assert.ok(learner.episodes.at(-1)?.aborted, 'the running episode was aborted');
      const late = cmds.filter((c) => c.at > detected + 100);
      assert.ok(late.length > 30 && late.every((c) => c.u.every((v) => v === 0)), 'zero torque while both publish');
      assert.ok(learner.observed.every((tr) => tr.x[0] !== 1), 'no state of the second publisher used');
      assert.equal(trainer.graphPublishers, 2, 'the graph counts both publishers');
      assert.ok(cap.count('error', /other_publisher/) <= 2, 'no log flood');
      rTimer.cancel();
      assert.ok(await h.waitFor(() => trainer.state === 'RUNNING' && !trainer.input.conflict(node.now()), 10), `back to training: ${trainer.state}`);
      const gid = trainer.input.source!;
      assert.match(gid, /^[0-9a-f]{32,48}$/, 'the source is known by its GID');
      console.log(`# over DDS: second publisher refused (${trainer.input.rejected.other_publisher} messages), conflict steps ${trainer.conflictSteps}, source ${gid}`);
    } finally {
      dTimer.cancel();
      trainer.shutdown();
    }
  });

  test('resume through ros2 launch arguments: mujoco.launch.py resume:=<run> [episodes:=N]', { timeout: 240_000 }, async (t) => {
    if (!ctx) return t.skip(loadSkip);
    if ((await ros2(['--help'])).code !== 0) return t.skip('ros2 CLI not on PATH');
    const tmp = mkdtempSync(join(tmpdir(), 'naf-launch-'));
    nafRosPrefix(tmp);
    // A finished run of 2 episodes with a small network, checkpointed by the learner itself.
    const params = { task: { horizon: 5 }, agent: { hidden: [8, 8], warmup_steps: 5, batch_size: 4, replay_capacity: 1000 }, training: { episodes: 2 } };
    const paramsFile = join(tmp, 'params.yaml');
    writeFileSync(paramsFile, yaml.dump({ naf_trainer: { ros__parameters: params } }));
    const run = join(tmp, 'run');
    const learner = await InThreadLearnerClient.create(parseConfig(params), run);
    const x = new Float64Array(11);
    for (let e = 0; e < 2; e++) {
      for (let k = 0; k < 5; k++) learner.observe({ x, u: new Float64Array(3), r: -1, x2: x, terminal: false, t: k });
      learner.endEpisode({ controller: 'naf', return: -5, aborted: false });
    }
    const ckpt = await learner.save();
    await learner.close();
    const launch = (extra: string[], until: RegExp) => new Promise<string>((resolve, reject) => {
      const env = { ...process.env, AMENT_PREFIX_PATH: `${join(tmp, 'prefix')}:${process.env.AMENT_PREFIX_PATH}`, ROS_DOMAIN_ID: String(150 + (process.pid % 50)) };
      const p = spawn('ros2', ['launch', 'naf_ros', 'mujoco.launch.py', `params_file:=${paramsFile}`, `run_dir:=${join(tmp, 'runs')}`, ...extra], { env, detached: true });
      let out = '';
      const done = (ok: boolean) => {
        clearTimeout(timer);
        try { process.kill(-p.pid!, 'SIGINT'); } catch { /* gone */ }
        p.once('exit', () => (ok ? resolve(out) : reject(new Error(`launch did not print ${until}:\n${out}`))));
        setTimeout(() => { try { process.kill(-p.pid!, 'SIGKILL'); } catch { /* gone */ } }, 15000).unref();
      };
      const timer = setTimeout(() => done(false), 180_000);
      const onData = (d: Buffer) => { out += d.toString(); if (until.test(out)) done(true); };
      p.stdout.on('data', onData);
      p.stderr.on('data', onData);
    });
    const finished = await launch([`resume:=${run}`], /nothing to train/);
    assert.match(finished, new RegExp(`resumed from checkpoint ${ckpt.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: 2 episodes completed and 0 aborted before it; episodes continue from 3, budget training\\.episodes = 2`));
    assert.match(finished, new RegExp(`training budget of 2 episodes \\(training\\.episodes\\) done; holding zero torque\\. To train further, resume this run with a larger budget: ros2 launch naf_ros <launch file> resume:=${run.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} episodes:=<total>`));
    const extended = await launch([`resume:=${run}`, 'episodes:=3'], /budget training\.episodes = 3/);
    assert.match(extended, /run folder \S+ \(resumed\)/);
    assert.ok(!existsSync(join(tmp, 'runs')) || readdirSync(join(tmp, 'runs')).length === 0, 'no new run folder: the resumed one is used');
  });

  test('fleet.launch.py arms:=2 over DDS: two namespaced arms train with one learner until the fleet budget, then hold zero torque', { timeout: 300_000 }, async (t) => {
    if (!ctx) return t.skip(loadSkip);
    if ((await ros2(['--help'])).code !== 0) return t.skip('ros2 CLI not on PATH');
    const repo = REPO;
    const tmp = mkdtempSync(join(tmpdir(), 'naf-fleet-launch-'));
    nafRosPrefix(tmp);
    // Short episodes, a small network and a budget of 6 episodes of the two arms together. The
    // learner refuses episodes of another horizon: the budget is reached only if the namespaced
    // actors got the params file's parameters.
    // urdf_path relative to the params file's folder (the project's rule; the launch file resolves it so)
    const params = { urdf_path: relative(tmp, `${repo}/urdf/reacher3.urdf`), task: { horizon: 10 }, agent: { hidden: [8, 8], warmup_steps: 10, batch_size: 4, replay_capacity: 1000 }, training: { episodes: 6 } };
    const paramsFile = join(tmp, 'params.yaml');
    writeFileSync(paramsFile, yaml.dump({ naf_trainer: { ros__parameters: params } }));
    const env = { ...process.env, AMENT_PREFIX_PATH: `${join(tmp, 'prefix')}:${process.env.AMENT_PREFIX_PATH}`, ROS_DOMAIN_ID: String(200 + (process.pid % 30)) };
    const p = spawn('ros2', ['launch', 'naf_ros', 'fleet.launch.py', 'arms:=2', `params_file:=${paramsFile}`, `run_dir:=${join(tmp, 'runs')}`, 'rt_priority:=0'], { env, detached: true });
    let out = '';
    const both = /arm1\.naf_trainer\]: the fleet's training budget of 6 episodes is done[\s\S]*holding zero torque[\s\S]*arm2\.naf_trainer\]: the fleet's training budget|arm2\.naf_trainer\]: the fleet's training budget of 6 episodes is done[\s\S]*arm1\.naf_trainer\]: the fleet's training budget/;
    const ok = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), 240_000);
      const onData = (d: Buffer) => { out += d.toString(); if (both.test(out)) { clearTimeout(timer); resolve(true); } };
      p.stdout.on('data', onData);
      p.stderr.on('data', onData);
    });
    try { process.kill(-p.pid!, 'SIGINT'); } catch { /* gone */ }
    await new Promise((r) => { p.once('exit', r); setTimeout(r, 15000).unref(); });
    try { process.kill(-p.pid!, 'SIGKILL'); } catch { /* gone */ }
    const lines = out.split('\n').filter((l) => !/rcl\.logging_rosout/.test(l));
    assert.ok(ok, `both actors stop at the fleet budget:\n${lines.slice(-40).join('\n')}`);
    assert.match(out, /arm \/arm1 joined the fleet/);
    assert.match(out, /arm \/arm2 joined the fleet/);
    assert.match(out, /training budget of 6 episodes \(training\.episodes, completed episodes of all arms\) done/);
    assert.doesNotMatch(out, /refused \((shape|malformed|non_finite|checksum)\)/);
    assert.match(out, /in \/arm1\/joint_states, out \/arm1\/effort_controller\/commands, e-stop \/arm1\/naf_trainer\/estop/);
  });
});
