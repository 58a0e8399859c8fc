/**
 * The `true` dynamics model: imagination rollouts stepped in the simulator itself, the paper's
 * best case ("using true dynamics", Sec. 6.3, Fig. 2a), against which the fitted time-varying
 * linear models (`tvlg`) and the neural-network model (`nn`) are compared.
 */
import { MujocoArm } from '../env/mujoco_arm.js';
import type { ReachTask } from '../env/reach_task.js';
import type { Arm } from '../env/types.js';
import type { Rng } from '../util/rng.js';
import type { DynamicsModel, FitReport, Trajectory } from './types.js';

/**
 * x' = M(x, u): set a private MuJoCo arm to the joint state encoded in x, apply u (N·m, clamped to
 * the effort limits) for one control period, observe. Deterministic: `rng` is ignored (the
 * simulator has no process noise).
 *
 * The target is read from x itself (p(q) - d, `ReachTask.targetFromObservation`), so states from
 * earlier episodes keep their own target in random-target mode; with a fixed target this is the
 * task's target.
 */
export class TrueDynamics implements DynamicsModel {
  readonly kind = 'true' as const;
  /** Always true: the simulator needs no fitting. */
  readonly ready = true;

  /**
   * @param arm a dedicated arm instance (never the one the real episodes run on: `step` overwrites
   *   its state); its control period must equal the real episodes'. Owned: `dispose` releases it.
   * @param task the reach task (observation layout, kinematics, T)
   * @throws Error when the arm's joints differ from the task's.
   */
  constructor(
    private readonly arm: Arm,
    private readonly task: ReachTask,
  ) {
    if (arm.spec.jointNames.join() !== task.spec.jointNames.join())
      throw new Error(`TrueDynamics: arm joints [${arm.spec.jointNames}] differ from the task's [${task.spec.jointNames}]`);
  }

  /**
   * Builds the model on a new `MujocoArm` of its own (never the one the real episodes run on, whose
   * state `step` would overwrite).
   * @param urdfPath the URDF the task's arm is built from
   * @param task the reach task (observation layout, kinematics, T)
   * @param opts dt (s, default 0.02: must equal the control period of the real episodes),
   *   timestep (s, default 0.002)
   * @throws as `MujocoArm.create` (UrdfError when the URDF lacks the task's joints).
   */
  static async create(urdfPath: string, task: ReachTask, opts: { dt?: number; timestep?: number } = {}): Promise<TrueDynamics> {
    const arm = await MujocoArm.create(urdfPath, { ...opts, jointNames: task.spec.jointNames });
    return new TrueDynamics(arm, task);
  }

  /** Control period of the simulated step, s. */
  get dt(): number {
    return this.arm.dt;
  }

  /**
   * Next observation [dX] for x [dX], u [dU] (N·m) at step t.
   * @throws RangeError when t is not an integer in [0, T), or on wrong lengths.
   */
  step(x: Float64Array, u: Float64Array, t: number, _rng?: Rng): Float64Array {
    if (!(Number.isInteger(t) && t >= 0 && t < this.task.T))
      throw new RangeError(`TrueDynamics.step: t must be an integer in [0, ${this.task.T}), got ${t}`);
    return this.predict(x, u);
  }

  private predict(x: Float64Array, u: Float64Array): Float64Array {
    const { q, qd } = this.task.jointsFromObservation(x);
    const target = this.task.targetFromObservation(x);
    this.arm.reset(q, qd);
    const js = this.arm.step(u);
    return this.task.observation(js.position, js.velocity, target);
  }

  /**
   * Nothing to fit. Reports the one-step error on the given episodes (0 up to round-off on data
   * from the same simulator; the sim-to-real gap on hardware data), NaN when there are none.
   */
  fit(episodes: Trajectory[]): FitReport {
    const t0 = performance.now();
    const oneStepMse = this.oneStepMse(episodes);
    return { oneStepMse, ms: performance.now() - t0 };
  }

  /**
   * Mean over all transitions and state dimensions of (M(x_t, u_t) - x_{t+1})², NaN for no
   * transitions. @throws RangeError for an episode whose x does not have u.length + 1 entries.
   */
  oneStepMse(episodes: Trajectory[]): number {
    let sum = 0, n = 0;
    for (const ep of episodes) {
      if (ep.x.length !== ep.u.length + 1)
        throw new RangeError(`TrueDynamics.oneStepMse: an episode has ${ep.x.length} states for ${ep.u.length} actions`);
      for (let t = 0; t < ep.u.length; t++) {
        const pred = this.predict(ep.x[t], ep.u[t]);
        const next = ep.x[t + 1];
        for (let i = 0; i < pred.length; i++) sum += (pred[i] - next[i]) ** 2;
        n += pred.length;
      }
    }
    return n === 0 ? NaN : sum / n;
  }

  /** No learned state. */
  getState(): unknown {
    return { kind: 'true' };
  }

  /** @throws Error when s is not a `true` model's state. */
  setState(s: unknown): void {
    if ((s as { kind?: unknown } | null)?.kind !== 'true')
      throw new Error(`TrueDynamics.setState: expected { kind: 'true' }, got ${JSON.stringify(s)}`);
  }

  /** Releases the private MuJoCo arm. */
  dispose(): void {
    this.arm.dispose();
  }
}
