/**
 * `naf-ros` — the command line.
 *
 *   naf-ros train --config config/reacher.yaml     train on the embedded MuJoCo arm
 *   naf-ros train --resume runs/<run>              continue a run from its newest checkpoint
 *   naf-ros report runs/<run>                      rebuild learning_curve.svg and summary.md
 *   naf-ros eval --checkpoint runs/<run>           greedy policy on the held-out test starts
 *   naf-ros run --checkpoint <run or file>         deploy mode on the embedded arm (no learning)
 *   naf-ros view <run | checkpoint | file.mcap>    replay recorded episodes in a local 3-D page
 *   naf-ros arm --config <file> | --urdf <f> --tip <link>   check an arm's params file; chain, reach, gravity, damping, targets
 *   naf-ros node --params-file <file>              the ROS 2 node naf_trainer (needs rclnodejs)
 *   naf-ros sim-bridge --params-file <file>        the MuJoCo arm as a ROS 2 node
 *   naf-ros learner --params-file <file>           the ROS 2 node naf_learner (a fleet's learner)
 *
 * Errors: one line `naf-ros: <what>` on stderr and exit code 2 (`--debug` adds the stack).
 */
import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { readFileSync } from 'node:fs';
import { PACKAGE_ROOT } from './config/params_file.js';
import { SUCCESS_DISTANCE } from './report/run_folder.js';
import { createLogger } from './util/logger.js';
import { train } from './cli/train_command.js';

const intAtLeast = (min: number) => (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer >= ${min}, got "${v}"`);
  return n;
};
const positiveInt = intAtLeast(1);
const seedInt = intAtLeast(0);
const cm = (m: number) => `${(m * 100).toFixed(2)} cm`;
const mcapFile = (v: string) => {
  if (!v.toLowerCase().endsWith('.mcap')) throw new InvalidArgumentError(`expected a file name ending in .mcap, got "${v}"`);
  return v;
};
/** Writes a recorded rollout; @returns the file. */
async function saveRollout(rollout: import('./viz/rollout.js').Rollout | undefined, file: string): Promise<string> {
  if (!rollout?.episodes.length) throw new Error(`nothing recorded for ${file}: no episode completed`);
  const { writeRolloutMcap } = await import('./viz/mcap_write.js');
  return writeRolloutMcap(rollout, file);
}
const version = (JSON.parse(readFileSync(new URL('package.json', `file://${PACKAGE_ROOT}`), 'utf8')) as { version: string }).version;

const program = new Command('naf-ros')
  .description('NAF continuous Q-learning with model-based acceleration (Gu et al., ICML 2016) for robot-arm torque control')
  .version(`naf_ros ${version} (node ${process.version})`, '-V, --version')
  .option('--debug', 'on an error, print its stack trace too')
  .exitOverride();

program.command('train')
  .description('train on the embedded MuJoCo arm (Algorithm 2; Algorithm 1 with imagination off and p = 1)')
  .option('-c, --config <file>', 'ROS 2 params file (naf_trainer: ros__parameters: ...); default config/reacher.yaml, or with --resume the run\'s own')
  .option('--resume <run-dir>', 'continue the run in this folder from its newest checkpoint')
  .option('--resume-fallback', 'if the newest checkpoint is corrupt, use the previous good one')
  .option('--episodes <n>', 'override training.episodes (with --resume: extend a run)', positiveInt)
  .option('--seed <n>', 'override seed', seedInt)
  .option('--set <name=value>', 'set a parameter over the params file, e.g. --set agent.learning_rate=0.0005 (repeatable; dotted names, YAML values such as 3, true, [64, 64]); checked as the params file is', (v: string, prev: string[]) => [...prev, v], [] as string[])
  .option('--run-dir <dir>', 'run folder (default: <run_dir>/<time>-seed<seed>)')
  .option('-q, --quiet', 'log lines instead of a progress line')
  .action(train);

program.command('report')
  .description('rebuild learning_curve.svg, summary.md and the CSV files of a run folder (finished or not)')
  .argument('<run-dir>', 'the run folder')
  .action(async (runDir: string) => {
    const { writeRunReport } = await import('./report/report.js');
    const r = await writeRunReport(runDir);
    console.log(`wrote ${r.summary} and ${r.svg}`);
  });

program.command('eval')
  .description('run the greedy policy of a checkpoint on the held-out test starts; final fingertip distance per episode')
  .requiredOption('--checkpoint <path>', 'a run folder (its newest checkpoint) or a checkpoint file, e.g. runs/<run>/checkpoints/best')
  .option('--episodes <n>', 'evaluation episodes (default: the run\'s training.test_episodes, 20)', positiveInt)
  .option('--seed <n>', 'seed of the test starts (default: the run\'s training.test_seed, 2024)', seedInt)
  .option('--online', 'the last online weights instead of the greedy policy (they differ when agent.policy_averaging is on)')
  .option('--random-targets', 'random reachable targets across the workspace instead of the task\'s starts: the second test of test.json (episodes default: training.test_random_targets)')
  .option('--record <file.mcap>', 'record the episodes to an MCAP file (/joint_states, /tf, /robot_description, target and tip path markers): naf-ros view, Foxglove, ros2 bag play', mcapFile)
  .action(async (o) => {
    const { evaluateCheckpoint } = await import('./training/eval_command.js');
    const { backendLine } = await import('./cli/backend_line.js');
    const { initBackend } = await import('./agent/backend.js');
    const r = await evaluateCheckpoint(o.checkpoint, { episodes: o.episodes, seed: o.seed, online: Boolean(o.online), record: Boolean(o.record), randomTargets: Boolean(o.randomTargets) });
    console.error(backendLine(await initBackend()));
    console.log(`checkpoint ${r.checkpoint} (${Number.isFinite(r.episode) ? `episode ${r.episode}` : 'episode unknown'}); ${r.episodes} held-out ${r.randomTargets ? 'random targets' : 'starts'}, seed ${r.seed}`);
    r.finalDistances.forEach((d, i) => console.log(`episode ${String(i + 1).padStart(2)}: final distance ${cm(d)}, return ${r.returns[i].toFixed(2)}`));
    console.log(`within ${SUCCESS_DISTANCE * 100} cm: ${r.successes}/${r.episodes}; median final distance ${cm(r.medianDistance)}; mean return ${r.meanReturn.toFixed(2)}`);
    if (o.record) console.log(`recorded: ${await saveRollout(r.rollout, o.record)}`);
  });

program.command('run')
  .description('deploy a trained policy on the embedded MuJoCo arm: the node in deploy mode (homing, safety supervisor, watchdog; greedy, no learning, no exploration, no iLQG) against the MuJoCo sim bridge, in simulated time')
  .requiredOption('--checkpoint <path>', 'a run folder (its newest checkpoint) or a checkpoint file, e.g. runs/<run>/checkpoints/best')
  .option('--episodes <n>', 'episodes to run', positiveInt, 10)
  .option('--seed <n>', 'seed of the held-out starts (default: the run\'s training.test_seed, the starts of its test.json and of eval)', seedInt)
  .option('-v, --verbose', 'print the nodes\' log lines')
  .option('--record <file.mcap>', 'record the joint states the sim bridge publishes (homing included) to an MCAP file: naf-ros view, Foxglove, ros2 bag play', mcapFile)
  .action(async (o) => {
    const { runEmbeddedDeploy, deploySuccesses } = await import('./ros/deploy/deploy_system.js');
    const { backendLine } = await import('./cli/backend_line.js');
    const { initBackend } = await import('./agent/backend.js');
    let stop = false;
    process.on('SIGINT', () => { if (stop) process.exit(130); stop = true; console.error('SIGINT: zero torque, stopping after this control period'); });
    const r = await runEmbeddedDeploy(o.checkpoint, {
      episodes: o.episodes, seed: o.seed, logger: createLogger({ console: Boolean(o.verbose) }), shouldStop: () => stop, record: Boolean(o.record),
      onArm: (line) => console.error(line),
      onEpisode: (e) => console.log(`episode ${String(e.episode).padStart(2)}: ${e.aborted ? 'aborted, ' : ''}final distance ${cm(e.finalDistance)}, return ${e.return.toFixed(2)}`),
    });
    console.error(backendLine(await initBackend()));
    const counts = Object.entries(r.interventions).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(', ') || 'none';
    console.log(`deployed ${r.checkpoint}: ${r.episodes.length} episodes in ${r.simSeconds.toFixed(1)} s simulated, ${deploySuccesses(r.episodes)}/${r.episodes.length} within ${SUCCESS_DISTANCE * 100} cm; safety interventions: ${counts}; node ${r.state}`);
    if (o.record) console.log(`recorded: ${await saveRollout(r.rollout, o.record)}`);
  });

program.command('view')
  .description('replay recorded episodes of the arm in a local 3-D page (three.js, the arm from its URDF, the target and the tip\'s path); serves http://127.0.0.1:<port>/ and prints the URL')
  .argument('<source>', 'a run folder (its test_final.mcap: the held-out test of the final policy), a checkpoint (its greedy policy is run on the held-out test starts now) or an .mcap file')
  .option('--port <n>', 'TCP port on 127.0.0.1 (default: any free port)', intAtLeast(0))
  .option('--episodes <n>', 'with a checkpoint: held-out episodes to run (default: the run\'s training.test_episodes)', positiveInt)
  .option('--seed <n>', 'with a checkpoint: seed of the held-out starts (default: the run\'s training.test_seed)', seedInt)
  .action(async (source: string, o) => {
    const { viewCommand } = await import('./cli/view_command.js');
    await viewCommand(source, { port: o.port, episodes: o.episodes, seed: o.seed });
  });

program.command('arm')
  .description('help writing a params file for an arm: checks it as train does (no training, no run folder) and prints the chain, the tip at home, the reach, gravity torques against u_max, the injected damping, homing gains and reachable targets')
  .option('-c, --config <file>', 'the params file to check')
  .option('--urdf <file>', 'start from a URDF alone (with --tip): also prints a params file to begin with; with --config: that file\'s urdf_path')
  .option('--tip <link>', 'the tip link (tool frame), with --urdf')
  .option('--json', 'print the report as JSON')
  .action(async (o) => {
    const { armCommand } = await import('./cli/arm_command.js');
    await armCommand({ config: o.config, urdf: o.urdf, tip: o.tip, json: Boolean(o.json) });
  });

program.command('learner')
  .description('run the ROS 2 node naf_learner, the one learner of a fleet of arms (needs rclnodejs and a sourced ROS 2); see launch/fleet.launch.py')
  .allowUnknownOption(true)
  .allowExcessArguments(true)
  .option('--params-file <file>', 'ROS 2 params file')
  .action(async () => (await import('./ros/main.js')).runLearnerNode(process.argv));

program.command('node')
  .description('run the ROS 2 node naf_trainer (needs rclnodejs and a sourced ROS 2); mode:=deploy runs a trained policy')
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

/** One line: multi-line messages (a ConfigError lists its issues) joined with "; ". */
export function oneLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n').map((l) => l.trim().replace(/^- /, '')).filter(Boolean).join('; ').replace(/:;/g, ':');
}

program.parseAsync(process.argv).catch((e: unknown) => {
  if (e instanceof CommanderError) process.exit(e.exitCode === 0 ? 0 : 2); // commander printed it (help, version, usage)
  console.error(`naf-ros: ${oneLine(e)}`);
  if (process.argv.includes('--debug')) console.error((e as Error)?.stack ?? e);
  process.exit(2);
});
