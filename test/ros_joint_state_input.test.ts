/**
 * Incoming JointState: matched by name, and every hostile message is rejected with its reason
 * (counted, logged once) instead of reaching the controller.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JointStateInput } from '../src/ros/trainer/joint_state_input.js';
import { captureLogger, jointState } from './ros_fakes.js';

const J = ['joint1', 'joint2', 'joint3'];
const make = () => {
  const cap = captureLogger();
  return { ...cap, input: new JointStateInput({ joints: J, maxStampSkew: 0.1, logger: cap.logger }) };
};

test('joints are matched by name: any order, extra joints ignored, effort optional', () => {
  const { input } = make();
  const r = input.accept(jointState(1.0, ['gripper', 'joint3', 'joint1', 'joint2'], [9, 0.3, 0.1, 0.2], [9, 3, 1, 2], [9, 30, 10, 20]), 1.0);
  assert.ok(r.ok);
  assert.deepEqual(input.latest!.name, J);
  assert.deepEqual(Array.from(input.latest!.position), [0.1, 0.2, 0.3]);
  assert.deepEqual(Array.from(input.latest!.velocity), [1, 2, 3]);
  assert.deepEqual(Array.from(input.latest!.effort), [10, 20, 30]);
  assert.ok(input.accept(jointState(1.01, J, [0, 0, 0], [0, 0, 0], []), 1.01).ok, 'effort may be empty');
  assert.deepEqual(Array.from(input.latest!.effort), [0, 0, 0]);
  assert.equal(input.receivedAt, 1.01);
});

test('a missing configured joint is an error logged once, then counted and summarised (no flood when it comes and goes)', () => {
  const { input, count } = make();
  for (let k = 0; k < 5; k++) {
    const r = input.accept(jointState(1 + k * 0.01, ['joint1', 'joint3'], [0, 0]), 1 + k * 0.01);
    assert.deepEqual(r.ok ? null : r.reason, 'missing_joint');
  }
  assert.equal(count('error', /lacks configured joint\(s\) joint2/), 1);
  assert.deepEqual(input.missing, ['joint2']);
  assert.equal(input.latest, null);
  assert.ok(input.accept(jointState(1.1, J, [0, 0, 0]), 1.1).ok);
  assert.deepEqual(input.missing, []);
  assert.equal(count('info', /complete again \(joint2 back\)/), 1);
  // A flood: complete and incomplete messages alternate (24 + 24 lines before).
  for (let k = 0; k < 24; k++) {
    input.accept(jointState(1.2 + k * 0.02, ['joint1'], [0]), 1.2 + k * 0.02);
    input.accept(jointState(1.21 + k * 0.02, J, [0, 0, 0]), 1.21 + k * 0.02);
  }
  assert.equal(count('error', /lacks configured joint/), 1, 'no new error line within 10 s');
  assert.equal(count('info', /complete again/), 1);
  assert.equal(input.rejected.missing_joint, 29);
  input.flushLogs(12);
  assert.equal(count('error', /^joint_states lacks configured joints: 28 times in the last 11\.0 s; latest: joint_states lacks configured joint\(s\) joint2, joint3/), 1);
  assert.equal(count('info', /^joint_states complete again: 24 times in the last 10\.9 s/), 1);
  input.flushLogs(13);
  assert.equal(count('error', /lacks configured joint/), 2, 'nothing pending: no new line');
});

test('hostile messages are rejected with their reason and never become the state', () => {
  const { input, count } = make();
  assert.ok(input.accept(jointState(1.0, J, [0, 0, 0]), 1.0).ok);
  const cases: [string, Parameters<typeof input.accept>[0], number][] = [
    ['empty', jointState(1.01, [], []), 1.01],
    ['length_mismatch', jointState(1.01, J, [0, 0]), 1.01],
    ['length_mismatch', jointState(1.01, J, [0, 0, 0], [0, 0]), 1.01],
    ['length_mismatch', jointState(1.01, J, [0, 0, 0], [0, 0, 0], [1]), 1.01],
    ['duplicate_name', jointState(1.01, ['joint1', 'joint2', 'joint3', 'joint1'], [0, 0, 0, 0]), 1.01],
    ['non_finite', jointState(1.01, J, [0, NaN, 0]), 1.01],
    ['non_finite', jointState(1.01, J, [0, 0, 0], [0, 0, Infinity]), 1.01],
    ['stamp_not_increasing', jointState(1.0, J, [0.5, 0.5, 0.5]), 1.01],
    ['stamp_not_increasing', jointState(0.99, J, [0.5, 0.5, 0.5]), 1.01],
    ['stamp_in_future', jointState(1.5, J, [0.5, 0.5, 0.5]), 1.01],
    ['stamp_too_old', jointState(0.2, J, [0.5, 0.5, 0.5]), 1.01],
  ];
  for (const [reason, msg, now] of cases) {
    const r = input.accept(msg, now);
    assert.equal(r.ok ? 'accepted' : r.reason, reason, JSON.stringify(msg));
    assert.deepEqual(Array.from(input.latest!.position), [0, 0, 0], `${reason} did not replace the state`);
  }
  assert.equal(input.rejectedTotal, cases.length);
  assert.equal(input.rejected.length_mismatch, 3);
  assert.equal(count('warn', /joint_states rejected \(length_mismatch\)/), 1, 'each reason is logged once');
  assert.equal(count('warn', /use_sim_time/), 1, 'too-old stamps hint at a clock mismatch');
  // A NaN effort is not a reason to drop the reading (effort is informational): it reads as 0.
  assert.ok(input.accept(jointState(1.02, J, [0.1, 0.1, 0.1], [0, 0, 0], [NaN, 1, 2]), 1.02).ok);
  assert.deepEqual(Array.from(input.latest!.effort), [0, 1, 2]);
});

test('10x-rate joint states: each is accepted and the newest wins', () => {
  const { input } = make();
  for (let k = 1; k <= 10; k++) assert.ok(input.accept(jointState(k * 0.002, J, [k, 0, 0]), k * 0.002).ok);
  assert.equal(input.latest!.position[0], 10);
});

test('absent velocity is finite-differenced from the previous sample; the first one is rejected', () => {
  const { input } = make();
  const r0 = input.accept(jointState(1.0, J, [0, 0, 0], []), 1.0);
  assert.equal(r0.ok ? 'ok' : r0.reason, 'no_velocity');
  const r1 = input.accept(jointState(1.01, J, [0.01, -0.02, 0], []), 1.01);
  assert.ok(r1.ok);
  const qd = Array.from(input.latest!.velocity);
  [1, -2, 0].forEach((v, i) => assert.ok(Math.abs(qd[i] - v) < 1e-9, `qd[${i}] = ${qd[i]}`));
  // a gap longer than the skew: no difference across it
  const r2 = input.accept(jointState(1.5, J, [0.5, 0, 0], []), 1.5);
  assert.equal(r2.ok ? 'ok' : r2.reason, 'no_velocity');
});

test('a backwards jump of the node clock (simulation reset) restarts stamp monotonicity', () => {
  const { input, count } = make();
  assert.ok(input.accept(jointState(50.0, J, [0, 0, 0]), 50.0).ok);
  assert.ok(input.accept(jointState(0.02, J, [0, 0, 0]), 0.02).ok);
  assert.equal(count('warn', /node clock went back/), 1);
});

test('constructor rejects bad configuration', () => {
  const { logger } = captureLogger();
  assert.throws(() => new JointStateInput({ joints: [], maxStampSkew: 0.1, logger }), /non-empty and unique/);
  assert.throws(() => new JointStateInput({ joints: ['a', 'a'], maxStampSkew: 0.1, logger }), /non-empty and unique/);
  assert.throws(() => new JointStateInput({ joints: ['a'], maxStampSkew: 0, logger }), /maxStampSkew/);
});
