/**
 * `diagnostic_msgs/msg/DiagnosticArray` for `/diagnostics` (the topic `rqt_robot_monitor` and
 * `diagnostic_aggregator` read): one status for the safety supervisor, one for the control loop.
 * Levels (diagnostic_msgs/msg/DiagnosticStatus): OK 0, WARN 1, ERROR 2, STALE 3.
 */
import type { InterventionKind } from './supervisor.js';
import { INTERVENTION_KINDS } from './supervisor.js';
import type { JointStateRejection } from './joint_state_input.js';
import { JOINT_STATE_REJECTIONS } from './joint_state_input.js';
import { header, type DiagnosticArrayMsg, type DiagnosticStatusMsg, type KeyValueMsg } from './transport.js';

export const DIAG_OK = 0;
export const DIAG_WARN = 1;
export const DIAG_ERROR = 2;
export const DIAG_STALE = 3;

export const SAFETY_STATUS_NAME = 'naf_trainer: safety';
export const LOOP_STATUS_NAME = 'naf_trainer: control loop';

export interface SafetySnapshot {
  estopLatched: boolean;
  /** Intervention counts since start. */
  counts: Record<InterventionKind, number>;
  /** Counts at the previous report (to tell "acting now" from "acted once long ago"). */
  previousCounts: Record<InterventionKind, number>;
  /** Rejected joint-state messages since start, by reason. */
  rejected: Record<JointStateRejection, number>;
  /** Configured joints currently missing from /joint_states. */
  missingJoints: string[];
  /** True when the newest joint state is older than the timeout (or none). */
  stateStale: boolean;
  stateTimeoutMs: number;
  maxOnPolicyFraction: number;
  onPolicyFraction: number;
}

export interface LoopSnapshot {
  state: string;
  episode: number;
  step: number;
  controller: string;
  policyVersion: number;
  lastReturn: number | null;
  /** Control period, s, and timer-start jitter statistics |actual - period|, s. */
  period: number;
  jitterMean: number;
  jitterP99: number;
  jitterMax: number;
  jitterSamples: number;
}

const kv = (key: string, value: string | number | boolean): KeyValueMsg => ({ key, value: String(value) });

/** Status `naf_trainer: safety`: ERROR on e-stop, watchdog or missing joints; WARN when any rule acted since the last report. */
export function safetyStatus(s: SafetySnapshot, hardwareId: string): DiagnosticStatusMsg {
  const newly = INTERVENTION_KINDS.filter((k) => s.counts[k] > s.previousCounts[k]);
  let level = DIAG_OK;
  let message = 'ok';
  if (s.estopLatched) [level, message] = [DIAG_ERROR, 'e-stop latched'];
  else if (s.missingJoints.length) [level, message] = [DIAG_ERROR, `joint_states lacks ${s.missingJoints.join(', ')}`];
  else if (s.stateStale) [level, message] = [DIAG_ERROR, `joint states stale (> ${s.stateTimeoutMs} ms)`];
  else if (newly.length) [level, message] = [DIAG_WARN, `interventions: ${newly.join(', ')}`];
  const values = [
    kv('estop_latched', s.estopLatched),
    kv('state_stale', s.stateStale),
    kv('missing_joints', s.missingJoints.join(',')),
    kv('on_policy_fraction', s.onPolicyFraction),
    kv('max_on_policy_fraction', s.maxOnPolicyFraction),
    ...INTERVENTION_KINDS.map((k) => kv(`interventions.${k}`, s.counts[k])),
    ...JOINT_STATE_REJECTIONS.map((r) => kv(`joint_states_rejected.${r}`, s.rejected[r])),
  ];
  return { level, name: SAFETY_STATUS_NAME, message, hardware_id: hardwareId, values };
}

/** Status `naf_trainer: control loop`: WARN when the p99 jitter exceeds 20% of the period. */
export function loopStatus(l: LoopSnapshot, hardwareId: string): DiagnosticStatusMsg {
  const level = l.jitterSamples > 0 && l.jitterP99 > 0.2 * l.period ? DIAG_WARN : DIAG_OK;
  const ms = (s: number) => (s * 1000).toFixed(3);
  return {
    level,
    name: LOOP_STATUS_NAME,
    message: level === DIAG_OK ? l.state : `${l.state}; control jitter p99 ${ms(l.jitterP99)} ms > 20% of ${ms(l.period)} ms`,
    hardware_id: hardwareId,
    values: [
      kv('state', l.state), kv('episode', l.episode), kv('step', l.step), kv('controller', l.controller),
      kv('policy_version', l.policyVersion), kv('last_return', l.lastReturn ?? 'none'),
      kv('control_period_ms', ms(l.period)), kv('jitter_mean_ms', ms(l.jitterMean)),
      kv('jitter_p99_ms', ms(l.jitterP99)), kv('jitter_max_ms', ms(l.jitterMax)), kv('jitter_samples', l.jitterSamples),
    ],
  };
}

/** The array message stamped at `t` (s). */
export function diagnosticArray(t: number, status: DiagnosticStatusMsg[]): DiagnosticArrayMsg {
  return { header: header(t), status };
}

/**
 * Timer-start jitter: |(t_k - t_{k-1}) - period| over the last `window` callbacks.
 * Times come from a steady clock (not sim time), s.
 */
export class JitterMeter {
  private readonly samples: Float64Array;
  private count = 0;
  private last = NaN;

  /** @throws RangeError on a non-positive period or window. */
  constructor(readonly period: number, window = 1000) {
    if (!(period > 0) || !(window >= 1)) throw new RangeError(`JitterMeter: period ${period} s and window ${window} must be positive`);
    this.samples = new Float64Array(window);
  }

  /** Records the start time (s) of a timer callback. */
  tick(t: number): void {
    if (Number.isFinite(this.last)) this.samples[this.count++ % this.samples.length] = Math.abs(t - this.last - this.period);
    this.last = t;
  }

  /** Restarts the interval chain (after a pause in which callbacks were not meant to be periodic). */
  resetChain(): void {
    this.last = NaN;
  }

  stats(): { mean: number; p99: number; max: number; n: number } {
    const n = Math.min(this.count, this.samples.length);
    if (n === 0) return { mean: 0, p99: 0, max: 0, n: 0 };
    const s = Array.from(this.samples.subarray(0, n)).sort((a, b) => a - b);
    return { mean: s.reduce((a, b) => a + b, 0) / n, p99: s[Math.min(n - 1, Math.ceil(0.99 * n) - 1)], max: s[n - 1], n };
  }
}
