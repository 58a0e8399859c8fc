/**
 * Process entry points of the ROS 2 nodes (`naf-ros node`, `naf-ros sim-bridge`, `naf-ros learner`,
 * and the installed executables `lib/naf_ros/naf_trainer`, `lib/naf_ros/naf_sim_bridge`,
 * `lib/naf_ros/naf_learner`, which run this file directly:
 * `node --import tsx src/ros/main.ts node|sim-bridge|learner [--ros-args ...]`).
 *
 * A fleet (docs/fleet.md): `naf_learner` is the one learner; each arm runs `naf_trainer` with
 * `fleet.role: actor` in its own namespace (`launch/fleet.launch.py`).
 *
 * Both read their parameters the ROS way: `--ros-args --params-file <f>` (what `ros2 launch`
 * passes), `-p name:=value`, remaps (`-r __node:=other`). A plain `--params-file <f>` before
 * `--ros-args` is accepted too. Logs go to the ROS logger (console and /rosout); the trainer also
 * writes JSON lines to `<run dir>/node.log.jsonl`, and its run folder holds what a `naf-ros train`
 * run's does where the node has the facts (config.yaml, metrics.jsonl/.csv, summary.md,
 * learning_curve.svg: `src/training/node_run_folder.ts`), so `naf-ros report` reads it.
 *
 * Shutdown (SIGINT/SIGTERM, e.g. Ctrl-C in `ros2 launch`): the trainer publishes zero torque,
 * waits briefly so the reliable message leaves, closes the learner (which finishes its pending
 * checkpoint and rebuilds the run folder's summary and curve) and the ROS context.
 */
import { Writable } from 'node:stream';
import { join } from 'node:path';
import { existsSync, mkdirSync, realpathSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import winston from 'winston';
import type { Logger } from '../util/logger.js';
import { RclnodejsContext, type RclnodejsNode } from './transport/rclnodejs_transport.js';
import { declareConfigParameters, unknownParameters } from './trainer/parameters.js';
import { applyRealtime } from './process/realtime.js';
import { splitParamsFiles } from './transport/params_files.js';
import { resolveNodePaths } from './process/node_paths.js';
import { rosStartHint } from './process/start_hint.js';
import { StopSignals } from './process/stop_signals.js';
import type { RosLogger } from './transport/transport.js';
import type { NafConfig } from '../config/schema.js';
import { RUN_FILES } from '../report/run_folder.js';

/** A winston logger writing to the node's ROS logger (and a JSON-lines file when given). */
export function rosWinstonLogger(ros: RosLogger, file?: string): Logger {
  const stream = new Writable({
    objectMode: true,
    write(info: { level: string; message: unknown }, _enc, cb) {
      const m = String(info.message);
      if (info.level === 'error') ros.error(m);
      else if (info.level === 'warn') ros.warn(m);
      else if (info.level === 'debug') ros.debug(m);
      else ros.info(m);
      cb();
    },
  });
  const transports: winston.transport[] = [new winston.transports.Stream({ stream })];
  if (file) transports.push(new winston.transports.File({ filename: file, format: winston.format.combine(winston.format.timestamp(), winston.format.json()) }));
  return winston.createLogger({ level: 'debug', transports });
}

/**
 * rcl init and the node: a failure of either (no ROS, no rclnodejs, an SROS2 keystore or enclave
 * that does not fit) is an error with the hint its cause points to (`rosStartHint`).
 */
async function startNode(argv: string[], name: string): Promise<{ ctx: RclnodejsContext; node: RclnodejsNode }> {
  let ctx: RclnodejsContext | null = null;
  try {
    ctx = await RclnodejsContext.init(argv);
    ctx.rcl.removeSignalHandlers();
    return { ctx, node: ctx.createNode(name) };
  } catch (e) {
    const message = (e as Error).message;
    await ctx?.shutdown().catch(() => undefined);
    throw new Error(`${message}\n${rosStartHint(message, process.env)}`);
  }
}

function onSignals(stop: (signal: string) => Promise<void>): void {
  // A repeat within 3 s belongs to the same stop (a terminal's and ros2 launch's SIGINT); a later
  // one forces the exit (`StopSignals`).
  const signals = new StopSignals(3000);
  const run = (why: string) => {
    const d = signals.onSignal(performance.now());
    if (d === 'force') process.exit(130);
    if (d === 'ignore') return;
    stop(why).then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) process.on(sig, () => run(sig));
  // The parent-death rule: a node never outlives the process that started it (`ros2 launch`, which
  // exits on SIGTERM or SIGKILL without stopping its processes). The launch files also give every
  // process PR_SET_PDEATHSIG (`setpriv --pdeathsig TERM`); this covers a node started otherwise.
  // When the parent is gone the node is re-parented (its ppid changes): it stops as on SIGTERM,
  // publishing zero torque first.
  const parent = process.ppid;
  if (parent > 1) {
    const watch = setInterval(() => {
      if (process.ppid !== parent) {
        clearInterval(watch);
        run(`parent process ${parent} gone`);
      }
    }, 500);
    watch.unref();
  }
}

const settle = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The node's parameters, declared and checked: unknown names, then paths resolved against their
 * params files, then the config against its arm (URDF, joints, tip link, home pose, target).
 * @throws Error naming the unknown parameters; ConfigError with one line per mistake on the arm
 */
async function checkedConfig(node: RclnodejsNode, argv: string[], name: string): Promise<NafConfig> {
  const typos = unknownParameters(node.overrideNames());
  if (typos.length) throw new Error(`unknown parameter(s) for ${node.resolveName('~')}: ${typos.join(', ')} (see src/config/schema.ts)`);
  const config = resolveNodePaths(declareConfigParameters(node), splitParamsFiles(argv).paramsFiles, name, node.namespace);
  const { armIssues } = await import('../config/arm_checks.js');
  const { ConfigError } = await import('../config/config_error.js');
  const issues = armIssues(config, { embedded: false });
  if (issues.length) throw new ConfigError(`parameters of ${node.resolveName('~')}`, issues);
  return config;
}

/**
 * `ros.resume`, when set, must be a run folder with checkpoints.
 * @param writer who writes such folders under run_dir, for the message
 * @throws Error naming the folder and what was expected
 */
function checkResume(config: NafConfig, writer: string): void {
  if (config.ros.resume && !existsSync(join(config.ros.resume, 'checkpoints'))) {
    throw new Error(`ros.resume: ${config.ros.resume} is not a run folder with checkpoints (no ${join(config.ros.resume, 'checkpoints')}); ` +
      `give a folder ${writer} wrote under run_dir, or "" for a new run`);
  }
}

/** A new run folder's time stamp (ISO time, file-name safe). */
const runStamp = () => new Date().toISOString().replace(/[:.]/g, '-');

/** `naf-ros node`: the trainer node on ROS 2, learning in a worker thread. */
export async function runTrainerNode(argv: string[] = process.argv): Promise<void> {
  const { ctx, node } = await startNode(argv, 'naf_trainer');
  const config = await checkedConfig(node, argv, 'naf_trainer');
  // Heavy modules (tfjs through the factory) only once the parameters are known to be valid.
  const { buildActor, buildArmDynamics, buildSpec, buildTask, loadConfigUrdf } = await import('../training/factory.js');
  const { WorkerLearnerClient } = await import('../training/learner_client.js');
  const { NafTrainerNode } = await import('./trainer/naf_trainer_node.js');
  const { Rng } = await import('../util/rng.js');

  const deploy = config.mode === 'deploy';
  const actorOfFleet = config.fleet.role === 'actor';
  if (actorOfFleet && deploy) throw new Error('fleet.role: actor needs mode: train (deploy mode runs a fixed policy without a learner); got mode: deploy');
  if (actorOfFleet && config.ros.resume) {
    throw new Error(`ros.resume: a fleet actor keeps no learner state; resume the fleet's learner (naf_learner's ros.resume, fleet.launch.py resume:=) instead; got ${config.ros.resume}`);
  }
  checkResume(config, 'a node run');
  const armName = node.namespace === '/' ? 'root' : node.namespace.replace(/^\//, '').replace(/\//g, '_');
  const runDir = config.ros.resume || join(config.run_dir, `${runStamp()}-${actorOfFleet ? `actor-${armName}` : `node-${deploy ? 'deploy' : `seed${config.seed}`}`}`);
  mkdirSync(runDir, { recursive: true });
  const logger = rosWinstonLogger(node.logger, join(runDir, RUN_FILES.nodeLog));
  const urdf = loadConfigUrdf(config);
  const task = buildTask(config, urdf);
  const root = new Rng(config.seed);
  let actor: import('./trainer/naf_trainer_node.js').TrainerActor;
  let learner: import('../training/learner_client.js').LearnerClient;
  let learnerTids: number[] = [];
  let extraStatus: ((hw: string) => import('./transport/transport.js').DiagnosticStatusMsg[]) | undefined;
  let rng = learnerRng(root, null);
  if (deploy) {
    // A trained policy, no learner thread (src/ros/deploy/deploy.ts).
    logger.info(`run folder ${runDir}: config.yaml, one record per episode (metrics.jsonl), summary.md at the end`);
    ({ actor, learner } = await (await import('./deploy/deploy.js')).deployParts(config, task, logger, runDir));
  } else if (actorOfFleet) {
    // One arm of a fleet: episodes to naf_learner over topics, parameters and controller back
    // (fleet/ros_learner_client.ts). Its own exploration and episode-start streams (keys carry the namespace).
    const { RosLearnerClient } = await import('./fleet/ros_learner_client.js');
    actor = buildActor(config, task, root.fork(`arm:${node.namespace}`));
    const client = new RosLearnerClient(node, config, task, logger);
    logger.info(`run folder ${runDir} (this actor's logs and /diagnostics; the learning state is the learner's)`);
    learner = client;
    extraStatus = client.statusHook();
    rng = root.fork(`arm-episodes:${node.namespace}`);
  } else {
    actor = buildActor(config, task, root.fork('node'));
    logger.info(`run folder ${runDir}${config.ros.resume ? ' (resumed)' : ''}; starting the learner thread`);
    const worker = await WorkerLearnerClient.create(config, runDir);
    learnerTids = worker.tids;
    learner = worker;
  }
  // g(q) and M(q) of the real arm: MuJoCo on the same URDF (no simulation runs here).
  const dynamics = await buildArmDynamics(config);
  logger.info(`arm model of ${config.urdf_path}: ${(await import('../env/collision_report.js')).describeCollision(dynamics, config.task.home_pose)}`);
  if (deploy) rng = (await import('./deploy/deploy.js')).deployStarts(config);
  else if (!actorOfFleet) rng = learnerRng(root, learner.resumed);
  // The control timer runs on the node's clock: on simulation time (Gazebo, the MuJoCo bridge) its
  // jitter is measured on that clock too, or a simulator slower than real time reads as late ticks.
  const simTime = node.hasParameter('use_sim_time') && node.getParameter('use_sim_time') === true;
  const trainer = new NafTrainerNode({
    node, config, spec: buildSpec(config, urdf), task, actor, learner, logger, rng,
    dynamics, tip: task.chain, extraStatus, ...(simTime ? { steadyNow: () => node.now() } : {}),
    runDir, diagnosticsFile: join(runDir, RUN_FILES.diagnostics), measureMainThread: true,
  });
  ctx.spin();
  // After every thread exists (executor, DDS, learner): the learner goes back to normal scheduling.
  const rt = applyRealtime(config.ros.rt_priority, learnerTids, 'ros.rt_priority');
  if (config.ros.rt_priority > 0) (rt.ok ? logger.info(rt.message) : logger.warn(rt.message));
  onSignals(async (sig) => {
    logger.warn(`${sig}: zero torque, closing the learner`);
    trainer.shutdown();
    await settle(200);
    // ros2 launch escalates to SIGTERM after 5 s; the learner may be behind on queued transitions.
    await Promise.race([learner.close(), settle(3000)]);
    await ctx.shutdown();
  });
}

/** Episode starts of a (resumed) single-arm run: a resumed run draws new starts, not the first run's again. */
function learnerRng(root: import('../util/rng.js').Rng, resumed: { completed: number; aborted: number } | null): import('../util/rng.js').Rng {
  return resumed ? root.fork(`node-episodes-after-${resumed.completed + resumed.aborted}`) : root.fork('node-episodes');
}

/**
 * `naf-ros learner`: the fleet's learner node `naf_learner`: R, R_f, the NAF agent and
 * every arm's model and controller, learning in a worker thread; its run folder holds the
 * checkpoints (`ros.resume` continues the fleet), `learner.log.jsonl`, `diagnostics.jsonl`, and
 * the records of a node run (config.yaml, metrics.jsonl/.csv with each episode's arm, summary.md,
 * learning_curve.svg), which `naf-ros report` reads.
 */
export async function runLearnerNode(argv: string[] = process.argv): Promise<void> {
  const { ctx, node } = await startNode(argv, 'naf_learner');
  const config = await checkedConfig(node, argv, 'naf_learner');
  if (config.mode === 'deploy') throw new Error('naf_learner learns: mode must be train; got deploy');
  checkResume(config, 'naf_learner');
  const { buildTask } = await import('../training/factory.js');
  const { WorkerFleetClient } = await import('../training/fleet_client.js');
  const { NafLearnerNode } = await import('./fleet/naf_learner_node.js');
  const runDir = config.ros.resume || join(config.run_dir, `${runStamp()}-fleet-seed${config.seed}`);
  mkdirSync(runDir, { recursive: true });
  const logger = rosWinstonLogger(node.logger, join(runDir, RUN_FILES.learnerLog));
  const task = buildTask(config);
  logger.info(`run folder ${runDir}${config.ros.resume ? ' (resumed)' : ''}; starting the learner thread`);
  const client = await WorkerFleetClient.create(config, runDir);
  const learner = new NafLearnerNode({ node, config, dims: task, client, logger, runDir, diagnosticsFile: join(runDir, RUN_FILES.diagnostics) });
  ctx.spin();
  onSignals(async (sig) => {
    logger.warn(`${sig}: closing the learner (its newest checkpoint is the one after the last episode it took)`);
    learner.shutdown();
    // The learner takes the episodes it has queued (without updates) and checkpoints after them;
    // ros2 launch escalates to SIGTERM after 5 s.
    await Promise.race([client.close(), settle(4000)]);
    learner.stopped();
    await ctx.shutdown();
  });
}

/** `naf-ros sim-bridge`: the MuJoCo arm behind Gazebo/ros2_control-like topics. */
export async function runSimBridge(argv: string[] = process.argv): Promise<void> {
  const { ctx, node } = await startNode(argv, 'naf_sim_bridge');
  const { createBridgeArm, declareSimBridgeParameters, SimBridgeNode } = await import('./sim/sim_bridge_node.js');
  const cfg = declareSimBridgeParameters(node);
  const logger = rosWinstonLogger(node.logger);
  // The controller's joints are the simulated arm's (a URDF's other joints, e.g. fingers, stay passive).
  const { arm, collision } = await createBridgeArm(cfg, new URL('../..', import.meta.url).pathname);
  if (cfg.joint_damping.length) logger.info(`naf_sim_bridge: the simulated robot injects damping [${cfg.joint_damping.map((d) => +d.toPrecision(3)).join(', ')}] N·m·s/rad on [${cfg.joints.join(', ')}] at every ${cfg.timestep * 1000} ms physics step`);
  const bridge = new SimBridgeNode(node, arm, cfg, logger);
  logger.info(`naf_sim_bridge: ${collision}`);
  ctx.spin();
  const rt = applyRealtime(cfg.rt_priority, [], 'rt_priority');
  if (cfg.rt_priority > 0) (rt.ok ? logger.info(rt.message) : logger.warn(rt.message));
  onSignals(async () => {
    bridge.shutdown();
    arm.dispose();
    await ctx.shutdown();
  });
}

/**
 * Direct execution: `node --import tsx src/ros/main.ts node|sim-bridge|learner [args]`. Compared by
 * real path: Node gives the main module its resolved URL, while argv[1] may name it through a
 * symlink (`colcon build --symlink-install` links share/naf_ros/src to the source tree).
 */
if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  const which = process.argv[2];
  const run = which === 'node' ? runTrainerNode : which === 'sim-bridge' ? runSimBridge : which === 'learner' ? runLearnerNode : null;
  if (!run) {
    console.error(`usage: main.ts node|sim-bridge|learner [--ros-args ...]; got ${JSON.stringify(which)}`);
    process.exit(2);
  }
  run(process.argv).catch((e: unknown) => {
    console.error(`naf_ros ${which}: ${(e as Error).message ?? e}`);
    process.exit(1);
  });
}

