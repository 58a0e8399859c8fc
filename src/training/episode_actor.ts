/**
 * The acting half of Algorithm 2 (paper Sec. 5, lines 141-145): at each episode start pick the
 * controller mu'(x, t) from { mu(x | theta^mu), pi_t^iLQG(u_t | x_t) } with probabilities
 * { p, 1 - p }, then act u_t = mu'(x_t, t) + N_t.
 *
 * It holds no tfjs state: the NAF policy arrives as a `PolicySnapshot` (evaluated in plain JS)
 * and the iLQG controller as a `LinearGaussianController`, so it can run in the control loop while
 * the learner trains elsewhere (worker thread in the ROS node).
 *
 * Safety: p can never exceed the cap given at construction; a non-finite action becomes zero torque.
 */
import { createActor } from '../agent/actor.js';
import type { ExplorationNoise, PolicyActor, PolicySnapshot } from '../agent/types.js';
import { actLG } from '../control/lg_controller.js';
import type { LinearGaussianController } from '../control/types.js';
import { Rng, type RngState } from '../util/rng.js';

export type ControllerKind = 'naf' | 'ilqg';

export interface EpisodeActorOptions {
  /** [dU] N·m torque bound; actions are clamped to [-uMax, uMax]. */
  uMax: Float64Array;
  /** p, the probability that an episode runs the NAF policy (Algorithm 2 line 143). */
  onPolicyFraction: number;
  /** The safety engineer's cap on p (read-only). */
  maxOnPolicyFraction: number;
  /** Exploration noise N_t of NAF episodes. */
  noise: ExplorationNoise;
  /** Sample iLQG actions from N(mean, Sigma_t) (eq. 4); false = its mean. */
  ilqgNoise: boolean;
}

export class EpisodeActor {
  private policy: PolicyActor | null = null;
  private controller: LinearGaussianController | null = null;
  private p: number;
  private current: ControllerKind = 'naf';
  /** Non-finite actions replaced by zero torque (counted for diagnostics). */
  nonFiniteActions = 0;

  /** @throws RangeError when p is outside [0, maxOnPolicyFraction]. */
  constructor(
    readonly options: EpisodeActorOptions,
    private readonly rng: Rng,
  ) {
    this.p = options.onPolicyFraction;
    this.setOnPolicyFraction(options.onPolicyFraction);
  }

  /** Current p. */
  get onPolicyFraction(): number {
    return this.p;
  }

  /** Controller of the episode in progress. */
  get episodeController(): ControllerKind {
    return this.current;
  }

  /** Snapshot version of the policy in use (-1 before the first). */
  get policyVersion(): number {
    return this.policy?.snapshot.version ?? -1;
  }

  /** Changes p. @throws RangeError (message names the cap) when p is not in [0, cap]. */
  setOnPolicyFraction(p: number): void {
    const cap = this.options.maxOnPolicyFraction;
    if (!(p >= 0 && p <= 1)) throw new RangeError(`on_policy_fraction must be in [0, 1]; got ${p}`);
    if (p > cap) throw new RangeError(`on_policy_fraction ${p} is above max_on_policy_fraction ${cap} (the safety cap)`);
    this.p = p;
  }

  /** Installs fresh NAF/DDPG weights (from the learner). */
  setPolicy(snapshot: PolicySnapshot): void {
    this.policy = createActor(snapshot);
  }

  /** Installs the latest iLQG controller (from the learner). */
  setController(ctrl: LinearGaussianController): void {
    this.controller = ctrl;
  }

  /**
   * Starts an episode: draws the controller (NAF with probability p, else iLQG; NAF when no
   * controller exists) and resets the noise process. p = 0 never selects NAF; p = 1 never iLQG.
   */
  beginEpisode(): ControllerKind {
    const draw = this.rng.uniform();
    this.current = draw < this.p || !this.controller ? 'naf' : 'ilqg';
    if (this.p === 0 && this.controller) this.current = 'ilqg';
    this.options.noise.reset();
    return this.current;
  }

  /**
   * Action u_t [dU] N·m for observation x [dX] at step t of the episode.
   * @param explore false gives the greedy NAF action mu(x) (the test-return protocol).
   * @throws Error when no policy has been installed and the episode is a NAF episode.
   */
  act(x: Float64Array, t: number, explore = true): Float64Array {
    const { uMax } = this.options;
    let u: Float64Array;
    if (this.current === 'ilqg' && explore) {
      u = actLG(this.controller!, x, Math.min(t, this.controller!.T - 1), this.options.ilqgNoise ? this.rng : null, uMax);
    } else {
      if (!this.policy) throw new Error('EpisodeActor.act: no policy snapshot installed yet');
      u = this.policy.mu(x);
      if (explore) {
        const n = this.options.noise.sample(this.policy.choleskyP?.(x));
        for (let i = 0; i < u.length; i++) u[i] += n[i];
      }
    }
    for (let i = 0; i < u.length; i++) {
      if (!Number.isFinite(u[i])) {
        this.nonFiniteActions++;
        u.fill(0);
        break;
      }
      u[i] = Math.max(-uMax[i], Math.min(uMax[i], u[i]));
    }
    return u;
  }

  /** Greedy action for evaluation, whatever this episode's controller is. */
  greedy(x: Float64Array): Float64Array {
    const saved = this.current;
    this.current = 'naf';
    try {
      return this.act(x, 0, false);
    } finally {
      this.current = saved;
    }
  }

  /** Serialisable state for checkpoints (random generator, noise, p). */
  getState(): { rng: RngState; noise: number[]; p: number } {
    return { rng: this.rng.state(), noise: this.options.noise.getState(), p: this.p };
  }

  /** Restores `getState()` output into a new actor. */
  static restore(opts: EpisodeActorOptions, state: { rng: RngState; noise: number[]; p: number }): EpisodeActor {
    const a = new EpisodeActor({ ...opts, onPolicyFraction: Math.min(state.p, opts.maxOnPolicyFraction) }, new Rng(0, state.rng));
    opts.noise.setState(state.noise);
    return a;
  }
}
