/**
 * Bringing an arm (docs/your-arm.md): each mistake a user makes in the params file or the
 * URDF ends in one message that names the parameter as written, what is allowed and what was
 * given — before a run folder exists — and `naf-ros train` exits with code 2, no stack trace.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import yaml from 'js-yaml';
import { ConfigError, loadParamsFile } from '../src/config/load.js';

const tmp = mkdtempSync(join(tmpdir(), 'naf-setup-'));
let n = 0;
const reacher = readFileSync('urdf/reacher3.urdf', 'utf8');
const UR5E = {
  urdf_path: resolve('urdf/ur5e.urdf'), // the params files are written to a temporary folder
  joints: ['shoulder_pan_joint', 'shoulder_lift_joint', 'elbow_joint', 'wrist_1_joint', 'wrist_2_joint', 'wrist_3_joint'],
  task: { tip_link: 'tool0', home_pose: [0, -1.5708, 1.5708, -1.5708, -1.5708, 0], fixed_target: [0.4, 0.3, 0.4] },
};

function paramsFile(params: Record<string, unknown>): string {
  const path = join(tmp, `p${n++}.yaml`);
  writeFileSync(path, yaml.dump({ naf_trainer: { ros__parameters: params } }));
  return path;
}

function urdfFile(text: string): string {
  const path = join(tmp, `u${n++}.urdf`);
  writeFileSync(path, text);
  return path;
}

/** The single issue line loadParamsFile reports for these parameters. */
function issue(params: Record<string, unknown>): string {
  try {
    loadParamsFile(paramsFile(params));
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    assert.equal(e.issues.length, 1, e.issues.join('\n'));
    assert.ok(!e.message.includes('\n'), 'one line');
    return e.issues[0];
  }
  assert.fail(`no error for ${JSON.stringify(params)}`);
}

/** A tree with a branch after the first joint: base -> j1 -> l1 -> {ja -> a, jb -> b}. */
const BRANCHED = `<robot name="branched">
  <link name="base"/>
  ${['l1', 'a', 'b'].map((l) => `<link name="${l}"><inertial><mass value="0.1"/><inertia ixx="1e-4" ixy="0" ixz="0" iyy="1e-4" iyz="0" izz="1e-4"/></inertial></link>`).join('')}
  <joint name="j1" type="revolute"><parent link="base"/><child link="l1"/><axis xyz="0 0 1"/><limit lower="-2" upper="2" effort="1" velocity="5"/></joint>
  <joint name="ja" type="revolute"><parent link="l1"/><child link="a"/><origin xyz="0.1 0 0"/><axis xyz="0 1 0"/><limit lower="-2" upper="2" effort="1" velocity="5"/></joint>
  <joint name="jb" type="revolute"><parent link="l1"/><child link="b"/><origin xyz="-0.1 0 0"/><axis xyz="0 1 0"/><limit lower="-2" upper="2" effort="1" velocity="5"/></joint>
</robot>`;

test('a URDF path that does not exist, a xacro file, a URDF that is not valid', () => {
  assert.match(issue({ urdf_path: 'urdf/my_arm.urdf' }), /^urdf_path: must be an existing URDF file \(a relative path in a params file is relative to that file's folder; .*\); got ".*naf-setup-.*\/urdf\/my_arm\.urdf" \(no file at .*naf-setup-.*\/urdf\/my_arm\.urdf\)$/);
  const xacro = urdfFile('<robot name="a" xmlns:xacro="http://www.ros.org/wiki/xacro"><xacro:include filename="arm.xacro"/></robot>');
  assert.match(issue({ urdf_path: xacro }), /^urdf_path: must be a plain URDF, not xacro \(run `xacro .* > arm\.urdf`.*\); got ".*\.urdf"$/);
  assert.match(issue({ urdf_path: urdfFile('<robot name="a"><link name="b"></robot>') }), /^urdf_path: must be a valid URDF \(malformed XML at line 1.*\); got ".*"$/);
});

test('a joint or a tip link that is not in the URDF', () => {
  assert.equal(issue({ joints: ['joint1', 'joint2', 'elbow'] }),
    'joints: must be movable joints of urdf/reacher3.urdf (it has "joint1", "joint2", "joint3"); got ["joint1","joint2","elbow"]: "elbow" is not in the URDF');
  assert.match(issue({ joints: ['joint1', 'joint2', 'fingertip_joint'] }), /^joints: .*"fingertip_joint" is fixed$/);
  assert.equal(issue({ task: { tip_link: 'hand' } }), 'task.tip_link: must be a link of urdf/reacher3.urdf (its end links: "fingertip"); got "hand"');
});

test('joints that are not the serial chain to the tip: a branch, a missing joint, the wrong order', () => {
  const path = urdfFile(BRANCHED);
  const base = { urdf_path: path, task: { tip_link: 'a', home_pose: [0, 0, 0] } };
  assert.match(issue({ ...base, joints: ['j1', 'ja', 'jb'] }),
    /^joints: must be the movable joints of the serial chain from the URDF root "base" to task\.tip_link "a", base to tip \(\["j1","ja"\]\); got \["j1","ja","jb"\]: "jb" is not between the root and the tip \(a branch of the tree, or beyond the tip\)$/);
  assert.match(issue({ ...base, joints: ['ja'], task: { tip_link: 'a', home_pose: [0] } }), /^joints: .*got \["ja"\]: the chain also moves "j1"$/);
  assert.match(issue({ joints: ['joint2', 'joint1', 'joint3'] }), /^joints: .*\(\["joint1","joint2","joint3"\]\); got \["joint2","joint1","joint3"\]: list them base to tip$/);
});

test('moving links without inertials', () => {
  const massless = urdfFile(reacher.replace(/(<link name="link2">)\s*<inertial>[\s\S]*?<\/inertial>/, '$1'));
  assert.match(issue({ urdf_path: massless }), /^urdf_path: link "link2" \(moved by joint "joint2"\) must have an <inertial> with mass > 0 .*; got none in .*$/);
});

test('a home pose outside the (soft) limits, a target out of reach, a 2-D target on a spatial arm', () => {
  assert.equal(issue({ task: { home_pose: [0, 2.55, 0] } }),
    'task.home_pose: must be within the soft limits of joint2, [-2.5, 2.5] (URDF limits moved inward by the soft-limit margin 0.1); got [0,2.55,0]');
  assert.match(issue({ task: { fixed_target: [0.5, 0] } }),
    /^task\.fixed_target: must be reachable by fingertip within the soft joint limits \(the closest point found is \[0\.\d+, [-\d.]+, 0\.13\] m, 0\.1\d\d m away\); got \[0\.5,0\]$/);
  assert.match(issue({ ...UR5E, task: { ...UR5E.task, fixed_target: [1.2, 0, 0.3] } }), /^task\.fixed_target: must be reachable by tool0 .* m away\); got \[1\.2,0,0\.3\]$/);
  assert.equal(issue({ ...UR5E, task: { ...UR5E.task, fixed_target: [0.4, 0.3] } }), 'task.fixed_target: must be an array of 3 finite numbers; got [0.4,0.3]');
  assert.match(issue({ ...UR5E, safety: { workspace_min: [-1, -1, 0.45], workspace_max: [1, 1, 1] } }), /^task\.fixed_target: must be inside the workspace box \[-1, -1, 0\.45\] \.\. \[1, 1, 1\] m; got \[0\.4,0\.3,0\.4\]$/);
});

test('a control rate the embedded simulator cannot step', () => {
  assert.equal(issue({ control_rate_hz: 300 }),
    'control_rate_hz: must make the control period 1/rate a whole number of the embedded simulator\'s 2 ms physics steps (e.g. 500, 250, 125, 100, 50, 25, 20 Hz); got 300');
});

test('the shipped configs fit their arms', () => {
  for (const f of ['config/reacher.yaml', 'config/reacher_naf.yaml', 'config/ur5e.yaml', 'config/ur5e_naf.yaml', 'config/naf_trainer_hardware.yaml']) loadParamsFile(f);
});

test('naf-ros train: one line naming the parameter, exit code 2, no stack trace, no run folder', () => {
  const run = join(tmp, 'run');
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'train', '--config', paramsFile({ task: { fixed_target: [0.5, 0] } }), '--run-dir', run, '-q'], { encoding: 'utf8' });
  assert.equal(r.status, 2, r.stderr);
  const lines = r.stderr.trim().split('\n');
  assert.equal(lines.length, 1, r.stderr);
  assert.match(lines[0], /^naf-ros: invalid configuration in .*\.yaml: task\.fixed_target: must be reachable by fingertip .*; got \[0\.5,0\]$/);
  assert.ok(!existsSync(run), 'no run folder left behind');
});
