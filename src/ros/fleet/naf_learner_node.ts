/**
 * ROS 2 node `naf_learner`: the one learner of a fleet of arms (Gu, Holly, Lillicrap,
 * Levine, ICRA 2017). It owns R, R_f and the NAF agent, and per arm its B_f/B_old, TVLG model and
 * iLQG controller (`FleetLearner`, in a worker thread in production); this node is its ROS side.
 *
 * Where each piece runs, and why:
 *  - on each arm's computer, the actor (`naf_trainer` with `fleet.role: actor`): homing, episodes,
 *    the safety supervisor, p-mixing, the policy's forward pass (plain JS) and the iLQG controller —
 *    everything the control loop needs at its rate, with no network round trip inside a period;
 *  - here: the replay buffers, the gradient updates, each arm's TVLG refit (next to the data: the
 *    fit needs that arm's whole episodes, which arrive here anyway) and iLQG step (it needs the
 *    fit), and the imagination rollouts (they need the fit and the Q-function). The controller
 *    (a few thousand numbers) goes back to its arm after each refit; the policy to all arms every
 *    `training.publish_policy_every_updates` updates.
 *
 * Topics (std_msgs/msg/Float64MultiArray, labelled sections, `fleet_messages.ts`):
 *  - subscribes `fleet.episodes_topic` (reliable, transient local, keep last 1000: the episodes an
 *    actor published before this node (re)started come from its history; duplicates are dropped);
 *  - publishes `fleet.policy_topic` (latched: reliable, transient local, depth 1), the learner
 *    status on `fleet.status_topic` (latched, once a second and at the end of the run) and each
 *    arm's iLQG controller on `<arm namespace>/<fleet.controller_topic>` (latched);
 *  - `/diagnostics` (1 Hz): status `naf_learner: fleet` (arms, their episodes, refusals, shed
 *    updates); service `~/save` (std_srvs/srv/Trigger): a checkpoint now.
 * A malformed episode (wrong sizes, non-finite values, checksum, another arm's dimensions) is
 * refused, counted by reason and logged (rate-limited); nothing of it reaches R.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import type { NafConfig } from '../../config/schema.js';
import type { FleetInfo, FleetLearnerClient, FleetStatus } from '../../training/fleet_client.js';
import type { LearnerStats } from '../../training/learner_types.js';
import type { Logger } from '../../util/logger.js';
import { RateLimitedLog } from '../../util/rate_limited_log.js';
import { DIAG_OK, DIAG_WARN, diagnosticArray, oneThreadMessage, threadValues } from '../trainer/diagnostics.js';
import {
  decodeEpisode, encodeController, encodePolicy, encodeStatus, FleetMessageError, REFUSAL_REASONS,
  type RefusalReason, type TaskDims,
} from './fleet_messages.js';
import type { DiagnosticArrayMsg, DiagnosticStatusMsg, Float64MultiArrayMsg, QosSpec, RosNode, RosPublisher, RosTimer, TriggerResponse } from '../transport/transport.js';

export const LEARNER_FLEET_STATUS_NAME = 'naf_learner: fleet';

/** QoS of the episode subscription: reliable, transient local (an actor's history reaches a late learner), a deep queue. */
export const EPISODES_IN_QOS: QosSpec = { reliability: 'reliable', durability: 'transient_local', depth: 1000 };

export interface NafLearnerDeps {
  node: RosNode;
  config: NafConfig;
  /** The task's dimensions (dX, dU, T): episodes of other shapes are refused. */
  dims: TaskDims;
  client: FleetLearnerClient;
  logger: Logger;
  /** This learner's incarnation, ms since the epoch (default: now): its messages are newer than any earlier learner's. */
  incarnation?: number;
  /** The run folder (logged). */
  runDir?: string;
  /** Appends every /diagnostics report as a JSON line here (the run folder's diagnostics.jsonl). */
  diagnosticsFile?: string;
}

const kv = (key: string, value: string | number | boolean) => ({ key, value: String(value) });

export class NafLearnerNode {
  readonly incarnation: number;
  /** Episode messages received, refused by reason, and the learner's answers. */
  received = 0;
  readonly refused: Record<RefusalReason, number> = Object.fromEntries(REFUSAL_REASONS.map((r) => [r, 0])) as Record<RefusalReason, number>;
  accepted = 0;
  duplicates = 0;
  /** Episodes that arrived while the learner was stopping: not taken (the actor's history delivers them to the resumed learner). */
  closedOut = 0;
  afterBudget = 0;
  /** The learner's latest status and figures. */
  info: FleetInfo;
  fleet: FleetStatus | null = null;
  stats: LearnerStats | null = null;
  private readonly policyPub: RosPublisher<Float64MultiArrayMsg>;
  private readonly statusPub: RosPublisher<Float64MultiArrayMsg>;
  private readonly controllerPubs = new Map<string, RosPublisher<Float64MultiArrayMsg>>();
  private readonly diagPub: RosPublisher<DiagnosticArrayMsg>;
  private readonly timers: RosTimer[] = [];
  private readonly log: RateLimitedLog;
  /** Node time (s) of each arm's last episode in this session, and the arms reported silent. */
  private readonly lastEpisodeAt = new Map<string, number>();
  private readonly silent = new Set<string>();
  private prevRefused = 0;
  private prevShed = { updates: 0, shed: 0 };
  private doneAnnounced = false;
  private readonly diagFile: WriteStream | null;

  constructor(private readonly deps: NafLearnerDeps) {
    const { node, config, client, logger } = deps;
    const f = config.fleet;
    this.incarnation = deps.incarnation ?? Date.now();
    this.log = new RateLimitedLog(logger);
    this.info = client.startInfo;
    this.policyPub = node.createPublisher('std_msgs/msg/Float64MultiArray', f.policy_topic, 'latched');
    this.statusPub = node.createPublisher('std_msgs/msg/Float64MultiArray', f.status_topic, 'latched');
    this.diagPub = node.createPublisher('diagnostic_msgs/msg/DiagnosticArray', '/diagnostics', 'default');
    node.createSubscription('std_msgs/msg/Float64MultiArray', f.episodes_topic, EPISODES_IN_QOS, (m) => this.onEpisode(m));
    node.createService('std_srvs/srv/Trigger', '~/save', () => this.save());
    client.onPolicy((snap) => this.policyPub.publish(encodePolicy(snap, this.incarnation)));
    client.onController((arm, c, version) => this.controllerPub(arm).publish(encodeController(arm, c, version, this.incarnation)));
    client.onStats((st, fleet, info) => {
      this.stats = st;
      this.fleet = fleet;
      this.info = info;
      if (info.done && !this.doneAnnounced) this.publishStatus();
    });
    client.onLog((level, text) => logger.log(level, text));
    this.diagFile = deps.diagnosticsFile ? createWriteStream(deps.diagnosticsFile, { flags: 'a' }) : null;
    this.diagFile?.on('error', (e) => logger.error(`cannot write ${deps.diagnosticsFile}: ${e.message}; /diagnostics continues`));
    if (client.resumed) {
      const r = client.resumed;
      logger.info(`resumed from checkpoint ${r.checkpoint}: ${r.completed} episodes completed and ${r.aborted} aborted by the fleet before it, ` +
        `${this.info.arms} arm${this.info.arms === 1 ? '' : 's'} known; budget training.episodes = ${config.training.episodes}`);
    }
    if (this.info.done) logger.warn(`the fleet's training budget of ${config.training.episodes} episodes is already done (nothing to train); actors hold zero torque. Resume with a larger budget to train further (episodes:=<total>)`);
    if (client.priority) logger.info(client.priority);
    this.timers.push(node.createTimer(1.0, () => this.report()));
    logger.info(`naf_learner (incarnation ${this.incarnation})${deps.runDir ? `, run folder ${deps.runDir}` : ''}: episodes from ${node.resolveName(f.episodes_topic)}, ` +
      `policy to ${node.resolveName(f.policy_topic)} every ${config.training.publish_policy_every_updates} updates, status to ${node.resolveName(f.status_topic)}, ` +
      `iLQG controllers to <arm>/${f.controller_topic}; budget ${config.training.episodes} completed episodes of all arms`);
    client.publishAll();
    this.publishStatus();
  }

  /** The latched controller publisher of `arm` (created when the learner first speaks to that arm). */
  private controllerPub(arm: string): RosPublisher<Float64MultiArrayMsg> {
    let p = this.controllerPubs.get(arm);
    if (!p) {
      const t = this.deps.config.fleet.controller_topic;
      const topic = t.startsWith('/') ? t : `${arm === '/' ? '' : arm}/${t}`;
      p = this.deps.node.createPublisher('std_msgs/msg/Float64MultiArray', topic, 'latched');
      this.controllerPubs.set(arm, p);
    }
    return p;
  }

  private onEpisode(m: Float64MultiArrayMsg): void {
    this.received++;
    const receivedAt = Date.now();
    let ep;
    try {
      ep = decodeEpisode(m, this.deps.dims);
    } catch (e) {
      if (!(e instanceof FleetMessageError)) throw e;
      this.refused[e.reason]++;
      this.log.report(`episode refused (${e.reason})`, receivedAt / 1000, 'warn', `episode message refused (${e.reason}): ${e.message}; nothing of it is stored`);
      return;
    }
    this.lastEpisodeAt.set(ep.arm, this.deps.node.now());
    if (this.silent.delete(ep.arm)) this.deps.logger.info(`arm ${ep.arm} is back (session ${ep.session}, episode ${ep.episode})`);
    this.deps.client.ingest(ep, receivedAt).then((r) => {
      if (r === 'accepted') this.accepted++;
      else if (r === 'duplicate') {
        this.duplicates++;
        this.log.report('duplicate episode', Date.now() / 1000, 'info', `episode ${ep.episode} of arm ${ep.arm} (session ${ep.session}) is already stored: dropped`);
      } else if (r === 'closed') {
        this.closedOut++;
      } else {
        this.afterBudget++;
        this.log.report('episode after the budget', Date.now() / 1000, 'info', `episode ${ep.episode} of arm ${ep.arm} arrived after the budget was done: not stored`);
      }
    }, (e: Error) => this.deps.logger.error(`learner failed on episode ${ep.episode} of arm ${ep.arm}: ${e.stack ?? e.message}`));
  }

  private publishStatus(): void {
    this.statusPub.publish(encodeStatus(this.info, this.incarnation));
    this.doneAnnounced ||= this.info.done;
  }

  /** The 1 Hz report: the status heartbeat, silent arms, /diagnostics. */
  private report(): void {
    const now = this.deps.node.now();
    this.publishStatus();
    this.log.flush(Date.now() / 1000);
    const timeout = this.deps.config.fleet.arm_timeout_s;
    for (const [arm, at] of this.lastEpisodeAt) {
      if (!this.silent.has(arm) && now - at > timeout && !this.info.done) {
        this.silent.add(arm);
        this.deps.logger.warn(`arm ${arm} sent no episode for ${timeout} s (fleet.arm_timeout_s): training goes on with the other arms; its data stay in R`);
      }
    }
    const msg = diagnosticArray(now, [this.diagnostics(now)]);
    this.diagPub.publish(msg);
    if (this.diagFile) {
      const line: Record<string, unknown> = { t: now, wall: new Date().toISOString() };
      for (const st of msg.status) {
        line[`${st.name}.level`] = st.level;
        for (const v of st.values) line[`${st.name}.${v.key}`] = v.value;
      }
      this.diagFile.write(`${JSON.stringify(line)}\n`);
    }
  }

  /**
   * Status `naf_learner: fleet`: WARN on refused episodes, silent arms, more than half the updates
   * shed in the window, or a NAF update fallen back to one thread for good (values `threads.*`).
   */
  /** @param now node time, s */
  diagnostics(now = this.deps.node.now()): DiagnosticStatusMsg {
    const i = this.info;
    const refusedTotal = REFUSAL_REASONS.reduce((n, r) => n + this.refused[r], 0);
    const updates = i.updates - this.prevShed.updates, shed = i.shedUpdates - this.prevShed.shed;
    const shedFraction = updates + shed > 0 ? shed / (updates + shed) : 0;
    let level = DIAG_OK;
    let message = `${i.arms} arms, ${i.completed}/${i.budget} episodes, ${i.updates} updates${i.done ? '; budget done' : ''}`;
    if (refusedTotal > this.prevRefused) [level, message] = [DIAG_WARN, `episode messages refused: ${REFUSAL_REASONS.filter((r) => this.refused[r] > 0).map((r) => `${r} ${this.refused[r]}`).join(', ')}`];
    else if (this.silent.size) [level, message] = [DIAG_WARN, `arms silent for more than ${this.deps.config.fleet.arm_timeout_s} s: ${[...this.silent].join(', ')}`];
    else if (shedFraction > 0.5) [level, message] = [DIAG_WARN, `learner behind the fleet: ${(shedFraction * 100).toFixed(0)}% of the updates shed; ${message}`];
    else if (this.stats?.threads?.oneThreadForGood) [level, message] = [DIAG_WARN, `${oneThreadMessage(this.stats.threads)}; ${message}`];
    this.prevRefused = refusedTotal;
    this.prevShed = { updates: i.updates, shed: i.shedUpdates };
    const arms = this.fleet?.arms ?? [];
    return {
      level, name: LEARNER_FLEET_STATUS_NAME, message, hardware_id: this.deps.node.resolveName('~'),
      values: [
        kv('incarnation', this.incarnation), kv('arms', i.arms), kv('completed', i.completed), kv('aborted', i.aborted), kv('budget', i.budget), kv('done', i.done),
        kv('steps', i.steps), kv('updates', i.updates), kv('shed_steps', i.shedSteps), kv('shed_updates', i.shedUpdates),
        kv('window.shed_fraction', shedFraction.toFixed(4)), kv('policy_version', i.policyVersion), kv('checkpoints', i.checkpoints),
        kv('episodes_received', this.received), kv('episodes_accepted', this.accepted), kv('duplicates', this.duplicates), kv('after_budget', this.afterBudget),
        ...REFUSAL_REASONS.map((r) => kv(`refused.${r}`, this.refused[r])),
        ...threadValues(this.stats?.threads),
        ...arms.flatMap((a) => {
          const at = this.lastEpisodeAt.get(a.id);
          return [
            kv(`arm.${a.id}.completed`, a.completed), kv(`arm.${a.id}.aborted`, a.aborted), kv(`arm.${a.id}.refits`, a.refits),
            kv(`arm.${a.id}.duplicates`, a.duplicates), kv(`arm.${a.id}.silent_s`, at === undefined ? 'not this session' : (now - at).toFixed(1)),
          ];
        }),
      ],
    };
  }

  /** `~/save`: a checkpoint now; the message is its file. */
  async save(): Promise<TriggerResponse> {
    try {
      const path = await this.deps.client.save();
      this.deps.logger.info(`checkpoint saved to ${path}`);
      return { success: true, message: path };
    } catch (e) {
      this.deps.logger.error(`checkpoint failed: ${(e as Error).message}`);
      return { success: false, message: (e as Error).message };
    }
  }

  /** Episode messages received and decoded that the learner has not answered yet (queued in its thread). */
  get queued(): number {
    const refused = REFUSAL_REASONS.reduce((n, r) => n + this.refused[r], 0);
    return this.received - refused - this.accepted - this.duplicates - this.afterBudget - this.closedOut;
  }

  /** Stops the timers and says what the learner still has to take (the caller then closes the learner, then calls `stopped`). */
  shutdown(): void {
    for (const t of this.timers.splice(0)) t.cancel();
    this.diagFile?.end();
    if (this.queued > 0) this.deps.logger.info(`stopping: taking the ${this.queued} episode(s) received and queued (stored in R, their updates shed), then a checkpoint`);
  }

  /** The last line, after the learner closed: what this session took. */
  stopped(): void {
    this.deps.logger.info(`naf_learner stopped: ${this.accepted} episodes taken in this session (${this.duplicates} duplicates dropped, ` +
      `${REFUSAL_REASONS.reduce((n, r) => n + this.refused[r], 0)} refused, ${this.closedOut} arrived while stopping and left to the actors' history` +
      `${this.queued > 0 ? `, ${this.queued} still queued when the learner thread ended: lost` : ''}); the fleet: ${this.info.completed} completed, ${this.info.updates} updates`);
  }
}
