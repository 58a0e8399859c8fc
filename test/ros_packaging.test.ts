/**
 * What `ros2 launch` hands the node: params files (read by the rclnodejs transport itself, see
 * rclnodejs_transport.ts), the shipped configs, package.xml, and launch files that name the
 * executables CMakeLists.txt installs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { XMLParser } from 'fast-xml-parser';
import yaml from 'js-yaml';
import { loadParamsFile } from '../src/config/load.js';
import { readParamsFiles, splitParamsFiles } from '../src/ros/transport/params_files.js';
import { declareConfigParameters, unknownParameters } from '../src/ros/trainer/parameters.js';
import { resolveNodePaths } from '../src/ros/process/node_paths.js';
import { InProcessBus } from '../src/ros/transport/inprocess_transport.js';
import type { ParameterValue } from '../src/ros/transport/transport.js';

const root = new URL('..', import.meta.url).pathname;

test('--params-file arguments are taken out of argv in order, inside or before --ros-args', () => {
  const r = splitParamsFiles(['node', 'main.ts', 'node', '--params-file', 'a.yaml', '--ros-args', '-r', '__node:=x', '--params-file', '/tmp/b.yaml', '-p', 'seed:=3']);
  assert.deepEqual(r.paramsFiles, ['a.yaml', '/tmp/b.yaml']);
  assert.deepEqual(r.argv, ['node', 'main.ts', 'node', '--ros-args', '-r', '__node:=x', '-p', 'seed:=3']);
  assert.throws(() => splitParamsFiles(['--ros-args', '--params-file']), /needs a file argument/);
});

test('params files: node sections by name, namespace or wildcard; nested keys become dotted names; later wins', () => {
  const dir = mkdtempSync(join(tmpdir(), 'naf-params-'));
  try {
    const a = join(dir, 'a.yaml'), b = join(dir, 'b.yaml');
    writeFileSync(a, [
      '/**:', '  ros__parameters:', '    use_sim_time: true', '    seed: 1',
      'naf_trainer:', '  ros__parameters:', '    seed: 2', '    agent: { hidden: [64, 64], learning_rate: 0.01 }',
      'other_node:', '  ros__parameters:', '    seed: 99',
      'robot1:', '  naf_trainer:', '    ros__parameters:', '      seed: 7',
    ].join('\n'));
    writeFileSync(b, '/naf_trainer:\n  ros__parameters:\n    agent:\n      learning_rate: 0.002\n');
    const m = readParamsFiles([a, b], 'naf_trainer');
    assert.deepEqual(Object.fromEntries(m), { use_sim_time: true, seed: 2, 'agent.hidden': [64, 64], 'agent.learning_rate': 0.002 });
    assert.equal(readParamsFiles([a], 'naf_trainer', '/robot1').get('seed'), 7);
    assert.equal(readParamsFiles([a], 'nobody').get('seed'), 1, 'wildcard only');
    // launch_ros writes list parameters as python tuples
    writeFileSync(b, '/**:\n  ros__parameters:\n    joints: !!python/tuple\n    - joint1\n    - joint2\n    initial_positions: !!python/tuple\n    - 0.0\n    - 0.8\n');
    assert.deepEqual(Object.fromEntries(readParamsFiles([b], 'naf_sim_bridge')), { joints: ['joint1', 'joint2'], initial_positions: [0, 0.8] });
    writeFileSync(b, 'naf_trainer: [unclosed');
    assert.throws(() => readParamsFiles([b], 'naf_trainer'), /cannot read params file .*b\.yaml/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

for (const file of ['config/reacher.yaml', 'config/naf_trainer_hardware.yaml', 'config/ur5e.yaml']) {
  test(`${file}: declared as ROS parameters it gives the config js-yaml loading gives`, () => {
    const path = join(root, file);
    const overrides = Object.fromEntries(readParamsFiles([path], 'naf_trainer')) as Record<string, ParameterValue>;
    assert.deepEqual(unknownParameters(Object.keys(overrides)), []);
    const node = new InProcessBus().createNode('naf_trainer', { parameterOverrides: overrides });
    // relative paths in the file resolve against its folder on both sides
    assert.deepEqual(resolveNodePaths(declareConfigParameters(node), [path], 'naf_trainer'), loadParamsFile(path));
  });
}

test('a relative path resolves against the folder of the params file that sets it; -p values and defaults are left alone', () => {
  const dir = mkdtempSync(join(tmpdir(), 'naf-paths-'));
  try {
    const a = join(dir, 'a.yaml'), sub = join(dir, 'sub'), b = join(sub, 'b.yaml');
    mkdirSync(sub);
    writeFileSync(a, 'naf_trainer:\n  ros__parameters:\n    urdf_path: ../urdf/reacher3.urdf\n    run_dir: out\n');
    writeFileSync(b, 'naf_trainer:\n  ros__parameters:\n    run_dir: later\n');
    const node = new InProcessBus().createNode('naf_trainer', { parameterOverrides: { ...Object.fromEntries(readParamsFiles([a, b], 'naf_trainer')) as Record<string, ParameterValue>, 'deploy.checkpoint': 'cli/best' } });
    const c = resolveNodePaths(declareConfigParameters(node), [a, b], 'naf_trainer');
    assert.equal(c.urdf_path, join(dir, '..', 'urdf', 'reacher3.urdf'));
    assert.equal(c.run_dir, join(sub, 'later'), 'the last file that sets it');
    assert.equal(c.deploy.checkpoint, 'cli/best', 'not from a file: unchanged');
    assert.equal(c.ros.resume, '');
    // the same rule for naf-ros train --config
    assert.equal(loadParamsFile(a, 'naf_trainer', { checkArm: false }).urdf_path, join(dir, '..', 'urdf', 'reacher3.urdf'));
    assert.equal(loadParamsFile(b).urdf_path, 'urdf/reacher3.urdf', 'a default stays relative to the package');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the hardware config keeps the learned policy capped and the torque small', () => {
  const c = loadParamsFile(join(root, 'config/naf_trainer_hardware.yaml'));
  assert.ok(c.model_based.max_on_policy_fraction <= 0.5 && c.model_based.on_policy_fraction <= c.model_based.max_on_policy_fraction);
  assert.ok(c.safety.max_effort <= 1 && c.safety.state_timeout_ms <= 100);
});

test('typos in params files are reported; standard ROS parameters are not', () => {
  assert.deepEqual(unknownParameters(['seed', 'use_sim_time', 'agent.learnig_rate', 'qos_overrides./x.publisher.depth', 'safety.max_effort']), ['agent.learnig_rate']);
});

test('package.xml: format 3, ament_cmake, the run-time dependencies of the nodes and launch files', () => {
  const xml = new XMLParser({ ignoreAttributes: false }).parse(readFileSync(join(root, 'package.xml'), 'utf8'));
  const pkg = xml.package;
  assert.equal(pkg['@_format'], '3');
  assert.equal(pkg.name, 'naf_ros');
  assert.equal(pkg.buildtool_depend, 'ament_cmake');
  assert.equal(pkg.export.build_type, 'ament_cmake');
  const entries = [pkg.exec_depend].flat() as (string | { '#text': string; '@_version_gte'?: string })[];
  const deps = new Set<string>(entries.map((e) => (typeof e === 'string' ? e : e['#text'])));
  for (const d of ['sensor_msgs', 'std_msgs', 'std_srvs', 'diagnostic_msgs', 'rosgraph_msgs', 'launch_ros', 'robot_state_publisher', 'xacro', 'python3-yaml',
    'ros_gz_sim', 'ros_gz_bridge', 'gz_ros2_control', 'controller_manager', 'effort_controllers', 'joint_state_broadcaster']) {
    assert.ok(deps.has(d), `exec_depend ${d}`);
  }
  const gz = entries.find((e) => typeof e !== 'string' && e['#text'] === 'gz_ros2_control');
  assert.equal(typeof gz === 'object' ? gz['@_version_gte'] : undefined, '0.7.13', 'gz_ros2_control >= 0.7.13 (the gz_ros2_control-system plugin name on Humble)');
});

test('the URDFs\' gz_ros2_control blocks name controllers files that list the joints of the matching params file', () => {
  for (const [urdf, params] of [['urdf/reacher3.urdf', 'config/reacher.yaml'], ['urdf/ur5e.urdf', 'config/ur5e.yaml']]) {
    const text = readFileSync(join(root, urdf), 'utf8');
    assert.match(text, /<plugin filename="gz_ros2_control-system" name="gz_ros2_control::GazeboSimROS2ControlPlugin">/);
    assert.match(text, /<plugin>gz_ros2_control\/GazeboSimSystem<\/plugin>/);
    const file = /<parameters>\$\(find naf_ros\)\/(.+?)<\/parameters>/.exec(text)![1];
    const controllers = yaml.load(readFileSync(join(root, file), 'utf8')) as { effort_controller: { ros__parameters: { joints: string[] } } };
    assert.deepEqual(controllers.effort_controller.ros__parameters.joints, loadParamsFile(join(root, params)).joints, `${urdf} -> ${file}`);
    for (const j of controllers.effort_controller.ros__parameters.joints) assert.match(text, new RegExp(`<joint name="${j}">\\s*<command_interface name="effort">`), `${urdf}: effort interface of ${j}`);
  }
});

test('launch files compile and start only executables CMakeLists.txt installs', () => {
  const cmake = readFileSync(join(root, 'CMakeLists.txt'), 'utf8');
  const installed = [...cmake.matchAll(/"(\w+):(node|sim-bridge|learner):/g)].map((m) => m[1]);
  assert.deepEqual(installed.sort(), ['naf_learner', 'naf_sim_bridge', 'naf_trainer']);
  const files = readdirSync(join(root, 'launch')).filter((f) => f.endsWith('.launch.py'));
  assert.deepEqual(files.sort(), ['fleet.launch.py', 'fleet_hardware.launch.py', 'gazebo.launch.py', 'hardware.launch.py', 'mujoco.launch.py', 'policy.launch.py']);
  for (const f of files) {
    const text = readFileSync(join(root, 'launch', f), 'utf8');
    for (const m of text.matchAll(/package='naf_ros', executable='(\w+)'/g)) assert.ok(installed.includes(m[1]), `${f} starts ${m[1]}`);
    try {
      execFileSync('python3', ['-c', 'import ast,sys; ast.parse(open(sys.argv[1]).read())', join(root, 'launch', f)], { stdio: 'pipe' });
    } catch (e) {
      if ((e as { code?: string }).code === 'ENOENT') continue; // no python3 here: syntax not checked
      throw new Error(`${f}: ${(e as { stderr?: Buffer }).stderr?.toString()}`);
    }
  }
});

test('the fleet launch files start actors (fleet.role actor, in their namespaces) and the learner, which gets resume and episodes', () => {
  for (const f of ['fleet.launch.py', 'fleet_hardware.launch.py']) {
    const text = readFileSync(join(root, 'launch', f), 'utf8');
    for (const arg of ['params_file', 'run_dir', 'resume', 'episodes', 'learner']) assert.match(text, new RegExp(`DeclareLaunchArgument\\('${arg}'`), `${f} declares ${arg}`);
    assert.match(text, /run = run_overrides\(context, 'the fleet'\)/, `${f} forwards resume and episodes (naf_launch_common.run_overrides)`);
    assert.match(text, /executable='naf_learner', ros_arguments=enclave_args\(context, 'fleet_learner'\), name='naf_learner'[\s\S]*\*\*run\}/, `${f} gives the learner resume and episodes, and its enclave`);
    assert.match(text, /executable='naf_trainer', ros_arguments=enclave_args\(context, 'fleet_actor'\), name='naf_trainer', namespace=/, `${f} starts namespaced actors in their enclave`);
    assert.match(text, /'fleet\.role': 'actor'/, `${f}: the actors are fleet actors`);
  }
  assert.match(readFileSync(join(root, 'launch', 'fleet.launch.py'), 'utf8'), /DeclareLaunchArgument\('arms'/);
  assert.match(readFileSync(join(root, 'launch', 'fleet_hardware.launch.py'), 'utf8'), /DeclareLaunchArgument\('namespaces'/);
});

test('every launch file declares the run-level arguments and forwards resume and episodes to the trainer', () => {
  // The one place that turns them into naf_trainer parameters.
  const common = readFileSync(join(root, 'launch', 'naf_launch_common.py'), 'utf8');
  assert.match(common, /'ros\.resume': os\.path\.abspath\(resume\) if resume else ''/, 'run_overrides forwards resume as ros.resume');
  assert.match(common, /overrides\['training\.episodes'\] = int\(episodes\)/, 'run_overrides forwards episodes as training.episodes');
  for (const f of ['mujoco.launch.py', 'gazebo.launch.py', 'hardware.launch.py']) {
    const text = readFileSync(join(root, 'launch', f), 'utf8');
    for (const arg of ['params_file', 'run_dir', 'resume', 'episodes']) assert.match(text, new RegExp(`DeclareLaunchArgument\\('${arg}'`), `${f} declares ${arg}`);
    assert.match(text, /from naf_launch_common import \([^)]*run_overrides/, `${f} uses the shared run_overrides`);
    assert.match(text, /\*\*run_overrides\(context\)/, `${f} puts them into the trainer's parameters`);
    assert.match(text, /enclaves_argument\(\)/, `${f} takes enclaves:=`);
  }
});
