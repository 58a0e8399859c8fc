/**
 * ROS 2 node `naf_trainer` (DESIGN Sec. 5): learns torque control of an arm on the robot (or a
 * simulator behind ros2_control) with NAF + model-based acceleration (paper Algorithm 2).
 *
 * Topics: subscribes `ros.joint_states_topic` (sensor_msgs/msg/JointState, sensor-data QoS) and
 * `ros.estop_topic` (std_msgs/msg/Bool, latched QoS, true = stop); publishes torques in the
 * order of `joints` on `ros.effort_command_topic` (std_msgs/msg/Float64MultiArray), returns of
 * completed episodes on `~/episode_return` (std_msgs/msg/Float64) and `/diagnostics` at 1 Hz.
 * Services (std_srvs/srv/Trigger): `~/pause`, `~/resume`, `~/save`.
 *
 * Control loop: a timer at `control_rate_hz`; each tick reads the newest joint state, runs the
 * state machine, passes the torque through the safety supervisor and publishes it.
 *   WAITING (no valid joint state yet; nothing published)
 *   -> HOMING: torque-capped PD to the episode's start pose (sampled by the task: home pose plus
 *      low-variance noise, Sec. 5.3), gains `safety.homing_kp/kd` or derived from the arm
 *      (`derivedHomingGains`), gravity compensation added by the supervisor, until homed; then
 *      RUNNING (or PAUSED on homing timeout);
 *   -> RUNNING: T steps of the episode's controller (NAF with probability p, else iLQG), each
 *      transition (x_t, u_t, r_t, x_{t+1}) to the learner, u_t being the controller's share of
 *      the torque actually published (after the supervisor's rules, without g(q) and −D q̇); then HOMING for the next episode, or DONE after
 *      `training.episodes`.
 *   PAUSED and ESTOP publish zero torque; a stale joint state (watchdog) aborts the episode.
 * Once the node has published a torque it publishes every tick (zero when unsafe): a
 * JointGroupEffortController holds the last command, so silence is not safe.
 * Learning runs in the learner (a worker thread in production): the loop never waits for it.
 *
 * Joint states from more than one publisher (`JointStateInput`'s publisher rule) are treated
 * like stale ones: zero torque, the running episode aborted, homing held, until one publisher
 * remains. Where the middleware reports no publisher GID, more than one publisher on the topic
 * in the ROS graph counts as that conflict.
 *
 * Resume (`ros.resume`): the learner restores the newest checkpoint of the run folder; the node
 * logs it, continues the episode count from it and stops at `training.episodes` in total (a
 * finished run holds zero torque at once and says how to extend the budget).
 *
 * `/diagnostics` (1 Hz) has three statuses: safety, control loop, learner; every report also
 * goes as one JSON line to `diagnosticsFile` (the run folder's `diagnostics.jsonl`).
 *
 * Run folder: every episode's end goes to the learner with what the node saw of it (final
 * distance, steps, the supervisor's interventions by rule); the learner keeps the records,
 * config.yaml, summary.md and learning_curve.svg (`src/training/node_run_folder.ts`), so no file
 * is written from the control tick.
 *
 * `mode: deploy` (src/ros/deploy/deploy.ts): the same loop, homing, supervisor, watchdog and e-stop with
 * a fixed greedy actor and a learner that learns nothing; the budget is `deploy.episodes`
 * (0 = until stopped) and nothing is checkpointed (the episodes are recorded in the run folder).
 */
import type { ArmDynamics, ArmSpec, Task } from '../../env/types.js';
import type { NafConfig } from '../../config/schema.js';
import type { PolicySnapshot } from '../../agent/types.js';
import type { LinearGaussianController } from '../../control/types.js';
import type { LearnerClient } from '../../training/learner_client.js';
import type { LearnerStats } from '../../training/learner_types.js';
import { derivedHomingGains, homed, pdHomingTorque } from '../../control/pd_homing.js';
import { dampingPlan, totalDamping, type DampingPlan } from '../../control/damping_injection.js';
import { checkNodeDamping, speedLimits, supervisorOptions } from '../../config/control_law.js';
import { SUCCESS_DISTANCE } from '../../report/run_folder.js';
import { evaluationStarts } from '../../training/episode.js';
import { ArmEvaluation, type EvaluationLearner } from './arm_evaluation.js';
import type { Logger } from '../../util/logger.js';
import type { Rng } from '../../util/rng.js';
import { createWriteStream, type WriteStream } from 'node:fs';
import { diagnosticArray, JitterMeter, learnerStatus, LearnerWindow, loopStatus, MainThreadMeter, safetyStatus } from './diagnostics.js';
import { JointStateInput, shortGid } from './joint_state_input.js';
import { installParameterValidation } from './parameters.js';
import { SafetySupervisor, INTERVENTION_KINDS, type InterventionKind, type TipKinematics } from '../../safety/supervisor.js';
import { EPISODE_INTERVENTION_KINDS, noInterventions } from '../../safety/supervised_arm.js';
import type { DiagnosticStatusMsg, Float64Msg, Float64MultiArrayMsg, RosNode, RosPublisher, TriggerResponse } from '../transport/transport.js';

/** What the node needs of `EpisodeActor` (src/training/episode_actor.ts). */
export interface TrainerActor {
  readonly onPolicyFraction: number;
  /** -1 before the first policy snapshot. */
  readonly policyVersion: number;
  setOnPolicyFraction(p: number): void;
  setPolicy(snapshot: PolicySnapshot): void;
  setController(ctrl: LinearGaussianController): void;
  beginEpisode(): 'naf' | 'ilqg';
  /** u_t [dU] N·m for x [dX] at step t. */
  act(x: Float64Array, t: number): Float64Array;
}

export interface NafTrainerDeps {
  node: RosNode;
  /** The effective, validated config (`declareConfigParameters`). */
  config: NafConfig;
  /** URDF limits of `config.joints`, in that order. */
  spec: ArmSpec;
  task: Task;
  actor: TrainerActor;
  learner: LearnerClient;
  /** Episode starts (targets, start poses). */
  rng: Rng;
  logger: Logger;
  /** Clock of the jitter meter, s (default performance.now; the node's clock on simulation time). */
  steadyNow?: () => number;
  /** The run folder (named in the budget message), when there is one. */
  runDir?: string;
  /** Appends every /diagnostics report as a JSON line here (the run folder's diagnostics.jsonl). */
  diagnosticsFile?: string;
  /** Measures event-loop delay and GC pauses of this thread for /diagnostics (real runs; off in tests on a virtual clock). */
  measureMainThread?: boolean;
  /**
   * The arm's rigid-body model (MuJoCo on its URDF, `RigidBodyModel`): needed for
   * `safety.gravity_compensation: model`, a workspace box, and derived homing gains.
   */
  dynamics?: ArmDynamics;
  /** The tip's forward kinematics (the task's `KinematicChain`): needed for a workspace box. */
  tip?: TipKinematics;
  /**
   * The damping plan (`safety.damping_injection`, `config/control_law.ts` `configDampingPlan`);
   * default: derived from the config, the task's u_max and the URDF damping of `dynamics` (0 without it).
   */
  damping?: DampingPlan;
  /** More /diagnostics statuses (a fleet actor's link to its learner), given the hardware id. */
  extraStatus?: (hardwareId: string) => DiagnosticStatusMsg[];
}

const fmtGains = (g: Float64Array | number) => (typeof g === 'number' ? String(g) : Array.from(g, (v) => +v.toPrecision(3)).join(', '));

/** Where the damping term runs and D, for the start line (a safety engineer reads it). */
export function dampingLine(plan: DampingPlan, joints: readonly string[]): string {
  const D = `D [${fmtGains(plan.D)}] N·m·s/rad${plan.derived ? ' (derived)' : ''}`;
  if (plan.mode === 'none') return 'damping injection none (URDF damping only)';
  if (plan.mode === 'node') return `damping injection node (naf_ros adds −D q̇ at the control rate), ${D}`;
  return `damping injection hardware: the robot adds −D q̇ in its own loop (joint-impedance mode, stiffness 0), ${D} for [${joints.join(', ')}]`;
}

export type TrainerState = 'WAITING' | 'HOMING' | 'RUNNING' | 'PAUSED' | 'ESTOP' | 'DONE';

export class NafTrainerNode {
  readonly supervisor: SafetySupervisor;
  readonly input: JointStateInput;
  readonly jitter: JitterMeter;
  state: TrainerState = 'WAITING';
  /** Completed and aborted episodes. */
  completed = 0;
  aborted = 0;
  lastReturn: number | null = null;
  /** Publishers of the joint-states topic in the ROS graph at the last report. */
  graphPublishers = 0;
  /** Control periods spent at zero torque because of a publisher conflict. */
  conflictSteps = 0;
  readonly learnerWindow = new LearnerWindow();
  /** Codes of the learning-health warnings in the latest learner stats (logged when they start). */
  private warned = new Set<string>();
  private readonly mainThread: MainThreadMeter | null;
  private readonly diagFile: WriteStream | null;
  private readonly sessionStart: { completed: number; aborted: number };
  private inConflict = false;
  private cfg: NafConfig;
  private readonly torquePub: RosPublisher<Float64MultiArrayMsg>;
  private readonly returnPub: RosPublisher<Float64Msg>;
  private armed = false;
  private estopAsserted = false;
  /** The running episode's controller; 'greedy': an evaluation episode (`ArmEvaluation`). */
  private controller: 'naf' | 'ilqg' | 'greedy' | 'none' = 'none';
  private t = 0;
  private ret = 0;
  private prev: { x: Float64Array; u: Float64Array } | null = null;
  private qStart: Float64Array | null = null;
  private homingSince = 0;
  private waitingPolicyLogged = false;
  /** Why the run ends after the running episode (`finish`), or null. */
  private finishReason: string | null = null;
  private prevCounts: Record<InterventionKind, number>;
  /** The supervisor's counts when the running episode began. */
  private episodeCounts: Record<InterventionKind, number>;
  private readonly timers: { cancel(): void }[] = [];
  private readonly deploy: boolean;
  /** The damping term of the control law: where it runs and D per joint. */
  readonly damping: DampingPlan;
  /** Tip distance to the target at the end of each completed episode of this session, m. */
  readonly finalDistances: number[] = [];
  /** Greedy evaluation episodes on the arm (`ros.eval_every_episodes`); null in deploy mode or with a learner that offers none. */
  readonly evaluation: ArmEvaluation | null;
  /** Homing gains derived from M(q_home), the joint damping (URDF + injected) and the control period (used where homing_kp/kd are 0). */
  private readonly derivedGains: { kp: Float64Array; kd: Float64Array } | null;

  /** @throws RangeError from the supervisor or input when the config and spec disagree. */
  constructor(private readonly deps: NafTrainerDeps) {
    const { node, config, spec, logger, learner, actor } = deps;
    this.cfg = config;
    this.deploy = config.mode === 'deploy';
    const s = config.safety;
    const need = (what: string) => new RangeError(`naf_trainer: ${what} needs the arm's rigid-body model (NafTrainerDeps.dynamics)`);
    if (s.gravity_compensation === 'model' && !deps.dynamics) throw need('safety.gravity_compensation: model');
    const bounded = s.workspace_min.length > 0;
    if (bounded && !(deps.dynamics && deps.tip)) throw need('a workspace box (safety.workspace_min/max)');
    if ((s.homing_kp === 0 || s.homing_kd === 0) && !deps.dynamics) throw need('derived homing gains (safety.homing_kp/kd = 0)');
    this.damping = deps.damping ?? dampingPlan({
      mode: s.damping_injection, given: s.joint_damping, uMax: deps.task.uMax, speedLimit: speedLimits(config, spec),
      urdfDamping: deps.dynamics?.damping ?? new Float64Array(spec.jointNames.length), speedFraction: s.damping_speed_fraction,
    });
    if (this.damping.mode === 'node') {
      if (!deps.dynamics) throw need('safety.damping_injection: node (the sampled-data check)');
      checkNodeDamping(config, this.damping, deps.dynamics);
    }
    this.supervisor = new SafetySupervisor(spec, supervisorOptions(config, spec, this.damping, deps.dynamics ?? null, deps.tip ?? null), logger);
    this.derivedGains = deps.dynamics
      ? derivedHomingGains(deps.dynamics.massMatrix(Float64Array.from(config.task.home_pose)), totalDamping(this.damping), 1 / config.control_rate_hz)
      : null;
    this.prevCounts = { ...this.supervisor.counts };
    this.episodeCounts = { ...this.supervisor.counts };
    const evalLearner = learner.greedyPolicy && learner.recordEvaluation ? (learner as LearnerClient & EvaluationLearner) : null;
    this.evaluation = !this.deploy && evalLearner
      ? new ArmEvaluation(evaluationStarts(deps.task, config.training.eval_episodes, config.training.eval_seed), deps.task.uMax, evalLearner, logger)
      : null;
    if (config.ros.eval_every_episodes > 0 && !this.evaluation) {
      logger.warn(`ros.eval_every_episodes ${config.ros.eval_every_episodes}: no evaluation episodes ${this.deploy ? 'in deploy mode (every episode is one)' : 'with this learner (a fleet actor: its learner does not offer the greedy policy)'}`);
    }
    this.input = new JointStateInput({ joints: config.joints, maxStampSkew: s.state_timeout_ms / 1000, conflictHoldS: config.ros.joint_states_conflict_hold_s, logger });
    const period = 1 / config.control_rate_hz;
    this.jitter = new JitterMeter(period);
    this.torquePub = node.createPublisher('std_msgs/msg/Float64MultiArray', config.ros.effort_command_topic, 'default');
    this.returnPub = node.createPublisher('std_msgs/msg/Float64', '~/episode_return', 'default');
    const diagPub = node.createPublisher('diagnostic_msgs/msg/DiagnosticArray', '/diagnostics', 'default');
    node.createSubscription('sensor_msgs/msg/JointState', config.ros.joint_states_topic, 'sensor_data', (m, info) => this.input.accept(m, node.now(), info.publisherGid));
    node.createSubscription('std_msgs/msg/Bool', config.ros.estop_topic, 'latched', (m) => this.onEstop(m.data));
    node.createService('std_srvs/srv/Trigger', '~/pause', () => this.pause());
    node.createService('std_srvs/srv/Trigger', '~/resume', () => this.resume());
    node.createService('std_srvs/srv/Trigger', '~/save', () => this.save());
    learner.onPolicy((snap) => actor.setPolicy(snap));
    learner.onController((ctrl) => actor.setController(ctrl));
    learner.onStats((st: LearnerStats) => {
      this.learnerWindow.update(st);
      // A learning-health warning is logged once when it starts (it stays on /diagnostics while active).
      const now = new Set((st.warnings ?? []).map((w) => w.code));
      for (const w of st.warnings ?? []) if (!this.warned.has(w.code)) logger.warn(`not learning? [${w.code}] from episode ${w.episode}: ${w.message}`);
      this.warned = now;
    });
    learner.onDone?.((why) => this.finish(why));
    learner.onLog?.((level, message) => logger[level](message));
    this.mainThread = deps.measureMainThread ? new MainThreadMeter() : null;
    this.diagFile = deps.diagnosticsFile ? createWriteStream(deps.diagnosticsFile, { flags: 'a' }) : null;
    this.diagFile?.on('error', (e) => logger.error(`cannot write ${deps.diagnosticsFile}: ${e.message}; /diagnostics continues`));
    if (learner.resumed) {
      const r = learner.resumed;
      this.completed = r.completed;
      this.aborted = r.aborted;
      logger.info(`resumed from checkpoint ${r.checkpoint}: ${r.completed} episodes completed and ${r.aborted} aborted before it; ` +
        `episodes continue from ${r.completed + r.aborted + 1}, budget training.episodes = ${config.training.episodes}`);
      if (this.completed >= config.training.episodes) {
        this.state = 'DONE';
        logger.warn(`${this.budgetDone()} (nothing to train)`);
      }
    }
    this.sessionStart = { completed: this.completed, aborted: this.aborted };
    if (learner.priority) logger.info(learner.priority);
    installParameterValidation(node, () => this.cfg, (next, changed) => {
      this.cfg = next;
      if (changed.includes('model_based.on_policy_fraction')) actor.setOnPolicyFraction(next.model_based.on_policy_fraction);
      logger.info(`parameters updated: ${changed.map((n) => `${n}`).join(', ')} (p applies from the next episode)`);
    });
    this.timers.push(node.createTimer(period, () => this.guardedTick()));
    this.timers.push(node.createTimer(1.0, () => this.report(diagPub)));
    logger.info(`naf_trainer${this.deploy ? ' (deploy mode: greedy policy, no learning)' : ''}: ${config.joints.length} joints [${config.joints.join(', ')}], ${config.control_rate_hz} Hz, T = ${deps.task.T}, ` +
      `${this.deploy ? '' : `p = ${actor.onPolicyFraction} (cap ${config.model_based.max_on_policy_fraction}), `}torque cap [${Array.from(this.supervisor.effortLimit).join(', ')}] N·m, ` +
      `gravity compensation ${s.gravity_compensation}, ${dampingLine(this.damping, config.joints)}, workspace ${bounded ? `[${s.workspace_min}] .. [${s.workspace_max}] m` : 'unbounded'}, ` +
      `homing kp [${fmtGains(this.homingGains().kp)}] kd [${fmtGains(this.homingGains().kd)}] cap [${fmtGains(this.homingCap())}] N·m; ` +
      `in ${node.resolveName(config.ros.joint_states_topic)}, out ${this.torquePub.topic}, e-stop ${node.resolveName(config.ros.estop_topic)}`);
  }

  /** Current config (after accepted parameter updates). */
  get config(): NafConfig {
    return this.cfg;
  }

  /** Step of the running episode. */
  get step(): number {
    return this.t;
  }

  /** True when joint states cannot be trusted because more than one publisher sends them. */
  private conflict(now: number): boolean {
    return this.input.conflict(now) || (this.input.source === '' && this.graphPublishers > 1);
  }

  private budgetDone(): string {
    const run = this.deps.runDir ?? '<run folder>';
    return `training budget of ${this.cfg.training.episodes} episodes (training.episodes) done; holding zero torque. ` +
      `To train further, resume this run with a larger budget: ros2 launch naf_ros <launch file> resume:=${run} episodes:=<total> ` +
      `(or ros.resume and training.episodes in a params file)`;
  }

  /** The 1 Hz report: due rate-limited logs, the graph's publisher count, /diagnostics, the run folder's line. */
  private report(pub: RosPublisher<ReturnType<NafTrainerNode['diagnostics']>>): void {
    const { node } = this.deps;
    const now = node.now();
    this.input.flushLogs(now);
    try {
      this.graphPublishers = node.countPublishers(this.cfg.ros.joint_states_topic);
    } catch (e) {
      this.deps.logger.warn(`cannot count the publishers of ${this.cfg.ros.joint_states_topic}: ${(e as Error).message}`);
    }
    this.learnerWindow.close(Date.now());
    this.mainThread?.close();
    const msg = this.diagnostics();
    pub.publish(msg);
    if (this.diagFile) {
      const line: Record<string, unknown> = { t: now, wall: new Date().toISOString() };
      for (const st of msg.status) {
        const group = st.name.replace(/^naf_trainer: /, '').replace(/ /g, '_');
        line[`${group}.level`] = st.level;
        for (const kv of st.values) line[`${group}.${kv.key}`] = kv.value;
      }
      this.diagFile.write(`${JSON.stringify(line)}\n`);
    }
  }

  /**
   * One control period, never throwing: an exception (a learner or actor bug) must not kill the
   * process while the effort controller holds the last torque. It pauses at zero torque instead.
   */
  private guardedTick(): void {
    try {
      this.tick();
    } catch (e) {
      this.deps.logger.error(`control tick failed, pausing at zero torque: ${(e as Error).stack ?? e}`);
      if (this.state === 'RUNNING') {
        try { this.endEpisode(true, 'control error'); } catch { /* keep going to the zero torque */ }
      }
      this.state = 'PAUSED';
      this.torquePub.publish({ layout: { dim: [], data_offset: 0 }, data: new Array(this.deps.spec.jointNames.length).fill(0) });
      this.armed = true;
    }
  }

  /** One control period. */
  private tick(): void {
    const { node, task, actor } = this.deps;
    this.jitter.tick((this.deps.steadyNow ?? (() => performance.now() / 1000))());
    const now = node.now();
    const js = this.input.latest;
    const conflict = this.conflict(now);
    if (conflict !== this.inConflict) {
      this.inConflict = conflict;
      if (conflict) this.deps.logger.error(`joint_states from more than one publisher (source ${shortGid(this.input.source ?? '')}, others ${this.input.otherPublishers(now).map(shortGid).join(', ') || 'seen in the graph'}; ${this.graphPublishers} on the topic): zero torque, a running episode aborted, homing held until one remains`);
      else this.deps.logger.info('joint_states from one publisher again: homing resumes');
    }
    if (conflict) this.conflictSteps++;
    const fresh = !conflict && !this.supervisor.stale(js, this.input.receivedAt, now);
    let u: Float64Array | null = null;
    if (this.state === 'WAITING' && fresh) this.startHoming(now);
    if (this.state === 'HOMING') {
      if (fresh) u = this.homingTorque(now);
      else this.homingSince = now; // the homing timeout counts time with valid states only
    } else if (this.state === 'RUNNING') {
      if (!fresh) {
        this.endEpisode(true, conflict ? 'joint_states from more than one publisher' : 'joint states stale (watchdog)');
        if ((this.state as TrainerState) !== 'DONE') this.state = 'HOMING';
      } else {
        const x = task.observe(js!);
        if (this.prev) {
          const r = task.reward(this.prev.x, this.prev.u);
          // Evaluation episodes are measured, not learned from (as the embedded test-return protocol).
          if (this.controller !== 'greedy') this.deps.learner.observe({ x: this.prev.x, u: this.prev.u, r, x2: x, terminal: false, t: this.t - 1 });
          this.ret += r;
        }
        if (this.t >= task.T) {
          this.endEpisode(false, 'horizon reached');
          u = (this.state as TrainerState) === 'HOMING' ? this.homingTorque(now) : null;
        } else {
          u = this.controller === 'greedy' ? this.evaluation!.act(x) : actor.act(x, this.t);
          this.prev = { x, u: u };
        }
      }
    }
    const stopped = this.state === 'PAUSED' || this.state === 'ESTOP' || this.state === 'DONE';
    if (!u && !stopped && !this.armed && !this.supervisor.estopLatched) return;
    const f = this.supervisor.filter(u ?? new Float64Array(this.deps.spec.jointNames.length), js, this.input.receivedAt, now);
    if (this.state === 'RUNNING' && this.prev) {
      // The transition's action is the controller's share of what is published (after the
      // supervisor's rules, without g(q) and −D q̇), as the embedded run records it.
      this.prev.u = f.control;
      this.t++;
    }
    this.armed = true;
    this.torquePub.publish({ layout: { dim: [], data_offset: 0 }, data: Array.from(f.u) });
  }

  private startHoming(now: number): void {
    // An evaluation's fixed starts do not draw from the training starts' stream.
    const start = this.evaluation?.active ? this.evaluation.nextStart() : this.deps.task.sampleEpisodeStart(this.deps.rng);
    this.deps.task.setTarget(start.target);
    this.qStart = start.q;
    this.homingSince = now;
    this.state = 'HOMING';
  }

  /** PD torque to the start pose; starts the episode when homed (then returns its first action). */
  private homingTorque(now: number): Float64Array | null {
    const s = this.cfg.safety;
    const js = this.input.latest!;
    if (!this.qStart) this.startHoming(now);
    const nJ = this.qStart!.length;
    if (homed(js.position, js.velocity, this.qStart!, s.homing_tolerance, s.homing_tolerance)) {
      if (this.evaluation?.active) {
        if (this.evaluation.ready) return this.beginEpisode(now);
      } else if (this.deps.actor.policyVersion >= 0) return this.beginEpisode(now);
      else {
        if (!this.waitingPolicyLogged) this.deps.logger.warn('homed, waiting for the first policy snapshot from the learner');
        this.waitingPolicyLogged = true;
      }
    } else if (now - this.homingSince > s.homing_timeout_s) {
      this.deps.logger.error(`homing did not converge within ${s.homing_timeout_s} s (|q - q_start| max ${Math.max(...js.position.map((q, i) => Math.abs(q - this.qStart![i]))).toFixed(3)} rad); paused: call ~/resume to retry`);
      this.state = 'PAUSED';
      return null;
    }
    return pdHomingTorque(js.position, js.velocity, this.qStart!, {
      ...this.homingGains(),
      // capped per joint by the policy's torque bound u_max (<= the URDF effort limit) too: homing
      // moves no harder than the learner may, and never trips the supervisor's clamp (gravity
      // compensation comes on top, in the supervisor, inside the effort left to it)
      maxTorque: this.homingCap(),
    });
  }

  /**
   * The homing PD torque cap per joint, N·m: `safety.homing_max_effort` where set (> 0), else the
   * policy's bound u_max; never above u_max or the URDF effort limit. A fixed default cannot fit
   * every arm: a cap far below the torque the policy may use leaves a heavy, damped arm unable to
   * home within the timeout (0.5 N·m moves an iiwa's shoulder, injected damping ~107 N·m·s/rad, at
   * 0.005 rad/s).
   */
  homingCap(): Float64Array {
    const s = this.cfg.safety;
    const set = s.homing_max_effort > 0 ? s.homing_max_effort : Infinity;
    return Float64Array.from(this.deps.task.uMax, (u, j) => Math.min(set, this.deps.spec.effortLimits[j], u));
  }

  /** The homing PD gains in force: `safety.homing_kp/kd` where set (> 0), else derived from the arm. */
  homingGains(): { kp: Float64Array | number; kd: Float64Array | number } {
    const s = this.cfg.safety;
    return { kp: s.homing_kp > 0 ? s.homing_kp : this.derivedGains!.kp, kd: s.homing_kd > 0 ? s.homing_kd : this.derivedGains!.kd };
  }

  private beginEpisode(now: number): Float64Array {
    const { actor, task } = this.deps;
    const evaluating = this.evaluation?.active === true;
    if (evaluating) this.controller = 'greedy';
    else {
      const p = this.supervisor.guardOnPolicyFraction(actor.onPolicyFraction);
      if (p !== actor.onPolicyFraction) actor.setOnPolicyFraction(p);
      this.controller = actor.beginEpisode();
    }
    this.episodeCounts = { ...this.supervisor.counts };
    this.state = 'RUNNING';
    this.t = 0;
    this.ret = 0;
    this.prev = null;
    this.qStart = null;
    const x = task.observe(this.input.latest!);
    const u = evaluating ? this.evaluation!.act(x) : actor.act(x, 0);
    this.prev = { x, u };
    this.deps.logger.debug(evaluating ? `evaluation episode starts at ${now.toFixed(3)} s`
      : `episode ${this.completed + this.aborted + 1} starts (${this.controller}) at ${now.toFixed(3)} s`);
    return u;
  }

  private endEpisode(aborted: boolean, why: string): void {
    const js = this.input.latest;
    const d = js ? this.deps.task.distance(this.deps.task.observe(js)) : NaN;
    // The supervisor's interventions in the episode's control steps (its record in the run folder).
    const interventions = noInterventions();
    for (const k of EPISODE_INTERVENTION_KINDS) interventions[k] = this.supervisor.counts[k] - this.episodeCounts[k];
    if (this.controller === 'greedy') {
      if (aborted) this.evaluation!.abandon(`its episode aborted after ${this.t} of ${this.deps.task.T} steps: ${why}`);
      else this.evaluation!.episodeDone(this.ret, d, interventions);
      this.prev = null;
      this.t = 0;
      this.controller = 'none';
      if (this.evaluation!.active) this.startHoming(this.deps.node.now());
      else this.next();
      return;
    }
    this.deps.learner.endEpisode({
      controller: this.controller === 'none' ? 'naf' : this.controller, return: this.ret, aborted,
      finalDistance: d, steps: this.t, interventions,
    });
    if (aborted) {
      this.aborted++;
      this.deps.logger.warn(`episode aborted after ${this.t} of ${this.deps.task.T} steps: ${why}`);
    } else {
      this.completed++;
      this.lastReturn = this.ret;
      this.returnPub.publish({ data: this.ret });
      this.finalDistances.push(d);
      this.deps.logger.info(`episode ${this.completed} (${this.controller}) return ${this.ret.toFixed(4)}, final distance ${(d * 100).toFixed(2)} cm`);
      if (!this.deploy && !this.deps.learner.checkpointsItself && this.completed % this.cfg.training.checkpoint_every_episodes === 0) void this.save();
    }
    this.prev = null;
    this.t = 0;
    this.controller = 'none';
    // Every ros.eval_every_episodes completed episodes (the budget's last included), an evaluation first.
    if (!aborted && this.finishReason === null && this.evaluation?.maybeBegin(this.completed, this.cfg.ros.eval_every_episodes)) {
      this.state = 'HOMING';
      this.startHoming(this.deps.node.now());
      return;
    }
    this.next();
  }

  /** After an episode (or an evaluation): DONE at the budget or on `finish`, else homing for the next. */
  private next(): void {
    const budget = this.deploy ? this.cfg.deploy.episodes : this.cfg.training.episodes;
    this.state = (budget > 0 && this.completed >= budget) || this.finishReason !== null ? 'DONE' : 'HOMING';
    if (this.state === 'DONE') {
      if (this.finishReason !== null) this.deps.logger.info(`${this.finishReason}; holding zero torque`);
      else if (this.deploy) {
        const ds = this.finalDistances.filter(Number.isFinite).sort((a, b) => a - b);
        const within = ds.filter((x) => x < SUCCESS_DISTANCE).length;
        this.deps.logger.info(`deploy budget of ${budget} episodes done: ${within}/${this.finalDistances.length} within ${SUCCESS_DISTANCE * 100} cm, ` +
          `median final distance ${ds.length ? (ds[(ds.length - 1) >> 1] * 100).toFixed(2) : '-'} cm, ${this.aborted} aborted; holding zero torque`);
      }
      else {
        this.deps.logger.info(this.budgetDone());
        if (!this.deps.learner.checkpointsItself) void this.save();
      }
    } else this.startHoming(this.deps.node.now());
  }

  /**
   * Ends the run when the learner says so (`LearnerClient.onDone`: the fleet's budget): the
   * running episode is finished, then zero torque; at once when none is running.
   */
  finish(reason: string): void {
    if (this.state === 'DONE' || this.finishReason !== null) return;
    this.finishReason = reason;
    if (this.state === 'RUNNING') return;
    this.state = 'DONE';
    this.deps.logger.info(`${reason}; holding zero torque`);
  }

  private onEstop(stop: boolean): void {
    this.estopAsserted = stop;
    if (!stop) {
      if (this.supervisor.estopLatched) this.deps.logger.warn('e-stop topic released; call ~/resume to continue');
      return;
    }
    this.supervisor.engageEstop(`true on ${this.deps.node.resolveName(this.cfg.ros.estop_topic)}`);
    if (this.state === 'RUNNING') this.endEpisode(true, 'e-stop');
    this.state = 'ESTOP';
  }

  /** `~/pause`: aborts a running episode and holds zero torque. */
  pause(): TriggerResponse {
    if (this.state === 'ESTOP') return { success: false, message: 'e-stop latched (already at zero torque)' };
    if (this.state === 'DONE') return { success: false, message: `${this.deploy ? 'deploy' : 'training'} done (already at zero torque)` };
    if (this.state === 'RUNNING') this.endEpisode(true, 'paused');
    this.state = 'PAUSED';
    return { success: true, message: 'paused: zero torque' };
  }

  /** `~/resume`: leaves PAUSED, or a latched e-stop once the e-stop topic reads false. */
  resume(): TriggerResponse {
    if (this.state === 'ESTOP') {
      if (this.estopAsserted) return { success: false, message: `e-stop still asserted on ${this.deps.node.resolveName(this.cfg.ros.estop_topic)}` };
      this.supervisor.releaseEstop('~/resume');
    } else if (this.state !== 'PAUSED') {
      return { success: false, message: `not paused (state ${this.state})` };
    }
    this.state = 'WAITING';
    this.qStart = null;
    return { success: true, message: 'resumed: homing' };
  }

  /** `~/save`: checkpoint of the learner; the message is its folder. */
  async save(): Promise<TriggerResponse> {
    if (this.deploy) return { success: false, message: 'deploy mode: no learning, nothing to save' };
    try {
      const path = await this.deps.learner.save();
      this.deps.logger.info(`checkpoint saved to ${path}`);
      return { success: true, message: path };
    } catch (e) {
      this.deps.logger.error(`checkpoint failed: ${(e as Error).message}`);
      return { success: false, message: (e as Error).message };
    }
  }

  /** The `/diagnostics` message of now. */
  diagnostics() {
    const now = this.deps.node.now();
    const j = this.jitter.stats();
    const counts = { ...this.supervisor.counts };
    const hw = this.deps.node.resolveName('~');
    const m = this.mainThread?.last;
    const msg = diagnosticArray(now, [
      safetyStatus({
        estopLatched: this.supervisor.estopLatched, counts, previousCounts: this.prevCounts,
        rejected: { ...this.input.rejected }, missingJoints: this.input.missing,
        stateStale: this.supervisor.stale(this.input.latest, this.input.receivedAt, now),
        stateTimeoutMs: this.cfg.safety.state_timeout_ms, maxOnPolicyFraction: this.cfg.model_based.max_on_policy_fraction,
        onPolicyFraction: this.deps.actor.onPolicyFraction,
        publishers: {
          graph: this.graphPublishers, source: this.input.source, others: this.input.otherPublishers(now),
          conflict: this.conflict(now), conflicts: this.input.conflicts, conflictSteps: this.conflictSteps,
        },
      }, hw),
      loopStatus({
        state: this.state, episode: this.completed + this.aborted, step: this.t, controller: this.controller,
        policyVersion: this.deps.actor.policyVersion, lastReturn: this.lastReturn, period: this.jitter.period,
        jitterMean: j.mean, jitterP99: j.p99, jitterMax: j.max, jitterSamples: j.n,
        mainThread: m ?? null,
      }, hw),
      learnerStatus(this.learnerWindow.last, this.state === 'RUNNING', hw),
      ...(this.deps.extraStatus?.(hw) ?? []),
    ]);
    this.prevCounts = counts;
    return msg;
  }

  /** Publishes zero torque (if ever armed) and stops the timers. The caller closes the learner. */
  shutdown(): void {
    for (const t of this.timers.splice(0)) t.cancel();
    if (this.armed) this.torquePub.publish({ layout: { dim: [], data_offset: 0 }, data: new Array(this.deps.spec.jointNames.length).fill(0) });
    this.mainThread?.dispose();
    this.diagFile?.end();
    const s0 = this.sessionStart;
    this.deps.logger.info(`naf_trainer stopped: ${this.completed} episodes completed, ${this.aborted} aborted in the run ` +
      `(this session: ${this.completed - s0.completed} completed, ${this.aborted - s0.aborted} aborted); ` +
      `interventions ${INTERVENTION_KINDS.map((k) => `${k} ${this.supervisor.counts[k]}`).join(', ')}; ` +
      `publisher conflicts ${this.input.conflicts}`);
  }
}
