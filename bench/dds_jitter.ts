/**
 * Control-loop jitter of naf_trainer over real ROS 2 (DDS): the two processes
 * `launch/mujoco.launch.py` starts — `naf_sim_bridge` (MuJoCo, publishing /joint_states and
 * /clock at 100 Hz) and `naf_trainer` on simulation time with its learner thread training — run
 * from this source tree (src/ros/main.ts) on an isolated ROS domain, the bridge at the trainer's
 * `ros.rt_priority`. The figures are the node's own:
 * its `/diagnostics` reports, which it also writes to `<run folder>/diagnostics.jsonl` (jitter
 * |callback interval - period| over the last 1000 control periods; event-loop delay, GC pauses,
 * the learner's shed fraction and checkpoint write time per 1 s window).
 *
 * Needs a sourced ROS 2 and rclnodejs; `ddsAvailable()` says why not otherwise.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, realpathSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { loadRclnodejs } from '../src/ros/transport/rclnodejs_transport.js';
import { parseConfig } from '../src/config/load.js';
import { simulatedRobotDamping } from '../src/training/factory.js';

const root = new URL('..', import.meta.url).pathname;

/** null when rclnodejs loads (a ROS 2 is sourced), else the reason. */
export async function ddsAvailable(): Promise<string | null> {
  try {
    await loadRclnodejs();
    return null;
  } catch (e) {
    return (e as Error).message.split('\n')[0];
  }
}

export interface DdsJitter {
  /** |interval - period| over the last 1000 control periods at the end, s. */
  mean: number; p99: number; max: number; n: number;
  episodes: number;
  /** Medians over the measured 1 s windows. */
  eventLoopDelayP99Ms: number; gcPauseMaxMs: number;
  shedFraction: number; updatesPerS: number; checkpointMs: number;
  windows: number;
}

const median = (a: number[]) => (a.length ? a.slice().sort((x, y) => x - y)[Math.floor(a.length / 2)] : NaN);

/**
 * Runs bridge + trainer for `warmupS + seconds` and returns the trainer's figures of the last
 * `seconds`. @param params the trainer's ros__parameters (use_sim_time is added)
 * @throws Error when a process exits early or no diagnostics were written
 */
/**
 * @param nodeFlags options for the two node processes, before the script (default: the installed
 *   wrappers' `--single-threaded-gc`, CMakeLists.txt; [] for V8's default parallel GC)
 * @param simTime false: both on wall time, no /clock (as on a physical arm: the jitter is then the
 *   control timer's own against the steady clock)
 */
export async function ddsJitter(params: Record<string, unknown>, seconds: number, warmupS = 20, nodeFlags: string[] = ['--single-threaded-gc'], simTime = true): Promise<DdsJitter> {
  const dir = mkdtempSync(join(tmpdir(), 'naf-dds-jitter-'));
  const paramsFile = join(dir, 'params.yaml');
  writeFileSync(paramsFile, yaml.dump({
    naf_trainer: { ros__parameters: { ...params, run_dir: join(dir, 'runs'), use_sim_time: simTime } },
    naf_sim_bridge: { ros__parameters: {
      urdf_path: join(root, 'urdf/reacher3.urdf'), joints: ['joint1', 'joint2', 'joint3'], rate_hz: 100.0, initial_positions: [0.0, 0.8, 0.8],
      publish_clock: simTime, command_timeout_ms: 500.0, rt_priority: (params.ros as { rt_priority?: number } | undefined)?.rt_priority ?? 0,
      // The simulated robot's own loop injects D, as mujoco.launch.py gives it (damping_injection: hardware).
      joint_damping: Array.from(simulatedRobotDamping(parseConfig(params))),
    } },
  }));
  const env = { ...process.env, ROS_DOMAIN_ID: String(200 + (process.pid % 30)) };
  const start = (mode: string, name: string): ChildProcess => spawn(process.execPath,
    [...nodeFlags, '--import', 'tsx', join(root, 'src/ros/main.ts'), mode, '--ros-args', '-r', `__node:=${name}`, '--params-file', paramsFile, '--log-level', 'warn'],
    { env, stdio: ['ignore', 'ignore', 'pipe'] });
  const procs = [start('sim-bridge', 'naf_sim_bridge'), start('node', 'naf_trainer')];
  let errors = '';
  for (const p of procs) p.stderr!.on('data', (d) => { errors = (errors + d).slice(-4000); });
  const exited = procs.map((p) => new Promise<void>((r) => p.once('exit', () => r())));
  try {
    await new Promise((r) => setTimeout(r, (warmupS + seconds) * 1000));
    if (procs.some((p) => p.exitCode !== null)) throw new Error(`a node exited early: ${errors}`);
  } finally {
    for (const p of procs) p.kill('SIGINT');
    await Promise.race([Promise.all(exited), new Promise((r) => setTimeout(r, 10000))]);
    for (const p of procs) if (p.exitCode === null) p.kill('SIGKILL');
  }
  const runs = existsSync(join(dir, 'runs')) ? readdirSync(join(dir, 'runs')) : [];
  const file = runs.length ? join(dir, 'runs', runs[0], 'diagnostics.jsonl') : '';
  if (!file || !existsSync(file)) throw new Error(`no diagnostics written under ${dir}: ${errors}`);
  const rows = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, string | number>);
  const measured = rows.slice(-seconds);
  const last = rows[rows.length - 1];
  const num = (k: string) => measured.map((r) => Number(r[k])).filter(Number.isFinite);
  return {
    mean: Number(last['control_loop.jitter_mean_ms']) / 1000, p99: Number(last['control_loop.jitter_p99_ms']) / 1000,
    max: Number(last['control_loop.jitter_max_ms']) / 1000, n: Number(last['control_loop.jitter_samples']),
    episodes: Number(last['control_loop.episode']),
    eventLoopDelayP99Ms: median(num('control_loop.event_loop_delay_p99_ms')), gcPauseMaxMs: Math.max(...num('control_loop.gc_pause_max_ms')),
    shedFraction: median(num('learner.window.shed_fraction')), updatesPerS: num('learner.window.updates').reduce((a, b) => a + b, 0) / Math.max(1, measured.length),
    checkpointMs: median(num('learner.checkpoint_write_ms')), windows: measured.length,
  };
}

/**
 * Direct run, one measurement, one JSON line (the GC comparison of docs/ros2.md):
 *   node --import tsx bench/dds_jitter.ts [--gc parallel|single] [--seconds 60] [--wall] [--rt 50]
 * `--gc parallel` runs both processes with V8's default GC (helper threads), `single` (default) as
 * the installed wrappers do; `--wall` both on wall time (no /clock).
 */
if (process.argv[1] && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href) {
  const { Command } = await import('commander');
  const o = new Command('dds_jitter').option('--gc <kind>', 'parallel | single', 'single').option('--seconds <s>', 'measured seconds', (v) => Number(v), 60)
    .option('--wall', 'wall time instead of /clock').option('--rt <priority>', 'ros.rt_priority', (v) => Number(v), 50).parse().opts<{ gc: string; seconds: number; wall?: boolean; rt: number }>();
  const why = await ddsAvailable();
  if (why) { console.log(`SKIP: ${why}`); process.exit(0); }
  const r = await ddsJitter({ ros: { rt_priority: o.rt }, training: { episodes: 1000 } }, o.seconds, 20, o.gc === 'parallel' ? [] : ['--single-threaded-gc'], !o.wall);
  console.log(JSON.stringify({ gc: o.gc, wall: Boolean(o.wall), rt: o.rt, at: new Date().toISOString(), jitterP99Ms: r.p99 * 1000, jitterMaxMs: r.max * 1000, jitterMeanMs: r.mean * 1000,
    eventLoopDelayP99Ms: r.eventLoopDelayP99Ms, gcPauseMaxMs: r.gcPauseMaxMs, shedFraction: r.shedFraction, episodes: r.episodes }));
}
