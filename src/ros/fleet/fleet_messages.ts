/**
 * The fleet's messages as `std_msgs/msg/Float64MultiArray`, so that no interface
 * package has to be built: finished episodes (actor -> learner), policy parameters (learner ->
 * actors) and each arm's iLQG controller (learner -> that arm).
 *
 * Layout (every kind):
 *  - `layout.dim[0]`: label `<format> key=value ...` (e.g. `naf_ros/episode/1 arm=/arm1`), size and
 *    stride = `data.length` (the whole array, as ROS's convention for dim[0]);
 *  - `layout.dim[1..]`: one *section* each, consecutive in `data` in that order: label = the
 *    section's name, size = its rows, stride = values per row (a section holds size·stride values;
 *    these dims are a table of contents, not nested dimensions);
 *  - the last section is `crc32` (1×1): CRC-32 (zlib) of the bytes of every value before it
 *    (float64, little-endian as in memory).
 * `data_offset` is 0. `ros2 topic echo` shows the labels, so a user can read what a message holds.
 *
 * A message is refused (`FleetMessageError`, with a reason the receivers count) when its format
 * tag, labels or section sizes do not add up (`malformed`), a value is NaN or infinite
 * (`non_finite`), the checksum differs (`checksum`), or its dimensions or network shapes differ
 * from the receiver's (`shape`). Whether a valid message is older than what the receiver holds
 * (`stale`) is the receiver's decision (`ros_learner_client.ts`).
 *
 * Sections:
 *  - episode: `header` [session, episode, controller (0 naf, 1 ilqg), aborted (0/1), steps, dX,
 *    dU, return, policy_version], `x` [(steps+1)×dX] (0 rows without steps), `u` [steps×dU] N·m,
 *    `r` [steps×1], `terminal` [steps×1] (0/1), and (optional: actors before it send none)
 *    `interventions` [1×5]: the control steps in which the safety supervisor changed the command,
 *    by rule (velocity_limit, soft_limit, workspace_limit, torque_clamp, non_finite); label key
 *    `arm` (the actor's namespace).
 *  - policy: `header` [incarnation, version (the learner's updates), dX, dU], `u_max` [1×dU] N·m, `action_scale`
 *    [1×dU], `l_diag` [1×2] (NAF), `bn_eps` [1×1] (batch norm), `obs_norm` [2×dX] (mean; std) and
 *    `obs_norm_clip` [1×1] (observation normalisation), then per head and layer
 *    `<head>/<i>/W` [in×out], `<head>/<i>/b` [1×out], `<head>/<i>/bn` [4×out] (gamma, beta, mean,
 *    variance; batch-normalised layers); label keys `kind`, `architecture`, `batch_norm`.
 *    The layer sizes are the sections' sizes; weights are float32 values, carried exactly.
 *  - status: `header` [incarnation, done (0/1), budget, completed, aborted, steps, updates,
 *    shed_steps, shed_updates, checkpoints, arms, policy_version (-1: none yet)]: the learner's
 *    heartbeat (once a second) and its signal that the budget is reached.
 *  - controller: `header` [incarnation, version (the arm's refits), T, dX, dU], `K` [T×dU·dX],
 *    `k` [T×dU], `x_hat` [T×dX], `u_hat` [T×dU] N·m, `cov` [T×dU²], `chol` [T×dU²] (lower
 *    triangular, diagonal > 0); label key `arm`.
 * The learner's `incarnation` is its start time (ms since the epoch): a restarted learner's
 * messages are newer than its previous life's whatever their version.
 */
import { crc32 } from 'node:zlib';
import { createActor } from '../../agent/actor.js';
import type { DenseWeights, PolicySnapshot } from '../../agent/types.js';
import type { LinearGaussianController } from '../../control/types.js';
import type { FleetEpisode, FleetInfo } from '../../training/fleet_learner.js';
import type { Float64MultiArrayMsg } from '../transport/transport.js';
import { EPISODE_INTERVENTION_KINDS, noInterventions, type EpisodeInterventions } from '../../safety/supervised_arm.js';

export const EPISODE_FORMAT = 'naf_ros/episode/1';
export const POLICY_FORMAT = 'naf_ros/policy/1';
export const CONTROLLER_FORMAT = 'naf_ros/controller/1';
export const STATUS_FORMAT = 'naf_ros/learner_status/1';

export type RefusalReason = 'malformed' | 'non_finite' | 'checksum' | 'shape' | 'stale';
export const REFUSAL_REASONS: readonly RefusalReason[] = ['malformed', 'non_finite', 'checksum', 'shape', 'stale'];

/** A fleet message that cannot be used; `reason` is what receivers count. */
export class FleetMessageError extends Error {
  constructor(readonly reason: RefusalReason, message: string) {
    super(message);
    this.name = 'FleetMessageError';
  }
}

interface SectionIn { label: string; rows: number; cols: number; values: ArrayLike<number> }
interface Section { rows: number; cols: number; data: Float64Array }

const bytes = (a: Float64Array) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Packs sections under a format tag and label keys, with the CRC-32 section last. */
function encode(format: string, keys: Record<string, string>, sections: SectionIn[]): Float64MultiArrayMsg {
  const total = sections.reduce((n, s) => n + s.rows * s.cols, 0) + 1;
  const data = new Float64Array(total);
  let o = 0;
  for (const s of sections) {
    if (s.values.length !== s.rows * s.cols) throw new Error(`fleet message ${format}: section ${s.label} has ${s.values.length} values, not ${s.rows}x${s.cols}`);
    data.set(s.values, o);
    o += s.values.length;
  }
  data[total - 1] = crc32(bytes(data.subarray(0, total - 1)));
  const label = [format, ...Object.entries(keys).map(([k, v]) => `${k}=${v}`)].join(' ');
  return {
    layout: {
      dim: [{ label, size: total, stride: total }, ...sections.map((s) => ({ label: s.label, size: s.rows, stride: s.cols })), { label: 'crc32', size: 1, stride: 1 }],
      data_offset: 0,
    },
    data,
  };
}

/**
 * Unpacks a message of `format`: label keys and sections by name.
 * @throws FleetMessageError (malformed, non_finite, checksum)
 */
function decode(msg: Float64MultiArrayMsg, format: string): { keys: Map<string, string>; sections: Map<string, Section> } {
  const bad = (why: string) => new FleetMessageError('malformed', `${format}: ${why}`);
  const dims = msg?.layout?.dim;
  if (!Array.isArray(dims) || dims.length < 2) throw bad('layout.dim must hold the format and the sections');
  const [tag, ...words] = String(dims[0].label ?? '').split(' ');
  if (tag !== format) throw bad(`format label is "${String(dims[0].label).slice(0, 60)}", expected "${format} ..."`);
  const data = msg.data instanceof Float64Array ? msg.data : Float64Array.from(msg.data ?? []);
  if (Number(msg.layout.data_offset ?? 0) !== 0) throw bad('data_offset must be 0');
  if (Number(dims[0].size) !== data.length) throw bad(`dim[0].size ${dims[0].size} but data has ${data.length} values`);
  const keys = new Map<string, string>();
  for (const w of words) {
    const i = w.indexOf('=');
    if (i <= 0) throw bad(`label word "${w}" is not key=value`);
    keys.set(w.slice(0, i), w.slice(i + 1));
  }
  const sections = new Map<string, Section>();
  let o = 0;
  for (const d of dims.slice(1)) {
    const rows = Number(d.size), cols = Number(d.stride);
    if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0) throw bad(`section ${d.label} has size ${d.size} and stride ${d.stride}`);
    if (sections.has(d.label)) throw bad(`section ${d.label} appears twice`);
    if (o + rows * cols > data.length) throw bad(`sections hold more than the ${data.length} values of data`);
    sections.set(d.label, { rows, cols, data: data.subarray(o, o + rows * cols) });
    o += rows * cols;
  }
  if (o !== data.length) throw bad(`sections hold ${o} values, data has ${data.length}`);
  const last = dims[dims.length - 1];
  if (last.label !== 'crc32' || Number(last.size) !== 1 || Number(last.stride) !== 1) throw bad('the last section must be crc32 (1x1)');
  for (let i = 0; i < data.length; i++) {
    if (!Number.isFinite(data[i])) throw new FleetMessageError('non_finite', `${format}: a value of section ${sectionAt(dims, i)} is ${data[i]}`);
  }
  const crc = crc32(bytes(data.subarray(0, data.length - 1)));
  if (crc !== data[data.length - 1]) throw new FleetMessageError('checksum', `${format}: CRC-32 ${crc} of the data differs from the message's ${data[data.length - 1]}`);
  return { keys, sections };
}

function sectionAt(dims: { label: string; size: number; stride: number }[], i: number): string {
  let o = 0;
  for (const d of dims.slice(1)) {
    o += Number(d.size) * Number(d.stride);
    if (i < o) return d.label;
  }
  return '?';
}

/** Section `name` with exactly `rows`×`cols` values. @throws FleetMessageError (reason `reason`, default malformed) */
function take(s: Map<string, Section>, name: string, rows: number, cols: number, format: string, reason: RefusalReason = 'malformed'): Float64Array {
  const x = s.get(name);
  if (!x) throw new FleetMessageError('malformed', `${format}: no section ${name}`);
  if (x.rows !== rows || x.cols !== cols) throw new FleetMessageError(reason, `${format}: section ${name} is ${x.rows}x${x.cols}, expected ${rows}x${cols}`);
  return x.data;
}

const isInt = (v: number, min: number) => Number.isInteger(v) && v >= min;
const isFlag = (v: number) => v === 0 || v === 1;
const ROS_NAME = /^\/[A-Za-z0-9_/]*$/;

/** The receiver's dimensions. */
export interface TaskDims {
  dX: number;
  dU: number;
  /** Horizon T, control steps. */
  T: number;
}

// ---------------------------------------------------------------- episodes

/** An episode of an arm with observations [dX] and torques [dU] as a message (`header` values in the order of the module doc). */
export function encodeEpisode(ep: FleetEpisode, dims: { dX: number; dU: number }): Float64MultiArrayMsg {
  const steps = ep.u.length;
  const { dX, dU } = dims;
  const rows = (a: Float64Array[]) => { const out = new Float64Array(a.reduce((n, v) => n + v.length, 0)); let o = 0; for (const v of a) { out.set(v, o); o += v.length; } return out; };
  return encode(EPISODE_FORMAT, { arm: ep.arm }, [
    { label: 'header', rows: 1, cols: 9, values: [ep.session, ep.episode, ep.controller === 'ilqg' ? 1 : 0, ep.aborted ? 1 : 0, steps, dX, dU, ep.return, ep.policyVersion] },
    { label: 'x', rows: steps > 0 ? steps + 1 : 0, cols: dX, values: steps > 0 ? rows(ep.x) : [] },
    { label: 'u', rows: steps, cols: dU, values: rows(ep.u) },
    { label: 'r', rows: steps, cols: 1, values: ep.r },
    { label: 'terminal', rows: steps, cols: 1, values: ep.terminal.map((b) => (b ? 1 : 0)) },
    ...(ep.interventions ? [{ label: 'interventions', rows: 1, cols: EPISODE_INTERVENTION_KINDS.length, values: EPISODE_INTERVENTION_KINDS.map((k) => ep.interventions![k]) }] : []),
  ]);
}

/**
 * The episode of a message, checked against the learner's dimensions: a completed episode has T
 * steps, an aborted one at most T.
 * @throws FleetMessageError
 */
export function decodeEpisode(msg: Float64MultiArrayMsg, dims: TaskDims): FleetEpisode {
  const f = EPISODE_FORMAT;
  const { keys, sections } = decode(msg, f);
  const arm = keys.get('arm') ?? '';
  if (!ROS_NAME.test(arm)) throw new FleetMessageError('malformed', `${f}: arm "${arm}" is not a ROS namespace`);
  const [session, episode, controller, aborted, steps, dX, dU, ret, policyVersion] = take(sections, 'header', 1, 9, f);
  if (!isInt(session, 1) || !isInt(episode, 1) || !isFlag(controller) || !isFlag(aborted) || !isInt(steps, 0) || !isInt(policyVersion, -1)) {
    throw new FleetMessageError('malformed', `${f}: header [${[session, episode, controller, aborted, steps, dX, dU, ret, policyVersion].join(', ')}] is not session >= 1, episode >= 1, controller 0/1, aborted 0/1, steps >= 0, policy_version >= -1`);
  }
  if (dX !== dims.dX || dU !== dims.dU) throw new FleetMessageError('shape', `${f}: arm ${arm} sends dX = ${dX}, dU = ${dU}; this learner has dX = ${dims.dX}, dU = ${dims.dU} (another arm or task)`);
  if (steps > dims.T || (!aborted && steps !== dims.T)) throw new FleetMessageError('shape', `${f}: ${aborted ? 'an aborted' : 'a completed'} episode of ${steps} steps; the horizon T is ${dims.T}`);
  const xs = take(sections, 'x', steps > 0 ? steps + 1 : 0, dX, f);
  const us = take(sections, 'u', steps, dU, f);
  const r = take(sections, 'r', steps, 1, f);
  const term = take(sections, 'terminal', steps, 1, f);
  if (!term.every(isFlag)) throw new FleetMessageError('malformed', `${f}: terminal flags must be 0 or 1`);
  let interventions: EpisodeInterventions | undefined;
  if (sections.has('interventions')) {
    const iv = take(sections, 'interventions', 1, EPISODE_INTERVENTION_KINDS.length, f);
    if (!iv.every((v) => isInt(v, 0) && v <= steps)) throw new FleetMessageError('malformed', `${f}: interventions [${Array.from(iv).join(', ')}] must be counts of the episode's ${steps} steps`);
    interventions = noInterventions();
    EPISODE_INTERVENTION_KINDS.forEach((k, i) => { interventions![k] = iv[i]; });
  }
  return {
    arm, session, episode, controller: controller === 1 ? 'ilqg' : 'naf', aborted: aborted === 1, return: ret, policyVersion,
    x: Array.from({ length: steps > 0 ? steps + 1 : 0 }, (_, t) => xs.slice(t * dX, (t + 1) * dX)),
    u: Array.from({ length: steps }, (_, t) => us.slice(t * dU, (t + 1) * dU)),
    r: Float64Array.from(r), terminal: Array.from(term, (v) => v === 1),
    ...(interventions ? { interventions } : {}),
  };
}

// ---------------------------------------------------------------- policy

/** What a receiver expects of the policy: its task's dimensions and its config's network. */
export interface PolicyShape {
  dX: number;
  dU: number;
  kind: 'naf' | 'ddpg';
  architecture: 'separate' | 'shared';
  hidden: number[];
}

export interface DecodedPolicy {
  snapshot: PolicySnapshot;
  incarnation: number;
}

interface BnStats { gamma: Float32Array; beta: Float32Array; mean: Float32Array; variance: Float32Array }

/** A policy snapshot as a message. */
export function encodePolicy(s: PolicySnapshot, incarnation: number): Float64MultiArrayMsg {
  const meta = s.meta;
  const batchNorm = meta.batchNorm === true;
  const sections: SectionIn[] = [
    { label: 'header', rows: 1, cols: 4, values: [incarnation, s.version, s.dX, s.dU] },
    { label: 'u_max', rows: 1, cols: s.dU, values: s.uMax },
    { label: 'action_scale', rows: 1, cols: s.dU, values: (meta.actionScale as number[] | undefined) ?? new Array(s.dU).fill(1) },
  ];
  if (s.kind === 'naf') sections.push({ label: 'l_diag', rows: 1, cols: 2, values: meta.lDiag as number[] });
  if (batchNorm) sections.push({ label: 'bn_eps', rows: 1, cols: 1, values: [meta.bnEps as number] });
  const obs = meta.obsNorm as { mean: Float32Array; std: Float32Array; clip: number } | undefined;
  if (obs) {
    sections.push({ label: 'obs_norm', rows: 2, cols: s.dX, values: [...obs.mean, ...obs.std] });
    sections.push({ label: 'obs_norm_clip', rows: 1, cols: 1, values: [obs.clip] });
  }
  const bn = (meta.bn ?? {}) as Record<string, (BnStats | null)[]>;
  for (const [head, layers] of Object.entries(s.heads)) {
    layers.forEach((l, i) => {
      sections.push({ label: `${head}/${i}/W`, rows: l.inSize, cols: l.outSize, values: l.W });
      sections.push({ label: `${head}/${i}/b`, rows: 1, cols: l.outSize, values: l.b });
      const st = bn[head]?.[i];
      if (batchNorm && st) sections.push({ label: `${head}/${i}/bn`, rows: 4, cols: l.outSize, values: [...st.gamma, ...st.beta, ...st.mean, ...st.variance] });
    });
  }
  return encode(POLICY_FORMAT, { kind: s.kind, architecture: String(meta.architecture), batch_norm: batchNorm ? '1' : '0' }, sections);
}

/**
 * The policy of a message, checked against the receiver's network (kind, architecture, dX, dU,
 * hidden sizes) and by building its plain-JS actor.
 * @throws FleetMessageError
 */
export function decodePolicy(msg: Float64MultiArrayMsg, expect: PolicyShape): DecodedPolicy {
  const f = POLICY_FORMAT;
  const { keys, sections } = decode(msg, f);
  const kind = keys.get('kind'), architecture = keys.get('architecture'), batchNorm = keys.get('batch_norm') === '1';
  if (kind !== expect.kind || (kind === 'naf' && architecture !== expect.architecture)) {
    throw new FleetMessageError('shape', `${f}: a ${kind} policy (${architecture}); this arm's config is ${expect.kind}${expect.kind === 'naf' ? ` (${expect.architecture})` : ''}`);
  }
  const [incarnation, version, dX, dU] = take(sections, 'header', 1, 4, f);
  if (!isInt(incarnation, 0) || !isInt(version, 0)) throw new FleetMessageError('malformed', `${f}: incarnation ${incarnation} and version ${version} must be integers >= 0`);
  if (dX !== expect.dX || dU !== expect.dU) throw new FleetMessageError('shape', `${f}: policy for dX = ${dX}, dU = ${dU}; this arm has dX = ${expect.dX}, dU = ${expect.dU}`);
  const meta: Record<string, unknown> = {
    architecture, activation: 'relu', batchNorm,
    actionScale: Array.from(take(sections, 'action_scale', 1, dU, f, 'shape')),
  };
  if (kind === 'naf') meta.lDiag = Array.from(take(sections, 'l_diag', 1, 2, f));
  if (batchNorm) meta.bnEps = take(sections, 'bn_eps', 1, 1, f)[0];
  if (sections.has('obs_norm')) {
    const o = take(sections, 'obs_norm', 2, dX, f, 'shape');
    meta.obsNorm = { mean: Float32Array.from(o.subarray(0, dX)), std: Float32Array.from(o.subarray(dX)), clip: take(sections, 'obs_norm_clip', 1, 1, f)[0] };
  }
  const heads: Record<string, DenseWeights[]> = {};
  const bn: Record<string, (BnStats | null)[]> = {};
  for (const [label, sec] of sections) {
    const m = /^([A-Za-z_]+)\/(\d+)\/(W|b|bn)$/.exec(label);
    if (!m) continue;
    const [, head, idx, part] = m;
    const i = Number(idx);
    (heads[head] ??= []);
    (bn[head] ??= []);
    const layer = (heads[head][i] ??= { W: new Float32Array(0), b: new Float32Array(0), inSize: -1, outSize: -1 });
    if (part === 'W') Object.assign(layer, { W: Float32Array.from(sec.data), inSize: sec.rows, outSize: sec.cols });
    else if (part === 'b') {
      if (sec.rows !== 1) throw new FleetMessageError('malformed', `${f}: ${label} must have one row`);
      layer.b = Float32Array.from(sec.data);
    } else {
      if (sec.rows !== 4) throw new FleetMessageError('malformed', `${f}: ${label} must have 4 rows (gamma, beta, mean, variance)`);
      const n = sec.cols, d = sec.data;
      bn[head][i] = { gamma: Float32Array.from(d.subarray(0, n)), beta: Float32Array.from(d.subarray(n, 2 * n)), mean: Float32Array.from(d.subarray(2 * n, 3 * n)), variance: Float32Array.from(d.subarray(3 * n)) };
    }
  }
  for (const [head, layers] of Object.entries(heads)) {
    for (let i = 0; i < layers.length; i++) {
      if (!layers[i] || layers[i].inSize < 0) throw new FleetMessageError('malformed', `${f}: head ${head} lacks layer ${i}'s W`);
      bn[head][i] ??= null;
    }
  }
  meta.bn = bn;
  const snapshot: PolicySnapshot = { kind: kind as PolicySnapshot['kind'], dX, dU, uMax: Float64Array.from(take(sections, 'u_max', 1, dU, f, 'shape')), version, heads, meta };
  try {
    createActor(snapshot);
  } catch (e) {
    throw new FleetMessageError('shape', `${f}: ${(e as Error).message}`);
  }
  const widths = hiddenWidths(snapshot);
  for (const [head, w] of Object.entries(widths)) {
    if (w.join(',') !== expect.hidden.join(',')) throw new FleetMessageError('shape', `${f}: head ${head} has hidden layers [${w.join(', ')}]; this arm's agent.hidden is [${expect.hidden.join(', ')}]`);
  }
  return { snapshot, incarnation };
}

// ---------------------------------------------------------------- learner status

/** The learner's status as a message. */
export function encodeStatus(info: FleetInfo, incarnation: number): Float64MultiArrayMsg {
  return encode(STATUS_FORMAT, {}, [{
    label: 'header', rows: 1, cols: 12,
    values: [incarnation, info.done ? 1 : 0, info.budget, info.completed, info.aborted, info.steps, info.updates, info.shedSteps, info.shedUpdates, info.checkpoints, info.arms, info.policyVersion],
  }]);
}

/** @throws FleetMessageError */
export function decodeStatus(msg: Float64MultiArrayMsg): { info: FleetInfo; incarnation: number } {
  const f = STATUS_FORMAT;
  const h = take(decode(msg, f).sections, 'header', 1, 12, f);
  const [incarnation, done, budget, completed, aborted, steps, updates, shedSteps, shedUpdates, checkpoints, arms, policyVersion] = h;
  if (!isFlag(done) || !h.slice(2, 11).every((v) => isInt(v, 0)) || !isInt(incarnation, 0) || !isInt(policyVersion, -1)) {
    throw new FleetMessageError('malformed', `${f}: header [${Array.from(h).join(', ')}] has a negative, fractional or non-flag value`);
  }
  return { incarnation, info: { done: done === 1, budget, completed, aborted, steps, updates, shedSteps, shedUpdates, checkpoints, arms, policyVersion } };
}

/** Hidden-layer widths from the input to each output head (through the shared trunk, if any). */
function hiddenWidths(s: PolicySnapshot): Record<string, number[]> {
  const trunk = s.meta.architecture === 'shared' ? (s.heads.trunk ?? []).map((l) => l.outSize) : [];
  const out: Record<string, number[]> = {};
  for (const [head, layers] of Object.entries(s.heads)) if (head !== 'trunk') out[head] = [...trunk, ...layers.slice(0, -1).map((l) => l.outSize)];
  return out;
}

// ---------------------------------------------------------------- controller

export interface DecodedController {
  arm: string;
  controller: LinearGaussianController;
  /** The arm's refits when it was computed (0: the initial controller). */
  version: number;
  incarnation: number;
}

/** An arm's iLQG controller as a message. */
export function encodeController(arm: string, c: LinearGaussianController, version: number, incarnation: number): Float64MultiArrayMsg {
  const cat = (a: Float64Array[]) => { const out = new Float64Array(a.reduce((n, v) => n + v.length, 0)); let o = 0; for (const v of a) { out.set(v, o); o += v.length; } return out; };
  const { T, dX, dU } = c;
  return encode(CONTROLLER_FORMAT, { arm }, [
    { label: 'header', rows: 1, cols: 5, values: [incarnation, version, T, dX, dU] },
    { label: 'K', rows: T, cols: dU * dX, values: cat(c.K) },
    { label: 'k', rows: T, cols: dU, values: cat(c.k) },
    { label: 'x_hat', rows: T, cols: dX, values: cat(c.xHat) },
    { label: 'u_hat', rows: T, cols: dU, values: cat(c.uHat) },
    { label: 'cov', rows: T, cols: dU * dU, values: cat(c.cov) },
    { label: 'chol', rows: T, cols: dU * dU, values: cat(c.chol) },
  ]);
}

/**
 * The controller of a message, checked against the receiver's T, dX, dU; `chol` must be lower
 * triangular with a positive diagonal (it scales the iLQG exploration noise).
 * @throws FleetMessageError
 */
export function decodeController(msg: Float64MultiArrayMsg, dims: TaskDims): DecodedController {
  const f = CONTROLLER_FORMAT;
  const { keys, sections } = decode(msg, f);
  const arm = keys.get('arm') ?? '';
  if (!ROS_NAME.test(arm)) throw new FleetMessageError('malformed', `${f}: arm "${arm}" is not a ROS namespace`);
  const [incarnation, version, T, dX, dU] = take(sections, 'header', 1, 5, f);
  if (!isInt(incarnation, 0) || !isInt(version, 0)) throw new FleetMessageError('malformed', `${f}: incarnation ${incarnation} and version ${version} must be integers >= 0`);
  if (T !== dims.T || dX !== dims.dX || dU !== dims.dU) throw new FleetMessageError('shape', `${f}: controller for T = ${T}, dX = ${dX}, dU = ${dU}; this arm has T = ${dims.T}, dX = ${dims.dX}, dU = ${dims.dU}`);
  const split = (name: string, cols: number) => {
    const d = take(sections, name, T, cols, f);
    return Array.from({ length: T }, (_, t) => d.slice(t * cols, (t + 1) * cols));
  };
  const controller: LinearGaussianController = {
    T, dX, dU, K: split('K', dU * dX), k: split('k', dU), xHat: split('x_hat', dX), uHat: split('u_hat', dU), cov: split('cov', dU * dU), chol: split('chol', dU * dU),
  };
  for (const L of controller.chol) {
    for (let i = 0; i < dU; i++) {
      if (!(L[i * dU + i] > 0)) throw new FleetMessageError('malformed', `${f}: chol has a diagonal entry ${L[i * dU + i]} <= 0`);
      for (let j = i + 1; j < dU; j++) if (L[i * dU + j] !== 0) throw new FleetMessageError('malformed', `${f}: chol is not lower triangular`);
    }
  }
  return { arm, controller, version, incarnation };
}
