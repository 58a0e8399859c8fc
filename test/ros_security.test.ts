/**
 * SROS2 over real DDS: `mujoco.launch.py enclaves:=/naf_ros` under ROS_SECURITY_STRATEGY=Enforce,
 * with a keystore made from the shipped policy (security/naf_ros.policy.xml, docs/security.md).
 * naf_trainer and the MuJoCo bridge run in their enclaves and train; then
 *   - an unauthenticated participant (security off) publishing /joint_states at 100 Hz,
 *   - an authenticated participant whose enclave may not publish /joint_states (the operator's),
 *   - the bridge's enclave publishing the e-stop and setting naf_trainer's parameters,
 * never reach the node: it sees one /joint_states publisher throughout, refuses none, keeps
 * running episodes, and its e-stop stays released — until the operator's enclave, which may,
 * engages it (the check that the test sees an e-stop when one arrives).
 *
 * Runs where rclnodejs loads, the ros2 CLI is on PATH and sros2 is installed (`ros2 security`);
 * skipped with the reason otherwise.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import yaml from 'js-yaml';
import { loadRclnodejs } from '../src/ros/transport/rclnodejs_transport.js';
import { nafRosPrefix, REPO } from './ros_prefix.js';
import { rclnodejsSkip } from './ros_env.js';

type Env = NodeJS.ProcessEnv;
const run = (args: string[], env: Env, timeout = 60_000) => new Promise<{ out: string; code: number }>((resolve) =>
  execFile(args[0], args.slice(1), { env, encoding: 'utf8', timeout }, (e, out, err) => resolve({ out: `${out}${err}`, code: e ? ((e as { code?: number }).code ?? 1) : 0 })));

let skip = '';
try {
  await loadRclnodejs();
} catch (e) {
  skip = rclnodejsSkip(e);
}
if (!skip && (await run(['ros2', '--help'], process.env)).code !== 0) skip = 'ros2 CLI not on PATH';
if (!skip && (await run(['ros2', 'security', '--help'], process.env)).code !== 0) skip = 'sros2 not installed (no `ros2 security`)';

/** The newest /diagnostics line of the run folder under `runs`, flattened (`safety.estop_latched`, ...). */
function lastDiagnostics(runs: string): Record<string, string> | null {
  if (!existsSync(runs)) return null;
  const dir = readdirSync(runs).map((d) => join(runs, d, 'diagnostics.jsonl')).find(existsSync);
  if (!dir) return null;
  const lines = readFileSync(dir, 'utf8').trim().split('\n');
  try { return JSON.parse(lines.at(-1)!); } catch { return null; }
}

async function until<T>(get: () => T | null | undefined, ok: (v: T) => boolean, seconds: number): Promise<T> {
  let v: T | null | undefined = null;
  for (let k = 0; k < seconds * 4; k++) {
    v = get();
    if (v != null && ok(v)) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`not reached in ${seconds} s; last: ${JSON.stringify(v)}`);
}

test('SROS2 Enforce: an unauthenticated and an unpermitted publisher never reach naf_trainer; the operator\'s e-stop does', { timeout: 300_000 }, async (t) => {
  if (skip) return t.skip(skip);
  const tmp = mkdtempSync(join(tmpdir(), 'naf-sros2-'));
  const base: Env = { ...process.env, ROS_DOMAIN_ID: String(160 + (process.pid % 40)), AMENT_PREFIX_PATH: `${nafRosPrefix(tmp)}:${process.env.AMENT_PREFIX_PATH}` };
  delete base.ROS_SECURITY_ENCLAVE_OVERRIDE;
  // The keystore is made for this ROS_DOMAIN_ID (its governance and permissions name it).
  const ks = join(tmp, 'keystore');
  assert.equal((await run(['ros2', 'security', 'create_keystore', ks], base)).code, 0);
  const made = await run(['ros2', 'security', 'generate_artifacts', '-k', ks, '-p', join(REPO, 'security/naf_ros.policy.xml')], base);
  assert.equal(made.code, 0, made.out);
  const secure: Env = { ...base, ROS_SECURITY_KEYSTORE: ks, ROS_SECURITY_ENABLE: 'true', ROS_SECURITY_STRATEGY: 'Enforce' };
  const as = (enclave: string): Env => ({ ...secure, ROS_SECURITY_ENCLAVE_OVERRIDE: enclave });

  const paramsFile = join(tmp, 'params.yaml');
  writeFileSync(paramsFile, yaml.dump({ naf_trainer: { ros__parameters: { task: { horizon: 10 }, agent: { hidden: [8, 8], warmup_steps: 10, batch_size: 4, replay_capacity: 1000 }, training: { episodes: 1000 } } } }));
  const runs = join(tmp, 'runs');
  const launch = spawn('ros2', ['launch', 'naf_ros', 'mujoco.launch.py', 'enclaves:=/naf_ros', `params_file:=${paramsFile}`, `run_dir:=${runs}`, 'rt_priority:=0'], { env: secure, detached: true });
  let log = '';
  launch.stdout.on('data', (d: Buffer) => { log += d.toString(); });
  launch.stderr.on('data', (d: Buffer) => { log += d.toString(); });
  try {
    await until(() => lastDiagnostics(runs), (d) => Number(d['control_loop.episode']) >= 2, 150).catch((e: Error) => { throw new Error(`${e.message}\n${log.slice(-3000)}`); });
    const js = '{name: [joint1, joint2, joint3], position: [0.5, 0.5, 0.5], velocity: [0.0, 0.0, 0.0], effort: [0.0, 0.0, 0.0]}';
    const before = lastDiagnostics(runs)!;
    // Unauthenticated: security off, publishing for 8 s at 100 Hz.
    const unauth = run(['ros2', 'topic', 'pub', '-r', '100', '/joint_states', 'sensor_msgs/msg/JointState', js], { ...base, ROS_SECURITY_ENABLE: 'false' }, 8000);
    // Authenticated, not permitted: DDS refuses to create the writer (or the client).
    const unperm = await run(['ros2', 'topic', 'pub', '--once', '/joint_states', 'sensor_msgs/msg/JointState', js], as('/naf_ros/operator'), 20_000);
    assert.match(unperm.out, /Failed to create publisher: failed to create topic \[rt\/joint_states\]/, unperm.out);
    const estopByBridge = await run(['ros2', 'topic', 'pub', '--once', '/naf_trainer/estop', 'std_msgs/msg/Bool', '{data: true}'], as('/naf_ros/naf_sim_bridge'), 20_000);
    assert.match(estopByBridge.out, /Failed to create publisher: failed to create topic \[rt\/naf_trainer\/estop\]/, estopByBridge.out);
    const paramByBridge = await run(['ros2', 'param', 'set', '--no-daemon', '/naf_trainer', 'model_based.on_policy_fraction', '0.3'], as('/naf_ros/naf_sim_bridge'), 30_000);
    assert.match(paramByBridge.out, /failed to create client: failed to create topic \[rq\/naf_trainer\/set_parametersRequest\]/, paramByBridge.out);
    const u = await unauth;
    assert.match(u.out, /publishing #\d{2,}/, 'the unauthenticated publisher did publish');
    await new Promise((r) => setTimeout(r, 1500));
    const after = lastDiagnostics(runs)!;
    for (const d of [before, after]) {
      assert.equal(d['safety.joint_states_publishers'], '1', 'one /joint_states publisher in the node\'s graph: the bridge');
      assert.equal(d['safety.joint_states_rejected.other_publisher'], '0');
      assert.equal(d['safety.joint_states_conflicts'], '0');
      assert.equal(d['safety.estop_latched'], 'false');
      assert.equal(d['safety.on_policy_fraction'], '0.5');
    }
    assert.ok(Number(after['control_loop.episode']) > Number(before['control_loop.episode']), 'episodes went on');
    // The operator's enclave may: its parameter change and e-stop reach the node.
    const paramByOperator = await run(['ros2', 'param', 'set', '--no-daemon', '/naf_trainer', 'model_based.on_policy_fraction', '0.3'], as('/naf_ros/operator'), 30_000);
    assert.match(paramByOperator.out, /Set parameter successful/, paramByOperator.out);
    const estop = await run(['ros2', 'topic', 'pub', '--once', '-w', '1', '/naf_trainer/estop', 'std_msgs/msg/Bool', '{data: true}'], as('/naf_ros/operator'), 30_000);
    assert.equal(estop.code, 0, estop.out);
    const engaged = await until(() => lastDiagnostics(runs), (d) => d['safety.estop_latched'] === 'true', 20);
    assert.equal(engaged['safety.on_policy_fraction'], '0.3');
    console.log(`# SROS2 Enforce: unauthenticated publisher sent ${u.out.match(/publishing #(\d+)/g)?.at(-1)}, never in the node's graph; operator's /joint_states writer and the bridge's e-stop writer and parameter client refused by DDS; operator's e-stop and parameter reached the node`);
  } finally {
    try { process.kill(-launch.pid!, 'SIGINT'); } catch { /* gone */ }
    await new Promise((r) => { launch.once('exit', r); setTimeout(r, 15_000).unref(); });
  }
});
