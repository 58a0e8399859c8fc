/**
 * The in-process transport behaves like ROS 2 where naf_ros relies on it: asynchronous delivery,
 * keep-last depth, QoS compatibility, latched topics, timer order, parameter semantics.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { InProcessBus } from '../src/ros/transport/inprocess_transport.js';
import { expandName, toTimeMsg, fromTimeMsg } from '../src/ros/transport/transport.js';
import type { BoolMsg, Float64MultiArrayMsg } from '../src/ros/transport/transport.js';

const arr = (data: number[]): Float64MultiArrayMsg => ({ layout: { dim: [], data_offset: 0 }, data });

test('delivery is asynchronous, copied, and float64[] arrives as Float64Array', () => {
  const bus = new InProcessBus();
  const a = bus.createNode('a'), b = bus.createNode('b');
  const got: Float64MultiArrayMsg[] = [];
  b.createSubscription('std_msgs/msg/Float64MultiArray', '/x', 'default', (m) => got.push(m));
  const pub = a.createPublisher('std_msgs/msg/Float64MultiArray', '/x', 'default');
  const msg = arr([1, 2, 3]);
  pub.publish(msg);
  assert.equal(got.length, 0, 'not delivered inside publish');
  (msg.data as number[])[0] = 99;
  bus.spinSome();
  assert.equal(got.length, 1);
  assert.ok(got[0].data instanceof Float64Array);
  assert.deepEqual(Array.from(got[0].data), [1, 2, 3], 'subscriber has a copy');
});

test('keep-last depth: a reader behind by 10x sees only the newest sensor_data messages', () => {
  const bus = new InProcessBus();
  const a = bus.createNode('a'), b = bus.createNode('b');
  const got: number[] = [];
  b.createSubscription('std_msgs/msg/Float64MultiArray', '/x', 'sensor_data', (m) => got.push(m.data[0]));
  const pub = a.createPublisher('std_msgs/msg/Float64MultiArray', '/x', 'sensor_data');
  for (let i = 0; i < 10; i++) pub.publish(arr([i]));
  bus.spinSome();
  assert.deepEqual(got, [5, 6, 7, 8, 9]);
});

test('QoS: reliable subscriber gets nothing from a best-effort publisher; the reverse works', () => {
  const bus = new InProcessBus();
  const a = bus.createNode('a'), b = bus.createNode('b');
  let reliable = 0, bestEffort = 0;
  b.createSubscription('std_msgs/msg/Float64MultiArray', '/be', 'default', () => reliable++);
  b.createSubscription('std_msgs/msg/Float64MultiArray', '/rel', 'sensor_data', () => bestEffort++);
  a.createPublisher('std_msgs/msg/Float64MultiArray', '/be', 'sensor_data').publish(arr([1]));
  a.createPublisher('std_msgs/msg/Float64MultiArray', '/rel', 'default').publish(arr([1]));
  bus.spinSome();
  assert.equal(reliable, 0);
  assert.equal(bestEffort, 1);
});

test('latched: a late transient-local subscriber gets the last message, a volatile one does not', () => {
  const bus = new InProcessBus();
  const a = bus.createNode('a');
  const pub = a.createPublisher('std_msgs/msg/Bool', '/estop', 'latched');
  pub.publish({ data: false });
  pub.publish({ data: true });
  bus.spinSome();
  const late = bus.createNode('late');
  const latched: BoolMsg[] = [], volatile: BoolMsg[] = [];
  late.createSubscription('std_msgs/msg/Bool', '/estop', 'latched', (m) => latched.push(m));
  late.createSubscription('std_msgs/msg/Bool', '/estop', 'default', (m) => volatile.push(m));
  bus.spinSome();
  assert.deepEqual(latched, [{ data: true }]);
  assert.deepEqual(volatile, []);
});

test('timers fire in time order at exact multiples; messages are delivered between callbacks', () => {
  const bus = new InProcessBus();
  const n = bus.createNode('n');
  const log: string[] = [];
  const pub = n.createPublisher('std_msgs/msg/Float64MultiArray', '/t', 'default');
  n.createSubscription('std_msgs/msg/Float64MultiArray', '/t', 'default', (m) => log.push(`msg ${m.data[0]}`));
  n.createTimer(0.02, () => { log.push(`fast ${bus.now().toFixed(2)}`); pub.publish(arr([bus.now()])); });
  const slow = n.createTimer(0.05, () => log.push(`slow ${bus.now().toFixed(2)}`));
  bus.advance(0.1);
  assert.deepEqual(log, [
    'fast 0.02', 'msg 0.02', 'fast 0.04', 'msg 0.04', 'slow 0.05', 'fast 0.06', 'msg 0.06',
    'fast 0.08', 'msg 0.08', 'fast 0.10', 'msg 0.1', 'slow 0.10',
  ]);
  slow.cancel();
  bus.advance(10);
  assert.equal(log.filter((l) => l.startsWith('fast')).length, 505, 'no drift over 10 s of 20 ms periods');
  assert.equal(log.filter((l) => l.startsWith('slow')).length, 2);
  assert.throws(() => bus.advance(-1), /seconds must be >= 0/);
  assert.throws(() => n.createTimer(0, () => {}), /period must be > 0/);
});

test('services answer asynchronously; a missing service is an error naming it', async () => {
  const bus = new InProcessBus();
  const srv = bus.createNode('naf_trainer'), cli = bus.createNode('cli');
  let calls = 0;
  srv.createService('std_srvs/srv/Trigger', '~/pause', () => ({ success: true, message: `paused ${++calls}` }));
  const p = cli.createClient('std_srvs/srv/Trigger', '/naf_trainer/pause').call({});
  assert.equal(calls, 0, 'handler not run inside call()');
  assert.deepEqual(await p, { success: true, message: 'paused 1' });
  await assert.rejects(cli.createClient('std_srvs/srv/Trigger', '/nope').call({}), /service \/nope is not available/);
});

test('parameters: overrides win, types, ranges, read-only, callbacks reject atomically with our own reason', () => {
  const bus = new InProcessBus();
  const n = bus.createNode('naf_trainer', { parameterOverrides: { gain: 2, name: 'x' } });
  assert.equal(n.declareParameter('gain', 0.5, { type: 'double', description: 'g', floatingPointRange: { from: 0, to: 10 } }), 2, 'integer override accepted as double');
  assert.equal(n.declareParameter('cap', 0.5, { type: 'double', description: 'c', readOnly: true }), 0.5);
  assert.throws(() => n.declareParameter('name', 3, { type: 'integer', description: 'n' }), /^Error: name must be an integer; got the string "x" \(nothing was changed\)$/);
  assert.throws(() => n.declareParameter('gain', 1, { type: 'double', description: 'g' }), /already been declared/);
  n.declareParameter('list', [1.5, 2], { type: 'double_array', description: 'l', floatingPointRange: { from: 0, to: 3 } });
  assert.equal(n.describeParameter('gain')!.description, 'g Range [0, 10].');

  const seen: string[] = [];
  n.addOnSetParametersCallback((ups) => {
    const g = ups.find((u) => u.name === 'gain');
    return g && (g.value as number) > (n.getParameter('cap') as number) * 10
      ? { successful: false, reason: `gain ${g.value} above 10 x cap` } : { successful: true, reason: '' };
  });
  n.addPostSetParametersCallback((ups) => seen.push(...ups.map((u) => `${u.name}=${u.value}`)));

  assert.deepEqual(n.setParameters([{ name: 'gain', value: 11 }]), { successful: false, reason: "Parameter gain doesn't comply with floating point range [0, 10]; got 11" });
  assert.deepEqual(n.setParameters([{ name: 'list', value: [1, 2.5] }, { name: 'gain', value: 6 }]), { successful: false, reason: 'gain 6 above 10 x cap' });
  assert.deepEqual(n.getParameter('list'), [1.5, 2], 'atomic: the first update was not applied');
  assert.deepEqual(n.setParameters([{ name: 'cap', value: 1 }]), {
    successful: false, reason: 'cap is read-only: it is set at launch (params file or launch argument) and fixed while /naf_trainer runs; nothing was changed',
  });
  assert.deepEqual(n.setParameters([{ name: 'gain', value: 'abc' }]), { successful: false, reason: 'gain must be a double (a number) in [0, 10]; got the string "abc" (nothing was changed)' });
  assert.deepEqual(n.setParameters([{ name: 'list', value: true }]), { successful: false, reason: 'list must be an array of doubles in [0, 3]; got the bool true (nothing was changed)' });
  assert.deepEqual(n.setParameters([{ name: 'gian', value: 1 }]), {
    successful: false, reason: "gian is not a parameter of /naf_trainer (did you mean 'gain'?); undeclared parameters are refused ('ros2 param list /naf_trainer' shows the declared ones; nothing was changed)",
  });
  assert.match(n.setParameters([{ name: 'zzzzzzzz', value: 1 }]).reason, /^zzzzzzzz is not a parameter of \/naf_trainer; undeclared/);
  assert.deepEqual(n.setParameters([{ name: 'gain', value: 4 }]), { successful: true, reason: '' });
  assert.equal(n.getParameter('gain'), 4);
  assert.deepEqual(seen, ['gain=4']);
  assert.strictEqual(bus.node('/naf_trainer'), n, 'found by its fully qualified name, as ros2 param set does');
});

test('names: ~/ is node-private, relative names take the namespace', () => {
  assert.equal(expandName('~/pause', 'naf_trainer', '/'), '/naf_trainer/pause');
  assert.equal(expandName('~/estop', 'naf_trainer', '/robot1'), '/robot1/naf_trainer/estop');
  assert.equal(expandName('joint_states', 'n', '/robot1'), '/robot1/joint_states');
  assert.equal(expandName('/joint_states', 'n', '/robot1'), '/joint_states');
  assert.throws(() => expandName('bad name', 'n', '/'), /invalid ROS name/);
  assert.deepEqual(toTimeMsg(12.5), { sec: 12, nanosec: 500000000 });
  assert.equal(fromTimeMsg(toTimeMsg(3.000000001)), 3.000000001);
});
