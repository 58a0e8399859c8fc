import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UrdfError, armSpecFromUrdf, loadUrdf, parseUrdf } from '../src/env/urdf.js';

const URDF = 'urdf/reacher3.urdf';

/** A minimal robot: `links` and `joints` are raw XML fragments. */
function robot(body: string): string {
  return `<?xml version="1.0"?><robot name="t">${body}</robot>`;
}
const link = (n: string) => `<link name="${n}"/>`;
const joint = (n: string, p: string, c: string, type = 'revolute', extra = '<limit lower="-1" upper="1" effort="2" velocity="3"/>') =>
  `<joint name="${n}" type="${type}"><parent link="${p}"/><child link="${c}"/><axis xyz="0 0 1"/>${extra}</joint>`;

test('reacher3.urdf parses into the documented arm', () => {
  const m = loadUrdf(URDF);
  assert.equal(m.name, 'reacher3');
  assert.equal(m.root, 'world');
  assert.deepEqual([...m.links.keys()].sort(), ['base_link', 'fingertip', 'link1', 'link2', 'link3', 'world']);
  const j2 = m.joints.find((j) => j.name === 'joint2')!;
  assert.equal(j2.type, 'revolute');
  assert.equal(j2.parent, 'link1');
  assert.equal(j2.child, 'link2');
  assert.deepEqual(j2.origin, { xyz: [0.12, 0, 0.03], rpy: [0, 0, 0] });
  assert.deepEqual(j2.axis, [0, 0, 1]);
  assert.deepEqual(j2.limit, { lower: -2.6, upper: 2.6, effort: 0.1, velocity: 20 });
  assert.deepEqual(j2.dynamics, { damping: 0, friction: 0 }); // the damping is the control law's, not the arm's
  const l1 = m.links.get('link1')!.inertial!;
  assert.equal(l1.mass, 0.379);
  assert.deepEqual(l1.origin.xyz, [0.08375, 0, 0]);
  assert.equal(l1.inertia.izz, 6.44e-4);
  assert.equal(m.parentJointOf('fingertip')!.type, 'fixed');

  const spec = armSpecFromUrdf(m);
  assert.deepEqual(spec.jointNames, ['joint1', 'joint2', 'joint3']);
  assert.deepEqual([...spec.effortLimits], [0.6, 0.1, 0.03]);
  assert.deepEqual([...spec.velocityLimits], [20, 20, 20]);
  assert.deepEqual([...spec.lowerLimits], [-3, -2.6, -2.6]);
  assert.deepEqual([...spec.upperLimits], [3, 2.6, 2.6]);
  // Explicit names in chain order give the same spec; a sub-chain is allowed.
  assert.deepEqual(armSpecFromUrdf(m, ['joint1', 'joint2', 'joint3']), spec);
});

test('reacher3.urdf carries the ros2_control effort interfaces and the Gazebo plugin', async () => {
  const { readFileSync } = await import('node:fs');
  const { XMLParser } = await import('fast-xml-parser');
  const doc = new XMLParser({ ignoreAttributes: false, attributeNamePrefix: '@_', isArray: (n) => ['joint', 'param', 'state_interface'].includes(n) })
    .parse(readFileSync(URDF, 'utf8'));
  const rc = doc.robot.ros2_control;
  assert.equal(rc['@_name'], 'Reacher3System');
  assert.equal(rc['@_type'], 'system');
  assert.equal(rc.hardware.plugin, 'gz_ros2_control/GazeboSimSystem');
  const spec = armSpecFromUrdf(loadUrdf(URDF));
  rc.joint.forEach((j: any, i: number) => {
    assert.equal(j['@_name'], spec.jointNames[i]);
    const ci = j.command_interface;
    assert.equal(ci['@_name'], 'effort');
    const p = Object.fromEntries(ci.param.map((x: any) => [x['@_name'], Number(x['#text'])]));
    assert.deepEqual(p, { min: -spec.effortLimits[i], max: spec.effortLimits[i] });
    assert.deepEqual(j.state_interface.map((s: any) => s['@_name']), ['position', 'velocity']);
  });
  const plugin = doc.robot.gazebo.plugin;
  assert.equal(plugin['@_filename'], 'gz_ros2_control-system');
  assert.equal(plugin['@_name'], 'gz_ros2_control::GazeboSimROS2ControlPlugin');
  assert.equal(plugin.parameters, '$(find naf_ros)/config/ros2_controllers.yaml');
});

test('defaults: missing origin/axis/dynamics, continuous joints get infinite position limits', () => {
  const m = parseUrdf(robot(`${link('a')}${link('b')}${link('c')}
    <joint name="j1" type="continuous"><parent link="a"/><child link="b"/><limit effort="1" velocity="2"/></joint>
    <joint name="j2" type="prismatic"><parent link="b"/><child link="c"/><axis xyz="0 3 4"/><limit lower="-0.1" upper="0.2" effort="5" velocity="0.5"/></joint>`));
  const j1 = m.joints[0];
  assert.deepEqual(j1.origin, { xyz: [0, 0, 0], rpy: [0, 0, 0] });
  assert.deepEqual(j1.axis, [1, 0, 0]); // URDF default axis
  assert.deepEqual(j1.dynamics, { damping: 0, friction: 0 });
  assert.deepEqual(m.joints[1].axis, [0, 0.6, 0.8]); // normalised
  const spec = armSpecFromUrdf(m);
  assert.deepEqual([...spec.lowerLimits], [-Infinity, -0.1]);
  assert.deepEqual([...spec.upperLimits], [Infinity, 0.2]);
  assert.deepEqual([...spec.effortLimits], [1, 5]);
});

test('malformed XML is a UrdfError with the line', () => {
  assert.throws(() => parseUrdf('<robot name="x">\n<link name="a">\n</robot>'), (e: Error) => e instanceof UrdfError && /malformed XML at line \d+/.test(e.message));
  assert.throws(() => parseUrdf('<notrobot/>'), /no <robot> root element/);
  // What expat (xacro, ros2 launch) refuses must not pass here: `--` inside a comment.
  assert.throws(() => parseUrdf('<robot name="x">\n<!-- naf-ros arm --config x -->\n<link name="a"/></robot>'), /malformed XML at line 2, column \d+: malformed comment/);
});

test('revolute/prismatic joints need <limit> with effort and velocity', () => {
  const two = (j: string) => robot(`${link('a')}${link('b')}${j}`);
  assert.throws(() => parseUrdf(two(joint('j', 'a', 'b', 'revolute', ''))), /joint "j": a revolute joint needs <limit/);
  assert.throws(() => parseUrdf(two(joint('j', 'a', 'b', 'prismatic', ''))), /joint "j": a prismatic joint needs <limit/);
  assert.throws(() => parseUrdf(two(joint('j', 'a', 'b', 'revolute', '<limit lower="-1" upper="1" velocity="3"/>'))), /joint "j" <limit effort> is missing/);
  assert.throws(() => parseUrdf(two(joint('j', 'a', 'b', 'revolute', '<limit lower="-1" upper="1" effort="3"/>'))), /joint "j" <limit velocity> is missing/);
  assert.throws(() => parseUrdf(two(joint('j', 'a', 'b', 'revolute', '<limit lower="-1" upper="1" effort="abc" velocity="3"/>'))), /<limit effort> must be a finite number, got "abc"/);
  assert.throws(() => parseUrdf(two(joint('j', 'a', 'b', 'revolute', '<limit lower="1" upper="-1" effort="1" velocity="3"/>'))), /lower> 1 > upper -1/);
  // A continuous joint may omit <limit>, but then gives the arm no torque bound.
  const m = parseUrdf(two(joint('j', 'a', 'b', 'continuous', '')));
  assert.throws(() => armSpecFromUrdf(m), /joint "j" \(continuous\) needs <limit effort velocity>/);
});

test('floating and planar joints are rejected as unsupported', () => {
  for (const type of ['floating', 'planar'])
    assert.throws(() => parseUrdf(robot(`${link('a')}${link('b')}${joint('j', 'a', 'b', type, '')}`)), (e: Error) =>
      e instanceof UrdfError && e.message.includes(`unsupported joint type "${type}"`));
  assert.throws(() => parseUrdf(robot(`${link('a')}${link('b')}${joint('j', 'a', 'b', 'hinge', '')}`)), /unknown joint type "hinge"/);
});

test('structure errors: unknown link, duplicate names, two roots, two parents', () => {
  assert.throws(() => parseUrdf(robot(`${link('a')}${joint('j', 'a', 'nope')}`)), /joint "j" references unknown link "nope"/);
  assert.throws(() => parseUrdf(robot(`${link('a')}${link('a')}`)), /duplicate link "a"/);
  assert.throws(() => parseUrdf(robot(`${link('a')}${link('b')}${link('c')}${joint('j', 'a', 'b')}${joint('j', 'b', 'c')}`)), /duplicate joint "j"/);
  assert.throws(() => parseUrdf(robot(`${link('a')}${link('b')}`)), /single root, found roots: \[a, b\]/);
  assert.throws(() => parseUrdf(robot(`${link('a')}${link('b')}${link('c')}${joint('j1', 'a', 'c')}${joint('j2', 'b', 'c')}`)), /link "c" has two parent joints/);
});

test('armSpecFromUrdf: unknown or fixed joint names and broken chains are errors', () => {
  const m = loadUrdf(URDF);
  assert.throws(() => armSpecFromUrdf(m, ['joint1', 'joint9']), /joint "joint9" does not exist \(actuated joints: joint1, joint2, joint3\)/);
  assert.throws(() => armSpecFromUrdf(m, ['fingertip_joint']), /joint "fingertip_joint" is fixed/);
  assert.throws(() => armSpecFromUrdf(m, ['joint2', 'joint1', 'joint3']), /broken chain/);
  assert.throws(() => armSpecFromUrdf(m, ['joint1', 'joint3']), /broken chain: actuated joint "joint2" is on the chain's path but not in it/);
  assert.throws(() => armSpecFromUrdf(m, ['joint2', 'joint3']), /broken chain: actuated joint "joint1"/);
  assert.throws(() => armSpecFromUrdf(m, ['joint1', 'joint1']), /duplicates/);
  assert.deepEqual(armSpecFromUrdf(m, ['joint1', 'joint2']).jointNames, ['joint1', 'joint2']); // a proximal sub-chain
  // A tree with two actuated branches is not a serial chain.
  const branched = parseUrdf(robot(`${link('base')}${link('l')}${link('r')}${joint('left', 'base', 'l')}${joint('right', 'base', 'r')}`));
  assert.throws(() => armSpecFromUrdf(branched), /broken chain: joint "left" is not on the path from "base" to joint "right"/);
  assert.deepEqual(armSpecFromUrdf(branched, ['left']).jointNames, ['left']);
});
