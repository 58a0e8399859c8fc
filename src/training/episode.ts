/**
 * One real episode on an `Arm` (Algorithm 2 lines 141-154): start state, T steps of the chosen
 * controller, each transition to the learner, which trains after every step.
 */
import type { Arm, EpisodeStart, Task } from '../env/types.js';
import type { EpisodeActor, ControllerKind } from './episode_actor.js';
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
  steps: number;
}

/**
 * Runs one episode from `start`.
 * @param learner when given, transitions are stored and training happens after every step;
 *   when null the episode is a pure rollout (evaluation).
 * @param greedy act with mu(x) and no noise (test-return protocol)
 * @param shouldStop polled every step; true ends the episode early (Ctrl-C)
 */
export function runEpisode(args: {
  arm: Arm;
  task: Task;
  actor: EpisodeActor;
  learner: Learner | null;
  start: EpisodeStart;
  greedy?: boolean;
  refreshPolicy?: () => void;
  shouldStop?: () => boolean;
}): EpisodeResult {
  const { arm, task, actor, learner, start, greedy = false } = args;
  task.setTarget(start.target);
  let x = task.observe(arm.reset(start.q, start.qd));
  const controller = greedy ? 'naf' : actor.beginEpisode();
  let ret = 0, updates = 0, imagined = 0, loss = NaN, t = 0;
  for (; t < task.T; t++) {
    if (args.shouldStop?.()) break;
    const u = greedy ? actor.greedy(x) : actor.act(x, t);
    const x2 = task.observe(arm.step(u));
    const r = task.reward(x, u);
    ret += r;
    if (learner) {
      learner.observe({ x, u, r, x2, terminal: false, t });
      const s = learner.afterStep();
      updates += s.updates;
      imagined += s.imagined;
      loss = s.loss;
      args.refreshPolicy?.();
    }
    x = x2;
  }
  return { controller, return: ret, finalDistance: task.distance(x), updates, imagined, loss, steps: t };
}

/** Deterministic evaluation starts: the same `n` episode starts for every method and seed. */
export function evaluationStarts(task: Task, n: number, seed: number, rngCtor: (s: number) => import('../util/rng.js').Rng): EpisodeStart[] {
  const rng = rngCtor(seed);
  return Array.from({ length: n }, () => task.sampleEpisodeStart(rng));
}

/**
 * The test-return protocol shared by all methods: greedy policy, fixed evaluation starts, same
 * horizon. Returns per-episode returns and final distances (m).
 */
export function evaluate(arm: Arm, task: Task, actor: EpisodeActor, starts: EpisodeStart[]): { returns: number[]; finalDistances: number[] } {
  const returns: number[] = [];
  const finalDistances: number[] = [];
  for (const start of starts) {
    const r = runEpisode({ arm, task, actor, learner: null, start, greedy: true });
    returns.push(r.return);
    finalDistances.push(r.finalDistance);
  }
  return { returns, finalDistances };
}
