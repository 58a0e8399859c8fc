/**
 * The safety supervisor (DESIGN Sec. 5): pure logic between every controller (NAF policy, iLQG,
 * homing PD) and the torque publisher. Nothing reaches the arm without passing `filter`.
 *
 * Rules, applied in this order to a proposed controller torque u [nJ] N·m:
 *  1. e-stop latched -> no controller torque (released only by an explicit `releaseEstop`);
 *  2. watchdog: no joint state, or the newest one accepted more than `state_timeout_ms` ago
 *     (node clock) -> zero torque, gravity compensation included (q is not known); the caller
 *     aborts the episode;
 *  3. any NaN/Inf entry -> no controller torque on any joint (a broken output is not trusted);
 *  4. velocity limit: on a joint moving faster than its limit, torque that accelerates it
 *     further (sign(u) = sign(qd)) is removed; braking torque passes (choice: a zero-torque
 *     reaction would let the joint coast at speed, braking is what we want);
 *  5. soft position limits (URDF limits moved inward by `soft_limit_margin`): outside a soft
 *     limit, torque pushing further out is removed; torque back inside passes;
 *  6. workspace box (`safety.workspace_min/max`, tip frame, m, URDF root frame): with the tip
 *     outside the box on some axes, the part of u that accelerates the tip further out along
 *     them is removed. The outward tip acceleration u causes along axis k is c_k · u with
 *     c_k = ±M(q)⁻¹ J_kᵀ (J the tip's position Jacobian, M the mass matrix); u is projected
 *     onto {u' : c_k · u' <= 0 for the violated axes}, u' = u - C_Sᵀ (C_S C_Sᵀ)⁻¹ C_S u over
 *     the axes S whose outward acceleration is positive: the smallest change of u (in N·m)
 *     that leaves no outward acceleration, never larger than u itself. Torque bringing the tip
 *     back in, or moving it along the wall, passes. (Chosen over aborting the episode:
 *     Algorithm 2's dynamics fit needs complete fixed-length episodes, and the rule mirrors the
 *     soft-limit rule in Cartesian space; like it, it does not brake a tip already moving out.)
 *     Gravity compensation is not touched;
 *  7. compensation terms of the control law, added to the result of rules 1 and 3-6: gravity
 *     compensation g(q) (`safety.gravity_compensation: model`), so the arm holds its pose under
 *     every stop except the watchdog's, and damping injection −D q̇ when naf_ros applies it
 *     (`safety.damping_injection: node`, src/control/damping_injection.ts), so a stopped
 *     controller leaves a damped arm;
 *  8. clamp of the total u + g(q) − D q̇ to min(URDF effort limit, `max_effort`) per joint: the
 *     clamp bounds what is published. (With `damping_injection: hardware` the robot adds −D q̇
 *     after this; its own limits bound that sum.)
 * The result is always finite; `control` is the controller's share of it (the total less the
 * rule-7 terms), which is what a transition records as its action. Each rule counts one
 * intervention per control step in which it changed u (`counts`, reported on /diagnostics; the
 * embedded training run counts them per episode); the start of a run of interventions is logged
 * with its detail (e-stop and watchdog always, with their end; the other kinds at most every
 * 10 s per kind, with the count of steps in between).
 * The on-policy fraction p is guarded too: `guardOnPolicyFraction` never returns more than
 * `max_on_policy_fraction` (DESIGN Sec. 1: the safety engineer's cap).
 */
import { Matrix, solve } from 'ml-matrix';
import type { ArmDynamics, ArmSpec, JointStateRecord } from '../env/types.js';
import type { GravityCompensation } from '../control/gravity_compensation.js';
import type { DampingInjection } from '../control/damping_injection.js';
import type { Logger } from '../util/logger.js';

export type InterventionKind = 'estop' | 'watchdog' | 'non_finite' | 'velocity_limit' | 'soft_limit' | 'workspace_limit' | 'torque_clamp' | 'p_cap';
export const INTERVENTION_KINDS: readonly InterventionKind[] = ['estop', 'watchdog', 'non_finite', 'velocity_limit', 'soft_limit', 'workspace_limit', 'torque_clamp', 'p_cap'];

/** Kinds that stop the arm: their start and end are always logged. */
const HALTING: ReadonlySet<InterventionKind> = new Set(['estop', 'watchdog']);
/** Other kinds are logged at most this often, s (node clock). */
const LOG_INTERVAL_S = 10;

export interface SupervisorOptions {
  /** Configured torque cap, N·m (applied as min with the URDF effort limit). */
  maxEffort: number;
  /** Watchdog timeout, ms. */
  stateTimeoutMs: number;
  /** Configured speed limit, rad/s (applied as min with the URDF velocity limit). */
  velocityLimit: number;
  /** Soft limits lie this far inside the URDF position limits, rad. */
  softLimitMargin: number;
  /** The cap on p, in [0, 1]. */
  maxOnPolicyFraction: number;
  /** Gravity compensation added to every torque (rule 7); none when absent. */
  gravity?: GravityCompensation;
  /** Damping injection added to every torque in its `node` mode (rule 7); none when absent. */
  damping?: DampingInjection;
  /** Workspace box of the tip (rule 6); unbounded when absent. */
  workspace?: WorkspaceLimit;
}

/** The tip's forward kinematics (`KinematicChain`): position [3] m and Jacobian [3 * nJ] row-major. */
export interface TipKinematics {
  position(q: ArrayLike<number>): Float64Array;
  jacobian(q: ArrayLike<number>): Float64Array;
}

export interface WorkspaceLimit {
  /** [3] m, URDF root frame. */
  min: Float64Array;
  max: Float64Array;
  tip: TipKinematics;
  dynamics: Pick<ArmDynamics, 'massMatrix'>;
}

export interface FilterResult {
  /** [nJ] N·m, finite, within limits: the torque to publish (rule-7 terms included). */
  u: Float64Array;
  /** [nJ] N·m: the controller's share of `u` (u less g(q) and the node's −D q̇; 0 where rules 1-3 removed it). */
  control: Float64Array;
  /** Kinds that changed u in this step. */
  interventions: InterventionKind[];
  /** True when the watchdog or e-stop forced zero torque (the episode cannot continue). */
  halted: boolean;
}

export class SafetySupervisor {
  /** [nJ] N·m, min(URDF, max_effort). */
  readonly effortLimit: Float64Array;
  /** [nJ] rad/s, min(URDF, velocity_limit). */
  readonly velocityLimit: Float64Array;
  /** [nJ] rad, soft position limits (±Infinity for continuous joints). */
  readonly softLower: Float64Array;
  readonly softUpper: Float64Array;
  /** Interventions so far, by kind (control steps in which the rule acted). */
  readonly counts: Record<InterventionKind, number>;
  private estop = false;
  private estopReason = '';
  private readonly active = new Map<InterventionKind, number>();
  private readonly lastLog = new Map<InterventionKind, { t: number; count: number }>();

  /**
   * @throws RangeError naming the value when an option is out of range, or when the soft limits
   * of a joint would be empty (margin too large for its URDF range).
   */
  constructor(readonly spec: ArmSpec, readonly opts: SupervisorOptions, private readonly logger: Logger) {
    const n = spec.jointNames.length;
    if (!(opts.maxEffort > 0)) throw new RangeError(`SafetySupervisor: max_effort must be > 0 N·m, got ${opts.maxEffort}`);
    if (!(opts.stateTimeoutMs > 0)) throw new RangeError(`SafetySupervisor: state_timeout_ms must be > 0, got ${opts.stateTimeoutMs}`);
    if (!(opts.velocityLimit > 0)) throw new RangeError(`SafetySupervisor: velocity_limit must be > 0 rad/s, got ${opts.velocityLimit}`);
    if (!(opts.softLimitMargin >= 0)) throw new RangeError(`SafetySupervisor: soft_limit_margin must be >= 0 rad, got ${opts.softLimitMargin}`);
    if (!(opts.maxOnPolicyFraction >= 0 && opts.maxOnPolicyFraction <= 1)) {
      throw new RangeError(`SafetySupervisor: max_on_policy_fraction must be in [0, 1], got ${opts.maxOnPolicyFraction}`);
    }
    this.effortLimit = new Float64Array(n);
    this.velocityLimit = new Float64Array(n);
    this.softLower = new Float64Array(n);
    this.softUpper = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      const urdfEffort = spec.effortLimits[i] > 0 ? spec.effortLimits[i] : Infinity;
      const urdfVel = spec.velocityLimits[i] > 0 ? spec.velocityLimits[i] : Infinity;
      this.effortLimit[i] = Math.min(urdfEffort, opts.maxEffort);
      this.velocityLimit[i] = Math.min(urdfVel, opts.velocityLimit);
      this.softLower[i] = spec.lowerLimits[i] + opts.softLimitMargin;
      this.softUpper[i] = spec.upperLimits[i] - opts.softLimitMargin;
      if (!(this.softLower[i] < this.softUpper[i])) {
        throw new RangeError(`SafetySupervisor: soft_limit_margin ${opts.softLimitMargin} rad leaves no range on ${spec.jointNames[i]} (URDF [${spec.lowerLimits[i]}, ${spec.upperLimits[i]}])`);
      }
    }
    const w = opts.workspace;
    if (w && !(w.min.length === 3 && w.max.length === 3 && [0, 1, 2].every((k) => w.min[k] < w.max[k])))
      throw new RangeError(`SafetySupervisor: workspace_min must be below workspace_max on every axis, got [${Array.from(w.min)}] and [${Array.from(w.max)}]`);
    if (opts.gravity && opts.gravity.torque(new Float64Array(n)).length !== n) throw new RangeError('SafetySupervisor: gravity compensation is for another arm');
    if (opts.damping && opts.damping.plan.D.length !== n) throw new RangeError('SafetySupervisor: damping injection is for another arm');
    this.counts = Object.fromEntries(INTERVENTION_KINDS.map((k) => [k, 0])) as Record<InterventionKind, number>;
  }

  get estopLatched(): boolean {
    return this.estop;
  }

  /** Latches the e-stop (idempotent). */
  engageEstop(reason: string): void {
    if (!this.estop) this.logger.error(`safety: E-STOP engaged (${reason}); zero torque until explicitly released`);
    this.estop = true;
    this.estopReason = reason;
  }

  /** Explicit release of a latched e-stop. */
  releaseEstop(by: string): void {
    if (this.estop) this.logger.warn(`safety: e-stop released by ${by} (was: ${this.estopReason})`);
    this.estop = false;
    this.estopReason = '';
  }

  /** True when `state` is missing or was accepted more than the timeout before `now` (s). */
  stale(state: JointStateRecord | null, receivedAt: number, now: number): boolean {
    return !state || now - receivedAt > this.opts.stateTimeoutMs / 1000;
  }

  /**
   * Filters a proposed torque. @param u [nJ] N·m (not modified) @param state newest joint
   * reading or null @param receivedAt its node-clock arrival time, s @param now node clock, s
   * @throws RangeError when u has the wrong length (a wiring bug, not a runtime condition).
   */
  filter(u: Float64Array, state: JointStateRecord | null, receivedAt: number, now: number): FilterResult {
    const n = this.effortLimit.length;
    if (u.length !== n) throw new RangeError(`SafetySupervisor.filter: u has ${u.length} entries, expected ${n}`);
    const out = new Float64Array(n);
    const acted: InterventionKind[] = [];
    if (this.stale(state, receivedAt, now)) {
      const age = state ? `${((now - receivedAt) * 1000).toFixed(0)} ms old` : 'none received';
      const kind: InterventionKind = this.estop ? 'estop' : 'watchdog';
      return this.finish(now, out, new Float64Array(n), [kind], true, () => `zero torque: joint states ${age} (timeout ${this.opts.stateTimeoutMs} ms)${this.estop ? ', e-stop latched' : ''}`);
    }
    const q = state!.position, qd = state!.velocity;
    if (this.estop) return this.finish(now, out, this.total(out, q, qd, []), ['estop'], true, () => `no controller torque (e-stop latched)${this.gravityNote()}`);
    if (!u.every(Number.isFinite)) return this.finish(now, out, this.total(out, q, qd, []), ['non_finite'], false, () => `no controller torque: output not finite [${Array.from(u).join(', ')}]${this.gravityNote()}`);
    out.set(u);
    const details: Partial<Record<InterventionKind, string[]>> = {};
    const note = (k: InterventionKind, d: string) => {
      (details[k] ??= []).push(d);
      if (!acted.includes(k)) acted.push(k);
    };
    for (let i = 0; i < n; i++) {
      const name = this.spec.jointNames[i];
      if (Math.abs(qd[i]) > this.velocityLimit[i] && out[i] * qd[i] > 0) {
        note('velocity_limit', `${name} |qd| ${Math.abs(qd[i]).toFixed(2)} > ${this.velocityLimit[i]} rad/s: ${out[i].toFixed(3)} -> 0 N·m`);
        out[i] = 0;
      }
      if ((q[i] > this.softUpper[i] && out[i] > 0) || (q[i] < this.softLower[i] && out[i] < 0)) {
        note('soft_limit', `${name} q ${q[i].toFixed(3)} outside soft [${this.softLower[i].toFixed(3)}, ${this.softUpper[i].toFixed(3)}] rad: ${out[i].toFixed(3)} -> 0 N·m`);
        out[i] = 0;
      }
    }
    const wall = this.workspaceRule(out, q);
    if (wall) note('workspace_limit', wall);
    const terms = this.total(out, q, qd, acted, details);
    return this.finish(now, out, terms, acted, false, (k) => (details[k] ?? []).join('; '));
  }

  private gravityNote(): string {
    const g = this.opts.gravity?.active, d = this.opts.damping?.active;
    return g || d ? `; ${[g ? 'gravity compensation holds the arm' : '', d ? 'damping injection brakes it' : ''].filter(Boolean).join(', ')}` : '';
  }

  /**
   * Rule 6 on u (in place). Returns the detail when it acted, else null.
   */
  private workspaceRule(u: Float64Array, q: Float64Array): string | null {
    const w = this.opts.workspace;
    if (!w) return null;
    const p = w.tip.position(q);
    const outside = [0, 1, 2].filter((k) => p[k] > w.max[k] || p[k] < w.min[k]);
    if (outside.length === 0) return null;
    const n = u.length;
    const sign = (k: number) => (p[k] > w.max[k] ? 1 : -1);
    const J = w.tip.jacobian(q);
    const M = w.dynamics.massMatrix(q);
    const Minv = solve(new Matrix(Array.from({ length: n }, (_, i) => Array.from(M.subarray(i * n, (i + 1) * n)))), Matrix.eye(n));
    // c_k [1 x n]: outward tip acceleration along axis k per unit torque (M is symmetric).
    const c = (k: number) => Matrix.rowVector(Array.from(J.subarray(k * n, (k + 1) * n), (v) => sign(k) * v)).mmul(Minv);
    const u0 = Matrix.columnVector(Array.from(u));
    const S: number[] = [];
    let v = u0;
    for (;;) {
      const add = outside.filter((k) => !S.includes(k) && c(k).mmul(v).get(0, 0) > 1e-12);
      if (add.length === 0) break;
      S.push(...add);
      const C = new Matrix(S.map((k) => c(k).to1DArray()));
      const G = C.mmul(C.transpose());
      const ridge = 1e-12 * Math.max(1e-300, G.trace());
      v = u0.sub(C.transpose().mmul(solve(G.add(Matrix.eye(S.length).mul(ridge)), C.mmul(u0))));
    }
    if (S.length === 0) return null;
    const before = Array.from(u);
    for (let i = 0; i < n; i++) u[i] = v.get(i, 0);
    const axes = S.map((k) => `${'xyz'[k]} ${p[k].toFixed(3)} ${sign(k) > 0 ? '>' : '<'} ${(sign(k) > 0 ? w.max[k] : w.min[k]).toFixed(3)} m`).join(', ');
    return `tip outside the workspace (${axes}): [${before.map((x) => x.toFixed(3)).join(', ')}] -> [${Array.from(u, (x) => x.toFixed(3)).join(', ')}] N·m`;
  }

  /**
   * Rules 7-8 on out (in place): adds g(q) and −D q̇, clamps the total; notes a clamp in `acted`.
   * Returns the rule-7 terms [nJ] N·m (so the controller's share is out − terms).
   */
  private total(out: Float64Array, q: Float64Array, qd: Float64Array, acted: InterventionKind[], details?: Partial<Record<InterventionKind, string[]>>): Float64Array {
    const g = this.opts.gravity?.active ? this.opts.gravity.torque(q) : null;
    const d = this.opts.damping?.active ? this.opts.damping.torque(qd) : null;
    const terms = new Float64Array(out.length);
    for (let i = 0; i < out.length; i++) {
      terms[i] = (g ? g[i] : 0) + (d ? d[i] : 0);
      out[i] += terms[i];
      const lim = this.effortLimit[i];
      if (Math.abs(out[i]) > lim) {
        const why = [g ? `g(q) ${g[i].toFixed(3)}` : '', d ? `−D q̇ ${d[i].toFixed(3)}` : ''].filter(Boolean).join(', ');
        if (details) (details.torque_clamp ??= []).push(`${this.spec.jointNames[i]} ${out[i].toFixed(3)} clamped to ±${lim} N·m${why ? ` (${why})` : ''}`);
        if (!acted.includes('torque_clamp')) acted.push('torque_clamp');
        out[i] = Math.sign(out[i]) * lim;
      }
    }
    return terms;
  }

  /**
   * p to use for the next episode: p itself when within [0, max_on_policy_fraction], else the
   * cap (counted and logged as 'p_cap').
   */
  guardOnPolicyFraction(p: number): number {
    const cap = this.opts.maxOnPolicyFraction;
    if (p >= 0 && p <= cap) return p;
    this.counts.p_cap++;
    const used = p > cap ? cap : 0;
    this.logger.error(`safety: on_policy_fraction ${p} outside [0, max_on_policy_fraction ${cap}]; using ${used}`);
    return used;
  }

  private finish(now: number, out: Float64Array, terms: Float64Array, acted: InterventionKind[], halted: boolean, detail: (k: InterventionKind) => string): FilterResult {
    for (const k of acted) {
      this.counts[k]++;
      const run = this.active.get(k) ?? 0;
      if (run === 0) this.logRunStart(k, now, detail(k));
      this.active.set(k, run + 1);
    }
    for (const [k, run] of this.active) {
      if (run > 0 && !acted.includes(k)) {
        if (HALTING.has(k)) this.logger.info(`safety: ${k} cleared after ${run} control step(s)`);
        this.active.set(k, 0);
      }
    }
    for (let i = 0; i < out.length; i++) if (!Number.isFinite(out[i])) out[i] = 0;
    const control = Float64Array.from(out, (v, i) => (halted || acted.includes('non_finite') ? 0 : v - terms[i]));
    return { u: out, control, interventions: acted, halted };
  }

  /**
   * Logs the start of a run of interventions: always for the halting kinds (e-stop, watchdog),
   * otherwise at most once per `LOG_INTERVAL_S` per kind with the number of steps in between
   * (a torque clamp during homing on a weak joint is routine and would flood the log).
   */
  private logRunStart(k: InterventionKind, now: number, detail: string): void {
    const last = this.lastLog.get(k);
    if (!HALTING.has(k) && last && now - last.t < LOG_INTERVAL_S) return;
    const since = last ? ` (${this.counts[k] - 1 - last.count} more step(s) since the last report)` : '';
    this.lastLog.set(k, { t: now, count: this.counts[k] });
    const line = `safety: ${k}: ${detail}${since}`;
    if (k === 'torque_clamp' || k === 'soft_limit' || k === 'velocity_limit' || k === 'workspace_limit') this.logger.warn(line);
    else this.logger.error(line);
  }

  /** Kinds acting in the latest step (for the diagnostics level). */
  activeKinds(): InterventionKind[] {
    return [...this.active].filter(([, run]) => run > 0).map(([k]) => k);
  }
}
