/**
 * Greedy evaluation episodes on the arm (`ros.eval_every_episodes`): the node's counterpart of the
 * embedded trainer's test-return protocol. After every k completed training episodes, naf_trainer
 * runs `training.eval_episodes` episodes of the learner's greedy policy (the averaged weights with
 * `agent.policy_averaging`, fetched once per evaluation: `LearnerClient.greedyPolicy`) from the
 * fixed evaluation starts (`training.eval_seed`, `evaluationStarts`), homing to each as in training,
 * under the same safety supervisor and watchdog; no exploration, no iLQG, nothing sent to the
 * learner as a transition. The evaluation is recorded as one line of the run folder's eval.jsonl
 * (`LearnerClient.recordEvaluation`), which `naf-ros report` plots as for an embedded run.
 *
 * An aborted evaluation episode (watchdog, e-stop, pause, a second joint-state publisher) abandons
 * the evaluation: it is logged, nothing is recorded, training goes on.
 */
import type { PolicySnapshot } from '../../agent/types.js';
import type { EpisodeStart } from '../../env/types.js';
import { SUCCESS_DISTANCE, type EvalRecord } from '../../report/run_folder.js';
import { sumInterventions, type EpisodeInterventions } from '../../safety/supervised_arm.js';
import { summariseEvaluation } from '../../training/episode.js';
import type { Logger } from '../../util/logger.js';
import { GreedyActor } from './greedy_actor.js';

/** What the evaluation needs of the learner. */
export interface EvaluationLearner {
  greedyPolicy(): Promise<PolicySnapshot>;
  recordEvaluation(record: EvalRecord): void;
}

export class ArmEvaluation {
  private queue: EpisodeStart[] = [];
  private actor: GreedyActor | null = null;
  private after = 0;
  private results: { ret: number; d: number; interventions: EpisodeInterventions }[] = [];
  /** Evaluations recorded and abandoned in this session. */
  recorded = 0;
  abandoned = 0;

  /**
   * @param starts the fixed evaluation starts (`evaluationStarts(task, training.eval_episodes, training.eval_seed)`)
   * @param uMax [dU] N·m the task's torque bound
   */
  constructor(private readonly starts: readonly EpisodeStart[], private readonly uMax: Float64Array,
    private readonly learner: EvaluationLearner, private readonly logger: Logger) {}

  /** An evaluation is under way (its episodes are the next ones). */
  get active(): boolean {
    return this.queue.length > 0;
  }

  /** The greedy policy has arrived: the next evaluation episode may start. */
  get ready(): boolean {
    return this.actor !== null;
  }

  /** True (and an evaluation begun) when `completed` training episodes call for one every `every` (0 = never). */
  maybeBegin(completed: number, every: number): boolean {
    if (every <= 0 || completed % every !== 0 || this.active) return false;
    this.queue = [...this.starts];
    this.results = [];
    this.actor = null;
    this.after = completed;
    this.learner.greedyPolicy().then(
      (s) => { if (this.active && this.after === completed) this.actor = new GreedyActor(s, this.uMax); },
      (e: Error) => this.abandon(`no greedy policy from the learner: ${e.message}`),
    );
    return true;
  }

  /** The start of the next evaluation episode. @throws Error when none is under way. */
  nextStart(): EpisodeStart {
    if (!this.active) throw new Error('ArmEvaluation.nextStart: no evaluation under way');
    return this.queue[0];
  }

  /** u = clamp(mu(x)) [dU] N·m of the greedy policy. @throws Error before `ready`. */
  act(x: Float64Array): Float64Array {
    if (!this.actor) throw new Error('ArmEvaluation.act: the greedy policy has not arrived');
    return this.actor.act(x, 0);
  }

  /**
   * One evaluation episode ran to the horizon. After the last one the evaluation is recorded.
   * @param d final tip distance to the target, m
   */
  episodeDone(ret: number, d: number, interventions: EpisodeInterventions): void {
    if (!this.active) return;
    this.results.push({ ret, d, interventions });
    this.queue.shift();
    if (this.active) return;
    const returns = this.results.map((r) => r.ret);
    const finalDistances = this.results.map((r) => r.d);
    // The embedded trainer's figures, computed by the same function (`summariseEvaluation`).
    const record: EvalRecord = {
      // totalSteps and wallSeconds: the learner's, filled in where the record is written
      episode: this.after, totalSteps: NaN, ...summariseEvaluation({ returns, finalDistances }, SUCCESS_DISTANCE), returns, finalDistances,
      best: false, interventions: sumInterventions(this.results.map((r) => r.interventions)), wallSeconds: NaN,
    };
    const version = this.actor?.policyVersion ?? -1;
    this.learner.recordEvaluation(record);
    this.recorded++;
    this.actor = null;
    this.logger.info(`evaluation after episode ${this.after}: ${record.successes}/${returns.length} within ${SUCCESS_DISTANCE * 100} cm, ` +
      `median final distance ${(record.medianDistance * 100).toFixed(2)} cm, mean return ${record.meanReturn.toFixed(3)} (greedy policy, version ${version})`);
  }

  /** Drops the evaluation under way (an aborted episode, no policy), saying why. */
  abandon(why: string): void {
    if (!this.active) return;
    this.logger.warn(`evaluation after episode ${this.after} abandoned (${this.results.length} of ${this.starts.length} episodes run): ${why}; training goes on`);
    this.queue = [];
    this.results = [];
    this.actor = null;
    this.abandoned++;
  }
}
