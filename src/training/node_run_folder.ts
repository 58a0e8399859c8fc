/**
 * The run folder of a ROS node run (`naf_trainer` in train or deploy mode): the files of a
 * `naf-ros train` run that the node has the facts for, in the same formats
 * (`src/report/run_folder.ts`), so that `naf-ros report` reads either:
 *
 *   config.yaml          the effective config as a params file, `ros.resume` left empty (the run's
 *                        config; `resume:=<run folder>` continues it); at the start, and again on a
 *                        resume that changes parameters (the header names them)
 *   metrics.jsonl / .csv one `EpisodeRecord` per completed episode, appended when it ends
 *   warnings.jsonl       learning-health warnings starting and clearing (train mode)
 *   summary.md, learning_curve.svg   rebuilt by `report()` (`writeRunReport`)
 *
 * Which thread writes: in train mode the learner (`LearnerSession`, in the learner's worker
 * thread), so no file is written on the thread of the control loop; in deploy mode (no learner
 * thread) the node's thread appends one line per episode, as `naf-ros train` does, and the summary
 * is rebuilt only after the control loop has stopped.
 *
 * Never fatal: a write that fails is reported once per file through `warn` and skipped; the node
 * and the arm carry on without it.
 */
import { appendFileSync, existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { NafConfig } from '../config/schema.js';
import { absolutePaths, parameterDiffs } from '../config/params_file.js';
import {
  appendRecord, readRecords, readRunConfig, RUN_FILES, truncateRecords, writeRunConfig, type EpisodeRecord, type EvalRecord,
} from '../report/run_folder.js';
import { writeRunReport } from '../report/report.js';
import type { HealthEvent } from './learning_health.js';

export interface NodeRunFolderOptions {
  /**
   * Completed episodes of the checkpoint the run resumed from: records and warnings past it are
   * dropped (those episodes' learning was lost with the process, as `naf-ros train --resume`
   * drops them). null or absent: a new run.
   */
  resumedAt?: number | null;
  /** Wall time of the run before this session, s (from the checkpoint); default: the last kept record's, or 0. */
  wallSeconds?: number;
  /** Where a failed write is reported (once per file). */
  warn: (message: string) => void;
  /** Least wall time between two `report()` calls that rebuild, s (forced ones always do). Default 60. */
  reportEveryS?: number;
}

/** The config as a run folder keeps it: paths absolute, `ros.resume` empty. */
function runConfig(config: NafConfig): NafConfig {
  const c = absolutePaths(config);
  c.ros.resume = '';
  return c;
}

export class NodeRunFolder {
  /** Records kept from the sessions before this one (a resumed run), oldest first. */
  readonly previous: EpisodeRecord[];
  private readonly warned = new Set<string>();
  private readonly t0 = performance.now();
  private readonly wallOffset: number;
  private readonly reportEveryMs: number;
  private lastReportAt = -Infinity;
  private pending: Promise<void> = Promise.resolve();

  private constructor(readonly runDir: string, previous: EpisodeRecord[], wallOffset: number, private readonly opts: NodeRunFolderOptions) {
    this.previous = previous;
    this.wallOffset = wallOffset;
    this.reportEveryMs = (opts.reportEveryS ?? 60) * 1000;
  }

  /**
   * Opens (creates) the run folder of `config` in `runDir`: writes config.yaml, or on a resume
   * cuts metrics and warnings to the resumed episode and rewrites config.yaml when parameters
   * changed. Never throws: what cannot be written is reported through `opts.warn`.
   */
  static open(config: NafConfig, runDir: string, opts: NodeRunFolderOptions): NodeRunFolder {
    const effective = runConfig(config);
    const attempt = (what: string, fn: () => void) => {
      try { fn(); } catch (e) { opts.warn(`run folder ${runDir}: cannot write ${what}: ${(e as Error).message}; the node carries on without it`); }
    };
    const resumed = opts.resumedAt ?? null;
    attempt(RUN_FILES.config, () => {
      mkdirSync(runDir, { recursive: true });
      if (resumed === null || !existsSync(join(runDir, RUN_FILES.config))) return writeRunConfig(runDir, effective, resumed === null ? undefined : `the run resumed at episode ${resumed}`);
      let note: string | null;
      try {
        const changed = parameterDiffs(runConfig(readRunConfig(runDir)), effective);
        note = changed.length ? `changed on resume at episode ${resumed}: ${changed.map((d) => `${d.name} ${JSON.stringify(d.from)} -> ${JSON.stringify(d.to)}`).join(', ')}` : null;
      } catch (e) {
        note = `resumed at episode ${resumed}; the previous ${RUN_FILES.config} could not be read (${(e as Error).message.split('\n')[0]})`;
      }
      if (note) writeRunConfig(runDir, effective, note);
    });
    let previous: EpisodeRecord[] = [];
    if (resumed !== null) {
      attempt(RUN_FILES.metrics, () => truncateRecords(runDir, RUN_FILES.metrics, RUN_FILES.metricsCsv, resumed));
      attempt(RUN_FILES.warnings, () => truncateRecords(runDir, RUN_FILES.warnings, null, resumed));
      attempt(RUN_FILES.eval, () => truncateRecords(runDir, RUN_FILES.eval, RUN_FILES.evalCsv, resumed));
      previous = readRecords<EpisodeRecord>(join(runDir, RUN_FILES.metrics)).filter((r) => r.episode <= resumed);
    }
    const wall = opts.wallSeconds ?? previous.at(-1)?.wallSeconds ?? 0;
    return new NodeRunFolder(runDir, previous, Number.isFinite(wall) ? wall : 0, opts);
  }

  /** Wall time of the run so far (all sessions), s. */
  get wallSeconds(): number {
    return this.wallOffset + (performance.now() - this.t0) / 1000;
  }

  /** Appends one completed episode's record to metrics.jsonl and metrics.csv. */
  episode(record: EpisodeRecord): void {
    this.attempt(RUN_FILES.metrics, () => appendRecord(this.runDir, RUN_FILES.metrics, RUN_FILES.metricsCsv, record));
  }

  /** Appends one evaluation on the arm to eval.jsonl and eval.csv (its wall time: the run's, all sessions). */
  evaluation(record: EvalRecord): void {
    this.attempt(RUN_FILES.eval, () => appendRecord(this.runDir, RUN_FILES.eval, RUN_FILES.evalCsv, { ...record, wallSeconds: this.wallSeconds }));
  }

  /** Appends learning-health warnings starting or clearing to warnings.jsonl. */
  warnings(events: readonly HealthEvent[]): void {
    if (!events.length) return;
    this.attempt(RUN_FILES.warnings, () => appendFileSync(join(this.runDir, RUN_FILES.warnings), events.map((e) => JSON.stringify(e) + '\n').join('')));
  }

  /**
   * Rebuilds summary.md, learning_curve.svg and the CSV files (`writeRunReport`, a few hundred ms
   * of CPU), after any rebuild still running; unless `force`, only when `reportEveryS` has passed
   * since the last one. Resolves when done; never rejects.
   */
  report(force = false): Promise<void> {
    const now = performance.now();
    if (!force && now - this.lastReportAt < this.reportEveryMs) return this.pending;
    this.lastReportAt = now;
    this.pending = this.pending
      .then(() => writeRunReport(this.runDir))
      .then(() => undefined, (e: unknown) => this.warnOnce(RUN_FILES.summary, e));
    return this.pending;
  }

  private attempt(what: string, fn: () => void): void {
    try { fn(); } catch (e) { this.warnOnce(what, e); }
  }

  private warnOnce(what: string, e: unknown): void {
    if (this.warned.has(what)) return;
    this.warned.add(what);
    this.opts.warn(`run folder ${this.runDir}: cannot write ${what}: ${(e as Error).message?.split('\n')[0] ?? e}; the node carries on without it (said once)`);
  }
}
