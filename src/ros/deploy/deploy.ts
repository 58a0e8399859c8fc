/**
 * Deploy mode of `naf_trainer` (`mode: deploy`): the greedy policy mu(x) of a trained checkpoint
 * drives the arm through the unchanged node — homing to each episode's start pose, the safety
 * supervisor (torque cap, soft limits, velocity limit, NaN guard), the joint-state watchdog and
 * the latched e-stop — with no learner, no exploration noise and no iLQG.
 *
 * Why a mode of the same node (and not a second node): the operator's params file, safety values,
 * topics, e-stop topic and services stay exactly those of training; only `mode`,
 * `deploy.checkpoint` and `deploy.episodes` differ. `launch/policy.launch.py` starts it.
 *
 * The p cap (`model_based.max_on_policy_fraction`) limits the exploring policy's share of real
 * episodes while it learns; in deploy mode every episode runs the fixed, noise-free policy, so p
 * does not apply. Launching deploy mode is the safety engineer's decision.
 */
import type { PolicySnapshot } from '../../agent/types.js';
import type { LinearGaussianController } from '../../control/types.js';
import type { NafConfig } from '../../config/schema.js';
import type { Task } from '../../env/types.js';
import type { LearnerClient } from '../../training/learner_client.js';
import type { EpisodeEnd, LearnerStats } from '../../training/learner_types.js';
import type { Transition } from '../../training/learner.js';
import type { Logger } from '../../util/logger.js';
import { Rng } from '../../util/rng.js';
import { NodeRunFolder } from '../../training/node_run_folder.js';
import { GreedyActor } from '../trainer/greedy_actor.js';

/**
 * The episode starts of deploy mode: the held-out test stream (`training.test_seed`), in order —
 * the starts of the run's `test.json` and of `naf-ros eval` (src/training/episode.ts
 * `heldOutStarts`), so a policy deployed on the node (on the MuJoCo bridge, in Gazebo, on the robot)
 * is measured on the same starts as in the embedded held-out test.
 */
export function deployStarts(config: NafConfig): Rng {
  return new Rng(`test:${config.training.test_seed}`);
}

/**
 * The learner of deploy mode: learns nothing, stores nothing, hands out the fixed policy. With a
 * run folder (`NodeRunFolder`) it records each completed episode there (metrics.jsonl / .csv: the
 * learning fields are 0, or NaN where they have no value) and rebuilds summary.md and
 * learning_curve.svg on `close`, after the control loop has stopped.
 */
export class NoLearner implements LearnerClient {
  /** Episodes ended (completed and aborted). */
  episodes = 0;
  readonly resumed = null;
  readonly priority = '';
  private completed = 0;
  private aborted = 0;
  private steps = 0;
  /** When the running episode's first transition came, ms (performance.now). */
  private startedAt = NaN;
  constructor(private readonly snapshot: PolicySnapshot, private readonly folder: NodeRunFolder | null = null) {}
  observe(_tr: Transition): void {
    if (Number.isNaN(this.startedAt)) this.startedAt = performance.now();
  }
  endEpisode(info: EpisodeEnd): void {
    this.episodes++;
    const steps = info.steps ?? 0;
    this.steps += steps;
    const s = (performance.now() - this.startedAt) / 1000;
    this.startedAt = NaN;
    if (info.aborted) { this.aborted++; return; }
    this.completed++;
    this.folder?.episode({
      episode: this.completed, controller: 'naf', return: info.return, finalDistance: info.finalDistance ?? NaN,
      updates: 0, imagined: 0, loss: NaN, qMean: NaN, steps, ...(info.interventions ? { interventions: info.interventions } : {}),
      totalSteps: this.steps, totalUpdates: 0, imaginedTotal: 0, modelMse: NaN,
      wallSeconds: this.folder.wallSeconds, stepsPerSecond: s > 0 ? steps / s : NaN, updatesPerSecond: 0, aborted: this.aborted,
    });
  }
  onPolicy(cb: (s: PolicySnapshot) => void): void { cb(this.snapshot); }
  onController(_cb: (c: LinearGaussianController) => void): void {}
  onStats(_cb: (s: LearnerStats) => void): void {}
  save(): Promise<string> { return Promise.reject(new Error('deploy mode: no learner, nothing to save')); }
  /** Rebuilds the run folder's summary and curve (the caller has stopped the control loop). */
  async close(): Promise<void> { await this.folder?.report(true); }
}

/**
 * Checks that a policy fits the node's arm and task: joints and dimensions must match (else it
 * cannot run); differences in the task or control rate are returned as warnings.
 * @throws Error naming both sides when joints or dimensions differ.
 */
export function checkPolicyFits(node: NafConfig, trained: NafConfig, snapshot: PolicySnapshot, task: Task, checkpoint: string): string[] {
  if (JSON.stringify(node.joints) !== JSON.stringify(trained.joints) || snapshot.dX !== task.dX || snapshot.dU !== task.dU) {
    throw new Error(`deploy.checkpoint ${checkpoint} was trained on joints ${JSON.stringify(trained.joints)} (dX ${snapshot.dX}, dU ${snapshot.dU}); this node controls ${JSON.stringify(node.joints)} (dX ${task.dX}, dU ${task.dU})`);
  }
  const warnings: string[] = [];
  if (node.control_rate_hz !== trained.control_rate_hz) warnings.push(`control_rate_hz is ${node.control_rate_hz} Hz, the policy was trained at ${trained.control_rate_hz} Hz`);
  for (const k of ['horizon', 'target_mode', 'fixed_target', 'random_target_spread', 'tip_link', 'home_pose', 'action_effort_fraction'] as const) {
    if (JSON.stringify(node.task[k]) !== JSON.stringify(trained.task[k])) warnings.push(`task.${k} is ${JSON.stringify(node.task[k])}, the policy was trained with ${JSON.stringify(trained.task[k])}`);
  }
  // The plant the policy learned: the control law's damping (derived from the speed limit and
  // u_max unless given) and gravity compensation. A different one is a different arm to the policy.
  for (const k of ['damping_injection', 'joint_damping', 'damping_speed_fraction', 'velocity_limit', 'gravity_compensation'] as const) {
    if (JSON.stringify(node.safety[k]) !== JSON.stringify(trained.safety[k]))
      warnings.push(`safety.${k} is ${JSON.stringify(node.safety[k])}, the policy was trained with ${JSON.stringify(trained.safety[k])}${k === 'velocity_limit' && trained.safety.joint_damping.length === 0 ? ' (the derived damping D follows it: the arm moves differently from training)' : ''}`);
  }
  return warnings;
}

/**
 * Actor and learner of a deploy-mode node: the policy of `config.deploy.checkpoint` (a run
 * folder or a checkpoint file), checked against the node's arm and task; with `runDir`, the
 * run folder where the learner records the episodes (`NoLearner`).
 * @throws Error when deploy.checkpoint is empty, CheckpointError when it cannot be read, Error
 *   when it does not fit the arm.
 */
export async function deployParts(config: NafConfig, task: Task, logger: Logger, runDir?: string): Promise<{ actor: GreedyActor; learner: NoLearner; checkpoint: string }> {
  if (!config.deploy.checkpoint) throw new Error('mode deploy needs deploy.checkpoint: a run folder or a checkpoint file (.safetensors)');
  const { loadCheckpointPolicy } = await import('../../training/eval_command.js');
  const policy = await loadCheckpointPolicy(config.deploy.checkpoint);
  for (const w of checkPolicyFits(config, policy.config, policy.snapshot, task, policy.path)) logger.warn(`deploy: ${w}`);
  logger.info(`deploy: greedy policy of ${policy.path} (${Number.isFinite(policy.episode) ? `${policy.episode} training episodes` : 'episodes unknown'}); no learning, no exploration, no iLQG`);
  return {
    actor: new GreedyActor(policy.snapshot, task.uMax, config.model_based.on_policy_fraction),
    learner: new NoLearner(policy.snapshot, runDir === undefined ? null : NodeRunFolder.open(config, runDir, { warn: (m) => logger.warn(m) })),
    checkpoint: policy.path,
  };
}
