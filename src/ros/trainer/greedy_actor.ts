/**
 * A fixed policy acting greedily: mu(x) clamped to the torque bounds, never noise, never iLQG —
 * the actor of deploy mode and of the evaluation episodes on the arm (`arm_evaluation.ts`); it has
 * the shape of naf_trainer's `TrainerActor`.
 */
import { createActor } from '../../agent/actor.js';
import type { PolicyActor, PolicySnapshot } from '../../agent/types.js';
import type { LinearGaussianController } from '../../control/types.js';

export class GreedyActor {
  private readonly policy: PolicyActor;

  /** @param uMax [dU] N·m torque bound (the task's). */
  constructor(snapshot: PolicySnapshot, private readonly uMax: Float64Array, private p = 1) {
    this.policy = createActor(snapshot);
  }

  /** Reported only (diagnostics): deploy mode runs the policy in every episode. */
  get onPolicyFraction(): number { return this.p; }
  get policyVersion(): number { return this.policy.snapshot.version; }
  setOnPolicyFraction(p: number): void { this.p = p; }
  /** A fixed policy: later snapshots are ignored. */
  setPolicy(_snapshot: PolicySnapshot): void {}
  setController(_ctrl: LinearGaussianController): void {}
  beginEpisode(): 'naf' { return 'naf'; }

  /** u = clamp(mu(x), -uMax, uMax) [dU] N·m; zero torque if any component is not finite. */
  act(x: Float64Array, _t: number): Float64Array {
    const u = this.policy.mu(x);
    if (!u.every(Number.isFinite)) return new Float64Array(u.length);
    for (let i = 0; i < u.length; i++) u[i] = Math.max(-this.uMax[i], Math.min(this.uMax[i], u[i]));
    return u;
  }
}

