/**
 * Imagination rollouts (paper Sec. 5.2, Algorithm 2 lines 148-152): from start states sampled from
 * the previous batch B_old, roll `l` steps forward in the model M under the *current* policy plus
 * exploration noise (on-policy imagination), reward each step with the known reward r(x, u), and
 * store the fictional transitions in R_f.
 */
import type { QAgent } from '../agent/types.js';
import type { ReplayBuffer } from '../agent/replay.js';
import type { Task } from '../env/types.js';
import type { DynamicsModel } from '../model/types.js';
import type { Rng } from '../util/rng.js';

export interface ImaginationStart {
  /** [dX] a real state from B_old */
  x: Float64Array;
  /** its time step within the episode, 0-based */
  t: number;
}

/**
 * Rolls every start `l` steps (or until the horizon T: the time-varying model has no step T)
 * in `model` and appends the transitions to `Rf`.
 *
 * Actions: u = clip(mu(x) + sigma * uMax * z, -uMax, uMax), z ~ N(0, I), with mu from
 * `agent.actBatch` evaluated for all rollouts at once. Imagined transitions are never terminal
 * (the reacher has no terminal states; time limits are truncations).
 *
 * @returns the number of fictional transitions stored.
 */
export function imagine(args: {
  model: DynamicsModel;
  agent: QAgent;
  task: Task;
  starts: ImaginationStart[];
  l: number;
  noiseSigma: number;
  rng: Rng;
  /** where the transitions go: R_f (the learner's `FictionalBuffer`, tagging the generation) or any replay buffer */
  Rf: Pick<ReplayBuffer, 'add'>;
}): number {
  const { model, agent, task, starts, l, noiseSigma, rng, Rf } = args;
  const { dX, dU, T, uMax } = task;
  let active = starts.map((s) => ({ x: s.x, t: s.t }));
  let stored = 0;
  for (let k = 0; k < l && active.length > 0; k++) {
    const xs = new Float32Array(active.length * dX);
    active.forEach((s, i) => xs.set(s.x, i * dX));
    const mu = agent.actBatch(xs, active.length);
    const next: typeof active = [];
    active.forEach((s, i) => {
      const u = new Float64Array(dU);
      for (let j = 0; j < dU; j++) {
        const v = mu[i * dU + j] + noiseSigma * uMax[j] * rng.normal();
        u[j] = Math.max(-uMax[j], Math.min(uMax[j], v));
      }
      const x2 = model.step(s.x, u, s.t, rng);
      if (!x2.every(Number.isFinite)) return; // a diverging model never feeds the learner
      Rf.add(s.x, u, task.reward(s.x, u), x2, false, s.t);
      stored++;
      if (s.t + 1 < T) next.push({ x: x2, t: s.t + 1 });
    });
    active = next;
  }
  return stored;
}
