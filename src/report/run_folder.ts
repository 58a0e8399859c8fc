/**
 * The run folder: what a training run writes, under which names, in which formats. One place for
 * the layout, used by the trainer (writing), `naf-ros report` (reading) and the checkpoint store
 * (names). docs/getting-started.md "The run folder" documents every file and field with its unit.
 *
 *   config.yaml              the resolved config as a ROS 2 params file (`--config` accepts it)
 *   log.jsonl                winston log lines (JSON)
 *   metrics.jsonl / .csv     one record per training episode (`EpisodeRecord`)
 *   eval.jsonl / .csv        one record per evaluation of the greedy policy (`EvalRecord`)
 *   test.json                held-out test of the final and the best policy (`TestReport`)
 *   warnings.jsonl           learning-health warnings starting and clearing (`HealthEvent`,
 *                            `src/training/learning_health.ts`); absent while none has started
 *   test_final.mcap          the final policy's held-out test episodes, recorded (src/viz/mcap_write.ts;
 *                            `naf-ros view <run>`, Foxglove, `ros2 bag play`)
 *   learning_curve.svg       training return, test return, success rate, distance
 *   summary.md               what ran, how long, best and final evaluation, where the best is
 *   checkpoints/             ckpt-<episode>.safetensors (newest kept) and best.safetensors
 *
 * A run of the ROS node `naf_trainer` (train or deploy mode; `src/training/node_run_folder.ts`)
 * holds config.yaml, metrics.jsonl / .csv, warnings.jsonl, summary.md, learning_curve.svg and
 * checkpoints/ in these formats, and beside them:
 *
 *   node.log.jsonl           the node's winston log lines (JSON)
 *   diagnostics.jsonl        every /diagnostics report, one JSON line each
 *
 * A fleet's learner (`naf_learner`) writes the same, one record per episode of any arm (its
 * `arm` field names the arm), and `learner.log.jsonl` for its log.
 *
 * Runs written before this layout have `config.json` instead of `config.yaml` and checkpoint
 * folders `checkpoints/ckpt-<episode>/`; they are read as they are.
 *
 * The `warnings` field of metrics.jsonl and eval.jsonl records lists the codes of the warnings
 * active once that record's episode (evaluation) was checked; warnings.jsonl has one line per start
 * or clear with its message (the signal, its numbers, the likely cause, what to do).
 *
 * CSV files carry the same fields as the JSON lines (arrays of numbers spread over `name_1 … name_n`
 * columns, arrays of strings in one column joined by spaces, objects over `name_key` columns),
 * written with d3-dsv (RFC 4180 quoting).
 */
import { appendFileSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { csvFormat, csvFormatBody } from 'd3-dsv';
import { ConfigError, loadParamsFile, parseConfig } from '../config/load.js';
import { dumpParamsFile } from '../config/params_file.js';
import { NAF_ROS } from '../cli/command_hint.js';
import type { NafConfig } from '../config/schema.js';
import type { EpisodeInterventions } from '../safety/supervised_arm.js';

export const RUN_FILES = {
  config: 'config.yaml',
  legacyConfig: 'config.json',
  log: 'log.jsonl',
  metrics: 'metrics.jsonl',
  metricsCsv: 'metrics.csv',
  eval: 'eval.jsonl',
  evalCsv: 'eval.csv',
  test: 'test.json',
  warnings: 'warnings.jsonl',
  /** The final policy's held-out test episodes as MCAP (`src/viz/mcap_write.ts`). */
  testRollout: 'test_final.mcap',
  curve: 'learning_curve.svg',
  summary: 'summary.md',
  /** The arm's collision line (`env/collision_report.ts`), written by `naf-ros train` at start. */
  collision: 'collision.txt',
  checkpoints: 'checkpoints',
  /** The ROS node's log (`src/ros/main.ts`): its presence marks a node run. */
  nodeLog: 'node.log.jsonl',
  /** The ROS node's /diagnostics reports, one JSON line each. */
  diagnostics: 'diagnostics.jsonl',
  /** The fleet learner node's log (`naf_learner`): its presence marks a fleet run. */
  learnerLog: 'learner.log.jsonl',
  /** The fleet learner's ledger: one JSON line per episode it took (`FleetLearner`), for exactly-once checks. */
  fleetEpisodes: 'episodes.jsonl',
} as const;

/** Checkpoint file names inside `checkpoints/`. */
export const CHECKPOINT_EXT = '.safetensors';
export const BEST_CHECKPOINT = `best${CHECKPOINT_EXT}`;
export const checkpointName = (episode: number) => `ckpt-${String(episode).padStart(7, '0')}${CHECKPOINT_EXT}`;

/** Success: the fingertip ends within this distance of the target, m (2 cm: the precision the results report). */
export const SUCCESS_DISTANCE = 0.02;

/** One training episode (metrics.jsonl). Distances in m, times in s. */
export interface EpisodeRecord {
  /** Episodes completed so far (1-based index of this one). */
  episode: number;
  /** Controller of the episode: the NAF policy with noise, or the iLQG controller. */
  controller: 'naf' | 'ilqg';
  /** Sum of the T rewards (dimensionless). */
  return: number;
  /** Fingertip-to-target distance after the last step, m. */
  finalDistance: number;
  /** Gradient updates during the episode (from R and R_f). */
  updates: number;
  /** Imagined transitions added to R_f during the episode. */
  imagined: number;
  /** Mean Bellman loss of the episode's updates (NaN before learning starts). */
  loss: number;
  /** Mean Q(x, u) of the episode's minibatches, in scaled reward units (`agent.reward_scale`; NaN before learning starts; absent in older runs). */
  qMean?: number;
  /** Control steps of the episode (T). */
  steps: number;
  /**
   * Control steps in which the safety supervisor changed the command, by rule (velocity_limit,
   * soft_limit, workspace_limit, torque_clamp, non_finite): training runs under the rules its
   * deployment applies (absent in older runs).
   */
  interventions?: EpisodeInterventions;
  totalSteps: number;
  totalUpdates: number;
  imaginedTotal: number;
  /** Model refits so far, and how many of their iLQG steps were not installed (KL bound broken; absent in older runs). */
  refits?: number;
  ilqgRejected?: number;
  /** Imagined transitions in R_f after the episode (absent in older runs). */
  fictionalSize?: number;
  /** One-step prediction MSE of the model on the newest batch before its refit (NaN if none). */
  modelMse: number;
  /**
   * The same batch's one-step MSE of the "mean path" predictor (the previous batch's mean state at
   * each step, ignoring state and torque; NaN if none; absent in older runs): modelMse /
   * modelMseMeanPath is the scale-free model error of the `model_error` warning (`learning_health.ts`).
   */
  modelMseMeanPath?: number;
  /** Divergence-guard interventions so far (updates skipped for a non-finite loss or weights; absent in older runs). */
  divergences?: number;
  /** Wall time of the run so far (all sessions), s. */
  wallSeconds: number;
  stepsPerSecond: number;
  updatesPerSecond: number;
  /** Codes of the learning-health warnings active after this episode (`learning_health.ts`; absent in older runs). */
  warnings?: string[];
  /**
   * Episodes aborted on the arm so far in the run (watchdog, e-stop, pause, a second joint-state
   * publisher): node runs only (absent in `naf-ros train` runs, whose episodes cannot abort). An
   * aborted episode has no record of its own; its transitions stay in R.
   */
  aborted?: number;
  /** Fleet runs (`naf_learner`): the arm the episode came from, its actor's namespace (e.g. `/arm1`). */
  arm?: string;
}

/** One evaluation of the greedy policy (eval.jsonl). */
export interface EvalRecord {
  /** Training episodes completed when evaluated (0 = untrained). */
  episode: number;
  totalSteps: number;
  /** Mean return over the evaluation episodes. */
  meanReturn: number;
  returns: number[];
  /** Final fingertip distance per evaluation episode, m. */
  finalDistances: number[];
  /** Evaluation episodes ending within SUCCESS_DISTANCE. */
  successes: number;
  /** Median of finalDistances, m. */
  medianDistance: number;
  /** This evaluation is the best so far (its checkpoint became checkpoints/best). */
  best: boolean;
  /** Supervisor interventions summed over the evaluation episodes, by rule (absent in older runs). */
  interventions?: EpisodeInterventions;
  wallSeconds: number;
  /** Codes of the learning-health warnings active after this evaluation (absent in older runs). */
  warnings?: string[];
}

/** Held-out test of one policy (test.json). */
export interface PolicyTest {
  /** Training episodes of the tested policy. */
  episode: number;
  /** The checkpoint file tested, relative to the run folder. */
  checkpoint: string;
  meanReturn: number;
  successes: number;
  medianDistance: number;
  returns: number[];
  finalDistances: number[];
  /** Supervisor interventions summed over the test episodes, by rule (absent in older runs). */
  interventions?: EpisodeInterventions;
}

export interface TestReport {
  /** Episodes and seed of the held-out starts (`training.test_episodes`, `training.test_seed`). */
  episodes: number;
  seed: number;
  successDistance: number;
  final: PolicyTest;
  best: PolicyTest | null;
  /**
   * The same two policies on random reachable targets (`training.test_random_targets` episodes,
   * `randomTargetTestStarts`); absent when that is 0 and in older runs.
   */
  randomTargets?: { episodes: number; final: PolicyTest; best: PolicyTest | null };
  /** ISO time of the test. */
  created: string;
}

/** Median of a list (lower middle for even lengths); NaN for an empty one. */
export function median(a: readonly number[]): number {
  const s = [...a].sort((x, y) => x - y);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN;
}

/**
 * Record -> flat CSV row: arrays of numbers spread over `name_1 … name_n`, arrays of strings (codes,
 * of varying length) in one column joined by spaces; non-finite numbers as text.
 */
function flatRow(r: object): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {};
  for (const [k, v] of Object.entries(r)) {
    if (Array.isArray(v) && v.every((x) => typeof x === 'string')) out[k] = v.join(' ');
    else if (Array.isArray(v)) v.forEach((x, i) => { out[`${k}_${i + 1}`] = x; });
    else if (v !== null && typeof v === 'object') for (const [sub, x] of Object.entries(v)) out[`${k}_${sub}`] = x as string | number | boolean;
    else out[k] = v as string | number | boolean;
  }
  return out;
}

/** Appends one record to `<name>.jsonl` and its CSV twin (header written with the first row). */
export function appendRecord(runDir: string, jsonl: string, csv: string, record: object): void {
  appendFileSync(join(runDir, jsonl), JSON.stringify(record) + '\n');
  const row = flatRow(record);
  const file = join(runDir, csv);
  if (!existsSync(file)) writeFileSync(file, csvFormat([row]) + '\n');
  else appendFileSync(file, csvFormatBody([row], Object.keys(row)) + '\n');
}

/** The records of a JSON-lines file (missing file: none; a torn last line is skipped). */
export function readRecords<T>(file: string): T[] {
  if (!existsSync(file)) return [];
  const out: T[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    if (!line) continue;
    try { out.push(JSON.parse(line) as T); } catch { /* a line torn by kill -9 */ }
  }
  return out;
}

/** Rewrites the CSV twin of a JSON-lines file from its records (atomic). */
export function rewriteCsv(runDir: string, jsonl: string, csv: string): void {
  const rows = readRecords<object>(join(runDir, jsonl)).map(flatRow);
  writeAtomic(join(runDir, csv), rows.length ? csvFormat(rows) + '\n' : '');
}

/**
 * Keeps the records of `jsonl` whose `field` (default `episode`) is <= `upTo`, and rebuilds its CSV
 * twin (if given).
 */
export function truncateRecords(runDir: string, jsonl: string, csv: string | null, upTo: number, field = 'episode'): void {
  const file = join(runDir, jsonl);
  if (!existsSync(file)) return;
  const keep = readRecords<Record<string, number>>(file).filter((r) => r[field] <= upTo);
  writeAtomic(file, keep.map((r) => JSON.stringify(r) + '\n').join(''));
  if (csv) rewriteCsv(runDir, jsonl, csv);
}

/** Writes a file by rename, so a reader never sees half of it. */
export function writeAtomic(file: string, text: string): void {
  writeFileSync(`${file}.tmp`, text);
  renameSync(`${file}.tmp`, file);
}

/**
 * Writes a run's `config.yaml` (atomically: a resume may rewrite it): every parameter, paths
 * absolute, as a ROS 2 params file (`naf_trainer: ros__parameters:`).
 * @param note why it was (re)written, for its header comment
 */
export function writeRunConfig(runDir: string, config: NafConfig, note?: string): void {
  writeAtomic(join(runDir, RUN_FILES.config), dumpParamsFile(config, [
    `The resolved config of this run (every parameter, paths absolute), written ${new Date().toISOString()}${note ? `: ${note}` : ''}.`,
    `A ROS 2 params file: ${NAF_ROS} train --config <this file>, or a params_file of ros2 launch.`,
  ]));
}

/**
 * The config a run was trained with: `config.yaml`, or `config.json` of runs written before it.
 * @throws ConfigError when neither exists or it is invalid (naming the file).
 */
export function readRunConfig(runDir: string): NafConfig {
  const yamlFile = join(runDir, RUN_FILES.config);
  if (existsSync(yamlFile)) return loadParamsFile(yamlFile);
  const jsonFile = join(runDir, RUN_FILES.legacyConfig);
  if (existsSync(jsonFile)) {
    let params: unknown;
    try { params = JSON.parse(readFileSync(jsonFile, 'utf8')); } catch (e) { throw new ConfigError(jsonFile, [`unreadable JSON: ${(e as Error).message}`]); }
    return parseConfig(params, jsonFile);
  }
  throw new ConfigError(runDir, [`not a run folder: neither ${RUN_FILES.config} nor ${RUN_FILES.legacyConfig} is there`]);
}

/** True when `dir` holds a run (its config file). */
export const isRunFolder = (dir: string) => existsSync(join(dir, RUN_FILES.config)) || existsSync(join(dir, RUN_FILES.legacyConfig));
