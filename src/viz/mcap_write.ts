/**
 * A rollout as an MCAP file (the ROS 2 profile: schemas `ros2msg`, messages CDR), which Foxglove
 * opens and `ros2 bag play` replays into RViz:
 *
 *   /robot_description      std_msgs/msg/String           the URDF, once at the start (offered as
 *                                                          transient local, as robot_state_publisher does)
 *   /joint_states           sensor_msgs/msg/JointState     every sample: q rad, qd rad/s, effort N·m
 *   /tf                     tf2_msgs/msg/TFMessage         every sample: every URDF joint's parent -> child
 *   /visualization_marker   visualization_msgs/msg/Marker  every sample the target (ns "target", a
 *                                                          sphere of the success radius); at 10 Hz and
 *                                                          at the episode's end the tip's path so far
 *                                                          (ns "tip_path", LINE_STRIP)
 *
 * Times: a sample at t s of the rollout's clock is logged and stamped at `startTime + t`. Episodes
 * follow each other on that clock; the metadata record `naf_ros.rollout` says where each begins
 * and ends (`mcap_read.ts` reads it back), with the joints, the tip link and the source.
 */
import { McapWriter, type IWritable } from '@mcap/core';
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { KinematicChain } from '../env/kinematics.js';
import { parseUrdf } from '../env/urdf.js';
import { linkTransforms } from './link_poses.js';
import { encodeCdr, schemaText, type RecordedType } from './ros2_messages.js';
import type { Rollout } from './rollout.js';

/** Name of the MCAP metadata record describing the rollout. */
export const ROLLOUT_METADATA = 'naf_ros.rollout';
/** The topics of a recording. */
export const TOPICS = {
  robotDescription: '/robot_description',
  jointStates: '/joint_states',
  tf: '/tf',
  marker: '/visualization_marker',
} as const;

/** Radius of the target sphere drawn, m (the success distance of `naf-ros` reports). */
const TARGET_RADIUS = 0.02;
/** s between two tip-path markers (each holds the whole path so far: keeps the file O(samples)). */
const PATH_PERIOD = 0.1;

/** rosbag2 (Humble) `offered_qos_profiles`: reliable, keep last `depth`, volatile or transient local. */
function qosYaml(depth: number, transientLocal: boolean): string {
  const zero = '\n    sec: 0\n    nsec: 0';
  return `- history: 1\n  depth: ${depth}\n  reliability: 1\n  durability: ${transientLocal ? 1 : 2}\n  deadline:${zero}\n  lifespan:${zero}\n  liveliness: 1\n  liveliness_lease_duration:${zero}\n  avoid_ros_namespace_conventions: false`;
}

class MemoryWritable implements IWritable {
  readonly chunks: Uint8Array[] = [];
  private size = 0n;
  position(): bigint {
    return this.size;
  }
  async write(buffer: Uint8Array): Promise<void> {
    this.chunks.push(buffer.slice());
    this.size += BigInt(buffer.byteLength);
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(Number(this.size));
    let o = 0;
    for (const c of this.chunks) {
      out.set(c, o);
      o += c.byteLength;
    }
    return out;
  }
}

/**
 * The MCAP bytes of a rollout.
 * @param opts.startTime s since the Unix epoch of the rollout's t = 0 (default: now)
 * @throws UrdfError when `robotDescription` is not a URDF; Error when the tip link is not in it or a
 *   sample has the wrong number of joints.
 */
export async function rolloutMcap(rollout: Rollout, opts: { startTime?: number } = {}): Promise<Uint8Array> {
  const model = parseUrdf(rollout.robotDescription);
  const nJ = rollout.jointNames.length;
  const chain = rollout.tipLink ? new KinematicChain(model, rollout.tipLink, rollout.jointNames) : null;
  const start = opts.startTime ?? Date.now() / 1000;
  const startNs = BigInt(Math.round(start * 1e6)) * 1000n;
  const ns = (t: number) => startNs + BigInt(Math.round(t * 1e9));
  const out = new MemoryWritable();
  const w = new McapWriter({ writable: out });
  await w.start({ profile: 'ros2', library: 'naf_ros (@mcap/core)' });
  const channel = async (topic: string, type: RecordedType, qos: string) => {
    const schemaId = await w.registerSchema({ name: type, encoding: 'ros2msg', data: new TextEncoder().encode(schemaText(type)) });
    return w.registerChannel({ topic, schemaId, messageEncoding: 'cdr', metadata: new Map([['offered_qos_profiles', qos]]) });
  };
  const ch = {
    description: await channel(TOPICS.robotDescription, 'std_msgs/msg/String', qosYaml(1, true)),
    joints: await channel(TOPICS.jointStates, 'sensor_msgs/msg/JointState', qosYaml(10, false)),
    tf: await channel(TOPICS.tf, 'tf2_msgs/msg/TFMessage', qosYaml(100, false)),
    marker: await channel(TOPICS.marker, 'visualization_msgs/msg/Marker', qosYaml(100, false)),
  };
  let sequence = 0;
  const add = (channelId: number, t: number, type: RecordedType, message: unknown) =>
    w.addMessage({ channelId, sequence: sequence++, logTime: ns(t), publishTime: ns(t), data: encodeCdr(type, message) });
  const t0 = rollout.episodes[0]?.steps[0]?.t ?? 0;
  await add(ch.description, t0, 'std_msgs/msg/String', { data: rollout.robotDescription });
  const root = model.root;
  // stamps from the same integer nanoseconds as the log times
  const header = (t: number, frame: string) => {
    const n = ns(t);
    return { stamp: { sec: Number(n / 1_000_000_000n), nanosec: Number(n % 1_000_000_000n) }, frame_id: frame };
  };
  const identity = { x: 0, y: 0, z: 0, w: 1 };
  const episodes: { start: number; end: number; target: (number | null)[]; return?: number; final_distance?: number; aborted?: boolean }[] = [];
  for (const e of rollout.episodes) {
    if (!e.steps.length) continue;
    const path: { x: number; y: number; z: number }[] = [];
    let pathAt = -Infinity;
    for (const [k, s] of e.steps.entries()) {
      if (s.q.length !== nJ || s.qd.length !== nJ || s.effort.length !== nJ)
        throw new Error(`rollout sample at t = ${s.t} s has ${s.q.length} positions, ${s.qd.length} velocities, ${s.effort.length} efforts for ${nJ} joints`);
      await add(ch.joints, s.t, 'sensor_msgs/msg/JointState', { header: header(s.t, ''), name: rollout.jointNames, position: s.q, velocity: s.qd, effort: s.effort });
      const q = new Map(rollout.jointNames.map((n, i) => [n, s.q[i]]));
      await add(ch.tf, s.t, 'tf2_msgs/msg/TFMessage', {
        transforms: linkTransforms(model, q).map((l) => ({
          header: header(s.t, l.parent), child_frame_id: l.child,
          transform: { translation: { x: l.translation[0], y: l.translation[1], z: l.translation[2] }, rotation: { x: l.rotation[0], y: l.rotation[1], z: l.rotation[2], w: l.rotation[3] } },
        })),
      });
      const [x, y, z] = e.target;
      if (e.target.every(Number.isFinite))
        await add(ch.marker, s.t, 'visualization_msgs/msg/Marker', marker(header(s.t, root), 'target', 2, { position: { x, y, z }, orientation: identity }, 2 * TARGET_RADIUS, [1, 0.5, 0.05, 0.6], []));
      if (chain) {
        const p = chain.position(s.q);
        path.push({ x: p[0], y: p[1], z: p[2] });
        if (s.t - pathAt < PATH_PERIOD - 1e-9 && k < e.steps.length - 1) continue;
        pathAt = s.t;
        await add(ch.marker, s.t, 'visualization_msgs/msg/Marker', marker(header(s.t, root), 'tip_path', 4, { position: { x: 0, y: 0, z: 0 }, orientation: identity }, 0.004, [0.1, 0.45, 0.85, 1], path));
      }
    }
    episodes.push({
      start: e.steps[0].t, end: e.steps[e.steps.length - 1].t, target: e.target.map((v) => (Number.isFinite(v) ? v : null)),
      ...(e.return !== undefined ? { return: e.return } : {}), ...(e.finalDistance !== undefined ? { final_distance: e.finalDistance } : {}),
      ...(e.aborted !== undefined ? { aborted: e.aborted } : {}),
    });
  }
  await w.addMetadata({
    name: ROLLOUT_METADATA,
    metadata: new Map([
      ['format_version', '1'],
      ['source', rollout.source],
      ['start_time_ns', String(startNs)],
      ['joint_names', JSON.stringify(rollout.jointNames)],
      ['tip_link', rollout.tipLink],
      ['urdf_path', rollout.urdfPath ?? ''],
      ['mesh_search_path', JSON.stringify(rollout.meshSearchPath ?? [])],
      ['episodes', JSON.stringify(episodes)],
    ]),
  });
  await w.end();
  return out.bytes();
}

/** A visualization_msgs/msg/Marker (ADD, no lifetime) with every field Humble's type has. */
function marker(header: unknown, ns: string, type: number, pose: unknown, scale: number, rgba: number[], points: unknown[]): unknown {
  const [r, g, b, a] = rgba;
  return {
    header, ns, id: 0, type, action: 0, pose, scale: { x: scale, y: scale, z: scale }, color: { r, g, b, a },
    lifetime: { sec: 0, nanosec: 0 }, frame_locked: false, points, colors: [],
    texture_resource: '', texture: { header: { stamp: { sec: 0, nanosec: 0 }, frame_id: '' }, format: '', data: new Uint8Array(0) },
    uv_coordinates: [], text: '', mesh_resource: '', mesh_file: { filename: '', data: new Uint8Array(0) }, mesh_use_embedded_materials: false,
  };
}

/**
 * Writes a rollout to `file` (.mcap; folders created; written by rename, so a reader never sees
 * half of it). @returns the file. @throws as `rolloutMcap`, or the fs error.
 */
export async function writeRolloutMcap(rollout: Rollout, file: string, opts: { startTime?: number } = {}): Promise<string> {
  const bytes = await rolloutMcap(rollout, opts);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(`${file}.tmp`, bytes);
  renameSync(`${file}.tmp`, file);
  return file;
}
