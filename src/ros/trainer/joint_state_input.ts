/**
 * Incoming `sensor_msgs/msg/JointState` -> validated `JointStateRecord` in the configured joint
 * order (DESIGN Sec. 5: joints are matched by name, never by position).
 *
 * Accepted: any joint order, extra joints (ignored), any rate (the newest accepted message wins;
 * the control timer reads only the latest), `effort` absent (zeros).
 * Rejected (ignored, counted by reason; logged rate-limited: the first occurrence of each reason
 * with its detail, then at most every 10 s with the count, `RateLimitedLog`):
 *  - `empty`: no names;
 *  - `length_mismatch`: position length != names, or velocity/effort neither empty nor names-long;
 *  - `duplicate_name`: a joint name twice;
 *  - `missing_joint`: a configured joint absent (an error; "complete again" is logged when a
 *    complete message follows, rate-limited the same way);
 *  - `other_publisher`: the message names a configured joint but comes from a publisher other
 *    than the source (see the publisher rule below);
 *  - `non_finite`: NaN/Inf in a configured joint's position or velocity;
 *  - `stamp_not_increasing`: stamp <= the last accepted stamp (reordered or repeated message);
 *  - `stamp_in_future`: stamp more than `maxStampSkew` after the node clock;
 *  - `stamp_too_old`: stamp more than `maxStampSkew` before the node clock (a latent reading,
 *    or a node not on the driver's clock: check `use_sim_time`);
 *  - `no_velocity`: velocity absent and no usable previous sample (see below).
 * Velocity absent (empty array, as some real drivers publish): finite-difference of consecutive
 * accepted positions, qd = (q_k - q_{k-1}) / (stamp_k - stamp_{k-1}); the first message (or one
 * whose predecessor is older than `maxStampSkew`) has no difference and is rejected as
 * `no_velocity` but kept as the reference for the next one.
 * A backwards jump of the node clock (simulation reset) resets the stamp monotonicity reference.
 *
 * Publisher rule (one source of joint states; the publisher is identified by its rmw GID):
 *  - the publisher of the first accepted message becomes the source; messages from any other
 *    publisher that name a configured joint are rejected (`other_publisher`), never mixed in;
 *  - while such a second publisher has been heard within `conflictHoldS` and the source is
 *    alive too (heard within `conflictHoldS`), `conflict` is true: the node holds zero torque and
 *    aborts the episode, because which of the two is the arm cannot be told;
 *  - when the source has been silent for `conflictHoldS` (a driver restarted with a new GID), the
 *    next publisher whose message is accepted becomes the source (logged);
 *  - messages naming none of the configured joints (a gripper's own joint_states) are counted as
 *    `missing_joint` but do not change the missing-joint status when they are not the source's.
 * A middleware that reports no GID ('' for every message) makes every message the source's; the
 * node then falls back on the publisher count of the ROS graph (naf_trainer_node.ts).
 */
import type { JointStateRecord } from '../../env/types.js';
import type { Logger } from '../../util/logger.js';
import { RateLimitedLog } from '../../util/rate_limited_log.js';
import { fromTimeMsg, type JointStateMsg } from '../transport/transport.js';

export type JointStateRejection =
  | 'empty' | 'length_mismatch' | 'duplicate_name' | 'missing_joint' | 'non_finite'
  | 'stamp_not_increasing' | 'stamp_in_future' | 'stamp_too_old' | 'no_velocity' | 'other_publisher';

export const JOINT_STATE_REJECTIONS: readonly JointStateRejection[] = [
  'empty', 'length_mismatch', 'duplicate_name', 'missing_joint', 'non_finite',
  'stamp_not_increasing', 'stamp_in_future', 'stamp_too_old', 'no_velocity', 'other_publisher',
];

/** Short form of a GID for logs and /diagnostics (its last 8 hex digits carry the entity id). */
export const shortGid = (gid: string): string => (gid ? gid.replace(/0+$/, '').slice(-8).replace(/^0+(?=.)/, '') || '0' : '(no gid)');

export type JointStateResult =
  | { ok: true; record: JointStateRecord }
  | { ok: false; reason: JointStateRejection; detail: string };

export interface JointStateInputOptions {
  /** Configured joints, in command order. */
  joints: string[];
  /** Largest tolerated |node clock - stamp|, s (the state timeout). */
  maxStampSkew: number;
  /** A second publisher keeps the conflict this long after its last message, s (default 1). */
  conflictHoldS?: number;
  logger: Logger;
}

export class JointStateInput {
  /** The newest accepted reading (configured order), or null. */
  latest: JointStateRecord | null = null;
  /** Node-clock time at which `latest` was accepted, s. */
  receivedAt = -Infinity;
  /** Rejections so far, by reason. */
  readonly rejected: Record<JointStateRejection, number>;
  /** Configured joints missing from the last message (empty when none). */
  missing: string[] = [];
  /** GID of the source publisher ('' when the middleware gives none), null before the first accepted message. */
  source: string | null = null;
  /** Conflict episodes so far (a second publisher appearing while the source is alive). */
  conflicts = 0;
  private lastStamp = -Infinity;
  /** Last position sample (any message with valid positions), for finite differences. */
  private prev: { q: Float64Array; stamp: number } | null = null;
  private readonly log: RateLimitedLog;
  private readonly configured: Set<string>;
  private readonly hold: number;
  private sourceLastAt = -Infinity;
  /** Other publishers of configured joints: GID -> node time of their last message. */
  private readonly others = new Map<string, number>();
  private lastNow = -Infinity;
  private wasInConflict = false;

  /** @throws RangeError on an empty or duplicated joint list, a non-positive skew or hold. */
  constructor(private readonly opts: JointStateInputOptions) {
    if (opts.joints.length === 0 || new Set(opts.joints).size !== opts.joints.length) {
      throw new RangeError(`JointStateInput: joints must be non-empty and unique, got ${JSON.stringify(opts.joints)}`);
    }
    if (!(opts.maxStampSkew > 0)) throw new RangeError(`JointStateInput: maxStampSkew must be > 0 s, got ${opts.maxStampSkew}`);
    this.hold = opts.conflictHoldS ?? 1;
    if (!(this.hold > 0)) throw new RangeError(`JointStateInput: conflictHoldS must be > 0 s, got ${opts.conflictHoldS}`);
    this.rejected = Object.fromEntries(JOINT_STATE_REJECTIONS.map((r) => [r, 0])) as Record<JointStateRejection, number>;
    this.log = new RateLimitedLog(opts.logger);
    this.configured = new Set(opts.joints);
  }

  /**
   * True while joint states come from more than one publisher (the publisher rule above): the
   * node must not act on them. @param now node clock, s
   */
  conflict(now: number): boolean {
    if (now - this.sourceLastAt > this.hold) return false;
    for (const at of this.others.values()) if (now - at <= this.hold) return true;
    return false;
  }

  /** GIDs of the other publishers heard within the hold time. */
  otherPublishers(now: number): string[] {
    return [...this.others].filter(([, at]) => now - at <= this.hold).map(([g]) => g);
  }

  /** Writes the counts of rate-limited logs that are due (call at about 1 Hz). */
  flushLogs(now: number): void {
    this.log.flush(now);
  }

  /** Total rejected messages. */
  get rejectedTotal(): number {
    return JOINT_STATE_REJECTIONS.reduce((s, r) => s + this.rejected[r], 0);
  }

  /**
   * Validates one message received at node time `now` (s); on success it becomes `latest`.
   * Never throws on bad input: a rejection carries its reason and detail.
   */
  accept(msg: JointStateMsg, now: number, publisherGid = ''): JointStateResult {
    if (now < this.lastNow - this.opts.maxStampSkew) {
      // Simulation reset: publisher times restart with the clock.
      this.sourceLastAt = now;
      this.others.clear();
    }
    this.lastNow = now;
    const r = this.check(msg, now, publisherGid);
    if (r.ok) {
      if (this.source === null) {
        this.source = publisherGid;
        if (publisherGid) this.opts.logger.info(`joint_states source: publisher ${shortGid(publisherGid)} (messages naming the configured joints from any other publisher are refused)`);
      }
      this.latest = r.record;
      this.receivedAt = now;
      this.lastStamp = r.record.stamp;
    } else {
      this.rejected[r.reason]++;
      if (r.reason !== 'missing_joint') this.log.report(`joint_states rejected (${r.reason})`, now, r.reason === 'other_publisher' ? 'error' : 'warn', `joint_states rejected (${r.reason}): ${r.detail}`);
    }
    const inConflict = this.conflict(now);
    if (inConflict && !this.wasInConflict) this.conflicts++;
    this.wasInConflict = inConflict;
    return r;
  }

  private check(msg: JointStateMsg, now: number, gid: string): JointStateResult {
    const { joints, maxStampSkew } = this.opts;
    const names = msg?.name ?? [];
    const n = names.length;
    const fromSource = this.source === null || gid === this.source;
    if (fromSource) this.sourceLastAt = now;
    else if (names.some((j) => this.configured.has(j))) {
      if (now - this.sourceLastAt > this.hold) {
        this.opts.logger.warn(`joint_states source changed from publisher ${shortGid(this.source!)} (silent for ${(now - this.sourceLastAt).toFixed(2)} s) to the next accepted one`);
        this.source = null;
        this.others.delete(gid);
        return this.check(msg, now, gid);
      }
      this.others.set(gid, now);
      return {
        ok: false, reason: 'other_publisher',
        detail: `a second publisher (${shortGid(gid)}) sends ${names.filter((j) => this.configured.has(j)).join(', ')} besides the source ${shortGid(this.source!)}: zero torque until only one remains for ${this.hold} s`,
      };
    } else {
      return { ok: false, reason: 'missing_joint', detail: `a publisher other than the source (${shortGid(gid)}) sends only ${names.join(', ') || '(no joints)'}` };
    }
    if (n === 0) return { ok: false, reason: 'empty', detail: 'message has no joint names' };
    const pos = msg.position ?? [], vel = msg.velocity ?? [], eff = msg.effort ?? [];
    if (pos.length !== n || (vel.length !== 0 && vel.length !== n) || (eff.length !== 0 && eff.length !== n)) {
      return { ok: false, reason: 'length_mismatch', detail: `${n} names but ${pos.length} positions, ${vel.length} velocities, ${eff.length} efforts` };
    }
    const index = new Map<string, number>();
    for (let i = 0; i < n; i++) {
      if (index.has(names[i])) return { ok: false, reason: 'duplicate_name', detail: `joint "${names[i]}" appears twice` };
      index.set(names[i], i);
    }
    const missing = joints.filter((j) => !index.has(j));
    this.reportMissing(missing, names, now);
    if (missing.length) return { ok: false, reason: 'missing_joint', detail: `missing ${missing.join(', ')}` };

    const q = new Float64Array(joints.length), qd = new Float64Array(joints.length), effort = new Float64Array(joints.length);
    for (let k = 0; k < joints.length; k++) {
      const i = index.get(joints[k])!;
      q[k] = pos[i];
      qd[k] = vel.length ? vel[i] : 0;
      effort[k] = eff.length && Number.isFinite(eff[i]) ? eff[i] : 0;
      if (!Number.isFinite(q[k]) || !Number.isFinite(qd[k])) {
        return { ok: false, reason: 'non_finite', detail: `${joints[k]}: position ${q[k]}, velocity ${vel.length ? qd[k] : '(absent)'}` };
      }
    }
    const stamp = fromTimeMsg(msg.header?.stamp ?? { sec: 0, nanosec: 0 });
    if (now < this.lastStamp - maxStampSkew) {
      this.opts.logger.warn(`node clock went back from ${this.lastStamp.toFixed(3)} s to ${now.toFixed(3)} s (simulation reset?): joint state stamps restart`);
      this.lastStamp = -Infinity;
      this.prev = null;
    }
    if (stamp > now + maxStampSkew) {
      return { ok: false, reason: 'stamp_in_future', detail: `stamp ${stamp.toFixed(3)} s is ${(stamp - now).toFixed(3)} s ahead of the node clock` };
    }
    if (stamp < now - maxStampSkew) {
      return {
        ok: false, reason: 'stamp_too_old',
        detail: `stamp ${stamp.toFixed(3)} s is ${(now - stamp).toFixed(3)} s behind the node clock ${now.toFixed(3)} s (latency, or use_sim_time differs from the publisher's clock)`,
      };
    }
    if (stamp <= this.lastStamp) {
      return { ok: false, reason: 'stamp_not_increasing', detail: `stamp ${stamp.toFixed(6)} s <= last accepted ${this.lastStamp.toFixed(6)} s` };
    }
    const prev = this.prev;
    this.prev = { q: q.slice(), stamp };
    if (vel.length === 0) {
      if (!prev || stamp <= prev.stamp || stamp - prev.stamp > maxStampSkew) {
        return { ok: false, reason: 'no_velocity', detail: 'velocity absent and no recent previous position to finite-difference' };
      }
      const dt = stamp - prev.stamp;
      for (let k = 0; k < q.length; k++) qd[k] = (q[k] - prev.q[k]) / dt;
    }
    return { ok: true, record: { name: [...joints], position: q, velocity: qd, effort, stamp } };
  }

  private reportMissing(missing: string[], got: string[], now: number): void {
    if (missing.length) {
      this.log.report('joint_states lacks configured joints', now, 'error',
        `joint_states lacks configured joint(s) ${missing.join(', ')} (message has ${got.join(', ')}); no torque is computed until they reappear`);
    } else if (this.missing.length) {
      this.log.report('joint_states complete again', now, 'info', `joint_states complete again (${this.missing.join(', ')} back)`);
    }
    this.missing = missing;
  }
}
