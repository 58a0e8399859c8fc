/**
 * Reads a rollout back from an MCAP file: the recordings of `mcap_write.ts`, and any ROS 2 MCAP
 * with `/joint_states` (sensor_msgs/msg/JointState) and `/robot_description` (std_msgs/msg/String),
 * e.g. `ros2 bag record -s mcap /joint_states /robot_description` on a robot. Messages are decoded
 * with the schemas the file carries. Without the `naf_ros.rollout` metadata the whole file is one
 * episode, every joint of the first JointState is kept, and there is no target or tip link.
 */
import { McapIndexedReader, type IReadable, type McapTypes } from '@mcap/core';
import { parse } from '@foxglove/rosmsg';
import { MessageReader } from '@foxglove/rosmsg2-serialization';
import { readFileSync } from 'node:fs';
import { ROLLOUT_METADATA, TOPICS } from './mcap_write.js';
import type { Rollout, RolloutEpisode } from './rollout.js';

/** An MCAP file that cannot be read as a rollout. */
export class RolloutFileError extends Error {
  override name = 'RolloutFileError';
}

interface JointStateMsg { name: string[]; position: Float64Array | number[]; velocity: Float64Array | number[]; effort: Float64Array | number[] }

/** An MCAP reader over bytes in memory. */
export async function openMcap(bytes: Uint8Array, what = 'MCAP data'): Promise<McapIndexedReader> {
  const readable: IReadable = {
    size: async () => BigInt(bytes.byteLength),
    read: async (offset, size) => bytes.subarray(Number(offset), Number(offset + size)),
  };
  try {
    return await McapIndexedReader.Initialize({ readable });
  } catch (e) {
    throw new RolloutFileError(`${what}: not a readable MCAP file (${(e as Error).message})`);
  }
}

/** A CDR decoder for a channel, from its schema (`ros2msg`). @throws RolloutFileError */
export function channelDecoder(reader: McapIndexedReader, channel: McapTypes.Channel, what: string): MessageReader {
  const schema = reader.schemasById.get(channel.schemaId);
  if (!schema || schema.encoding !== 'ros2msg' || channel.messageEncoding !== 'cdr')
    throw new RolloutFileError(`${what}: topic ${channel.topic} is not ROS 2 CDR with a ros2msg schema (schema ${schema?.encoding ?? 'none'}, messages ${channel.messageEncoding})`);
  return new MessageReader(parse(new TextDecoder().decode(schema.data), { ros2: true }));
}

/**
 * The rollout in an MCAP file (bytes, or a path).
 * @throws RolloutFileError when it is not MCAP, has no `/joint_states` or `/robot_description`,
 *   or its channels are not ROS 2 CDR; the fs error when the file cannot be read.
 */
export async function readRolloutMcap(file: string | Uint8Array): Promise<Rollout> {
  const what = typeof file === 'string' ? file : 'MCAP data';
  const reader = await openMcap(typeof file === 'string' ? new Uint8Array(readFileSync(file)) : file, what);
  const byTopic = new Map([...reader.channelsById.values()].map((c) => [c.topic, c]));
  const jsChannel = byTopic.get(TOPICS.jointStates);
  const descChannel = byTopic.get(TOPICS.robotDescription);
  if (!jsChannel || !descChannel) throw new RolloutFileError(`${what}: needs the topics ${TOPICS.jointStates} and ${TOPICS.robotDescription}; it has ${[...byTopic.keys()].join(', ') || 'none'}`);
  let meta: Map<string, string> | null = null;
  for await (const m of reader.readMetadata({ name: ROLLOUT_METADATA })) meta = m.metadata;
  const json = <T>(key: string, fallback: T): T => {
    const v = meta?.get(key);
    if (!v) return fallback;
    try { return JSON.parse(v) as T; } catch { throw new RolloutFileError(`${what}: metadata ${ROLLOUT_METADATA}.${key} is not JSON`); }
  };

  let robotDescription = '';
  const desc = channelDecoder(reader, descChannel, what);
  for await (const m of reader.readMessages({ topics: [TOPICS.robotDescription] })) {
    robotDescription = desc.readMessage<{ data: string }>(m.data).data;
    break;
  }
  const decode = channelDecoder(reader, jsChannel, what);
  let jointNames: string[] = json<string[]>('joint_names', []);
  const startNs = meta?.get('start_time_ns') ? BigInt(meta.get('start_time_ns')!) : null;
  const samples: { t: number; q: number[]; qd: number[]; effort: number[] }[] = [];
  let first: bigint | null = null;
  for await (const m of reader.readMessages({ topics: [TOPICS.jointStates] })) {
    const js = decode.readMessage<JointStateMsg>(m.data);
    if (!jointNames.length) jointNames = [...js.name];
    const idx = jointNames.map((n) => js.name.indexOf(n));
    if (idx.some((i) => i < 0)) continue; // a JointState of other joints (a gripper's own publisher)
    first ??= m.logTime;
    const t = Number(m.logTime - (startNs ?? first)) / 1e9;
    const pick = (a: ArrayLike<number>) => idx.map((i) => a[i] ?? 0);
    samples.push({ t, q: pick(js.position), qd: pick(js.velocity), effort: pick(js.effort) });
  }
  if (!samples.length) throw new RolloutFileError(`${what}: no ${TOPICS.jointStates} message`);

  type EpisodeMeta = { start: number; end: number; target: (number | null)[]; return?: number; final_distance?: number; aborted?: boolean };
  const ranges = json<EpisodeMeta[]>('episodes', []);
  const episodes: RolloutEpisode[] = ranges.length
    ? ranges.map((r) => ({
      target: [r.target[0] ?? NaN, r.target[1] ?? NaN, r.target[2] ?? NaN],
      steps: samples.filter((s) => s.t >= r.start - 1e-6 && s.t <= r.end + 1e-6),
      ...(r.return !== undefined ? { return: r.return } : {}), ...(r.final_distance !== undefined ? { finalDistance: r.final_distance } : {}),
      ...(r.aborted !== undefined ? { aborted: r.aborted } : {}),
    }))
    : [{ target: [NaN, NaN, NaN], steps: samples }];
  const urdfPath = meta?.get('urdf_path') || undefined;
  return {
    source: meta?.get('source') ?? what, robotDescription, jointNames, tipLink: meta?.get('tip_link') ?? '',
    ...(urdfPath ? { urdfPath } : {}), meshSearchPath: json<string[]>('mesh_search_path', []), episodes,
  };
}
