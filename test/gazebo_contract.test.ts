/**
 * The Gazebo contract: `gazebo.launch.py` on a real Gazebo (gz sim) with gz_ros2_control
 * and ros2_control's controller_manager — the launch comes up (both controllers active), naf_trainer
 * commands the effort controller at the control rate (of simulation time), every torque is finite
 * and within the URDF limits, the e-stop zeroes them, episodes complete, and stopping the launch —
 * Ctrl-C (SIGINT to its process group) or SIGTERM to `ros2 launch` alone, as a script or a service
 * manager stops it — leaves no process of it running.
 *
 * Runs where rclnodejs loads (a sourced ROS 2), the `ros2` CLI, Gazebo (`ign` or `gz`) and
 * gz_ros2_control are present; skipped with the reason otherwise. Gazebo's transport stays in a
 * partition of its own (IGN_PARTITION / GZ_PARTITION) and DDS on the test's ROS_DOMAIN_ID.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { rclnodejsOrSkip } from './ros_env.js';
import type { ClockMsg, Float64MultiArrayMsg } from '../src/ros/transport/transport.js';
import { fromTimeMsg } from '../src/ros/transport/transport.js';
import { nafRosPrefix } from './ros_prefix.js';

const EFFORT = [0.6, 0.1, 0.03]; // urdf/reacher3.urdf

function which(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function ros2(args: string[]): Promise<{ out: string; code: number }> {
  return new Promise((resolve) => execFile('ros2', args, { encoding: 'utf8', timeout: 60000 }, (e, out) => resolve({ out, code: e ? 1 : 0 })));
}

const { ctx, skip: loadSkip } = await rclnodejsOrSkip('gazebo_contract');
let skip = loadSkip;
if (!skip && !which('ros2')) skip = 'ros2 CLI not on PATH';
if (!skip && !which('ign') && !which('gz')) skip = 'Gazebo (ign / gz) not on PATH';
if (!skip && (await ros2(['pkg', 'prefix', 'gz_ros2_control'])).code !== 0) skip = 'gz_ros2_control not installed';
after(async () => { await ctx?.shutdown(); });

/** PIDs of live processes in process group `pgid`. */
function groupMembers(pgid: number): number[] {
  const out = execFileSync('ps', ['-eo', 'pid=,pgid='], { encoding: 'utf8' });
  return out.split('\n').map((l) => l.trim().split(/\s+/).map(Number)).filter(([pid, g]) => g === pgid && pid > 0).map(([pid]) => pid);
}

interface Launch { p: ChildProcess; out: () => string; waitFor: (re: RegExp, timeoutS: number) => Promise<boolean>; exited: Promise<number | null> }

function launch(args: string[], env: NodeJS.ProcessEnv): Launch {
  const p = spawn('ros2', ['launch', 'naf_ros', 'gazebo.launch.py', ...args], { env, detached: true });
  let out = '';
  p.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  p.stderr!.on('data', (d: Buffer) => { out += d.toString(); });
  const exited = new Promise<number | null>((r) => p.once('exit', (code) => r(code)));
  const waitFor = async (re: RegExp, timeoutS: number) => {
    const end = Date.now() + timeoutS * 1000;
    while (!re.test(out) && Date.now() < end && p.exitCode === null) await new Promise((r) => setTimeout(r, 200));
    return re.test(out);
  };
  return { p, out: () => out, waitFor, exited };
}

/** Stops a launch by `signal` (to its group, or to `ros2 launch` alone) and waits until no member of its group is left (or 60 s). */
async function stop(l: Launch, signal: 'SIGINT' | 'SIGTERM', group: boolean): Promise<number[]> {
  const pgid = l.p.pid!;
  try { process.kill(group ? -pgid : pgid, signal); } catch { /* gone */ }
  await Promise.race([l.exited, new Promise((r) => setTimeout(r, 45000))]);
  const end = Date.now() + 15000;
  let left = groupMembers(pgid);
  while (left.length && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 500));
    left = groupMembers(pgid);
  }
  return left;
}

describe('Gazebo contract: gazebo.launch.py with gz sim, gz_ros2_control and the controller_manager', () => {
  test('controllers active, commands at the control rate within limits, e-stop zeroes them, episodes complete, Ctrl-C leaves nothing running', { timeout: 420_000 }, async (t) => {
    if (skip || !ctx) return t.skip(skip);
    const tmp = mkdtempSync(join(tmpdir(), 'naf-gz-contract-'));
    const params = { task: { horizon: 25 }, agent: { hidden: [16, 16], warmup_steps: 20, batch_size: 8, replay_capacity: 2000 }, training: { episodes: 50 }, ros: { rt_priority: 0 } };
    const paramsFile = join(tmp, 'params.yaml');
    writeFileSync(paramsFile, yaml.dump({ naf_trainer: { ros__parameters: params } }));
    const partition = `naf_gz_contract_${process.pid}`;
    const env = { ...process.env, AMENT_PREFIX_PATH: `${nafRosPrefix(tmp)}:${process.env.AMENT_PREFIX_PATH}`, IGN_PARTITION: partition, GZ_PARTITION: partition };
    const node = ctx.createNode(`gz_contract_${process.pid}`);
    const commands: { t: number; u: number[] }[] = [];
    let simNow = NaN;
    node.createSubscription('rosgraph_msgs/msg/Clock', '/clock', 'default', (m: ClockMsg) => { simNow = fromTimeMsg(m.clock); });
    node.createSubscription('std_msgs/msg/Float64MultiArray', '/effort_controller/commands', 'default', (m: Float64MultiArrayMsg) => { commands.push({ t: simNow, u: Array.from(m.data) }); });
    const estop = node.createPublisher('std_msgs/msg/Bool', '/naf_trainer/estop', 'latched');
    ctx.spin();
    const l = launch([`params_file:=${paramsFile}`, `run_dir:=${join(tmp, 'runs')}`, "gz_args:=-r -s -v 1 empty.sdf"], env);
    let left: number[] = [];
    try {
      assert.ok(await l.waitFor(/Configured and activated .*joint_state_broadcaster/, 150), `joint_state_broadcaster active:\n${l.out().slice(-3000)}`);
      assert.ok(await l.waitFor(/Configured and activated .*effort_controller/, 60), `effort_controller active:\n${l.out().slice(-3000)}`);
      assert.ok(await l.waitFor(/episode 2 \((naf|ilqg)\) return -?[0-9.]+, final distance [0-9.]+ cm/, 180), `two episodes complete:\n${l.out().slice(-3000)}`);
      // Commands over 3 s of wall time: the control rate in simulation time, finite, within limits.
      const from = commands.length;
      await new Promise((r) => setTimeout(r, 3000));
      const window = commands.slice(from).filter((c) => Number.isFinite(c.t));
      assert.ok(window.length > 20, `commands arrive: ${window.length}`);
      const simSpan = window[window.length - 1].t - window[0].t;
      const rate = (window.length - 1) / simSpan;
      assert.ok(rate > 50 * 0.8 && rate < 50 * 1.25, `command rate ${rate.toFixed(1)} Hz of simulation time (control_rate_hz 50; ${window.length} commands over ${simSpan.toFixed(2)} s)`);
      for (const c of commands) c.u.forEach((v, j) => assert.ok(Number.isFinite(v) && Math.abs(v) <= EFFORT[j] + 1e-12, `torque ${c.u} within ${EFFORT}`));
      // E-stop: zero torque (reacher3 carries no weight: no gravity compensation) from then on.
      estop.publish({ data: true });
      assert.ok(await l.waitFor(/E-STOP engaged/, 20), 'the node reports the e-stop');
      await new Promise((r) => setTimeout(r, 1000));
      const after = commands.length;
      await new Promise((r) => setTimeout(r, 2000));
      const held = commands.slice(after);
      assert.ok(held.length > 10 && held.every((c) => c.u.every((v) => v === 0)), `zero torque under e-stop: ${held.length} commands, nonzero ${held.filter((c) => c.u.some((v) => v !== 0)).length}`);
      t.diagnostic(`Gazebo: command rate ${rate.toFixed(1)} Hz of simulation time; ${commands.length} commands, all within limits; e-stop held ${held.length} zero commands`);
    } finally {
      left = await stop(l, 'SIGINT', true);
      // The e-stop publisher is latched (transient local): while it lives, every new naf_trainer
      // starts with the e-stop engaged, as it must. The next test's launch needs it gone.
      node.destroy();
    }
    assert.deepEqual(left, [], `Ctrl-C left running: ${left.map((pid) => execFileSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8' }).trim()).join('; ')}`);
  });

  test('SIGTERM to ros2 launch alone (a script, a service manager) leaves nothing running', { timeout: 300_000 }, async (t) => {
    if (skip || !ctx) return t.skip(skip);
    const tmp = mkdtempSync(join(tmpdir(), 'naf-gz-sigterm-'));
    const params = { task: { horizon: 25 }, agent: { hidden: [16, 16], warmup_steps: 20, batch_size: 8 }, training: { episodes: 50 }, ros: { rt_priority: 0 } };
    const paramsFile = join(tmp, 'params.yaml');
    writeFileSync(paramsFile, yaml.dump({ naf_trainer: { ros__parameters: params } }));
    const partition = `naf_gz_sigterm_${process.pid}`;
    const env = { ...process.env, AMENT_PREFIX_PATH: `${nafRosPrefix(tmp)}:${process.env.AMENT_PREFIX_PATH}`, IGN_PARTITION: partition, GZ_PARTITION: partition };
    const l = launch([`params_file:=${paramsFile}`, `run_dir:=${join(tmp, 'runs')}`, "gz_args:=-r -s -v 1 empty.sdf"], env);
    let left: number[] = [];
    try {
      assert.ok(await l.waitFor(/episode 1 \((naf|ilqg)\) return/, 240), `an episode completes:\n${l.out().slice(-3000)}`);
    } finally {
      left = await stop(l, 'SIGTERM', false);
    }
    assert.deepEqual(left, [], `SIGTERM left running: ${left.map((pid) => execFileSync('ps', ['-o', 'args=', '-p', String(pid)], { encoding: 'utf8' }).trim()).join('; ')}`);
  });
});
