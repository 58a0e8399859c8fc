/**
 * A rollout: what an arm did over a list of episodes, as recorded from a test, an evaluation or a
 * deployment, with what is needed to draw it (the URDF, the tip link). Written to and read from
 * MCAP (`mcap_write.ts`, `mcap_read.ts`); replayed by `naf-ros view`.
 *
 * Units: joint positions rad (m for prismatic joints), velocities rad/s, torques N·m, positions m
 * (URDF root frame), times s.
 */
import type { Arm } from '../env/types.js';

/** One joint-state sample of an episode. */
export interface RolloutStep {
  /** s, on the recording's clock (increases over the whole recording, across episodes). */
  t: number;
  /** [nJ] rad, in `Rollout.jointNames` order. */
  q: number[];
  /** [nJ] rad/s */
  qd: number[];
  /** [nJ] N·m, the torque applied over the period before the sample (0 at a reset). */
  effort: number[];
}

export interface RolloutEpisode {
  /** [3] m, URDF root frame: the target of the episode. */
  target: [number, number, number];
  steps: RolloutStep[];
  /** Sum of rewards, when known. */
  return?: number;
  /** Tip-to-target distance at the end, m, when known. */
  finalDistance?: number;
  /** The episode was cut short (deploy: watchdog, e-stop, pause). */
  aborted?: boolean;
}

export interface Rollout {
  /** What was recorded, e.g. "naf-ros train: held-out test of the final policy (episode 300)". */
  source: string;
  /** The URDF (XML text) the arm was simulated from (`/robot_description`). */
  robotDescription: string;
  /** The URDF file's absolute path when known: base of its relative mesh filenames. */
  urdfPath?: string;
  /** `mesh_search_path` of the config (folders holding packages for `package://`). */
  meshSearchPath?: string[];
  /** Recorded joints [nJ], the order of every `q`, `qd`, `effort`. */
  jointNames: string[];
  /** The tip link (tool frame) whose path is drawn; '' when unknown. */
  tipLink: string;
  episodes: RolloutEpisode[];
}

/** Seconds between the end of an episode and the start of the next on a recording's clock. */
export const EPISODE_GAP_S = 0.5;

/**
 * Collects samples into episodes. Either drive it with `sample` / `endEpisode` (a stream of joint
 * states: deploy), or wrap an arm with `arm()` (episodes from `reset` to `reset`: tests, eval).
 */
export class RolloutRecorder {
  private readonly episodes: RolloutEpisode[] = [];
  private open: RolloutEpisode | null = null;
  private lastTarget: [number, number, number] = [0, 0, 0];
  private readonly index: number[] | null;

  /**
   * @param meta the rollout's description (everything but the episodes)
   * @param target the current target [3] m (read at every sample; e.g. `() => task.getTarget()`)
   * @param readingNames joint names of the readings, when they differ from `meta.jointNames`
   * @throws Error when a recorded joint is not among `readingNames`.
   */
  constructor(private readonly meta: Omit<Rollout, 'episodes'>, private readonly target: () => ArrayLike<number>, readingNames?: readonly string[]) {
    this.index = readingNames ? meta.jointNames.map((n) => {
      const i = readingNames.indexOf(n);
      if (i < 0) throw new Error(`RolloutRecorder: joint "${n}" is not in the readings (${readingNames.join(', ')})`);
      return i;
    }) : null;
  }

  /** Appends a reading at time t (s) to the open episode (opening one if none is). */
  sample(t: number, js: { position: ArrayLike<number>; velocity: ArrayLike<number>; effort: ArrayLike<number> }): void {
    const pick = (a: ArrayLike<number>) => (this.index ? this.index.map((i) => a[i] ?? 0) : Array.from(a));
    const tg = this.target();
    this.lastTarget = [tg[0], tg[1], tg[2]];
    if (!this.open) this.open = { target: this.lastTarget, steps: [] };
    this.open.steps.push({ t, q: pick(js.position), qd: pick(js.velocity), effort: pick(js.effort) });
  }

  /** Closes the open episode (if it has samples), its target the latest one seen, with `info`. */
  endEpisode(info: Pick<RolloutEpisode, 'return' | 'finalDistance' | 'aborted'> = {}): void {
    if (this.open?.steps.length) this.episodes.push({ ...this.open, target: this.lastTarget, ...info });
    this.open = null;
  }

  /** Drops the open episode's samples (a stream's tail after the last episode ended). */
  discardOpen(): void {
    this.open = null;
  }

  /** Episodes closed so far. */
  get count(): number {
    return this.episodes.length;
  }

  /** The rollout of the closed episodes (an open one is closed first). */
  rollout(): Rollout {
    this.endEpisode();
    return { ...this.meta, episodes: this.episodes.map((e) => ({ ...e, steps: [...e.steps] })) };
  }

  /** Closes the open episode and sets return and final distance of the episodes, in order (e.g. from `evaluate`). */
  annotate(r: { returns?: readonly number[]; finalDistances?: readonly number[] }): void {
    this.endEpisode();
    this.episodes.forEach((e, i) => {
      if (r.returns?.[i] !== undefined) e.return = r.returns[i];
      if (r.finalDistances?.[i] !== undefined) e.finalDistance = r.finalDistances[i];
    });
  }

  /**
   * `arm`, recorded: every `reset` closes the open episode and starts one (at the previous
   * episode's end + EPISODE_GAP_S), every `step` adds its reading `arm.dt` later. The wrapper is a
   * Proxy, so the arm keeps its identity for everything else (`instanceof SupervisedArm`, its
   * intervention counts); the arm itself is not changed.
   */
  arm<A extends Arm>(arm: A): A {
    let t = 0;
    let started = false;
    return new Proxy(arm, {
      get: (target, prop) => {
        if (prop === 'reset') return (q: Float64Array, qd: Float64Array) => {
          const js = target.reset(q, qd);
          this.endEpisode();
          t = started ? t + EPISODE_GAP_S : 0;
          started = true;
          this.sample(t, js);
          return js;
        };
        if (prop === 'step') return (u: Float64Array) => {
          const js = target.step(u);
          t += target.dt;
          this.sample(t, js);
          return js;
        };
        const v = Reflect.get(target, prop, target);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
  }
}
