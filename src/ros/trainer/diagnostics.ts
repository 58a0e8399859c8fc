/**
 * `diagnostic_msgs/msg/DiagnosticArray` for `/diagnostics` (the topic `rqt_robot_monitor` and
 * `diagnostic_aggregator` read): one status for the safety supervisor, one for the control loop,
 * one for the learner thread. Levels (diagnostic_msgs/msg/DiagnosticStatus): OK 0, WARN 1,
 * ERROR 2, STALE 3. Figures marked "window" cover the time since the previous report (1 s).
 */
import { monitorEventLoopDelay, PerformanceObserver, type IntervalHistogram } from 'node:perf_hooks';
import type { LearnerStats } from '../../training/learner_types.js';
import type { HealthWarning } from '../../training/learning_health.js';
import type { ThreadStatus } from '../../agent/types.js';
import type { InterventionKind } from '../../safety/supervisor.js';
import { INTERVENTION_KINDS } from '../../safety/supervisor.js';
import type { JointStateRejection } from './joint_state_input.js';
import { JOINT_STATE_REJECTIONS, shortGid } from './joint_state_input.js';
import { header, type DiagnosticArrayMsg, type DiagnosticStatusMsg, type KeyValueMsg } from '../transport/transport.js';

export const DIAG_OK = 0;
export const DIAG_WARN = 1;
export const DIAG_ERROR = 2;
export const DIAG_STALE = 3;

export const SAFETY_STATUS_NAME = 'naf_trainer: safety';
export const LOOP_STATUS_NAME = 'naf_trainer: control loop';
export const LEARNER_STATUS_NAME = 'naf_trainer: learner';

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
  /** The joint-states publisher rule (joint_state_input.ts). */
  publishers?: {
    /** Publishers of the topic in the ROS graph. */
    graph: number;
    /** GID of the source ('' = the middleware gives none), null before the first accepted state. */
    source: string | null;
    /** Other publishers of configured joints heard within the hold time. */
    others: string[];
    conflict: boolean;
    /** Conflicts so far, and control periods held at zero torque by them. */
    conflicts: number;
    conflictSteps: number;
  };
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
  /** This thread's event-loop delay and GC pauses in the last window, when measured. */
  mainThread?: MainThreadWindow | null;
}

const kv = (key: string, value: string | number | boolean): KeyValueMsg => ({ key, value: String(value) });

/** Status `naf_trainer: safety`: ERROR on e-stop, watchdog or missing joints; WARN when any rule acted since the last report. */
export function safetyStatus(s: SafetySnapshot, hardwareId: string): DiagnosticStatusMsg {
  const newly = INTERVENTION_KINDS.filter((k) => s.counts[k] > s.previousCounts[k]);
  let level = DIAG_OK;
  let message = 'ok';
  const p = s.publishers;
  if (s.estopLatched) [level, message] = [DIAG_ERROR, 'e-stop latched'];
  else if (p?.conflict) [level, message] = [DIAG_ERROR, `joint_states from more than one publisher (source ${shortGid(p.source ?? '')}, others ${p.others.map(shortGid).join(', ') || '-'}, ${p.graph} in the graph): zero torque`];
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
    ...(p ? [
      kv('joint_states_publishers', p.graph), kv('joint_states_source', p.source === null ? 'none yet' : shortGid(p.source)),
      kv('joint_states_other_publishers', p.others.map(shortGid).join(',')), kv('joint_states_conflict', p.conflict),
      kv('joint_states_conflicts', p.conflicts), kv('joint_states_conflict_steps', p.conflictSteps),
    ] : []),
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
      ...(l.mainThread ? [
        kv('event_loop_delay_p99_ms', l.mainThread.delayP99Ms.toFixed(3)), kv('event_loop_delay_max_ms', l.mainThread.delayMaxMs.toFixed(3)),
        kv('gc_pauses', l.mainThread.gcCount), kv('gc_pause_total_ms', l.mainThread.gcTotalMs.toFixed(3)), kv('gc_pause_max_ms', l.mainThread.gcMaxMs.toFixed(3)),
      ] : []),
    ],
  };
}

/** The learner's figures over one report window (differences of its cumulative counters). */
export interface LearnerWindowFigures {
  /** Real steps the learner reached, minibatch updates it made, steps and updates it shed. */
  steps: number;
  updates: number;
  shedSteps: number;
  shedUpdates: number;
  /** shedUpdates / (updates + shedUpdates); 0 when neither. */
  shedFraction: number;
  /** Lag of the transitions in the learner's latest stats, ms. */
  lagMeanMs: number;
  lagMaxMs: number;
  /** Age of the latest stats, s (a learner busy with a refit or a checkpoint sends none). */
  statsAgeS: number;
  checkpoints: number;
  /** Wall time of the last checkpoint write, ms (NaN before the first). */
  checkpointMs: number;
  /** Totals since the learner started. */
  totalUpdates: number;
  totalShedSteps: number;
  /** Learning-health warnings active in the latest stats (`learning_health.ts`); [] when none or not checked. */
  warnings: HealthWarning[];
  /** The threads of one NAF update in the latest stats (head-worker failures, one-thread fallback); absent from older learners. */
  threads?: ThreadStatus;
}

/**
 * Turns the learner's cumulative stats into per-window figures: `update` with every stats
 * message, `close(now)` once per report.
 */
export class LearnerWindow {
  /** Figures of the last closed window; null before the first stats. */
  last: LearnerWindowFigures | null = null;
  private latest: LearnerStats | null = null;
  private atClose: LearnerStats | null = null;

  update(st: LearnerStats): void {
    this.latest = st;
  }

  /** @param nowMs wall clock, ms (Date.now) */
  close(nowMs: number): void {
    const c = this.latest;
    if (!c) return;
    const p = this.atClose;
    const d = (k: 'steps' | 'updates' | 'skippedSteps' | 'shedUpdates') => c[k] - (p ? p[k] : 0);
    const updates = d('updates'), shedUpdates = d('shedUpdates');
    this.last = {
      steps: d('steps'), updates, shedSteps: d('skippedSteps'), shedUpdates,
      shedFraction: updates + shedUpdates > 0 ? shedUpdates / (updates + shedUpdates) : 0,
      lagMeanMs: c.lagMeanMs, lagMaxMs: c.lagMaxMs, statsAgeS: Math.max(0, (nowMs - c.at) / 1000),
      checkpoints: c.checkpoints, checkpointMs: c.checkpointMs, totalUpdates: c.updates, totalShedSteps: c.skippedSteps,
      warnings: c.warnings ?? [],
      threads: c.threads,
    };
    this.atClose = c;
  }
}

/**
 * Status `naf_trainer: learner`: updates made and shed in the window, the shed fraction, the
 * learner's lag and the last checkpoint's write time. WARN when more than half the updates were
 * shed, or when no stats came for 5 s while an episode runs (a learner stuck in a refit or a
 * checkpoint), or when a learning-health warning is active (the run is not learning: the message
 * names it, its numbers, the likely cause and what to do; value `warnings` lists the codes), or
 * when the NAF update fell back to one thread for good after repeated head-worker failures
 * (values `threads.*`); STALE before the first stats.
 */
export function learnerStatus(w: LearnerWindowFigures | null, running: boolean, hardwareId: string): DiagnosticStatusMsg {
  if (!w) return { level: DIAG_STALE, name: LEARNER_STATUS_NAME, message: 'no learner stats yet', hardware_id: hardwareId, values: [] };
  const pct = (w.shedFraction * 100).toFixed(0);
  let level = DIAG_OK;
  let message = `${w.updates} updates, ${w.shedUpdates} shed (${pct}%), lag mean ${w.lagMeanMs.toFixed(1)} ms, max ${w.lagMaxMs.toFixed(1)} ms`;
  if (running && w.statsAgeS > 5) [level, message] = [DIAG_WARN, `no learner stats for ${w.statsAgeS.toFixed(1)} s`];
  else if (w.shedFraction > 0.5) [level, message] = [DIAG_WARN, `learner behind real time: ${message}`];
  else if (w.warnings.length) [level, message] = [DIAG_WARN, `not learning? ${w.warnings.map((x) => `[${x.code}] from episode ${x.episode}: ${x.message}`).join(' | ')}`];
  else if (w.threads?.oneThreadForGood) [level, message] = [DIAG_WARN, `${oneThreadMessage(w.threads)}; ${message}`];
  const f = (x: number, d = 3) => (Number.isFinite(x) ? x.toFixed(d) : 'none');
  return {
    level, name: LEARNER_STATUS_NAME, message, hardware_id: hardwareId,
    values: [
      kv('window.steps', w.steps), kv('window.updates', w.updates), kv('window.shed_steps', w.shedSteps), kv('window.shed_updates', w.shedUpdates),
      kv('window.shed_fraction', w.shedFraction.toFixed(4)), kv('lag_mean_ms', f(w.lagMeanMs)), kv('lag_max_ms', f(w.lagMaxMs)),
      kv('stats_age_s', f(w.statsAgeS)), kv('checkpoints', w.checkpoints), kv('checkpoint_write_ms', f(w.checkpointMs, 1)),
      kv('updates_total', w.totalUpdates), kv('shed_steps_total', w.totalShedSteps),
      kv('warnings', w.warnings.map((x) => x.code).join(',')),
      ...threadValues(w.threads),
    ],
  };
}

/** WARN text of a NAF update that fell back to one thread for good. */
export function oneThreadMessage(t: ThreadStatus): string {
  return `NAF head worker failed ${t.workerFailures} times: the update runs on ${t.inUse} of ${t.configured} threads for the rest of the run (agent.learner_threads)`;
}

/** Values of the NAF update's threads (`LearnerStats.threads`): none when the stats have no such field. */
export function threadValues(t: ThreadStatus | undefined): DiagnosticStatusMsg['values'] {
  if (!t) return [];
  return [kv('threads.configured', t.configured), kv('threads.in_use', t.inUse), kv('threads.worker_failures', t.workerFailures), kv('threads.one_thread_for_good', t.oneThreadForGood)];
}

/** Event-loop delay and GC pauses of the calling thread over one window. */
export interface MainThreadWindow {
  delayP99Ms: number;
  delayMaxMs: number;
  gcCount: number;
  gcTotalMs: number;
  gcMaxMs: number;
}

/**
 * Measures this thread's event-loop delay (`perf_hooks.monitorEventLoopDelay`, 1 ms resolution)
 * and garbage-collection pauses (`PerformanceObserver` 'gc' entries) per window: what, other than
 * the control callback itself, holds the control timer back. `close()` ends a window.
 */
export class MainThreadMeter {
  last: MainThreadWindow | null = null;
  private readonly h: IntervalHistogram;
  private readonly obs: PerformanceObserver;
  private gc = { n: 0, total: 0, max: 0 };

  constructor() {
    this.h = monitorEventLoopDelay({ resolution: 1 });
    this.h.enable();
    this.obs = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) {
        this.gc.n++;
        this.gc.total += e.duration;
        this.gc.max = Math.max(this.gc.max, e.duration);
      }
    });
    this.obs.observe({ entryTypes: ['gc'] });
  }

  close(): void {
    // The histogram counts the timer's own 1 ms period in each sample: subtract it.
    const ms = (ns: number) => Math.max(0, ns / 1e6 - 1);
    this.last = {
      delayP99Ms: this.h.count ? ms(this.h.percentile(99)) : 0, delayMaxMs: this.h.count ? ms(this.h.max) : 0,
      gcCount: this.gc.n, gcTotalMs: this.gc.total, gcMaxMs: this.gc.max,
    };
    this.h.reset();
    this.gc = { n: 0, total: 0, max: 0 };
  }

  dispose(): void {
    this.h.disable();
    this.obs.disconnect();
  }
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
