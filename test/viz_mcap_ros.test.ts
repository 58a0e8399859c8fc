/**
 * Rollout recordings through real ROS 2: each message of an MCAP recording, its CDR bytes
 * published raw as `ros2 bag play` publishes them, arrives in a typed rclnodejs subscription
 * decoded by the middleware's own type support with the values the recording holds; and each
 * schema in the file agrees, field for field and constant for constant, with the interface
 * definition (`share/<package>/msg/<Type>.msg`) installed in the sourced ROS environment.
 *
 * Runs where rclnodejs loads (a sourced ROS 2); skipped with the reason otherwise. A message type
 * the environment lacks (visualization_msgs on a core build) is skipped with that reason.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from '@foxglove/rosmsg';
import { MessageReader } from '@foxglove/rosmsg2-serialization';
import { rclnodejsOrSkip } from './ros_env.js';
import { openMcap } from '../src/viz/mcap_read.js';
import { rolloutMcap } from '../src/viz/mcap_write.js';
import type { Rollout } from '../src/viz/rollout.js';

const URDF_PATH = new URL('../urdf/reacher3.urdf', import.meta.url).pathname;

const { ctx, skip } = await rclnodejsOrSkip('viz_mcap_ros');
after(async () => { await ctx?.shutdown(); });

/** Two episodes of the reacher, 11 samples each at 50 Hz. */
function rollout(): Rollout {
  const episode = (k: number) => ({
    target: [0.1 + k * 0.01, 0.12, 0.05] as [number, number, number],
    steps: Array.from({ length: 11 }, (_, i) => ({ t: k * 0.7 + i * 0.02, q: [0.3 * Math.sin(i / 3) + k, 0.5, -0.4 + 0.01 * i], qd: [0.1 * i, 0, 0.5], effort: [0.2, -0.1, 0.05 * i] })),
    return: -3 - k, finalDistance: 0.05 + k,
  });
  return { source: 'viz_mcap_ros test', robotDescription: readFileSync(URDF_PATH, 'utf8'), urdfPath: URDF_PATH, jointNames: ['joint1', 'joint2', 'joint3'], tipLink: 'fingertip', episodes: [episode(0), episode(1)] };
}

/** `share/<pkg>/msg/<Type>.msg` of the sourced environment (AMENT_PREFIX_PATH), or null. */
function installedMsg(type: string): string | null {
  const [pkg, name] = type.split('/');
  for (const prefix of (process.env.AMENT_PREFIX_PATH ?? '').split(':').filter(Boolean)) {
    const f = join(prefix, 'share', pkg, 'msg', `${name}.msg`);
    if (existsSync(f)) return readFileSync(f, 'utf8');
  }
  return null;
}

type MessageDefinition = ReturnType<typeof parse>[number];

/** A definition's fields and constants, types package-qualified as `pkg/Type`, comparable across sources. */
function fields(def: MessageDefinition, pkg: string): string[] {
  const q = (t: string) => (t.includes('/') ? t.replace('/msg/', '/') : /^[A-Z]/.test(t) ? `${pkg}/${t}` : t);
  return def.definitions.map((f) => [
    f.isConstant ? 'const' : 'field', q(f.type), f.name, f.isArray ? `[${f.arrayLength ?? ''}]` : '',
    f.isConstant ? String(f.value) : f.defaultValue === undefined ? '' : `=${JSON.stringify(f.defaultValue)}`,
  ].join(' '));
}

test('an MCAP rollout replays through ROS 2: schemas match the installed .msg files, raw CDR decodes in rmw with the recorded values', { timeout: 120_000 }, async (t) => {
  if (skip || !ctx) return t.skip(skip);
  const rcl = ctx.rcl as unknown as {
    Node: new (name: string, namespace?: string, context?: unknown, options?: object) => {
      createPublisher(type: string, topic: string, opts?: object): { publish(m: Buffer): void };
      createSubscription(type: string, topic: string, opts: object, cb: (m: Record<string, unknown>) => void): unknown;
      countSubscribers(topic: string): number;
      destroy(): void;
    };
    require(type: string): unknown;
    QoS: { HistoryPolicy: Record<string, number>; ReliabilityPolicy: Record<string, number>; DurabilityPolicy: Record<string, number>; new (history: number, depth: number, reliability: number, durability: number): unknown };
    spin(node: unknown): void;
  };
  const reader = await openMcap(await rolloutMcap(rollout(), { startTime: 1_700_000_000 }));
  // Humble's rcl_node_init registers /rosout itself (see RclnodejsContext.createNode).
  const node = new rcl.Node(`mcap_replay_${process.pid}`, '', undefined, process.env.ROS_DISTRO === 'humble' ? { enableRosout: false } : {});
  const Q = rcl.QoS;
  const qos = { qos: new Q(Q.HistoryPolicy.RMW_QOS_POLICY_HISTORY_KEEP_LAST, 1000, Q.ReliabilityPolicy.RMW_QOS_POLICY_RELIABILITY_RELIABLE, Q.DurabilityPolicy.RMW_QOS_POLICY_DURABILITY_VOLATILE) };
  rcl.spin(node);
  const ns = `/mcap_replay_${process.pid}`;
  const notes: string[] = [];
  try {
    for (const channel of reader.channelsById.values()) {
      const schema = reader.schemasById.get(channel.schemaId)!;
      const type = schema.name; // e.g. sensor_msgs/msg/JointState
      try {
        rcl.require(type);
      } catch {
        notes.push(`${channel.topic} (${type}): skipped, the type is not in this ROS environment`);
        continue;
      }
      // The file's schema against the installed definitions: the type itself and every dependency.
      const text = new TextDecoder().decode(schema.data);
      const defs = parse(text, { ros2: true });
      const top = type.replace('/msg/', '/');
      for (const def of parse(text, { ros2: true, skipTypeFixup: true })) {
        const name = def.name ?? top;
        const msg = installedMsg(name);
        assert.ok(msg !== null, `${name}.msg installed (dependency of ${type})`);
        const installed = parse(msg, { ros2: true, skipTypeFixup: true })[0];
        assert.deepEqual(fields(def, name.split('/')[0]), fields(installed, name.split('/')[0]), `${name}: the recording's schema is the installed definition`);
      }
      // Raw replay: the recorded CDR bytes, published as they are; the middleware decodes them.
      const decode = new MessageReader(defs);
      const recorded: Record<string, unknown>[] = [];
      const raw: Buffer[] = [];
      for await (const m of reader.readMessages({ topics: [channel.topic] })) {
        raw.push(Buffer.from(m.data));
        recorded.push(decode.readMessage(m.data) as Record<string, unknown>);
      }
      const topic = `${ns}${channel.topic}`;
      const received: Record<string, unknown>[] = [];
      node.createSubscription(type, topic, qos, (msg) => { received.push(msg); });
      const pub = node.createPublisher(type, topic, qos);
      const until = async (ok: () => boolean, s: number) => { const end = Date.now() + s * 1000; while (!ok() && Date.now() < end) await new Promise((r) => setTimeout(r, 20)); return ok(); };
      assert.ok(await until(() => node.countSubscribers(topic) > 0, 10), `${topic}: subscription matched`);
      await new Promise((r) => setTimeout(r, 200));
      for (const b of raw) pub.publish(b);
      assert.ok(await until(() => received.length === raw.length, 20), `${topic}: ${received.length} of ${raw.length} messages arrived`);
      const num = (v: unknown) => Array.from(v as ArrayLike<number>);
      for (let i = 0; i < raw.length; i++) {
        const a = received[i] as never as Record<string, never>;
        const b = recorded[i] as never as Record<string, never>;
        if (type === 'std_msgs/msg/String') assert.equal(a.data, b.data);
        if (type === 'sensor_msgs/msg/JointState') {
          assert.deepEqual(a.name, b.name);
          for (const k of ['position', 'velocity', 'effort']) assert.deepEqual(num(a[k]), num(b[k]), `${k} of message ${i}`);
          assert.deepEqual([a.header['stamp']['sec'], a.header['stamp']['nanosec']], [b.header['stamp']['sec'], b.header['stamp']['nanosec']]);
        }
        if (type === 'tf2_msgs/msg/TFMessage') {
          const tf = (m: Record<string, never>) => (m.transforms as never as { header: { frame_id: string }; child_frame_id: string; transform: { translation: Record<string, number>; rotation: Record<string, number> } }[])
            .map((x) => [x.header.frame_id, x.child_frame_id, x.transform.translation.x, x.transform.translation.y, x.transform.translation.z, x.transform.rotation.w]);
          assert.deepEqual(tf(a), tf(b), `transforms of message ${i}`);
        }
        if (type === 'visualization_msgs/msg/Marker') {
          assert.deepEqual([a.ns, a.id, a.type, (a.points as never as unknown[]).length], [b.ns, b.id, b.type, (b.points as never as unknown[]).length]);
        }
      }
      notes.push(`${channel.topic} (${type}): ${raw.length} messages replayed and decoded by rmw, schema = installed .msg (${defs.length} definitions)`);
    }
  } finally {
    node.destroy();
  }
  t.diagnostic(notes.join('; '));
  assert.ok(notes.some((n) => n.includes('sensor_msgs/msg/JointState') && !n.includes('skipped')), 'at least /joint_states checked');
});
