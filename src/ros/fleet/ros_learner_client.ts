/**
 * The actor's side of a fleet: a `LearnerClient` over ROS 2 topics, so that
 * `NafTrainerNode` — homing, episodes, the full safety supervisor, p-mixing of NAF and iLQG
 * episodes — runs unchanged as one arm of a fleet (`fleet.role: actor`).
 *
 *  - Episodes out: each finished episode (x_0..x_T, the torques actually published, rewards,
 *    the controller, aborted or not) goes whole to `fleet.episodes_topic`, tagged with this arm
 *    (the node's namespace), this actor's session (its start time) and the episode number. QoS
 *    reliable, transient local, keep last `fleet.episode_history`: a learner that starts late or
 *    restarts gets the last episodes from the actor's own history, and drops those it already has.
 *  - Policy in: `fleet.policy_topic` (latched). Installed only when well-formed (sizes, finite
 *    values, checksum), shaped like this arm's config (dX, dU, kind, architecture, hidden sizes)
 *    and newer than the one held: (learner incarnation, version) must increase, so a late or
 *    replayed message never replaces newer parameters, while a restarted learner (a newer
 *    incarnation, resumed from a checkpoint with a smaller version) is followed. Everything else
 *    is refused, counted by reason and logged (rate-limited).
 *  - iLQG controller in: `fleet.controller_topic` in this arm's namespace, same rules. Until the
 *    learner's first one arrives the actor uses the initial controller of the config (the one
 *    the learner starts the arm with: zero mean, `model_based.ilqg_init_var`).
 *  - Learner status in: `fleet.status_topic` (about 1 Hz, latched): the learner's figures for this
 *    node's /diagnostics, the sign that it is alive, and the end of the run (`done`): the node
 *    finishes its episode and holds zero torque.
 *
 * When the learner goes away the actor keeps acting with the last parameters and controller it
 * holds (chosen: the safety supervisor stands between them and the arm exactly as before, the
 * policy is no worse than it was a moment ago, and the episodes are kept for the learner's
 * return); /diagnostics turns WARN ("no learner stats") and the status `naf_trainer: fleet` says
 * how long the learner has been silent.
 */
import type { PolicySnapshot } from '../../agent/types.js';
import type { LinearGaussianController } from '../../control/types.js';
import { initController } from '../../control/lg_controller.js';
import type { NafConfig } from '../../config/schema.js';
import type { Transition } from '../../training/learner.js';
import type { LearnerClient } from '../../training/learner_client.js';
import type { EpisodeEnd, LearnerStats, ResumeInfo } from '../../training/learner_types.js';
import type { FleetInfo } from '../../training/fleet_learner.js';
import type { Logger } from '../../util/logger.js';
import { RateLimitedLog } from '../../util/rate_limited_log.js';
import { DIAG_OK, DIAG_WARN } from '../trainer/diagnostics.js';
import {
  decodeController, decodePolicy, decodeStatus, encodeEpisode, FleetMessageError, REFUSAL_REASONS,
  type RefusalReason,
} from './fleet_messages.js';
import type { DiagnosticStatusMsg, Float64MultiArrayMsg, QosSpec, RosClient, RosNode, RosPublisher } from '../transport/transport.js';

export const FLEET_STATUS_NAME = 'naf_trainer: fleet';

/** What the actor needs of its task: dimensions and torque bounds. */
export interface ActorTaskDims {
  dX: number;
  dU: number;
  T: number;
  /** [dU] N·m, the policy's torque bound (the initial iLQG controller's scale). */
  uMax: Float64Array;
}

/** Newer = a later learner incarnation, or the same one with a larger version. */
const newer = (a: { incarnation: number; version: number }, held: { incarnation: number; version: number } | null) =>
  !held || a.incarnation > held.incarnation || (a.incarnation === held.incarnation && a.version > held.version);

export class RosLearnerClient implements LearnerClient {
  readonly resumed: ResumeInfo | null = null;
  readonly priority = '';
  readonly checkpointsItself = true;
  /** This arm's name in the fleet: the node's namespace. */
  readonly arm: string;
  /** This actor's session: its start time, ms since the epoch. */
  readonly session: number;
  episodesSent = 0;
  /** Learner messages refused, by reason (policy, controller and status together). */
  readonly refused: Record<RefusalReason, number> = Object.fromEntries(REFUSAL_REASONS.map((r) => [r, 0])) as Record<RefusalReason, number>;
  /** (incarnation, version) of the policy and controller installed; the latest learner status. */
  policyHeld: { incarnation: number; version: number } | null = null;
  controllerHeld: { incarnation: number; version: number };
  status: FleetInfo | null = null;
  /** Node time (ms) of the last message from the learner; NaN before the first. */
  lastHeardAt = NaN;
  private readonly episodePub: RosPublisher<Float64MultiArrayMsg>;
  private readonly saveClient: RosClient<'std_srvs/srv/Trigger'>;
  private readonly log: RateLimitedLog;
  private policy: PolicySnapshot | null = null;
  private controller: LinearGaussianController;
  private done: string | null = null;
  private readonly cbs = {
    policy: [] as ((s: PolicySnapshot) => void)[], controller: [] as ((c: LinearGaussianController) => void)[],
    stats: [] as ((s: LearnerStats) => void)[], done: [] as ((why: string) => void)[],
  };
  /** The episode being recorded: x_0..x_t, u, r, terminal; `broken` after a transition out of sequence. */
  private ep = { x: [] as Float64Array[], u: [] as Float64Array[], r: [] as number[], terminal: [] as boolean[], broken: false };

  /**
   * @param opts.session the actor session (default: the wall clock now, ms since the epoch); opts.now
   *   the clock of "last heard", ms (default: the node's clock)
   */
  constructor(private readonly node: RosNode, private readonly config: NafConfig, private readonly dims: ActorTaskDims, private readonly logger: Logger,
    private readonly opts: { session?: number; now?: () => number } = {}) {
    this.arm = node.namespace;
    this.session = opts.session ?? Date.now();
    this.log = new RateLimitedLog(logger);
    const f = config.fleet;
    const history: QosSpec = { reliability: 'reliable', durability: 'transient_local', depth: f.episode_history };
    this.episodePub = node.createPublisher('std_msgs/msg/Float64MultiArray', f.episodes_topic, history);
    node.createSubscription('std_msgs/msg/Float64MultiArray', f.policy_topic, 'latched', (m) => this.onPolicyMessage(m));
    node.createSubscription('std_msgs/msg/Float64MultiArray', f.controller_topic, 'latched', (m) => this.onControllerMessage(m));
    node.createSubscription('std_msgs/msg/Float64MultiArray', f.status_topic, 'latched', (m) => this.onStatusMessage(m));
    this.saveClient = node.createClient('std_srvs/srv/Trigger', f.save_service);
    this.controller = initController({ T: dims.T, dX: dims.dX, dU: dims.dU, uMax: dims.uMax, initVar: config.model_based.ilqg_init_var, x0: new Float64Array(dims.dX) });
    this.controllerHeld = { incarnation: 0, version: 0 };
    logger.info(`fleet actor ${this.arm} (session ${this.session}): episodes to ${node.resolveName(f.episodes_topic)} (history ${f.episode_history}), ` +
      `policy from ${node.resolveName(f.policy_topic)}, iLQG controller from ${node.resolveName(f.controller_topic)}, learner status from ${node.resolveName(f.status_topic)}`);
  }

  private now(): number {
    return this.opts.now ? this.opts.now() : this.node.now() * 1000;
  }

  private refuse(what: string, e: unknown): void {
    if (!(e instanceof FleetMessageError)) throw e;
    this.refused[e.reason]++;
    this.log.report(`${what} refused (${e.reason})`, this.now() / 1000, 'warn', `${what} refused (${e.reason}): ${e.message}; the actor keeps what it holds`);
  }

  private onPolicyMessage(m: Float64MultiArrayMsg): void {
    try {
      const d = decodePolicy(m, { dX: this.dims.dX, dU: this.dims.dU, kind: this.config.agent.kind, architecture: this.config.agent.architecture, hidden: this.config.agent.hidden });
      const id = { incarnation: d.incarnation, version: d.snapshot.version };
      this.lastHeardAt = this.now();
      if (this.policyHeld && id.incarnation === this.policyHeld.incarnation && id.version === this.policyHeld.version) return; // the same again
      if (!newer(id, this.policyHeld)) {
        throw new FleetMessageError('stale', `policy version ${id.version} of learner ${id.incarnation} is older than the one held (version ${this.policyHeld!.version} of learner ${this.policyHeld!.incarnation})`);
      }
      if (this.policyHeld && id.incarnation !== this.policyHeld.incarnation) this.logger.info(`policy from a new learner (incarnation ${id.incarnation}, version ${id.version}): installed`);
      this.policyHeld = id;
      this.policy = d.snapshot;
      this.cbs.policy.forEach((cb) => cb(d.snapshot));
    } catch (e) {
      this.refuse('policy message', e);
    }
  }

  private onControllerMessage(m: Float64MultiArrayMsg): void {
    try {
      const d = decodeController(m, this.dims);
      if (d.arm !== this.arm) throw new FleetMessageError('shape', `iLQG controller of arm ${d.arm} on this arm's topic (${this.arm})`);
      this.lastHeardAt = this.now();
      const id = { incarnation: d.incarnation, version: d.version };
      if (id.incarnation === this.controllerHeld.incarnation && id.version === this.controllerHeld.version) return;
      if (!newer(id, this.controllerHeld)) throw new FleetMessageError('stale', `iLQG controller version ${id.version} of learner ${id.incarnation} is older than the one held (version ${this.controllerHeld.version} of learner ${this.controllerHeld.incarnation})`);
      this.controllerHeld = id;
      this.controller = d.controller;
      this.cbs.controller.forEach((cb) => cb(d.controller));
    } catch (e) {
      this.refuse('iLQG controller message', e);
    }
  }

  private onStatusMessage(m: Float64MultiArrayMsg): void {
    try {
      const { info } = decodeStatus(m);
      this.lastHeardAt = this.now();
      this.status = info;
      const stats: LearnerStats = {
        at: Date.now(), episodes: info.completed + info.aborted, steps: info.steps, updates: info.updates, imaginedTotal: 0,
        lastReturn: NaN, divergences: 0, skippedSteps: info.shedSteps, shedUpdates: info.shedUpdates,
        lagMeanMs: 0, lagMaxMs: 0, lagSamples: 0, checkpoints: info.checkpoints, checkpointMs: NaN,
        // this arm's refits, as its controller's version says; their rejections are the learner's to report
        refits: this.controllerHeld.version, ilqgRejected: NaN, refit: null,
      };
      this.cbs.stats.forEach((cb) => cb(stats));
      if (info.done && this.done === null) {
        this.done = `the fleet's training budget of ${info.budget} episodes is done (${info.completed} completed by ${info.arms} arm${info.arms === 1 ? '' : 's'}; the learner said so)`;
        this.cbs.done.forEach((cb) => cb(this.done!));
      }
    } catch (e) {
      this.refuse('learner status message', e);
    }
  }

  /** Records one transition of the running episode (the node calls this in step order). */
  observe(tr: Transition): void {
    const e = this.ep;
    if (tr.t === 0) this.ep = { x: [tr.x], u: [], r: [], terminal: [], broken: false };
    else if (e.broken || tr.t !== e.u.length) {
      // Not the next step of the chain x_0 .. x_T: the episode is sent as recorded so far (aborted).
      e.broken = true;
      return;
    }
    this.ep.x.push(tr.x2);
    this.ep.u.push(tr.u);
    this.ep.r.push(tr.r);
    this.ep.terminal.push(tr.terminal);
  }

  /** Sends the finished episode to the learner. */
  endEpisode(info: EpisodeEnd): void {
    const e = this.ep;
    const steps = e.u.length;
    this.episodesSent++;
    const aborted = info.aborted || e.broken || steps !== this.dims.T;
    this.episodePub.publish(encodeEpisode({
      arm: this.arm, session: this.session, episode: this.episodesSent, controller: info.controller, aborted, return: info.return,
      policyVersion: this.policyHeld?.version ?? -1,
      x: steps > 0 ? e.x : [], u: e.u, r: Float64Array.from(e.r), terminal: e.terminal,
      ...(info.interventions ? { interventions: info.interventions } : {}),
    }, this.dims));
    this.ep = { x: [], u: [], r: [], terminal: [], broken: false };
  }

  onPolicy(cb: (s: PolicySnapshot) => void): void {
    this.cbs.policy.push(cb);
    if (this.policy) cb(this.policy);
  }

  onController(cb: (c: LinearGaussianController) => void): void {
    this.cbs.controller.push(cb);
    cb(this.controller);
  }

  onStats(cb: (s: LearnerStats) => void): void {
    this.cbs.stats.push(cb);
  }

  onDone(cb: (why: string) => void): void {
    this.cbs.done.push(cb);
    if (this.done !== null) cb(this.done);
  }

  /** `~/save` of the actor: asks the learner (`fleet.save_service`) for a checkpoint; resolves to its file. */
  async save(): Promise<string> {
    const r = await this.saveClient.call({}, 5);
    if (!r.success) throw new Error(`the learner (${this.saveClient.service}) did not save: ${r.message}`);
    return r.message;
  }

  async close(): Promise<void> {}

  /** Status `naf_trainer: fleet`: the link to the learner. WARN when it has been silent for 5 s or messages were refused. */
  diagnostics(hardwareId: string, previousRefused: number): DiagnosticStatusMsg {
    const silent = Number.isNaN(this.lastHeardAt) ? Infinity : (this.now() - this.lastHeardAt) / 1000;
    const refusedTotal = REFUSAL_REASONS.reduce((n, r) => n + this.refused[r], 0);
    let level = DIAG_OK;
    let message = `arm ${this.arm}: ${this.episodesSent} episodes sent, policy ${this.policyHeld ? `version ${this.policyHeld.version}` : 'none yet'}`;
    if (silent > 5) [level, message] = [DIAG_WARN, `learner silent for ${Number.isFinite(silent) ? `${silent.toFixed(1)} s` : 'ever'}: acting with the last parameters held (${this.policyHeld ? `version ${this.policyHeld.version}` : 'none: waiting at home'})`];
    else if (refusedTotal > previousRefused) [level, message] = [DIAG_WARN, `learner messages refused: ${REFUSAL_REASONS.filter((r) => this.refused[r] > 0).map((r) => `${r} ${this.refused[r]}`).join(', ')}`];
    const kv = (key: string, value: string | number) => ({ key, value: String(value) });
    return {
      level, name: FLEET_STATUS_NAME, message, hardware_id: hardwareId,
      values: [
        kv('arm', this.arm), kv('session', this.session), kv('episodes_sent', this.episodesSent),
        kv('policy_version', this.policyHeld?.version ?? -1), kv('policy_learner', this.policyHeld?.incarnation ?? -1),
        kv('controller_version', this.controllerHeld.version), kv('learner_silent_s', Number.isFinite(silent) ? silent.toFixed(1) : 'never heard'),
        kv('fleet_completed', this.status?.completed ?? 'unknown'), kv('fleet_budget', this.status?.budget ?? 'unknown'), kv('fleet_arms', this.status?.arms ?? 'unknown'),
        ...REFUSAL_REASONS.map((r) => kv(`refused.${r}`, this.refused[r])),
      ],
    };
  }

  /** A /diagnostics hook for the node (`NafTrainerDeps.extraStatus`): WARN on refusals since the previous report. */
  statusHook(): (hardwareId: string) => DiagnosticStatusMsg[] {
    let prev = 0;
    return (hw) => {
      const st = this.diagnostics(hw, prev);
      prev = REFUSAL_REASONS.reduce((n, r) => n + this.refused[r], 0);
      this.log.flush(this.now() / 1000);
      return [st];
    };
  }
}
