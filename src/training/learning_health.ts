/**
 * Is this run learning? Watches the signals a training run already produces and returns a
 * warning when one of them leaves the range a learning run stays in, so that a run that is not
 * learning says so. Each warning names the signal, its numbers, the likely cause and what
 * to do (docs/your-arm.md "Troubleshooting"); it starts once and is reported again only after it has cleared
 * and recurs, so a run that stays broken logs it once, not every episode.
 *
 * The checks (thresholds in `HEALTH_THRESHOLDS`, measured numbers in docs/your-arm.md "Troubleshooting"):
 *
 * 1. `model_error` — the dynamics model M (Sec. 5.3) predicts the next state no better than a
 *    predictor that ignores state and torque. At every refit, e = predictionMse / meanPathMse:
 *    the previous model's one-step MSE on the new batch B_f, over the same batch's MSE of the
 *    previous batch's mean trajectory (x̂_{t+1} = mean of x_{t+1} over B_old, the batch the model
 *    was fitted on; `meanPathMse` in `arm_learning.ts`). Both are fitted on B_old and scored on
 *    B_f, and e has no units, so one threshold serves every arm (raw MSEs differ 1e4× between the
 *    reacher and the UR5e). Fires when e ≥ 0.35 on 3 refits in a row; clears at a refit with
 *    e < 0.35. Why 0.35 and 3: measured (seed 1, 60 episodes, shipped configs) e = 0.020–0.144 on
 *    every refit of the reacher and 0.005–0.262 on the UR5e (0.262 once, at refit 3), and e =
 *    0.44–2.6 on every refit of the UR5e with `safety.damping_injection: none` (its URDF has no
 *    damping, as UR publish none: how a lightly damped arm such as the published iiwa fails), the
 *    first three 1.53, 0.44, 0.44.
 *    Short learning runs (reacher, T = 20, n = 2, seeds 5 and 6) have single refits up to 0.60 (the
 *    first ratio, of a model fitted on 2 episodes) and 0.43, each followed by refits below 0.25:
 *    single high refits happen on learning runs, two in a row above 0.35 did not, so the rule
 *    needs three; 0.35 lies between the learning runs' steady values and the failure's lowest.
 *    The ratio to the "no change" predictor x̂_{t+1} = x_t was measured too (the reacher's damping
 *    in its URDF instead of injected, the UR5e undamped) and does not separate
 *    the cases (reacher 0.02–1.07, undamped UR5e 0.60–0.91): a lightly damped arm changes its
 *    velocity a lot in one period in both. Limitation: e compares
 *    the model with the spread of the batch; batches with almost no spread (deterministic
 *    controllers, no exploration noise) would make e large for a good model.
 * 2. `td_loss` — the TD (Bellman) loss of the episode's minibatch updates (`loss`) has grown by
 *    ≥ 1000× over its running minimum and its root is ≥ 1% of the value range |Q_lo| (below), or
 *    its root alone is ≥ |Q_lo| (a Bellman error larger than any value: a loss diverged from the
 *    first updates has no smaller minimum to grow from), on 3 episodes in a row; or the divergence
 *    guard skipped updates in the episode (non-finite loss or weights, `QAgent.divergences`) —
 *    that fires at once. Clears after 3 episodes in a row that meet neither.
 *    Why: a healthy loss grows while Q learns its scale (measured over 60 episodes: reacher 20×
 *    over its running minimum, UR5e 61×; the undamped UR5e, whose failure is the model's, 589×
 *    once), so growth alone needs a large factor; the 1% condition keeps a tiny early minimum from
 *    making small losses alarming (learning runs: √loss ≤ 0.8% of |Q_lo| on the reacher, 0.4% on
 *    the UR5e, at the first updates). With `agent.learning_rate` 0.5 the loss is 10^10× its
 *    minimum within 2 episodes, √loss ≈ 460× |Q_lo|.
 * 3. `q_range` — the mean Q(x, u) of the episode's minibatches (`qMean`) leaves the range any
 *    policy's value lies in: r ≤ 0 and r ≥ r_min per step, so with discount γ and reward scale s,
 *    Q_lo = s r_min / (1 − γ) ≤ Q ≤ 0. Fires when qMean < Q_lo or qMean > 0.05 |Q_lo| (slack for a
 *    freshly initialised network) on 2 episodes in a row; clears after 3 episodes in a row inside.
 *    Measured: reacher qMean −2.8 to −0.14 (Q_lo = −43.2); UR5e −2.5 to −0.24, undamped UR5e −96 to
 *    +1.7 (Q_lo = −123, upper limit 6.2); learning rate 0.5 on the reacher: −1.7e5 and +1.3e3
 *    within 3 episodes.
 *    r_min = −2 R − c dU (`rewardLowerBound`): R bounds the tip's distance from the URDF root (the
 *    sum of the chain's joint origins, plus prismatic travel), so tip and a reachable target are
 *    at most 2R apart, and the torque penalty is at most c per joint (actions are clamped to u_max).
 *    Loose by design (≈2×): it is a divergence check, not an estimate. Imagined transitions
 *    (Algorithm 2) whose model leaves the reachable workspace can also push Q below Q_lo.
 * 4. `greedy_distance` — the greedy policy's median final distance (`eval.jsonl`) has been worse
 *    than the untrained policy's (the episode-0 evaluation) on 3 evaluations in a row: worse =
 *    above max(1.2 × d_0, d_0 + 1 cm). Clears at an evaluation back at or below d_0. A rule on
 *    "rising over consecutive evaluations" was considered and not taken: a diverged run's distance
 *    wanders (UR5e without damping injection: 20.6 → 52.0, 141.6, 83.7, 66.1, 76.3 cm) and rises
 *    three times in a row nowhere; "worse than the policy before training" is what a user needs to
 *    hear. Learning runs, same seed: reacher 20.7 → 8.8, 18.4, 13.2, 1.8, 1.2 cm; UR5e 20.5 → 14.5,
 *    7.0, 3.0, 2.5 cm; iiwa as published with damping injection 18.6 → 16.9, 20.3 cm. The iiwa
 *    without injection (URDF damping 0.5) goes 16.3 → 42.2, 65.3, 35.1 cm and warns here only:
 *    its model keeps up with the batch's spread (e = 0.86, 0.29, 0.15, 0.17, 0.16), while the
 *    safety supervisor corrects 36–69 of its 50 steps per episode.
 * 5. `supervisor_busy` — the safety supervisor (the embedded run trains behind it, as the node does)
 *    changed the command in ≥ 60% of an episode's steps (the sum over its rules of the steps each
 *    acted in, `interventions` of the record, over `steps`), on 3 episodes in a row: the policy
 *    keeps driving into the limits its deployment enforces, and what it learns is the supervisor's
 *    corrections. Clears after 3 episodes in a row below. Why 60% and 3: the learning runs of the
 *    shipped configs (3 seeds each, 2026-12-04) have at most 25 of 50 steps in one episode (reacher,
 *    soft limits while exploring; the UR5e none at all) and never 3 episodes in a row above 30%; the
 *    iiwa as published without damping injection has 36–83 of 50 in every episode, so this fires by
 *    its third episode, 27 episodes before `greedy_distance` does.
 *
 * Every check works on the fields of the run folder's records (`EpisodeRecord`, `EvalRecord`), so
 * `LearningHealth.replay` rebuilds the same state from `metrics.jsonl` and `eval.jsonl` (resume).
 */
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NafConfig } from '../config/schema.js';
import { jointPath, type UrdfModel } from '../env/urdf.js';
import { readRecords, RUN_FILES, truncateRecords, type EpisodeRecord, type EvalRecord } from '../report/run_folder.js';
import type { Logger } from '../util/logger.js';

/** Short codes of the warnings (metrics.jsonl `warnings`, progress line, summary.md). */
export type WarningCode = 'model_error' | 'td_loss' | 'q_range' | 'greedy_distance' | 'supervisor_busy';

export const WARNING_CODES: readonly WarningCode[] = ['model_error', 'td_loss', 'q_range', 'greedy_distance', 'supervisor_busy'];

/** The thresholds of the checks (module docstring: what each means and why this value). */
export const HEALTH_THRESHOLDS = {
  /** model_error: e = predictionMse / meanPathMse at or above this... */
  modelRatio: 0.35,
  /** ...on this many refits in a row; an active one clears after this many refits below. */
  modelRefits: 3,
  modelClearRefits: 1,
  /** td_loss: loss at least this × its running minimum... */
  lossGrowth: 1000,
  /** ...and √loss at least this fraction of |Q_lo|... */
  lossRangeFraction: 0.01,
  /** ...on this many episodes in a row; or √loss at least this fraction of |Q_lo| alone (no growth needed). */
  lossEpisodes: 3,
  lossRangeAlone: 1,
  /** q_range: qMean above this fraction of |Q_lo| is out of range (r ≤ 0 makes Q ≤ 0)... */
  qUpperFraction: 0.05,
  /** ...on this many episodes in a row. */
  qEpisodes: 2,
  /** greedy_distance: worse than max(factor × d_0, d_0 + margin m)... */
  distanceFactor: 1.2,
  distanceMargin: 0.01,
  /** ...on this many evaluations in a row (an active one clears at an evaluation at or below d_0). */
  distanceEvals: 3,
  /** td_loss, q_range: an active warning clears after this many episodes in a row inside the range. */
  clearEpisodes: 3,
  /** supervisor_busy: interventions in at least this fraction of an episode's steps... */
  busyFraction: 0.6,
  /** ...on this many episodes in a row (clears after `clearEpisodes` below). */
  busyEpisodes: 3,
} as const;

/** An active warning. */
export interface HealthWarning {
  code: WarningCode;
  /** Training episode at which it started (for greedy_distance: the evaluation's episode). */
  episode: number;
  /** What it says: the signal, its numbers, the likely cause and what to do. */
  message: string;
}

/** A warning starting or clearing (one line of the run folder's `warnings.jsonl`). */
export interface HealthEvent extends HealthWarning {
  event: 'start' | 'clear';
}

/** The fields of an `EpisodeRecord` the checks read (absent fields: that check skips the episode). */
export interface EpisodeSignals {
  episode: number;
  /** Mean minibatch TD loss of the episode (NaN: no updates). */
  loss: number;
  /** Mean Q(x, u) of the episode's minibatches (NaN: no updates). */
  qMean?: number;
  /** The newest refit's model error and its mean-path baseline (NaN before the second refit). */
  modelMse: number;
  modelMseMeanPath?: number;
  /** Refits so far: a new refit is when this grows. */
  refits?: number;
  /** Divergence-guard interventions so far (cumulative). */
  divergences?: number;
  /** Control steps of the episode in which the safety supervisor changed the command, by rule. */
  interventions?: Readonly<Record<string, number>>;
  /** Control steps of the episode. */
  steps?: number;
}

/** The fields of an `EvalRecord` the checks read. */
export interface EvalSignals {
  episode: number;
  /** Median final distance of the greedy policy, m. */
  medianDistance: number;
}

export interface HealthOptions {
  /** Discount γ in [0, 1). */
  gamma: number;
  /** `agent.reward_scale`: Q and the loss are in scaled reward units. */
  rewardScale: number;
  /** r_min ≤ 0: a lower bound on the per-step reward (unscaled), `rewardLowerBound`. */
  rewardLowerBound: number;
}

const TROUBLESHOOTING = 'docs/your-arm.md "Troubleshooting"';
/** A record's number; NaN for anything else (absent, or null: NaN as JSON writes it). */
const num = (v: unknown) => (typeof v === 'number' ? v : NaN);
/** 3 significant digits; exponent notation outside [1e-3, 1e4). */
const g3 = (v: number) => (!Number.isFinite(v) ? String(v) : v !== 0 && (Math.abs(v) >= 1e4 || Math.abs(v) < 1e-3) ? v.toExponential(2) : Number(v.toPrecision(3)).toString());
const cm = (m: number) => `${(m * 100).toFixed(1)} cm`;

/**
 * The per-run state of the four checks. Feed every training episode's record to
 * `observeEpisode` and every evaluation's to `observeEval`, in the order they happen; each
 * returns the warnings that started or cleared.
 */
export class LearningHealth {
  /** Q_lo = s r_min / (1 − γ) (≤ 0). */
  readonly qLow: number;
  private readonly active = new Map<WarningCode, HealthWarning>();
  /** Observations in a row that were not bad, per active warning. */
  private readonly clean = new Map<WarningCode, number>();
  private lastRefits = 0;
  private modelRun = 0;
  private lossMin = Infinity;
  private lossRun = 0;
  private lastDivergences: number | null = null;
  private qRun = 0;
  private d0: number | null = null;
  private worseRun = 0;
  private busyRun = 0;

  /** @throws RangeError when γ is not in [0, 1), the reward scale not > 0 or r_min not finite and ≤ 0. */
  constructor(readonly options: HealthOptions) {
    const { gamma, rewardScale, rewardLowerBound } = options;
    if (!(gamma >= 0 && gamma < 1)) throw new RangeError(`LearningHealth: gamma must be in [0, 1), got ${gamma}`);
    if (!(rewardScale > 0)) throw new RangeError(`LearningHealth: rewardScale must be > 0, got ${rewardScale}`);
    if (!(Number.isFinite(rewardLowerBound) && rewardLowerBound <= 0)) throw new RangeError(`LearningHealth: rewardLowerBound must be finite and <= 0, got ${rewardLowerBound}`);
    this.qLow = (rewardScale * rewardLowerBound) / (1 - gamma);
  }

  /** The options of a run's config: γ, reward scale, and r_min of its arm and task (`rewardLowerBound`). */
  static optionsFor(config: NafConfig, urdf: UrdfModel): HealthOptions {
    return {
      gamma: config.agent.gamma, rewardScale: config.agent.reward_scale,
      rewardLowerBound: rewardLowerBound(urdf, config.task.tip_link, config.task.torque_penalty, config.joints.length),
    };
  }

  /** A monitor in the state it reaches after the given records (episodes and evaluations interleaved by episode, an evaluation after its episode). */
  static replay(options: HealthOptions, episodes: readonly EpisodeSignals[], evals: readonly EvalSignals[]): LearningHealth {
    const h = new LearningHealth(options);
    let k = 0;
    for (const e of evals) {
      while (k < episodes.length && episodes[k].episode <= e.episode) h.observeEpisode(episodes[k++]);
      h.observeEval(e);
    }
    while (k < episodes.length) h.observeEpisode(episodes[k++]);
    return h;
  }

  /** The warnings active now, in `WARNING_CODES` order. */
  get warnings(): HealthWarning[] {
    return WARNING_CODES.filter((c) => this.active.has(c)).map((c) => this.active.get(c)!);
  }

  /** Their codes. */
  get codes(): WarningCode[] {
    return this.warnings.map((w) => w.code);
  }

  /**
   * Checks 1-3 and 5 on one training episode's record. Numbers read back from JSON lines (NaN is written
   * as null) are taken as NaN.
   */
  observeEpisode(record: EpisodeSignals): HealthEvent[] {
    const T = HEALTH_THRESHOLDS;
    const s = { ...record, loss: num(record.loss), qMean: num(record.qMean), modelMse: num(record.modelMse), modelMseMeanPath: num(record.modelMseMeanPath) };
    const out: HealthEvent[] = [];
    const range = Math.abs(this.qLow);

    // 1. model_error: once per refit.
    if (s.refits !== undefined && s.refits !== this.lastRefits) {
      this.lastRefits = s.refits;
      const e = s.modelMse / s.modelMseMeanPath;
      if (Number.isFinite(e)) {
        const bad = e >= T.modelRatio;
        this.modelRun = bad ? this.modelRun + 1 : 0;
        out.push(...this.observe('model_error', bad, this.modelRun, T.modelRefits, T.modelClearRefits, s.episode, () =>
          `dynamics model: one-step error ${g3(e)}× that of the previous batch's mean trajectory (MSE ${g3(s.modelMse)} vs ${g3(s.modelMseMeanPath!)}; ` +
          `≥ ${T.modelRatio} on ${this.modelRun} refits in a row): the model learns nothing beyond the average path, so iLQG and imagination work from noise. ` +
          'Likely: the arm is too fast or too lightly damped for the control period (set safety.damping_injection / safety.joint_damping, ' +
          `see naf-ros arm --config <file>), or control_rate_hz too low, or contacts/joint limits; lower task.action_effort_fraction. ${TROUBLESHOOTING}`));
      }
    }

    // 2. td_loss: every episode with updates; the guard's skipped updates count at once.
    const skipped = s.divergences !== undefined && this.lastDivergences !== null ? s.divergences - this.lastDivergences : 0;
    if (s.divergences !== undefined) this.lastDivergences = s.divergences;
    if (skipped > 0) {
      this.lossRun = 0;
      out.push(...this.observe('td_loss', true, 1, 1, T.clearEpisodes, s.episode, () =>
        `TD loss: ${skipped} update(s) skipped by the divergence guard this episode (non-finite loss or weights; loss ${g3(s.loss)}): Q-learning is diverging. ` +
        `Likely: agent.learning_rate too high (default 0.001), or agent.reward_scale too large. ${TROUBLESHOOTING}`));
    } else if (Number.isFinite(s.loss)) {
      const rms = Math.sqrt(s.loss);
      const grown = (this.lossMin > 0 && s.loss >= T.lossGrowth * this.lossMin && rms >= T.lossRangeFraction * range) || rms >= T.lossRangeAlone * range;
      this.lossRun = grown ? this.lossRun + 1 : 0;
      const min = this.lossMin;
      out.push(...this.observe('td_loss', grown, this.lossRun, T.lossEpisodes, T.clearEpisodes, s.episode, () =>
        `TD loss: ${g3(s.loss)}, ${g3(s.loss / min)}× its running minimum ${g3(min)} (√loss ${g3(rms)} = ${g3((100 * rms) / range)}% of the value range ${g3(range)}; ` +
        `${this.lossRun} episodes in a row): the Bellman error is growing, Q-learning is diverging. ` +
        `Likely: agent.learning_rate too high (default 0.001), agent.reward_scale too large, or a diverging model feeding imagination. ${TROUBLESHOOTING}`));
      this.lossMin = Math.min(this.lossMin, s.loss);
    }

    // 3. q_range: every episode with updates.
    if (!Number.isNaN(s.qMean)) {
      const q = s.qMean, hi = T.qUpperFraction * range;
      const bad = q < this.qLow || q > hi || !Number.isFinite(q);
      this.qRun = bad ? this.qRun + 1 : 0;
      out.push(...this.observe('q_range', bad, this.qRun, T.qEpisodes, T.clearEpisodes, s.episode, () =>
        `Q values: mean Q ${g3(q)} outside [${g3(this.qLow)}, ${g3(hi)}] (rewards lie in [${g3(this.options.rewardLowerBound)}, 0] per step, discount ${this.options.gamma}, ` +
        `reward scale ${this.options.rewardScale}; ${this.qRun} episodes in a row): Q has diverged${q < this.qLow ? ', or imagination rollouts leave the reachable workspace (see model_error)' : ''}. ` +
        `Likely: agent.learning_rate too high, agent.reward_scale too large. ${TROUBLESHOOTING}`));
    }

    // 5. supervisor_busy: every episode that counted interventions.
    if (s.interventions && s.steps && s.steps > 0) {
      const byRule = Object.entries(s.interventions).filter(([, n]) => n > 0);
      const acted = byRule.reduce((a, [, n]) => a + n, 0);
      const bad = acted >= T.busyFraction * s.steps;
      this.busyRun = bad ? this.busyRun + 1 : 0;
      const top = [...byRule].sort((a, b) => b[1] - a[1])[0]?.[0];
      const why: Record<string, string> = {
        velocity_limit: 'the arm too fast or too lightly damped for the control period (safety.damping_injection none, or safety.joint_damping too small: see naf-ros arm --config <file>)',
        soft_limit: 'the home pose or the target near the joint limits (task.home_pose, task.fixed_target; safety.soft_limit_margin)',
        workspace_limit: 'the workspace box in the way of the target (safety.workspace_min/max)',
        torque_clamp: 'no room for gravity in the effort limits (lower task.action_effort_fraction; naf-ros arm prints the room gravity leaves)',
        non_finite: 'a policy producing non-finite torques (see td_loss, q_range)',
      };
      out.push(...this.observe('supervisor_busy', bad, this.busyRun, T.busyEpisodes, T.clearEpisodes, s.episode, () =>
        `safety supervisor: it changed the command in ${acted} of ${s.steps} steps (${byRule.map(([k, n]) => `${k} ${n}`).join(', ')}) on ${this.busyRun} episodes in a row: ` +
        `the policy keeps driving into the limits its deployment enforces. Likely: ${why[top ?? ''] ?? 'see the rules in summary.md'}. ${TROUBLESHOOTING}`));
    }
    return out;
  }

  /** Check 4 on one evaluation's record; the first one observed (episode 0) is the reference d_0. */
  observeEval(s: EvalSignals): HealthEvent[] {
    const T = HEALTH_THRESHOLDS;
    const d = num(s.medianDistance);
    if (!Number.isFinite(d)) return [];
    if (this.d0 === null) {
      this.d0 = d;
      return [];
    }
    const d0 = this.d0, limit = Math.max(T.distanceFactor * d0, d0 + T.distanceMargin);
    this.worseRun = d > limit ? this.worseRun + 1 : 0;
    // Hysteresis: starts after `distanceEvals` evaluations above the limit; while active, an
    // evaluation counts as bad until it is back at or below d_0 itself, and one such clears it.
    const bad = this.active.has('greedy_distance') ? d > d0 : d > limit;
    return this.observe('greedy_distance', bad, this.worseRun, T.distanceEvals, 1, s.episode, () =>
      `greedy policy: median final distance ${cm(d)} at episode ${s.episode}, worse than the untrained policy's ${cm(d0)} on ${this.worseRun} evaluations in a row: ` +
      'the policy is getting worse, not better. Likely: one of the other warnings (model_error, td_loss, q_range) — see them first; else an arm too fast or too lightly damped ' +
      'for the control period (the safety supervisor correcting many steps of every episode, velocity_limit above all: keep safety.damping_injection on, see naf-ros arm --config <file>), ' +
      'a target the arm cannot reach from home within the soft limits and torque (task.fixed_target, task.home_pose; naf-ros arm --config <file>), ' +
      `or safety.gravity_compensation none on an arm that carries its weight. ${TROUBLESHOOTING}`);
  }

  /**
   * One observation of `code`'s signal: `bad` says whether it is out of range, `run` how many in a
   * row have been. Starts the warning when run ≥ `need`; an active one clears after `clearAfter`
   * observations in a row that are not bad. Returns the start/clear event, or none.
   */
  private observe(code: WarningCode, bad: boolean, run: number, need: number, clearAfter: number, episode: number, message: () => string): HealthEvent[] {
    const w = this.active.get(code);
    if (!w) {
      if (!bad || run < need) return [];
      const started = { code, episode, message: message() };
      this.active.set(code, started);
      this.clean.set(code, 0);
      return [{ ...started, event: 'start' }];
    }
    const clean = bad ? 0 : (this.clean.get(code) ?? 0) + 1;
    this.clean.set(code, clean);
    if (clean < clearAfter) return [];
    this.active.delete(code);
    return [{ code, episode, message: `${code} cleared at episode ${episode} (started at episode ${w.episode})`, event: 'clear' }];
  }
}

/**
 * A lower bound r_min on the reach task's per-step reward r = −(√(|d|² + δ²) − δ) − c Σ (u_i/u_max,i)²
 * (`ReachTask`): −(√(|d|²+δ²) − δ) ≥ −|d|, |d| ≤ 2R (tip and a reachable target are both within R of
 * the URDF root), and |u_i| ≤ u_max,i (actions are clamped), so r ≥ −2R − c dU.
 * R = Σ |xyz| of the origins of the joints from the root to `tipLink` + Σ max(|lower|, |upper|) of
 * its prismatic joints: the triangle inequality along the chain, for every q.
 * @param torquePenalty c (`task.torque_penalty`)  @param dU joints controlled
 * @returns r_min (≤ 0, dimensionless; the distance term in m)
 * @throws UrdfError when `tipLink` is not a link of `urdf`.
 */
export function rewardLowerBound(urdf: UrdfModel, tipLink: string, torquePenalty: number, dU: number): number {
  let R = 0;
  for (const j of jointPath(urdf, tipLink)) {
    R += Math.hypot(...j.origin.xyz);
    if (j.type === 'prismatic' && j.limit) R += Math.max(Math.abs(j.limit.lower), Math.abs(j.limit.upper));
  }
  return -2 * R - torquePenalty * dU;
}

/**
 * The checks of an embedded training run (`Trainer`): every episode's and evaluation's record goes
 * through `LearningHealth`; a warning that starts is logged (winston `warn`), one that clears is
 * logged at `info`, both are appended to the run folder's `warnings.jsonl` and passed to
 * `listener` (the progress line of `naf-ros train`); the codes active afterwards go into the
 * record's `warnings` field.
 */
export class RunHealth {
  /** Called with every start and clear (after it is logged and written). */
  listener: ((e: HealthEvent) => void) | null = null;

  private constructor(readonly monitor: LearningHealth, readonly runDir: string, private readonly logger: Logger) {}

  /** Checks for a new run of `config` (its arm: `urdf`) in `runDir`. */
  static create(config: NafConfig, urdf: UrdfModel, runDir: string, logger: Logger): RunHealth {
    return new RunHealth(new LearningHealth(LearningHealth.optionsFor(config, urdf)), runDir, logger);
  }

  /**
   * Checks for a run resumed at `episode`: `warnings.jsonl` is cut to that episode (as the trainer
   * cuts metrics and eval), and the state is rebuilt from the run's metrics.jsonl and eval.jsonl
   * (already cut), so the resumed run warns exactly as the uninterrupted one would.
   */
  static resume(config: NafConfig, urdf: UrdfModel, runDir: string, logger: Logger, episode: number): RunHealth {
    truncateRecords(runDir, RUN_FILES.warnings, null, episode);
    const episodes = readRecords<EpisodeRecord>(join(runDir, RUN_FILES.metrics));
    const evals = readRecords<EvalRecord>(join(runDir, RUN_FILES.eval));
    return new RunHealth(LearningHealth.replay(LearningHealth.optionsFor(config, urdf), episodes, evals), runDir, logger);
  }

  /** Checks one training episode's record; returns the codes active afterwards. */
  episode(m: EpisodeSignals): WarningCode[] {
    return this.emit(this.monitor.observeEpisode(m));
  }

  /** Checks one evaluation's record; returns the codes active afterwards. */
  evaluation(e: EvalSignals): WarningCode[] {
    return this.emit(this.monitor.observeEval(e));
  }

  private emit(events: HealthEvent[]): WarningCode[] {
    for (const e of events) {
      if (e.event === 'start') this.logger.warn(`not learning? [${e.code}] from episode ${e.episode}: ${e.message}`, { meta: { warning: e.code, episode: e.episode } });
      else this.logger.info(e.message, { meta: { warning: e.code, cleared: e.episode } });
      appendFileSync(join(this.runDir, RUN_FILES.warnings), JSON.stringify(e) + '\n');
      this.listener?.(e);
    }
    return this.monitor.codes;
  }
}
