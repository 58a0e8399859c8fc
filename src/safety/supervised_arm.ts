/**
 * An arm behind the safety supervisor (DESIGN Sec. 4, "train under the rules of deployment"):
 * every command passes `SafetySupervisor.filter` — velocity limit, soft position limits, workspace
 * box, NaN guard, gravity compensation, damping injection in `node` mode, the torque clamp — exactly
 * as the ROS node filters what it publishes, so a policy trained on the embedded arm meets every
 * rule its deployment with the same params file applies, and the interventions are counted.
 *
 * The inner arm receives the supervisor's total torque; `lastControl` is the controller's share of
 * it (what a transition records as its action). The joint reading is always fresh here (the
 * simulator answers every step), so the watchdog never acts; the e-stop is not used.
 */
import type { Arm, JointStateRecord } from '../env/types.js';
import type { InterventionKind, SafetySupervisor } from './supervisor.js';

/** The supervisor's rules that can act on a simulated episode (the e-stop, watchdog and p cap cannot). */
export const EPISODE_INTERVENTION_KINDS = ['velocity_limit', 'soft_limit', 'workspace_limit', 'torque_clamp', 'non_finite'] as const satisfies readonly InterventionKind[];
export type EpisodeInterventions = Record<(typeof EPISODE_INTERVENTION_KINDS)[number], number>;

/** Zero counts of every kind. */
export function noInterventions(): EpisodeInterventions {
  return Object.fromEntries(EPISODE_INTERVENTION_KINDS.map((k) => [k, 0])) as EpisodeInterventions;
}

/** Counts by kind summed over episodes (an absent entry or kind counts 0). */
export function sumInterventions(list: readonly (EpisodeInterventions | undefined)[]): EpisodeInterventions {
  const total = noInterventions();
  for (const i of list) if (i) for (const k of EPISODE_INTERVENTION_KINDS) total[k] += i[k] ?? 0;
  return total;
}

/** Sum of the counts of every kind. */
export function interventionTotal(i: EpisodeInterventions): number {
  return EPISODE_INTERVENTION_KINDS.reduce((a, k) => a + i[k], 0);
}


export class SupervisedArm implements Arm {
  private state: JointStateRecord | null = null;
  private control: Float64Array;

  /**
   * @param inner the simulated arm (owned: disposed with this one)
   * @param supervisor the supervisor of the config (its spec must be the arm's joints)
   * @param owned resources released with the arm (the rigid-body model behind gravity compensation
   *   and the workspace rule)
   * @throws RangeError when the supervisor is for other joints.
   */
  constructor(readonly inner: Arm, readonly supervisor: SafetySupervisor, private readonly owned?: { dispose(): void }) {
    if (supervisor.spec.jointNames.join() !== inner.spec.jointNames.join())
      throw new RangeError(`SupervisedArm: supervisor joints [${supervisor.spec.jointNames}] differ from the arm's [${inner.spec.jointNames}]`);
    this.control = new Float64Array(inner.spec.jointNames.length);
  }

  get spec() {
    return this.inner.spec;
  }

  get dt() {
    return this.inner.dt;
  }

  /** [nJ] N·m: the controller's torque applied in the last step (after the supervisor's rules). */
  get lastControl(): Float64Array {
    return this.control;
  }

  /** Interventions so far, by kind (control steps in which a rule changed the command). */
  get interventions(): Readonly<Record<InterventionKind, number>> {
    return this.supervisor.counts;
  }

  reset(q: Float64Array, qd: Float64Array): JointStateRecord {
    this.state = this.inner.reset(q, qd);
    this.control.fill(0);
    return this.state;
  }

  /**
   * Filters u [nJ] N·m through the supervisor and applies the result for one control period.
   * @throws RangeError on a wrong length; Error before the first `reset`.
   */
  step(u: Float64Array): JointStateRecord {
    if (!this.state) throw new Error('SupervisedArm.step: reset() first');
    const t = this.state.stamp;
    const f = this.supervisor.filter(u, this.state, t, t);
    this.control = f.control;
    this.state = this.inner.step(f.u);
    return this.state;
  }

  dispose(): void {
    this.inner.dispose();
    this.owned?.dispose();
  }
}
