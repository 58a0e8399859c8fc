/**
 * The embedded training run (`naf-ros train`): Algorithm 2 (Algorithm 1 when imagination is off
 * and p = 1) on the MuJoCo arm, with the shared test-return protocol, per-episode metrics,
 * periodic atomic checkpoints and exact resume.
 *
 * Run folder: `config.json` (the config trained with), `log.jsonl` (winston), `metrics.jsonl`
 * (one line per training episode), `eval.jsonl` (one line per evaluation), `checkpoints/`.
 */
import { appendFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { NafConfig } from '../config/schema.js';
import { parseConfig } from '../config/load.js';
import type { Logger } from '../util/logger.js';
import { Rng } from '../util/rng.js';
import { readLatestCheckpoint, writeCheckpoint } from './checkpoint.js';
import { evaluate, evaluationStarts, runEpisodeAsync, type EpisodeResult } from './episode.js';
import { EpisodeActor } from './episode_actor.js';
import { armSignature, assertSameArm, buildTraining, type ArmSignature, type TrainingParts } from './factory.js';
import { learnerState, restoreLearner, type LearnerState } from './learner.js';

export interface EpisodeMetrics extends EpisodeResult {
  episode: number;
  totalSteps: number;
  totalUpdates: number;
  imaginedTotal: number;
  /** One-step prediction MSE of the model on the latest batch, before its refit (NaN if none). */
  modelMse: number;
  wallSeconds: number;
  stepsPerSecond: number;
  updatesPerSecond: number;
}

export interface EvalMetrics {
  episode: number;
  totalSteps: number;
  meanReturn: number;
  returns: number[];
  finalDistances: number[];
  wallSeconds: number;
}

interface TrainerState {
  /** The config the run was trained with. */
  config: NafConfig;
  episode: number;
  wallSeconds: number;
  bestEval: number;
  learner: LearnerState;
  actor: ReturnType<EpisodeActor['getState']>;
  rng: ReturnType<Rng['state']>;
  arm: ArmSignature;
}

export class Trainer {
  episode = 0;
  bestEval = -Infinity;
  lastEval: EvalMetrics | null = null;
  private wallOffset = 0;
  private t0 = performance.now();
  private lastSnapshotAt = 0;
  private checkpointedAt = -1;

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
    if (existsSync(join(runDir, 'config.json'))) throw new Error(`${runDir} already holds a run; use --resume ${runDir}`);
    const parts = await buildTraining(config);
    mkdirSync(runDir, { recursive: true });
    writeFileSync(join(runDir, 'config.json'), JSON.stringify(config, null, 2));
    logger.info(`tfjs backend: ${parts.backend.name}`, { meta: { tried: parts.backend.tried } });
    return new Trainer(config, runDir, parts, logger);
  }

  /**
   * Continues the run in `runDir` from its newest complete checkpoint, with the config it was
   * trained with. `override` (a config from the command line) may only change the budget
   * (`training.episodes`, also settable alone with `episodes`); any other difference is refused,
   * naming the parameters.
   * @throws CheckpointError (corrupt/missing, unless `fallback`) or Error (config mismatch).
   */
  static async resume(runDir: string, logger: Logger, opts: { fallback?: boolean; override?: NafConfig; episodes?: number } = {}): Promise<Trainer> {
    const saved = parseConfig(JSON.parse(readFileSync(join(runDir, 'config.json'), 'utf8')), join(runDir, 'config.json'));
    const config = opts.override ? mergeBudget(saved, opts.override) : saved;
    if (opts.episodes !== undefined) config.training.episodes = opts.episodes;
    const ckpt = readLatestCheckpoint(join(runDir, 'checkpoints'), opts.fallback);
    for (const s of ckpt.skipped) logger.warn(`skipped corrupt checkpoint ${s}`);
    const st = ckpt.state as TrainerState;
    const parts = await buildTraining(config);
    assertSameArm(ckpt.path, st.arm, parts);
    parts.learner = await restoreLearner(parts.learner, st.learner);
    parts.actor = EpisodeActor.restore(parts.actor.options, st.actor);
    parts.actor.setPolicy(parts.agent.snapshot());
    parts.actor.setController(parts.learner.controller);
    parts.rng = new Rng(0, st.rng);
    // Lines written after the checkpoint (episodes that will be trained again) are dropped, so
    // the learning curve continues from the checkpoint without duplicates.
    for (const f of ['metrics.jsonl', 'eval.jsonl']) truncateLog(join(runDir, f), st.episode);
    const t = new Trainer(config, runDir, parts, logger);
    t.episode = st.episode;
    t.bestEval = st.bestEval;
    t.wallOffset = st.wallSeconds;
    logger.info(`resumed ${runDir} at episode ${st.episode} from ${ckpt.path}; tfjs backend: ${parts.backend.name}`);
    return t;
  }

  get wallSeconds(): number {
    return this.wallOffset + (performance.now() - this.t0) / 1000;
  }

  /**
   * Trains until `training.episodes` or `shouldStop()`; checkpoints every
   * `checkpoint_every_episodes` and at the end (also after a stop).
   */
  async run(hooks: { onEpisode?: (m: EpisodeMetrics) => void; onEval?: (m: EvalMetrics) => void; shouldStop?: () => boolean } = {}): Promise<void> {
    const { config } = this;
    const tr = config.training;
    const evalStarts = evaluationStarts(this.parts.task, tr.eval_episodes, tr.eval_seed);
    if (this.episode === 0) this.evaluate(evalStarts, hooks.onEval);
    while (this.episode < tr.episodes && !hooks.shouldStop?.()) {
      const m = await this.trainEpisode(hooks.shouldStop);
      if (m.steps < this.parts.task.T) break; // stopped mid-episode: that episode is not kept
      hooks.onEpisode?.(m);
      if (this.episode % tr.eval_every_episodes === 0) this.evaluate(evalStarts, hooks.onEval);
      if (this.episode % tr.checkpoint_every_episodes === 0) await this.checkpoint();
    }
    if (this.episode !== this.checkpointedAt) await this.checkpoint();
  }

  /** One training episode; returns its metrics (also appended to metrics.jsonl). */
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
    if (r.steps < task.T) return this.metrics(r, NaN, t0);
    this.episode++;
    const refit = learner.endEpisode();
    if (refit) this.logger.debug('model refit', { meta: refit });
    const m = this.metrics(r, refit?.predictionMse ?? learner.lastRefit?.predictionMse ?? NaN, t0);
    appendFileSync(join(this.runDir, 'metrics.jsonl'), JSON.stringify(m) + '\n');
    return m;
  }

  private metrics(r: EpisodeResult, modelMse: number, t0: number): EpisodeMetrics {
    const { learner, agent } = this.parts;
    const s = (performance.now() - t0) / 1000;
    return {
      ...r, episode: this.episode, totalSteps: learner.steps, totalUpdates: agent.updates,
      imaginedTotal: learner.imaginedTotal, modelMse, wallSeconds: this.wallSeconds,
      stepsPerSecond: r.steps / s, updatesPerSecond: r.updates / s,
    };
  }

  /** Test-return protocol: greedy policy on the fixed evaluation starts. */
  evaluate(starts: ReturnType<typeof evaluationStarts>, onEval?: (m: EvalMetrics) => void): EvalMetrics {
    const { arm, task, actor, agent } = this.parts;
    actor.setPolicy(agent.snapshot());
    const { returns, finalDistances } = evaluate(arm, task, actor, starts);
    const meanReturn = returns.reduce((a, b) => a + b, 0) / returns.length;
    this.bestEval = Math.max(this.bestEval, meanReturn);
    const m: EvalMetrics = { episode: this.episode, totalSteps: this.parts.learner.steps, meanReturn, returns, finalDistances, wallSeconds: this.wallSeconds };
    this.lastEval = m;
    appendFileSync(join(this.runDir, 'eval.jsonl'), JSON.stringify(m) + '\n');
    onEval?.(m);
    return m;
  }

  /** Writes the complete training state atomically; returns its folder. */
  async checkpoint(): Promise<string> {
    const { learner, actor, rng } = this.parts;
    const state: TrainerState = {
      config: this.config, episode: this.episode, wallSeconds: this.wallSeconds, bestEval: this.bestEval,
      learner: await learnerState(learner), actor: actor.getState(), rng: rng.state(),
      arm: armSignature(this.parts),
    };
    const path = writeCheckpoint(join(this.runDir, 'checkpoints'), String(this.episode).padStart(7, '0'), state);
    this.checkpointedAt = this.episode;
    this.logger.info(`checkpoint ${path}`);
    return path;
  }

  dispose(): void {
    this.parts.agent.dispose();
    this.parts.arm.dispose();
  }
}

/** Keeps the JSON lines of `file` whose `episode` is <= `episode` (atomic rewrite). */
function truncateLog(file: string, episode: number): void {
  if (!existsSync(file)) return;
  const keep = readFileSync(file, 'utf8').split('\n').filter((l) => {
    try { return l && JSON.parse(l).episode <= episode; } catch { return false; }
  });
  writeFileSync(`${file}.tmp`, keep.map((l) => l + '\n').join(''));
  renameSync(`${file}.tmp`, file);
}

/** The saved config with only the budget taken from `override`; other differences are refused. */
function mergeBudget(saved: NafConfig, override: NafConfig): NafConfig {
  const a = structuredClone(saved);
  const b = structuredClone(override);
  a.training.episodes = b.training.episodes;
  const diffs: string[] = [];
  const walk = (x: unknown, y: unknown, path: string) => {
    if (x && y && typeof x === 'object' && typeof y === 'object' && !Array.isArray(x)) {
      for (const k of new Set([...Object.keys(x), ...Object.keys(y)])) walk((x as never)[k], (y as never)[k], path ? `${path}.${k}` : k);
    } else if (JSON.stringify(x) !== JSON.stringify(y)) diffs.push(`${path}: run has ${JSON.stringify(x)}, --config gives ${JSON.stringify(y)}`);
  };
  walk(a, b, '');
  if (diffs.length) throw new Error(`refusing to resume with a different config:\n  - ${diffs.join('\n  - ')}`);
  return a;
}
