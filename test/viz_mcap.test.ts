/**
 * Rollout recordings as MCAP: what the file holds is what ROS 2 tools expect (channels, ros2msg
 * schemas of Humble's types, CDR messages, the /tf tree agreeing with the URDF's forward
 * kinematics), read back with @mcap/core and the schemas in the file; the recorder keeps an arm's
 * identity and splits episodes at resets.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { McapIndexedReader, McapStreamReader } from '@mcap/core';
import { parse } from '@foxglove/rosmsg';
import { MessageReader } from '@foxglove/rosmsg2-serialization';
import { KinematicChain } from '../src/env/kinematics.js';
import { parseUrdf } from '../src/env/urdf.js';
import type { Arm, JointStateRecord } from '../src/env/types.js';
import { matrixToQuaternion, linkTransforms } from '../src/viz/link_poses.js';
import { openMcap, readRolloutMcap, RolloutFileError } from '../src/viz/mcap_read.js';
import { rolloutMcap, ROLLOUT_METADATA } from '../src/viz/mcap_write.js';
import { schemaText, encodeCdr } from '../src/viz/ros2_messages.js';
import { EPISODE_GAP_S, RolloutRecorder, type Rollout } from '../src/viz/rollout.js';

const URDF_PATH = new URL('../urdf/reacher3.urdf', import.meta.url).pathname;
const urdf = readFileSync(URDF_PATH, 'utf8');
const joints = ['joint1', 'joint2', 'joint3'];

/** Two episodes of 11 samples at 50 Hz, the second 0.5 s after the first. */
function synthetic(): Rollout {
  const episode = (k: number) => ({
    target: [0.1 + k * 0.01, 0.12, 0.05] as [number, number, number],
    steps: Array.from({ length: 11 }, (_, i) => ({ t: k * 0.7 + i * 0.02, q: [0.3 * Math.sin(i / 3) + k, 0.5, -0.4 + 0.01 * i], qd: [0.1 * i, 0, 0.5], effort: [0.2, -0.1, 0.05 * i] })),
    return: -3 - k, finalDistance: 0.05 + k,
  });
  return { source: 'synthetic test rollout', robotDescription: urdf, urdfPath: URDF_PATH, jointNames: joints, tipLink: 'fingertip', episodes: [episode(0), episode(1)] };
}

test('an MCAP recording holds /robot_description, /joint_states, /tf and markers, ROS 2 CDR with ros2msg schemas', async () => {
  const rollout = synthetic();
  const start = 1_700_000_000;
  const bytes = await rolloutMcap(rollout, { startTime: start });
  const reader = await openMcap(bytes);
  assert.equal(reader.header.profile, 'ros2');
  const channels = new Map([...reader.channelsById.values()].map((c) => [c.topic, c]));
  const expected: Record<string, string> = {
    '/robot_description': 'std_msgs/msg/String', '/joint_states': 'sensor_msgs/msg/JointState',
    '/tf': 'tf2_msgs/msg/TFMessage', '/visualization_marker': 'visualization_msgs/msg/Marker',
  };
  assert.deepEqual([...channels.keys()].sort(), Object.keys(expected).sort());
  for (const [topic, type] of Object.entries(expected)) {
    const c = channels.get(topic)!;
    const schema = reader.schemasById.get(c.schemaId)!;
    assert.equal(schema.name, type);
    assert.equal(schema.encoding, 'ros2msg');
    assert.equal(c.messageEncoding, 'cdr');
    assert.match(c.metadata.get('offered_qos_profiles')!, /^- history: 1\n {2}depth: \d+\n {2}reliability: 1\n {2}durability: [12]\n/);
  }
  assert.match(channels.get('/robot_description')!.metadata.get('offered_qos_profiles')!, /durability: 1\n/, 'latched, as robot_state_publisher offers it');
  // Humble's Marker, every field (the CDR layout ros2 bag play's type support reads)
  const marker = parse(schemaText('visualization_msgs/msg/Marker'), { ros2: true })[0];
  assert.deepEqual(marker.definitions.filter((f) => !f.isConstant).map((f) => f.name), [
    'header', 'ns', 'id', 'type', 'action', 'pose', 'scale', 'color', 'lifetime', 'frame_locked', 'points', 'colors',
    'texture_resource', 'texture', 'uv_coordinates', 'text', 'mesh_resource', 'mesh_file', 'mesh_use_embedded_materials',
  ]);
  assert.ok(new TextDecoder().decode(reader.schemasById.get(channels.get('/tf')!.schemaId)!.data).includes(`${'='.repeat(80)}\nMSG: geometry_msgs/TransformStamped\n`));

  // decode with the file's own schemas; CRCs checked
  const decoders = new Map([...channels.values()].map((c) => [c.id, new MessageReader(parse(new TextDecoder().decode(reader.schemasById.get(c.schemaId)!.data), { ros2: true }))]));
  const counts = new Map<string, number>();
  const jointStates: { header: { stamp: { sec: number; nanosec: number } }; name: string[]; position: Float64Array; velocity: Float64Array; effort: Float64Array }[] = [];
  const tfs: { transforms: { header: { frame_id: string }; child_frame_id: string; transform: { translation: { x: number; y: number; z: number }; rotation: { x: number; y: number; z: number; w: number } } }[] }[] = [];
  const markers: { ns: string; type: number; header: { frame_id: string }; pose: { position: { x: number; y: number; z: number } }; points: unknown[] }[] = [];
  let description = '';
  let lastLog = -1n;
  for await (const m of reader.readMessages({ validateCrcs: true })) {
    const topic = reader.channelsById.get(m.channelId)!.topic;
    counts.set(topic, (counts.get(topic) ?? 0) + 1);
    assert.ok(m.logTime >= lastLog, 'messages in log-time order');
    lastLog = m.logTime;
    const msg = decoders.get(m.channelId)!.readMessage(m.data) as never;
    if (topic === '/joint_states') jointStates.push(msg);
    if (topic === '/tf') tfs.push(msg);
    if (topic === '/visualization_marker') markers.push(msg);
    if (topic === '/robot_description') description = (msg as { data: string }).data;
  }
  assert.equal(description, urdf);
  assert.equal(counts.get('/robot_description'), 1);
  assert.equal(counts.get('/joint_states'), 22);
  assert.equal(counts.get('/tf'), 22);
  // a decoded JointState: names, values and stamp of the sample
  const js = jointStates[13];
  const s = rollout.episodes[1].steps[2];
  assert.deepEqual(js.name, joints);
  assert.deepEqual(Array.from(js.position), s.q);
  assert.deepEqual(Array.from(js.velocity), s.qd);
  assert.deepEqual(Array.from(js.effort), s.effort);
  assert.deepEqual(js.header.stamp, { sec: start + Math.floor(s.t), nanosec: Math.round((s.t % 1) * 1e9) }, `t = ${s.t} s after the start`);
  // /tf: the chain of transforms world -> ... -> fingertip is the URDF's forward kinematics
  const model = parseUrdf(urdf);
  const chain = new KinematicChain(model, 'fingertip', joints);
  const tf = tfs[13].transforms;
  assert.deepEqual(tf.map((t) => `${t.header.frame_id}->${t.child_frame_id}`), model.joints.map((j) => `${j.parent}->${j.child}`));
  let p = [0, 0, 0];
  let q = [0, 0, 0, 1];
  const rotate = (v: number[], r: number[]) => { // v' = r v r*
    const [x, y, z, w] = r;
    const tx = 2 * (y * v[2] - z * v[1]), ty = 2 * (z * v[0] - x * v[2]), tz = 2 * (x * v[1] - y * v[0]);
    return [v[0] + w * tx + (y * tz - z * ty), v[1] + w * ty + (z * tx - x * tz), v[2] + w * tz + (x * ty - y * tx)];
  };
  const mul = (a: number[], b: number[]) => [
    a[3] * b[0] + a[0] * b[3] + a[1] * b[2] - a[2] * b[1], a[3] * b[1] - a[0] * b[2] + a[1] * b[3] + a[2] * b[0],
    a[3] * b[2] + a[0] * b[1] - a[1] * b[0] + a[2] * b[3], a[3] * b[3] - a[0] * b[0] - a[1] * b[1] - a[2] * b[2],
  ];
  for (const t of tf) {
    const { translation: tr, rotation: r } = t.transform;
    const d = rotate([tr.x, tr.y, tr.z], q);
    p = [p[0] + d[0], p[1] + d[1], p[2] + d[2]];
    q = mul(q, [r.x, r.y, r.z, r.w]);
  }
  const fk = chain.position(s.q);
  for (let i = 0; i < 3; i++) assert.ok(Math.abs(p[i] - fk[i]) < 1e-12, `tip ${i}: /tf ${p[i]} vs FK ${fk[i]}`);
  // markers: the target sphere every sample, the tip path (LINE_STRIP) ending at the last tip position
  const targets = markers.filter((m) => m.ns === 'target');
  assert.equal(targets.length, 22);
  assert.ok(targets.every((m) => m.type === 2 && m.header.frame_id === 'world'));
  assert.deepEqual(Object.values(targets[20].pose.position), rollout.episodes[1].target);
  const paths = markers.filter((m) => m.ns === 'tip_path');
  assert.ok(paths.length >= 4 && paths.every((m) => m.type === 4));
  assert.equal(paths.at(-1)!.points.length, 11);
  // the metadata record
  const meta = [];
  for await (const m of reader.readMetadata({ name: ROLLOUT_METADATA })) meta.push(m.metadata);
  assert.equal(meta.length, 1);
  assert.deepEqual(JSON.parse(meta[0].get('joint_names')!), joints);
  assert.equal(meta[0].get('tip_link'), 'fingertip');
  // the stream reader (no index) reads every record too
  const stream = new McapStreamReader();
  stream.append(bytes);
  let records = 0;
  for (let r = stream.nextRecord(); r; r = stream.nextRecord()) records++;
  assert.ok(stream.done() && records > 50);
  assert.ok(McapIndexedReader);
});

test('a JointState in CDR is the bytes ROS 2 puts on the wire (encapsulation, alignment, sequences)', () => {
  const bytes = encodeCdr('sensor_msgs/msg/JointState', { header: { stamp: { sec: 7, nanosec: 9 }, frame_id: '' }, name: ['j'], position: [1.5], velocity: [], effort: [-2] });
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  assert.deepEqual([...bytes.subarray(0, 4)], [0, 1, 0, 0], 'CDR little endian');
  // payload offsets count from byte 4
  assert.equal(v.getInt32(4, true), 7);
  assert.equal(v.getUint32(8, true), 9);
  assert.equal(v.getUint32(12, true), 1, 'frame_id: length 1 (the NUL)');
  assert.equal(v.getUint32(20, true), 1, 'one name');
  assert.equal(v.getUint32(24, true), 2, '"j" + NUL');
  assert.equal(String.fromCharCode(bytes[28]), 'j');
  assert.equal(v.getUint32(32, true), 1, 'one position (after padding to 4)');
  assert.equal(v.getFloat64(36, true), 1.5, 'float64 aligned to 8 in the payload (36 - 4 = 32)');
  assert.equal(v.getUint32(44, true), 0, 'no velocity');
  assert.equal(v.getUint32(48, true), 1);
  assert.equal(v.getFloat64(52, true), -2);
  assert.equal(bytes.byteLength, 60);
});

test('a rollout reads back from its MCAP file as written; a file without joint states is refused by name', async () => {
  const rollout = synthetic();
  const back = await readRolloutMcap(await rolloutMcap(rollout, { startTime: 1_700_000_000 }));
  assert.equal(back.source, rollout.source);
  assert.equal(back.robotDescription, urdf);
  assert.equal(back.urdfPath, URDF_PATH);
  assert.deepEqual(back.jointNames, joints);
  assert.equal(back.tipLink, 'fingertip');
  assert.equal(back.episodes.length, 2);
  back.episodes.forEach((e, k) => {
    const w = rollout.episodes[k];
    assert.deepEqual(e.target, w.target);
    assert.equal(e.return, w.return);
    assert.equal(e.finalDistance, w.finalDistance);
    assert.equal(e.steps.length, w.steps.length);
    e.steps.forEach((s, i) => {
      assert.ok(Math.abs(s.t - w.steps[i].t) < 1e-9);
      assert.deepEqual([s.q, s.qd, s.effort], [w.steps[i].q, w.steps[i].qd, w.steps[i].effort]);
    });
  });
  await assert.rejects(readRolloutMcap(new Uint8Array([1, 2, 3])), (e: Error) => e instanceof RolloutFileError && /not a readable MCAP file/.test(e.message));
  await assert.rejects(rolloutMcap({ ...rollout, tipLink: 'nope' }), /unknown link "nope"/);
});

test('the recorder wraps an arm without changing it: instanceof and getters hold, resets split episodes', () => {
  class FakeArm implements Arm {
    readonly spec = { jointNames: joints, effortLimits: new Float64Array(3), velocityLimits: new Float64Array(3), lowerLimits: new Float64Array(3), upperLimits: new Float64Array(3) };
    readonly dt = 0.02;
    q = new Float64Array(3);
    get counter() { return this.q[0]; }
    private read(): JointStateRecord { return { name: joints, position: this.q.slice(), velocity: new Float64Array(3), effort: new Float64Array(3), stamp: 0 }; }
    reset(q: Float64Array, _qd: Float64Array): JointStateRecord { this.q = q.slice(); return this.read(); }
    step(u: Float64Array): JointStateRecord { this.q[0] += u[0]; return this.read(); }
    dispose(): void {}
  }
  let target = [1, 2, 3];
  const rec = new RolloutRecorder({ source: 's', robotDescription: urdf, jointNames: joints, tipLink: 'fingertip' }, () => target);
  const arm = new FakeArm();
  const wrapped = rec.arm(arm);
  assert.ok(wrapped instanceof FakeArm);
  wrapped.reset(new Float64Array([0, 0, 0]), new Float64Array(3));
  wrapped.step(new Float64Array([1, 0, 0]));
  wrapped.step(new Float64Array([1, 0, 0]));
  assert.equal(wrapped.counter, 2, 'getters read the arm');
  target = [4, 5, 6];
  wrapped.reset(new Float64Array([5, 0, 0]), new Float64Array(3));
  wrapped.step(new Float64Array([1, 0, 0]));
  rec.annotate({ returns: [-1, -2], finalDistances: [0.1, 0.2] });
  const r = rec.rollout();
  assert.equal(r.episodes.length, 2);
  assert.deepEqual(r.episodes.map((e) => e.steps.map((s) => s.q[0])), [[0, 1, 2], [5, 6]]);
  assert.deepEqual(r.episodes.map((e) => e.target), [[1, 2, 3], [4, 5, 6]]);
  assert.deepEqual(r.episodes.map((e) => [e.return, e.finalDistance]), [[-1, 0.1], [-2, 0.2]]);
  const t = r.episodes.flatMap((e) => e.steps.map((s) => s.t));
  const expectT = [0, 0.02, 0.04, 0.04 + EPISODE_GAP_S, 0.06 + EPISODE_GAP_S];
  t.forEach((v, i) => assert.ok(Math.abs(v - expectT[i]) < 1e-12, `t[${i}] = ${v}`));
  assert.throws(() => new RolloutRecorder({ source: 's', robotDescription: urdf, jointNames: joints, tipLink: '' }, () => target, ['joint1']), /joint "joint2" is not in the readings/);
});

test('link transforms: quaternions are unit and match the rotation; prismatic joints translate along their axis', () => {
  const q = matrixToQuaternion([0, -1, 0, 1, 0, 0, 0, 0, 1]); // 90° about z
  assert.ok(Math.abs(q[2] - Math.SQRT1_2) < 1e-12 && Math.abs(q[3] - Math.SQRT1_2) < 1e-12);
  const q2 = matrixToQuaternion([1, 0, 0, 0, -1, 0, 0, 0, -1]); // 180° about x (trace -1)
  assert.ok(Math.abs(Math.abs(q2[0]) - 1) < 1e-12);
  const model = parseUrdf(`<robot name="p"><link name="a"/><link name="b"/>
    <joint name="s" type="prismatic"><parent link="a"/><child link="b"/><origin xyz="1 0 0" rpy="0 0 1.5707963267948966"/><axis xyz="1 0 0"/><limit lower="0" upper="1" effort="1" velocity="1"/></joint></robot>`);
  const [t] = linkTransforms(model, new Map([['s', 0.5]]));
  assert.ok(Math.abs(t.translation[0] - 1) < 1e-12 && Math.abs(t.translation[1] - 0.5) < 1e-12, `${t.translation}`);
});
