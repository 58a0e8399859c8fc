/**
 * naf_trainer over the in-process bus with a fake learner/actor: what reaches the torque topic
 * under normal operation and under every safety condition, services, parameters, diagnostics.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ParameterValue } from '../src/ros/transport/transport.js';
import { trainerHarness as setup } from './ros_trainer_harness.js';

const J = ['joint1', 'joint2', 'joint3'];

test('torques are published in the configured joint order whatever the joint_states order', () => {
  const { bus, cmds, learner } = setup({
    config: { task: { home_pose: [0.1, 0.2, 0.3] } }, names: ['joint3', 'gripper', 'joint1', 'joint2'],
    policy: (x) => Float64Array.from([x[0] * 10, x[1] * 10, x[2] * 10]),
  });
  bus.advance(0.2);
  assert.ok(cmds.length >= 5);
  const last = cmds[cmds.length - 1].u;
  [1, 2, 3].forEach((v, i) => assert.ok(Math.abs(last[i] - v) < 1e-9, `u = ${last}`));
  const x = learner.observed[0].x;
  assert.deepEqual(Array.from(x.slice(0, 3)).map((v) => +v.toFixed(9)), [0.1, 0.2, 0.3]);
});

test('a missing joint: error logged once, nothing published', () => {
  const { bus, cmds, cap, trainer } = setup({ names: ['joint1', 'joint3'] });
  bus.advance(1.0);
  assert.equal(cmds.length, 0);
  assert.equal(cap.count('error', /lacks configured joint\(s\) joint2/), 1);
  assert.equal(trainer.state, 'WAITING');
  assert.ok(trainer.input.rejected.missing_joint >= 99);
});

test('stale joint states: zero torque within one control period of the timeout, episode aborted', () => {
  const { bus, cmds, driver, learner, trainer } = setup();
  bus.advance(0.1);
  assert.equal(trainer.state, 'RUNNING');
  assert.deepEqual(cmds[cmds.length - 1].u, [1, 1, 1]);
  driver.on = false;
  const lastState = trainer.input.receivedAt;
  bus.advance(0.2);
  const firstZero = cmds.find((c) => c.t > lastState && c.u.every((v) => v === 0))!;
  assert.ok(firstZero.t <= lastState + 0.05 + 0.02 + 1e-9, `first zero at ${firstZero.t}, last state ${lastState}`);
  assert.ok(cmds.filter((c) => c.t > lastState + 0.05 + 1e-9).every((c) => c.u.every((v) => v === 0)), 'only zero after the timeout');
  assert.equal(learner.episodes.at(-1)!.aborted, true);
  assert.ok(trainer.supervisor.counts.watchdog > 0);
  driver.on = true;
  bus.advance(0.1);
  assert.deepEqual(cmds[cmds.length - 1].u, [1, 1, 1], 'resumes with fresh states (homing, then a new episode)');
});

test('e-stop: latched before the node saw it, zero torque until released on the topic AND ~/resume', async () => {
  const s = setup({ startDriver: true });
  s.estopPub.publish({ data: true });
  s.bus.advance(0.3);
  assert.equal(s.trainer.state, 'ESTOP');
  assert.ok(s.cmds.length > 0 && s.cmds.every((c) => c.u.every((v) => v === 0)));
  let r = await s.trigger('resume');
  assert.deepEqual(r, { success: false, message: 'e-stop still asserted on /naf_trainer/estop' });
  s.estopPub.publish({ data: false });
  s.bus.advance(0.2);
  assert.equal(s.trainer.state, 'ESTOP', 'releasing the topic alone does not resume');
  assert.ok(s.cmds.slice(-5).every((c) => c.u.every((v) => v === 0)));
  r = await s.trigger('resume');
  assert.equal(r.success, true);
  s.bus.advance(0.1);
  assert.deepEqual(s.cmds[s.cmds.length - 1].u, [1, 1, 1]);
  // A late subscriber (restarted node) still sees an e-stop that was published earlier.
  s.estopPub.publish({ data: true });
  s.bus.advance(0.05);
  assert.equal(s.trainer.state, 'ESTOP');
  assert.equal(s.learner.episodes.at(-1)!.aborted, true);
});

test('on_policy_fraction above the cap is rejected with a reason naming the cap; launch-time values are read-only', () => {
  const { node, actor, bus } = setup();
  const r = bus.node('/naf_trainer')!.setParameters([{ name: 'model_based.on_policy_fraction', value: 0.9 }]);
  assert.equal(r.successful, false);
  assert.match(r.reason, /max_on_policy_fraction \(0\.5, the safety cap\)/);
  assert.equal(node.getParameter('model_based.on_policy_fraction'), 0.3);
  assert.deepEqual(node.setParameters([{ name: 'model_based.on_policy_fraction', value: 0.4 }]), { successful: true, reason: '' });
  assert.equal(actor.onPolicyFraction, 0.4);
  assert.match(node.setParameters([{ name: 'model_based.max_on_policy_fraction', value: 1 }]).reason, /read-only/);
  assert.match(node.setParameters([{ name: 'agent.learning_rate', value: 0.01 }]).reason, /read-only/);
  assert.match(node.setParameters([{ name: 'model_based.on_policy_fraction', value: 1.5 }]).reason, /floating point range \[0, 1\]/);
  assert.throws(() => setup({ overrides: { 'model_based.on_policy_fraction': 0.9 } }), /on_policy_fraction: must be <= model_based.max_on_policy_fraction \(0.5, the safety cap\); got 0.9/);
});

test('every refusal of ros2 param set carries our own reason: wrong type, undeclared name, read-only, range, cap', () => {
  const { bus } = setup();
  const set = (name: string, value: ParameterValue) => bus.node('/naf_trainer')!.setParameters([{ name, value }]).reason;
  assert.equal(set('model_based.on_policy_fraction', 'abc'), 'model_based.on_policy_fraction must be a double (a number) in [0, 1]; got the string "abc" (nothing was changed)');
  assert.match(set('model_based.on_policy_fractoin', 0.2), /^model_based\.on_policy_fractoin is not a parameter of \/naf_trainer \(did you mean 'model_based\.on_policy_fraction'\?\); undeclared parameters are refused/);
  assert.match(set('safety.max_effort', 0.1), /^safety\.max_effort is read-only: it is set at launch/);
  assert.match(set('safety.homing_kp', -1), /^safety\.homing_kp: must be a number >= 0; got -1$/);
  assert.match(set('model_based.on_policy_fraction', 0.9), /the safety cap/);
});

test('a policy producing NaN publishes zero torque; a clamped policy publishes the cap', () => {
  const nan = setup({ policy: () => Float64Array.of(NaN, 1, 1) });
  nan.bus.advance(0.2);
  assert.ok(nan.cmds.length > 3);
  assert.ok(nan.cmds.every((c) => c.u.every((v) => v === 0)));
  assert.ok(nan.trainer.supervisor.counts.non_finite > 3);
  const big = setup({ policy: () => Float64Array.of(10, -10, 0.5) });
  big.bus.advance(0.2);
  assert.deepEqual(big.cmds[big.cmds.length - 1].u, [3, -3, 0.5]);
  assert.deepEqual(Array.from(big.learner.observed[0].u), [3, -3, 0.5], 'the learner gets the torque actually applied');
});

test('soft position limit: torque pushing past the soft limit is removed on the published command', () => {
  const { bus, cmds, trainer } = setup({ config: { task: { home_pose: [1.9, 0.2, -1.9] } } });
  bus.advance(0.2);
  assert.equal(trainer.state, 'RUNNING');
  assert.deepEqual(cmds[cmds.length - 1].u, [0, 1, 1]);
});

test('episodes: T transitions each, returns published, budget ends at zero torque with a checkpoint', () => {
  const { bus, learner, returns, cmds, trainer } = setup({ config: { training: { episodes: 2 } }, q: [0, 0.54, 0.5] });
  bus.advance(1.0);
  assert.equal(trainer.state, 'DONE');
  assert.equal(learner.episodes.length, 2);
  assert.ok(learner.episodes.every((e) => !e.aborted && e.controller === 'naf'));
  assert.equal(learner.observed.length, 10);
  assert.deepEqual(learner.observed.map((t) => t.t), [0, 1, 2, 3, 4, 0, 1, 2, 3, 4]);
  assert.equal(returns.length, 2);
  assert.ok(Math.abs(returns[0] - 5 * -(0.04 ** 2)) < 1e-12, `return ${returns[0]}`);
  assert.ok(Math.abs(learner.episodes[0].return - returns[0]) < 1e-12);
  assert.ok(cmds.slice(-10).every((c) => c.u.every((v) => v === 0)));
  assert.equal(learner.saves, 1);
});

test('services: pause aborts and holds zero torque, resume homes and restarts, save returns the checkpoint', async () => {
  const s = setup();
  s.bus.advance(0.1);
  assert.equal(s.trainer.state, 'RUNNING');
  assert.deepEqual(await s.trigger('pause'), { success: true, message: 'paused: zero torque' });
  s.bus.advance(0.1);
  assert.equal(s.learner.episodes.at(-1)!.aborted, true);
  assert.ok(s.cmds.slice(-4).every((c) => c.u.every((v) => v === 0)));
  assert.deepEqual(await s.trigger('resume'), { success: true, message: 'resumed: homing' });
  assert.equal((await s.trigger('resume')).success, false, 'resume when not paused');
  s.bus.advance(0.1);
  assert.deepEqual(s.cmds[s.cmds.length - 1].u, [1, 1, 1]);
  assert.deepEqual(await s.trigger('save'), { success: true, message: 'runs/test/checkpoint-1' });
  s.learner.failSave = 'disk full';
  assert.deepEqual(await s.trigger('save'), { success: false, message: 'disk full' });
});

test('a throwing controller pauses the node at zero torque instead of crashing', () => {
  let calls = 0;
  const { bus, cmds, trainer, cap } = setup({ policy: () => { if (++calls > 2) throw new Error('boom'); return Float64Array.of(1, 1, 1); } });
  bus.advance(0.3);
  assert.equal(trainer.state, 'PAUSED');
  assert.deepEqual(cmds[cmds.length - 1].u, [0, 0, 0]);
  assert.equal(cap.count('error', /control tick failed, pausing at zero torque: Error: boom/), 1);
});

test('/diagnostics at 1 Hz: safety counters and control-loop jitter', () => {
  const { bus, diags } = setup({ policy: () => Float64Array.of(10, 0, 0) });
  bus.advance(2.05);
  assert.equal(diags.length, 2);
  const [safety, loop] = diags[1].status;
  assert.equal(safety.name, 'naf_trainer: safety');
  assert.equal(safety.level, 1);
  assert.ok(Number(safety.values.find((v) => v.key === 'interventions.torque_clamp')!.value) > 0);
  assert.equal(loop.name, 'naf_trainer: control loop');
  assert.equal(loop.values.find((v) => v.key === 'jitter_max_ms')!.value, '0.000', 'the manual clock has no jitter');
  assert.ok(Number(loop.values.find((v) => v.key === 'jitter_samples')!.value) >= 99);
  assert.equal(diags[1].header.stamp.sec, 2);
});
