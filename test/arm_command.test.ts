/**
 * `naf-ros arm`: the params-file helper on the UR5e — the chain, the tip at
 * home, the reach, gravity against u_max, the derived damping and homing gains, reachable targets
 * — and a params file written from the URDF alone that `naf-ros train` accepts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadParamsFile, parseConfig } from '../src/config/load.js';
import { armConfig, formatArmReport } from '../src/cli/arm_command.js';
import { armReport } from '../src/training/arm_report.js';

const naf = (...args: string[]) => execFileSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

test('the UR5e report: chain, tip at home, reach, gravity against u_max, derived damping, homing gains, reachable targets', async () => {
  const { config } = armConfig({ config: 'config/ur5e.yaml' });
  const r = await armReport(config);
  assert.deepEqual(r.joints.map((j) => j.name), config.joints);
  assert.deepEqual(r.homeTip.map((v) => +v.toFixed(3)), [0.492, 0.133, 0.488]);
  assert.ok(r.reach > 0.9 && r.reach < 1.0, `reach ${r.reach} m (UR5e: 850 mm to the flange from the shoulder, more from the base joint axis)`);
  assert.ok(Math.abs(r.targetDistance! - 0.21) < 0.01);
  // hardware damping derived from u_max = 0.2 x effort and v = 3.14 rad/s (safety.velocity_limit), the URDF's b = 0
  assert.equal(r.damping.mode, 'hardware');
  r.joints.forEach((j) => {
    assert.equal(j.urdfDamping, 0);
    assert.equal(j.velocity, 3.14);
    assert.ok(Math.abs(j.injectedDamping - j.uMax / (0.4 * 3.14)) < 1e-9, `${j.name} D ${j.injectedDamping}`);
    assert.ok(Math.abs(j.steadySpeed - 0.4 * 3.14) < 1e-9);
    assert.ok(j.homingKp > 0 && j.homingKd >= 0);
  });
  assert.ok(Math.abs(r.joints[1].gravityHome) > 10 && r.joints[1].gravityMax > Math.abs(r.joints[1].gravityHome), 'gravity loads the shoulder');
  assert.ok(r.maxEffortFraction > 0.5 && r.maxEffortFraction < 0.8, `${r.maxEffortFraction}`);
  assert.equal(r.targets.length, 6);
  for (const t of r.targets) {
    const d = Math.hypot(...t.target.map((v, k) => v - r.homeTip[k]));
    assert.ok(Math.abs(d - t.distance) < 2e-3 && t.jointMotion < 1.5, JSON.stringify(t));
  }
  assert.deepEqual(r.problems, []);
  const text = formatArmReport(r, config);
  assert.match(text, /^arm urdf\/ur5e\.urdf: root "world" -> tip "tool0", 6 joints, 50 Hz, T = 50 steps/);
  assert.match(text, /shoulder_lift_joint +revolute +-6\.28 \.\. 6\.28 +150 +3\.14 +30 /);
  assert.match(text, /damping injection hardware, D derived: D = max\(0, u_max \/ \(0\.4 v_max\) − b\): set it in the robot's own loop — joint-impedance mode with stiffness 0 and damping D = \[23\.885, 23\.885, 23\.885, 4\.459, 4\.459, 4\.459\] N·m·s\/rad/);
  assert.match(text, /task\.fixed_target: \[0\.492, 0\.133, 0\.288\] +0\.2 m from the home tip/);
  assert.match(text, /no problems found/);
});

test('problems are named with the parameter to change: no room for gravity; gravity not compensated', async () => {
  const base = loadParamsFile('config/ur5e.yaml');
  const tight = await armReport(parseConfig({ ...base, task: { ...base.task, action_effort_fraction: 0.9 } }));
  assert.match(tight.problems.join('\n'), /task\.action_effort_fraction: 0\.9 leaves no room for gravity on shoulder_lift_joint .* set it <= 0\.6/);
  const none = await armReport(parseConfig({ ...base, safety: { ...base.safety, gravity_compensation: 'none' } }));
  assert.match(none.problems.join('\n'), /safety\.gravity_compensation: none, but gravity loads this arm/);
});

test('from the URDF alone: a params file to start from that naf-ros train accepts; --json for the launch files', () => {
  const out = naf('arm', '--urdf', 'urdf/ur5e.urdf', '--tip', 'tool0');
  const i = out.indexOf('naf_trainer:');
  assert.ok(i > 0, out);
  const dir = mkdtempSync(join(tmpdir(), 'naf-arm-'));
  try {
    const file = join(dir, 'ur5e_start.yaml');
    writeFileSync(file, out.slice(i));
    const c = loadParamsFile(file);
    assert.deepEqual(c.joints, ['shoulder_pan_joint', 'shoulder_lift_joint', 'elbow_joint', 'wrist_1_joint', 'wrist_2_joint', 'wrist_3_joint']);
    assert.equal(c.task.tip_link, 'tool0');
    assert.equal(c.safety.gravity_compensation, 'model');
    assert.equal(c.task.action_effort_fraction, 0.2);
    const json = JSON.parse(naf('arm', '--config', file, '--json')) as { damping: { mode: string; D: number[] }; problems: string[] };
    assert.equal(json.damping.mode, 'hardware');
    assert.equal(json.damping.D.length, 6);
    assert.deepEqual(json.problems, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  assert.throws(() => naf('arm', '--urdf', 'urdf/ur5e.urdf', '--tip', 'nope'), /--tip nope is not a link of urdf\/ur5e\.urdf/);
});
