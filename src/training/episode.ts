/**
 * One real episode on an `Arm` (Algorithm 2 lines 141-154): start state, T steps of the chosen
 * controller, each transition to the learner, which trains after every step.
 */
import type { Arm, EpisodeStart, Task } from '../env/types.js';
import { Rng } from '../util/rng.js';
import { median } from '../report/run_folder.js';
import type { EpisodeActor, ControllerKind } from './episode_actor.js';
import { EPISODE_INTERVENTION_KINDS, noInterventions, SupervisedArm, type EpisodeInterventions } from '../safety/supervised_arm.js';
import type { InterventionKind } from '../safety/supervisor.js';
import type { Learner } from './learner.js';

export interface EpisodeResult {
  controller: ControllerKind;
  /** Sum of rewards over the T steps. */
  return: number;
  /** Fingertip distance to the target at the end of the episode, m. */
  finalDistance: number;
  updates: number;
  imagined: number;
  /** Mean minibatch loss of the episode's updates (NaN before learning starts). */
  loss: number;
  /** Mean Q(x, u) of the episode's minibatches (NaN before learning starts), scaled reward units. */
  qMean: number;
  steps: number;
  /**
   * Control steps of the episode in which a rule of the safety supervisor changed the command, by
   * kind (the embedded arm trains and evaluates behind the supervisor, `SupervisedArm`); zeros on
   * an arm without one.
   */
  interventions: EpisodeInterventions;
}

export interface EpisodeArgs {
  arm: Arm;
  task: Task;
  actor: EpisodeActor;
  /** When given, transitions are stored and training happens after every step. */
  learner: Learner | null;
  start: EpisodeStart;
  /** Act with mu(x) and no noise (test-return protocol). */
  greedy?: boolean;
  refreshPolicy?: () => void;
  /** Polled every step; true ends the episode early (Ctrl-C). */
  shouldStop?: () => boolean;
}

/** One episode advanced step by step (so a caller can yield to the event loop between steps). */
export class EpisodeRun {
  private x: Float64Array;
  private t = 0;
  private readonly r: EpisodeResult;
  /** The supervisor's counts at the episode start (null: the arm has none). */
  private readonly counts0: Readonly<Record<InterventionKind, number>> | null;

  constructor(private readonly a: EpisodeArgs) {
    a.task.setTarget(a.start.target);
    this.x = a.task.observe(a.arm.reset(a.start.q, a.start.qd));
    const controller = a.greedy ? 'naf' : a.actor.beginEpisode();
    this.counts0 = a.arm instanceof SupervisedArm ? { ...a.arm.interventions } : null;
    this.r = { controller, return: 0, finalDistance: NaN, updates: 0, imagined: 0, loss: NaN, qMean: NaN, steps: 0, interventions: noInterventions() };
  }

  /** Advances one control step; false when the episode is over (T steps, or stopped). */
  step(): boolean {
    const { arm, task, actor, learner, greedy } = this.a;
    if (this.t >= task.T || this.a.shouldStop?.()) return false;
    const x = this.x;
    const command = greedy ? actor.greedy(x) : actor.act(x, this.t);
    const x2 = task.observe(arm.step(command));
    // The action of the transition is the torque the controller actually got (after the arm's
    // clamp and supervisor), as the ROS node records it.
    const u = arm.lastControl ?? command;
    const r = task.reward(x, u);
    this.r.return += r;
    if (learner) {
      learner.observe({ x, u, r, x2, terminal: false, t: this.t });
      const s = learner.afterStep();
      this.r.updates += s.updates;
      this.r.imagined += s.imagined;
      this.r.loss = s.loss;
      this.r.qMean = s.qMean;
      this.a.refreshPolicy?.();
    }
    this.x = x2;
    this.t++;
    return true;
  }

  result(): EpisodeResult {
    const interventions = noInterventions();
    if (this.counts0 && this.a.arm instanceof SupervisedArm) {
      const now = this.a.arm.interventions;
      for (const k of EPISODE_INTERVENTION_KINDS) interventions[k] = now[k] - this.counts0[k];
    }
    return { ...this.r, finalDistance: this.a.task.distance(this.x), steps: this.t, interventions };
  }
}

/** Runs one episode from `start` synchronously (evaluation, tests). */
export function runEpisode(args: EpisodeArgs): EpisodeResult {
  const e = new EpisodeRun(args);
  while (e.step());
  return e.result();
}

/**
 * Runs one episode, yielding to the event loop every `yieldEvery` steps so that signals
 * (Ctrl-C, SIGTERM) and timers are served while training.
 */
export async function runEpisodeAsync(args: EpisodeArgs, yieldEvery = 5): Promise<EpisodeResult> {
  const e = new EpisodeRun(args);
  for (let k = 1; e.step(); k++) if (k % yieldEvery === 0) await new Promise((r) => setImmediate(r));
  return e.result();
}

/**
 * Held-out episode starts (initial joint state and, in random-target mode, the target) for the
 * greedy policy: `n` starts from `seed` of one of two evaluation streams.
 *
 * Disjoint from training by construction: training draws every random number from
 * `new Rng(config.seed)` and its forks, whose seedrandom keys are the bare seed (`"1"`) or
 * `"<component>:<integer>"` with the components `noise`, `actor`, `learner`, `episodes` (and
 * `node`, `node-episodes` in the ROS node); the evaluation streams are keyed `"eval:<seed>"`
 * (`training.eval_seed`: the periodic evaluations that pick the best checkpoint),
 * `"test:<seed>"` (`training.test_seed`: the held-out test of the final and best policies and
 * `naf-ros eval`) and `"test-random:<seed>"` (the same seed: the held-out test on random reachable
 * targets, whatever the task's target mode). Different keys give independent ARC4 streams,
 * whatever the seed numbers; and because the test stream differs from the eval stream, the policy
 * chosen as best is reported on starts it was not chosen on.
 */
export function heldOutStarts(task: Task, n: number, seed: number, stream: 'eval' | 'test' | 'test-random'): EpisodeStart[] {
  const rng = new Rng(`${stream}:${seed}`);
  const targets = stream === 'test-random' ? 'random' : 'task';
  return Array.from({ length: n }, () => task.sampleEpisodeStart(rng, targets));
}

/** The periodic evaluation starts (`training.eval_seed`): the same for every method and seed. */
export function evaluationStarts(task: Task, n: number, seed: number): EpisodeStart[] {
  return heldOutStarts(task, n, seed, 'eval');
}

/** The held-out test starts (`training.test_seed`, `naf-ros eval`). */
export function testStarts(task: Task, n: number, seed: number): EpisodeStart[] {
  return heldOutStarts(task, n, seed, 'test');
}

/**
 * The held-out starts on random reachable targets (`training.test_random_targets`, from
 * `training.test_seed`): targets across the workspace as the task's random mode draws them
 * (`task.random_target_spread`), also for a task trained on one fixed target — a test whose
 * outcome varies continuously with how far the policy's reach generalises, where the fixed
 * target's starts differ by millimetres and pass or fail together.
 */
export function randomTargetTestStarts(task: Task, n: number, seed: number): EpisodeStart[] {
  return heldOutStarts(task, n, seed, 'test-random');
}

/**
 * The test-return protocol shared by all methods: greedy policy, fixed evaluation starts, same
 * horizon. Returns per-episode returns and final distances (m), and the safety supervisor's
 * interventions summed over the episodes.
 */
export function evaluate(arm: Arm, task: Task, actor: EpisodeActor, starts: EpisodeStart[]): { returns: number[]; finalDistances: number[]; interventions: EpisodeInterventions } {
  const returns: number[] = [];
  const finalDistances: number[] = [];
  const interventions = noInterventions();
  for (const start of starts) {
    const r = runEpisode({ arm, task, actor, learner: null, start, greedy: true });
    returns.push(r.return);
    finalDistances.push(r.finalDistance);
    for (const k of EPISODE_INTERVENTION_KINDS) interventions[k] += r.interventions[k];
  }
  return { returns, finalDistances, interventions };
}

/** Mean return, episodes ending within `successDistance` (m) and the median final distance (m). */
export function summariseEvaluation(r: { returns: number[]; finalDistances: number[] }, successDistance: number): { meanReturn: number; successes: number; medianDistance: number } {
  return {
    meanReturn: r.returns.reduce((a, b) => a + b, 0) / r.returns.length,
    successes: r.finalDistances.filter((d) => d < successDistance).length,
    medianDistance: median(r.finalDistances),
  };
}
