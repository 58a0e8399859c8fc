/**
 * Test fixture shared by the NAF and DDPG tests: a 1-D bandit with known optimum,
 * r = 1 - (u - u*(x))^2, u*(x) = 0.3 + 0.5 x, x' = x, x ~ U(-1, 1), u ~ U(-2, 2).
 */
import type { QAgent } from '../src/agent/types.js';
import { Rng } from '../src/util/rng.js';

export const uStar = (x: number): number => 0.3 + 0.5 * x;

/** `updates` minibatch updates of `agent` on fresh bandit batches of 64 (seeded). */
export function trainOnBandit(agent: QAgent, updates: number, seed = 6): void {
  const rng = new Rng(seed);
  for (let k = 0; k < updates; k++) {
    const B = 64;
    const x = Float32Array.from({ length: B }, () => 2 * rng.uniform() - 1);
    const u = Float32Array.from({ length: B }, () => 4 * rng.uniform() - 2);
    const r = x.map((xi, i) => 1 - (u[i] - uStar(xi)) ** 2);
    agent.update({ x, u, r, x2: x, terminal: new Float32Array(B), B });
  }
}
