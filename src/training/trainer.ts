/**
 * The embedded training run (`naf-ros train`): Algorithm 2 (Algorithm 1 when imagination is off
 * and p = 1) on the MuJoCo arm, with the shared test-return protocol, per-episode metrics,
 * atomic checkpoints, the best-evaluated checkpoint, a held-out test of the final and the best
 * policy at the end, and exact resume.
 *
 * Run folder (layout and record fields: `src/report/run_folder.ts`, docs/getting-started.md "The run folder"):
 * `config.yaml`, `log.jsonl`, `metrics.jsonl/.csv`, `eval.jsonl/.csv`, `test.json`,
 * `learning_curve.svg`, `summary.md`, `checkpoints/`, and `warnings.jsonl` once a learning-health
 * check warns (`learning_health.ts`: a run that is not learning says so).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { NafConfig } from '../config/schema.js';
import { absolutePaths, parameterDiffs } from '../config/params_file.js';
import {
  appendRecord, BEST_CHECKPOINT, isRunFolder, readRunConfig, RUN_FILES, SUCCESS_DISTANCE, truncateRecords, writeAtomic, writeRunConfig,
  type EpisodeRecord, type EvalRecord, type PolicyTest, type TestReport,
} from '../report/run_folder.js';
import { writeRunReport } from '../report/report.js';
import type { Logger } from '../util/logger.js';
import { Rng } from '../util/rng.js';
import { markBest, readLatestCheckpoint, writeCheckpoint } from './checkpoint.js';
import { evaluate, evaluationStarts, randomTargetTestStarts, runEpisodeAsync, summariseEvaluation, testStarts, type EpisodeResult } from './episode.js';
import type { EpisodeStart } from '../env/types.js';
import { EpisodeActor } from './episode_actor.js';
import { loadCheckpointPolicy } from './eval_command.js';
import { armSignature, assertSameArm, buildTraining, loadConfigUrdf, type ArmSignature, type TrainingParts } from './factory.js';
import { RunHealth, type HealthEvent } from './learning_health.js';
import { learnerState, restoreLearner, type LearnerState, type RefitReport } from './learner.js';
import type { PolicySnapshot } from '../agent/types.js';
import { configRecorder } from '../viz/record.js';
import type { RolloutRecorder } from '../viz/rollout.js';
import { writeRolloutMcap } from '../viz/mcap_write.js';
import { nafRos } from '../cli/command_hint.js';

export type EpisodeMetrics = EpisodeRecord;
export type EvalMetrics = EvalRecord;

interface TrainerState {
  /** The config the run was trained with. */
  config: NafConfig;
  episode: number;
  wallSeconds: number;
  bestEval: number;
  /** Episode of the best evaluation (absent in checkpoints written before it existed). */
  bestEpisode?: number;
  learner: LearnerState;
  actor: ReturnType<EpisodeActor['getState']>;
  rng: ReturnType<Rng['state']>;
  arm: ArmSignature;
}

/** How a `run()` ended. */
export interface RunOutcome {
  /** Stopped by `shouldStop` before the budget. */
  stopped: boolean;
  /** The checkpoint holding the last completed episode. */
  checkpoint: string;
  /** True when that checkpoint was written by this call (false: it already existed). */
  checkpointWritten: boolean;
  test: TestReport | null;
}

export class Trainer {
  episode = 0;
  bestEval = -Infinity;
  bestEpisode: number | null = null;
  lastEval: EvalMetrics | null = null;
  private wallOffset = 0;
  private t0 = performance.now();
  private lastSnapshotAt = 0;
  private checkpointedAt = -1;
  private lastCheckpoint = '';
  /** The learning-health checks (`learning_health.ts`): warnings in the log, the records, warnings.jsonl. */
  health!: RunHealth;

  private constructor(
    readonly config: NafConfig,
    readonly runDir: string,
    public parts: TrainingParts,
    readonly logger: Logger,
  ) {}

  /**
   * A new run in `runDir` (must not already hold a run). Everything is built before the folder
   * is created, so a config that does not fit its arm leaves no run folder behind.
   */
  static async create(config: NafConfig, runDir: string, logger: Logger): Promise<Trainer> {
    if (isRunFolder(runDir)) throw new Error(`${runDir} already holds a run; continue it with: ${nafRos('train', '--resume', runDir)}`);
    const parts = await buildTraining(config, logger);
    mkdirSync(runDir, { recursive: true });
    writeRunConfig(runDir, config);
    logger.debug('tfjs backends tried', { meta: { tried: parts.backend.tried } });
    const t = new Trainer(config, runDir, parts, logger);
    t.health = RunHealth.create(config, loadConfigUrdf(config), runDir, logger);
    return t;
  }

  /**
   * Continues the run in `runDir` from its newest complete checkpoint, with the config it was
   * trained with. `override` (a config from the command line) may only change the budget
   * (`training.episodes`, also settable alone with `episodes`); any other difference is refused,
   * naming the parameters.
   * @throws CheckpointError (corrupt/missing, unless `fallback`), ConfigError or Error (config mismatch).
   */
  static async resume(runDir: string, logger: Logger, opts: { fallback?: boolean; override?: NafConfig; episodes?: number } = {}): Promise<Trainer> {
    const saved = readRunConfig(runDir);
    const config = opts.override ? mergeBudget(saved, opts.override) : structuredClone(saved);
    if (opts.episodes !== undefined) config.training.episodes = opts.episodes;
    const ckpt = readLatestCheckpoint(join(runDir, RUN_FILES.checkpoints), opts.fallback);
    // A node's checkpoint holds its learner only (no actor, RNG streams or evaluation state).
    if ((ckpt.state as { node?: unknown }).node !== undefined) {
      throw new Error(`${runDir} is a run of the ROS node naf_trainer: continue it on the node (ros2 launch naf_ros <launch file> resume:=${runDir}, parameter ros.resume); ` +
        `its report: ${nafRos('report', runDir)}; its policy on the embedded arm: ${nafRos('eval', '--checkpoint', runDir)}`);
    }
    // An extended (or shortened) budget is the run's budget from now on.
    if (config.training.episodes !== saved.training.episodes) writeRunConfig(runDir, config, `training.episodes changed from ${saved.training.episodes} to ${config.training.episodes} on resume`);
    for (const s of ckpt.skipped) logger.warn(`skipped corrupt checkpoint ${s}`);
    const st = ckpt.state as TrainerState;
    const parts = await buildTraining(config, logger);
    assertSameArm(ckpt.path, st.arm, parts);
    parts.learner = await restoreLearner(parts.learner, st.learner);
    parts.actor = EpisodeActor.restore(parts.actor.options, st.actor);
    parts.actor.setPolicy(parts.agent.snapshot());
    parts.actor.setController(parts.learner.controller);
    parts.rng = new Rng(0, st.rng);
    // Lines written after the checkpoint (episodes that will be trained again) are dropped, so
    // the learning curve continues from the checkpoint without duplicates.
    truncateRecords(runDir, RUN_FILES.metrics, RUN_FILES.metricsCsv, st.episode);
    truncateRecords(runDir, RUN_FILES.eval, RUN_FILES.evalCsv, st.episode);
    const t = new Trainer(config, runDir, parts, logger);
    t.health = RunHealth.resume(config, loadConfigUrdf(config), runDir, logger, st.episode);
    t.episode = st.episode;
    t.bestEval = st.bestEval;
    t.bestEpisode = st.bestEpisode ?? null;
    t.wallOffset = st.wallSeconds;
    t.checkpointedAt = st.episode;
    t.lastCheckpoint = ckpt.path;
    logger.info(`resumed ${runDir} at episode ${st.episode} of ${config.training.episodes} from ${ckpt.path}`);
    return t;
  }

  get wallSeconds(): number {
    return this.wallOffset + (performance.now() - this.t0) / 1000;
  }

  /** True when the run has trained its whole budget (`training.episodes`). */
  get complete(): boolean {
    return this.episode >= this.config.training.episodes;
  }

  /**
   * Trains until `training.episodes` or `shouldStop()`. Evaluates at episode 0, every
   * `eval_every_episodes` and at the end; checkpoints every `checkpoint_every_episodes`, at every
   * new best evaluation (which becomes `checkpoints/best.safetensors`) and at the end; an episode
   * interrupted by a stop is dropped.
   * Then tests the final and the best policy on the held-out test starts (`test.json`) and
   * writes `learning_curve.svg` and `summary.md`.
   */
  async run(hooks: { onEpisode?: (m: EpisodeMetrics) => void; onEval?: (m: EvalMetrics) => void; onWarning?: (e: HealthEvent) => void; shouldStop?: () => boolean } = {}): Promise<RunOutcome> {
    const tr = this.config.training;
    this.health.listener = hooks.onWarning ?? null;
    const evalStarts = evaluationStarts(this.parts.task, tr.eval_episodes, tr.eval_seed);
    if (this.episode === 0 && this.lastEval === null && this.checkpointedAt < 0) {
      const e = this.evaluate(evalStarts, hooks.onEval);
      await this.checkpoint(e.best);
    }
    while (this.episode < tr.episodes && !hooks.shouldStop?.()) {
      const m = await this.trainEpisode(hooks.shouldStop);
      if (m.steps < this.parts.task.T) break; // stopped mid-episode: that episode is not kept
      hooks.onEpisode?.(m);
      const e = this.episode % tr.eval_every_episodes === 0 ? this.evaluate(evalStarts, hooks.onEval) : null;
      if (this.episode % tr.checkpoint_every_episodes === 0 || e?.best) await this.checkpoint(e?.best ?? false);
    }
    // The final (or stopped) policy is evaluated too, so that it can become the best.
    const e = this.lastEval?.episode === this.episode ? null : this.evaluate(evalStarts, hooks.onEval);
    const written = this.episode !== this.checkpointedAt || Boolean(e?.best);
    if (written) await this.checkpoint(e?.best ?? false);
    const stopped = !this.complete;
    this.logger.info(`${stopped ? 'stopped; checkpoint of the last complete episode' : 'final checkpoint'} (episode ${this.episode}): ${this.lastCheckpoint}${written ? '' : ' (already written)'}`);
    const test = await this.testPolicies();
    await writeRunReport(this.runDir);
    return { stopped, checkpoint: this.lastCheckpoint, checkpointWritten: written, test };
  }

  /** One training episode; returns its metrics (also appended to metrics.jsonl/.csv). */
  async trainEpisode(shouldStop?: () => boolean): Promise<EpisodeMetrics> {
    const { arm, task, actor, learner, agent, rng } = this.parts;
    const start = task.sampleEpisodeStart(rng);
    const t0 = performance.now();
    actor.setController(learner.controller);
    // Fresh weights at every episode start (and every `publish_policy_every_updates` updates
    // within it): a resumed run then continues exactly as the uninterrupted one would.
    actor.setPolicy(agent.snapshot());
    this.lastSnapshotAt = agent.updates;
    const every = this.config.training.publish_policy_every_updates;
    const r = await runEpisodeAsync({
      arm, task, actor, learner, start, shouldStop,
      refreshPolicy: () => {
        if (agent.updates - this.lastSnapshotAt >= every) {
          actor.setPolicy(agent.snapshot());
          this.lastSnapshotAt = agent.updates;
        }
      },
    });
    this.logNotices();
    if (r.steps < task.T) return this.metrics(r, null, t0);
    this.episode++;
    const refit = learner.endEpisode();
    if (refit) this.logger.debug('model refit', { meta: refit });
    if (refit && !refit.accepted) {
      const why = Number.isFinite(refit.kl) ? `its KL ${refit.kl.toFixed(3)} exceeds the trust region ${refit.klBound.toFixed(3)}` : 'no positive-definite solution';
      this.logger.warn(`iLQG step of refit ${refit.refit} not installed (${why}); the previous controller is kept (${learner.ilqgRejected} of ${learner.refits} refits so far)`, { meta: refit });
    }
    const m = this.metrics(r, refit ?? learner.lastRefit, t0);
    m.warnings = this.health.episode(m);
    appendRecord(this.runDir, RUN_FILES.metrics, RUN_FILES.metricsCsv, m);
    return m;
  }

  /** The agent's notices (its head worker failed, restarted, was given up: `QAgent.takeNotices`), each logged once. */
  private logNotices(): void {
    for (const n of this.parts.agent.takeNotices()) {
      this.logger.log(n.level, n.text);
      if (n.detail) this.logger.debug('detail of the previous message', { meta: { detail: n.detail } });
    }
  }

  private metrics(r: EpisodeResult, refit: RefitReport | null, t0: number): EpisodeMetrics {
    const { learner, agent } = this.parts;
    const s = (performance.now() - t0) / 1000;
    return {
      episode: this.episode, ...r, totalSteps: learner.steps, totalUpdates: agent.updates,
      imaginedTotal: learner.imaginedTotal, refits: learner.refits, ilqgRejected: learner.ilqgRejected, fictionalSize: learner.Rf.size,
      modelMse: refit?.predictionMse ?? NaN, modelMseMeanPath: refit?.meanPathMse ?? NaN, divergences: agent.divergences,
      wallSeconds: this.wallSeconds,
      stepsPerSecond: r.steps / s, updatesPerSecond: r.updates / s,
    };
  }

  /** Test-return protocol: greedy policy on the fixed evaluation starts (held out from training). */
  evaluate(starts: ReturnType<typeof evaluationStarts>, onEval?: (m: EvalMetrics) => void): EvalMetrics {
    const { arm, task, actor, agent } = this.parts;
    actor.setPolicy(agent.greedySnapshot());
    const r = evaluate(arm, task, actor, starts);
    const s = summariseEvaluation(r, SUCCESS_DISTANCE);
    const best = s.meanReturn > this.bestEval;
    if (best) {
      this.bestEval = s.meanReturn;
      this.bestEpisode = this.episode;
    }
    const m: EvalMetrics = { episode: this.episode, totalSteps: this.parts.learner.steps, ...s, ...r, best, wallSeconds: this.wallSeconds };
    m.warnings = this.health.evaluation(m);
    this.lastEval = m;
    appendRecord(this.runDir, RUN_FILES.eval, RUN_FILES.evalCsv, m);
    onEval?.(m);
    return m;
  }

  /**
   * Writes the complete training state atomically as `checkpoints/ckpt-<episode>.safetensors`
   * (the two newest are kept); with `best`, it also becomes `checkpoints/best.safetensors`.
   * @returns the checkpoint file.
   */
  async checkpoint(best = false): Promise<string> {
    const { learner, actor, rng } = this.parts;
    const state: TrainerState = {
      config: this.config, episode: this.episode, wallSeconds: this.wallSeconds, bestEval: this.bestEval,
      bestEpisode: this.bestEpisode ?? undefined,
      learner: await learnerState(learner), actor: actor.getState(), rng: rng.state(),
      arm: armSignature(this.parts),
    };
    const path = writeCheckpoint(join(this.runDir, RUN_FILES.checkpoints), String(this.episode).padStart(7, '0'), state);
    this.checkpointedAt = this.episode;
    this.lastCheckpoint = path;
    if (best) {
      const b = markBest(path);
      this.logger.info(`best checkpoint: episode ${this.episode}, eval return ${this.bestEval.toFixed(3)} -> ${b}`);
    } else this.logger.debug(`checkpoint ${path}`);
    return path;
  }

  /**
   * The held-out test (`training.test_episodes` starts from `training.test_seed`, a stream
   * disjoint from training's and from the evaluation starts that chose the best): the final
   * policy (the current one) and the best checkpoint's; then both on `training.test_random_targets`
   * random reachable targets (`randomTargetTestStarts`). Written to `test.json`; the final
   * policy's episodes on the task's starts are recorded to `test_final.mcap` (a failed recording
   * is logged, not thrown). (Every episode sets its start's target, so the task is left as it was.)
   */
  async testPolicies(): Promise<TestReport> {
    const { arm, task, actor, agent } = this.parts;
    const tr = this.config.training;
    const test = (starts: EpisodeStart[], snapshot: PolicySnapshot, episode: number, checkpoint: string, rec?: RolloutRecorder): PolicyTest => {
      actor.setPolicy(snapshot);
      const r = evaluate(rec ? rec.arm(arm) : arm, task, actor, starts);
      rec?.annotate(r);
      return { episode, checkpoint: relative(this.runDir, checkpoint), ...summariseEvaluation(r, SUCCESS_DISTANCE), ...r };
    };
    const bestFile = join(this.runDir, RUN_FILES.checkpoints, BEST_CHECKPOINT);
    const bestPolicy = existsSync(bestFile) ? await loadCheckpointPolicy(bestFile) : null;
    const finalSnapshot = agent.greedySnapshot();
    const both = (starts: EpisodeStart[], rec?: RolloutRecorder) => ({
      final: test(starts, finalSnapshot, this.episode, this.lastCheckpoint, rec),
      best: bestPolicy && test(starts, bestPolicy.snapshot, bestPolicy.episode, bestFile),
    });
    const rec = configRecorder(this.config, task, `naf-ros train: held-out test of the final policy (episode ${this.episode}) of ${this.runDir}`);
    const { final, best } = both(testStarts(task, tr.test_episodes, tr.test_seed), rec);
    await writeRolloutMcap(rec.rollout(), join(this.runDir, RUN_FILES.testRollout))
      .catch((e: unknown) => this.logger.warn(`held-out test not recorded: ${(e as Error).message}`));
    let randomTargets: TestReport['randomTargets'];
    if (tr.test_random_targets > 0) {
      randomTargets = { episodes: tr.test_random_targets, ...both(randomTargetTestStarts(task, tr.test_random_targets, tr.test_seed)) };
    }
    const report: TestReport = { episodes: tr.test_episodes, seed: tr.test_seed, successDistance: SUCCESS_DISTANCE, final, best, ...(randomTargets ? { randomTargets } : {}), created: new Date().toISOString() };
    writeAtomic(join(this.runDir, RUN_FILES.test), JSON.stringify(report, null, 1) + '\n');
    const line = (name: string, t: PolicyTest, n: number) => `${name} (episode ${t.episode}): return ${t.meanReturn.toFixed(2)}, ${t.successes}/${n} within ${SUCCESS_DISTANCE * 100} cm, median ${(t.medianDistance * 100).toFixed(2)} cm`;
    this.logger.info(`held-out test, ${tr.test_episodes} starts: ${line('final', final, tr.test_episodes)}${best ? `; ${line('best', best, tr.test_episodes)}` : ''}`);
    if (randomTargets) {
      const n = randomTargets.episodes;
      this.logger.info(`held-out test, ${n} random targets: ${line('final', randomTargets.final, n)}${randomTargets.best ? `; ${line('best', randomTargets.best, n)}` : ''}`);
    }
    return report;
  }

  dispose(): void {
    this.parts.agent.dispose();
    this.parts.arm.dispose();
  }
}

/**
 * The saved config with only the budget taken from `override`; other differences are refused.
 * Paths are compared resolved; `run_dir` is not compared (the run folder is already chosen).
 */
function mergeBudget(saved: NafConfig, override: NafConfig): NafConfig {
  const a = absolutePaths(saved);
  const b = absolutePaths(override);
  a.training.episodes = b.training.episodes;
  b.run_dir = a.run_dir;
  const diffs = parameterDiffs(a, b).map((d) => `${d.name}: run has ${JSON.stringify(d.from)}, --config gives ${JSON.stringify(d.to)}`);
  if (diffs.length) throw new Error(`refusing to resume with a different config: ${diffs.join('; ')}`);
  return a;
}
