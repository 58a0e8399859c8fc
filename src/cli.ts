/**
 * `naf-ros` — the command line.
 *
 *   naf-ros train --config config/reacher.yaml     train on the embedded MuJoCo arm
 *   naf-ros train --resume runs/<run>              continue a run from its newest checkpoint
 *   naf-ros eval --checkpoint runs/<run>           greedy policy, final fingertip distance per episode
 *   naf-ros node --params-file <file>              the ROS 2 node naf_trainer (needs rclnodejs)
 *   naf-ros sim-bridge --params-file <file>        the MuJoCo arm as a ROS 2 node
 */
import { Command, InvalidArgumentError } from 'commander';
import cliProgress from 'cli-progress';
import { join } from 'node:path';
import { loadParamsFile, ConfigError } from './config/load.js';
import { createLogger } from './util/logger.js';
import { Trainer } from './training/trainer.js';
import { evaluateCheckpoint } from './training/eval_command.js';
import { CheckpointError } from './training/checkpoint.js';

const intAtLeast = (min: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer >= ${min}, got "${v}"`);
  return n;
};
const positiveInt = intAtLeast(1);
const seedInt = intAtLeast(0);

const fmt = (v: number, d = 2) => (Number.isFinite(v) ? v.toFixed(d) : '-');

async function train(opts: { config?: string; resume?: string; resumeFallback?: boolean; episodes?: number; runDir?: string; seed?: number; quiet?: boolean }): Promise<void> {
  // A resumed run uses the config it was trained with; --config then only may change the budget.
  const configPath = opts.config ?? (opts.resume ? undefined : 'config/reacher.yaml');
  const override = configPath ? loadParamsFile(configPath) : undefined;
  if (override && opts.episodes) override.training.episodes = opts.episodes;
  if (override && opts.seed !== undefined) override.seed = opts.seed;
  const runDir = opts.resume ?? opts.runDir ?? join(override!.run_dir, `${new Date().toISOString().replace(/[:.]/g, '-')}-seed${override!.seed}`);
  const tty = Boolean(process.stderr.isTTY) && !opts.quiet;
  // With a progress bar, console log lines would tear it: the logger then writes the run's
  // log.jsonl only, and `say` prints above the bar.
  const logger = createLogger({ file: join(runDir, 'log.jsonl'), console: !tty });
  const say = (msg: string) => {
    logger.info(msg);
    if (tty) process.stderr.write(`\r\x1b[K${msg}\n`);
  };
  const trainer = opts.resume
    ? await Trainer.resume(runDir, logger, { fallback: opts.resumeFallback, override, episodes: opts.episodes })
    : await Trainer.create(override!, runDir, logger);
  const total = trainer.config.training.episodes;
  if (tty) process.stderr.write(`tfjs backend: ${trainer.parts.backend.name}\n`); // (logged by the trainer too)
  say(`run folder ${runDir}; ${total} episodes of T=${trainer.parts.task.T} steps; agent ${trainer.config.agent.kind}; imagination ${trainer.config.model_based.enabled ? trainer.config.model_based.dynamics : 'off'}; p=${trainer.config.model_based.on_policy_fraction}`);

  let stop = false;
  const onSignal = (sig: string) => {
    if (stop) process.exit(130);
    stop = true;
    say(`${sig}: stopping after this step and saving a checkpoint (again to quit at once)`);
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));

  const bar = new cliProgress.SingleBar({
    format: 'episode {value}/{total} |{bar}| {ctrl} return {ret} best eval {best} | {sps} steps/s {ups} upd/s | model mse {mse} | imagined {img}',
    hideCursor: true, stream: process.stderr,
  }, cliProgress.Presets.shades_classic);
  if (tty) bar.start(total, trainer.episode, { ctrl: '-', ret: '-', best: '-', sps: '-', ups: '-', mse: '-', img: 0 });
  const t0 = Date.now();
  await trainer.run({
    shouldStop: () => stop,
    onEpisode: (m) => {
      const v = { ctrl: m.controller.padEnd(4), ret: fmt(m.return), best: fmt(trainer.bestEval), sps: fmt(m.stepsPerSecond, 0), ups: fmt(m.updatesPerSecond, 0), mse: fmt(m.modelMse, 5), img: m.imaginedTotal };
      if (tty) bar.update(m.episode, v);
      else if (m.episode % 10 === 0 || m.episode === total) logger.info(`episode ${m.episode}/${total} ${v.ctrl} return ${v.ret} best eval ${v.best} | ${v.sps} steps/s ${v.ups} upd/s | model mse ${v.mse} | imagined ${v.img}`);
    },
    onEval: (e) => {
      const within = e.finalDistances.filter((d) => d < 0.02).length;
      const msg = `eval @ episode ${e.episode}: mean return ${fmt(e.meanReturn)}, final distance ${fmt(median(e.finalDistances) * 100, 1)} cm median, ${within}/${e.finalDistances.length} within 2 cm`;
      say(msg);
    },
  });
  if (tty) bar.stop();
  say(`done: ${trainer.episode} episodes, ${((Date.now() - t0) / 1000).toFixed(0)} s this session (${trainer.wallSeconds.toFixed(0)} s in all), backend ${trainer.parts.backend.name}; best eval return ${fmt(trainer.bestEval)}`);
  trainer.dispose();
}

function median(a: number[]): number {
  const s = [...a].sort((x, y) => x - y);
  return s.length ? s[Math.floor((s.length - 1) / 2)] : NaN;
}

const program = new Command('naf-ros')
  .description('NAF continuous Q-learning with model-based acceleration (Gu et al., ICML 2016) for robot-arm torque control');

program.command('train')
  .description('train on the embedded MuJoCo arm (Algorithm 2; Algorithm 1 with imagination off and p = 1)')
  .option('-c, --config <file>', 'ROS 2 params file (naf_trainer: ros__parameters: ...); default config/reacher.yaml, or with --resume the run\'s own')
  .option('--resume <run-dir>', 'continue the run in this folder from its newest checkpoint')
  .option('--resume-fallback', 'if the newest checkpoint is corrupt, use the previous good one')
  .option('--episodes <n>', 'override training.episodes', positiveInt)
  .option('--seed <n>', 'override seed', seedInt)
  .option('--run-dir <dir>', 'run folder (default: <run_dir>/<time>-seed<seed>)')
  .option('-q, --quiet', 'log lines instead of a progress bar')
  .action(train);

program.command('eval')
  .description('run the greedy policy of a checkpoint and print the final fingertip distance per episode')
  .requiredOption('--checkpoint <path>', 'a run folder (newest checkpoint) or a checkpoint folder')
  .option('--episodes <n>', 'evaluation episodes', positiveInt, 20)
  .option('--seed <n>', 'seed of the evaluation episode starts', seedInt, 2024)
  .action(async (o) => {
    const r = await evaluateCheckpoint(o.checkpoint, { episodes: o.episodes, seed: o.seed });
    r.finalDistances.forEach((d, i) => console.log(`episode ${String(i + 1).padStart(2)}: final distance ${(d * 100).toFixed(2)} cm, return ${r.returns[i].toFixed(2)}`));
    const within = r.finalDistances.filter((d) => d < 0.02).length;
    console.log(`within 2 cm: ${within}/${r.finalDistances.length}; median final distance ${(median(r.finalDistances) * 100).toFixed(2)} cm; backend ${r.backend}`);
  });

program.command('node')
  .description('run the ROS 2 node naf_trainer (needs rclnodejs and a sourced ROS 2)')
  .allowUnknownOption(true)
  .allowExcessArguments(true)
  .option('--params-file <file>', 'ROS 2 params file')
  .action(async () => (await import('./ros/main.js')).runTrainerNode(process.argv));

program.command('sim-bridge')
  .description('expose the MuJoCo arm as a ROS 2 node with the Gazebo + ros2_control topics')
  .allowUnknownOption(true)
  .allowExcessArguments(true)
  .option('--params-file <file>', 'ROS 2 params file')
  .action(async () => (await import('./ros/main.js')).runSimBridge(process.argv));

program.parseAsync(process.argv).catch((e: unknown) => {
  if (e instanceof ConfigError || e instanceof CheckpointError) console.error(`naf-ros: ${e.message}`);
  else console.error(e);
  process.exit(e instanceof ConfigError ? 2 : 1);
});
