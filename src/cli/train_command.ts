/**
 * `naf-ros train`: a new run or `--resume`, with the progress line (terminal) or log lines
 * (`-q` / not a terminal), Ctrl-C handling that says what it does, and the closing lines.
 */
import cliProgress from 'cli-progress';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadParamsFile } from '../config/load.js';
import { parseSets } from '../config/overrides.js';
import { RUN_FILES, SUCCESS_DISTANCE, writeAtomic, type PolicyTest } from '../report/run_folder.js';
import { interventionTotal } from '../safety/supervised_arm.js';
import { armCollisionLine } from '../training/arm_collision.js';
import { Trainer } from '../training/trainer.js';
import { createLogger } from '../util/logger.js';
import { backendLine } from './backend_line.js';
import { NafAgent } from '../agent/naf/agent.js';
import { nafRos } from './command_hint.js';
import { clock, progressLine, type ProgressState } from './progress.js';

export interface TrainOptions {
  config?: string; resume?: string; resumeFallback?: boolean; episodes?: number; runDir?: string; seed?: number; quiet?: boolean;
  /** `--set <dotted.name>=<YAML value>` arguments, merged over the params file in order. */
  set?: string[];
}

const fmt = (v: number, d = 2) => (Number.isFinite(v) ? v.toFixed(d) : '-');

export async function train(opts: TrainOptions): Promise<void> {
  // A resumed run uses the config it was trained with; --config then only may change the budget.
  // --set overrides the params file (with --resume and no --config: the run's own config.yaml).
  const sets = opts.set ?? [];
  const configPath = opts.config ?? (opts.resume ? (sets.length ? join(opts.resume, RUN_FILES.config) : undefined) : 'config/reacher.yaml');
  const override = configPath ? loadParamsFile(configPath, undefined, sets.length ? { overrides: { params: parseSets(sets), source: sets.map((a) => `--set ${a}`).join(' ') } } : {}) : undefined;
  if (override && opts.episodes) override.training.episodes = opts.episodes;
  if (override && opts.seed !== undefined) override.seed = opts.seed;
  const runDir = opts.resume ?? opts.runDir ?? join(override!.run_dir, `${new Date().toISOString().replace(/[:.]/g, '-')}-seed${override!.seed}`);
  const tty = Boolean(process.stderr.isTTY) && !opts.quiet;
  // With a progress line, console log lines would tear it: the logger then writes the run's
  // log.jsonl only, and `say` prints above the line (cli-progress's log buffer while it runs).
  const logger = createLogger({ file: join(runDir, 'log.jsonl'), console: !tty });
  let t0 = Date.now();
  const state: ProgressState = { episode: 0, total: 0, startEpisode: 0, elapsed: 0 };
  const bars = new cliProgress.MultiBar({
    format: () => progressLine({ ...state, elapsed: (Date.now() - t0) / 1000 }, process.stderr.columns || 80),
    hideCursor: true, stream: process.stderr, linewrap: true, fps: 2,
  });
  let barActive = false;
  const say = (msg: string) => {
    logger.info(msg);
    if (tty && barActive) bars.log(`${msg}\n`);
    else if (tty) process.stderr.write(`${msg}\n`);
  };
  const trainer = opts.resume
    ? await Trainer.resume(runDir, logger, { fallback: opts.resumeFallback, override, episodes: opts.episodes })
    : await Trainer.create(override!, runDir, logger);
  const total = trainer.config.training.episodes;
  say(backendLine(trainer.parts.backend));
  if (trainer.parts.agent instanceof NafAgent) say(trainer.parts.agent.describeUpdate());
  const collision = await armCollisionLine(trainer.config);
  say(collision);
  writeAtomic(join(runDir, RUN_FILES.collision), `${collision}\n`); // summary.md shows it
  if (opts.resume && trainer.complete) {
    say(`${runDir} is complete: ${trainer.episode} of ${total} episodes trained; nothing to do. ` +
      `To train it further: ${nafRos('train', '--resume', runDir)} --episodes <more than ${trainer.episode}>; its report: ${nafRos('report', runDir)}`);
    trainer.dispose();
    return;
  }
  const c = trainer.config;
  say(`run folder ${runDir}; ${opts.resume ? `resuming at episode ${trainer.episode}; ` : ''}${total} episodes of T=${trainer.parts.task.T} steps; ` +
    `agent ${c.agent.kind}; imagination ${c.model_based.enabled ? c.model_based.dynamics : 'off'}; p=${c.model_based.on_policy_fraction}`);

  let stop = false;
  const onSignal = (sig: string) => {
    if (stop) {
      if (barActive) { bars.update(); bars.stop(); } // update() flushes the log buffer
      process.stderr.write(`${sig} again: quitting now; the newest checkpoint in ${join(runDir, 'checkpoints')} is complete (resume: ${nafRos('train', '--resume', runDir)})\n`);
      process.exit(130);
    }
    stop = true;
    say(`${sig}: stopping. The episode in progress (${trainer.episode + 1}) is dropped; the run is kept as of episode ${trainer.episode} ` +
      `(its checkpoint, the held-out test, learning_curve.svg, summary.md). ${sig === 'SIGINT' ? 'Ctrl-C' : sig} again quits at once.`);
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  // Ctrl-C also stops a pipe reader (`naf-ros train ... | tee log`); writing to it then fails with
  // EPIPE, which must not end the run before it has saved (the run folder's log has every line).
  for (const stream of [process.stdout, process.stderr]) stream.on('error', () => {});

  t0 = Date.now(); // elapsed and ETA count training, not the start-up
  Object.assign(state, { episode: trainer.episode, total, startEpisode: trainer.episode, best: trainer.bestEval, warnings: trainer.health.monitor.codes });
  const bar = tty ? bars.create(total, trainer.episode) : null;
  barActive = tty;
  const outcome = await trainer.run({
    shouldStop: () => stop,
    onEpisode: (m) => {
      Object.assign(state, {
        episode: m.episode, controller: m.controller, ret: m.return, best: trainer.bestEval, stepsPerSecond: m.stepsPerSecond,
        updatesPerSecond: m.updatesPerSecond, modelMse: m.modelMse, imagined: m.imaginedTotal, warnings: m.warnings,
        interventions: m.interventions ? interventionTotal(m.interventions) : 0,
      });
      if (bar) bar.update(m.episode);
      else if (m.episode % 10 === 0 || m.episode === total) {
        logger.info(progressLine({ ...state, elapsed: (Date.now() - t0) / 1000 }, 160));
      }
    },
    // The logger has written the warning (to the console too without a progress line); above the
    // progress line the user sees it here.
    onWarning: (w) => {
      if (tty && barActive) bars.log(`${w.event === 'start' ? `⚠ not learning? [${w.code}] ` : ''}${w.message}\n`);
    },
    onEval: (e) => {
      state.best = trainer.bestEval;
      state.warnings = e.warnings;
      const iv = e.interventions ? interventionTotal(e.interventions) : 0;
      say(`eval @ episode ${e.episode}: return ${fmt(e.meanReturn)}, ${e.successes}/${e.finalDistances.length} within ${SUCCESS_DISTANCE * 100} cm, median ${fmt(e.medianDistance * 100, 1)} cm${iv ? `, safety supervisor acted in ${iv} steps` : ''}${e.best ? ' (best so far: checkpoints/best)' : ''}`);
    },
  });
  if (barActive) { bars.update(); bars.stop(); } // update() flushes the log buffer
  barActive = false;
  const session = (Date.now() - t0) / 1000;
  const t = outcome.test;
  const ivs = (p: PolicyTest) => (p.interventions ? `, ${interventionTotal(p.interventions)} supervisor interventions` : '');
  const line = (name: string, p: PolicyTest | null | undefined) => (p ? `${name} (episode ${p.episode}) ${p.successes}/${t!.episodes} within ${SUCCESS_DISTANCE * 100} cm, median ${fmt(p.medianDistance * 100)} cm${ivs(p)}` : '');
  const rt = t?.randomTargets;
  const untrained = trainer.config.task.target_mode === 'fixed' ? ' (trained on one target)' : '';
  const random = rt ? `; on ${rt.episodes} random targets${untrained}: final ${rt.final.successes}/${rt.episodes} within ${SUCCESS_DISTANCE * 100} cm, median ${fmt(rt.final.medianDistance * 100)} cm` : '';
  const tested = t ? `; held-out test: ${[line('final', t.final), line('best', t.best)].filter(Boolean).join(', ')}${random}` : '';
  if (outcome.stopped) {
    say(`stopped at episode ${trainer.episode} of ${total} after ${clock(session)}: checkpoint ${outcome.checkpoint} ${outcome.checkpointWritten ? 'written' : '(written after that episode)'}${tested}. ` +
      `Continue: ${nafRos('train', '--resume', runDir)}`);
  } else {
    say(`done: ${trainer.episode} episodes, ${clock(session)} this session (${clock(trainer.wallSeconds)} in all)${tested}.`);
  }
  say(`report: ${join(runDir, 'summary.md')}, ${join(runDir, 'learning_curve.svg')}; best policy: ${join(runDir, 'checkpoints', 'best.safetensors')}` +
    (existsSync(join(runDir, RUN_FILES.testRollout)) ? `; watch its held-out test: ${nafRos('view', runDir)}` : ''));
  trainer.dispose();
}
