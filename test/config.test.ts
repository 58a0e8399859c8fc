import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, flattenParameters, loadParamsFile, parseConfig, validateParameterUpdate } from '../src/config/load.js';

const tmp = mkdtempSync(join(tmpdir(), 'naf-config-'));
const file = (name: string, text: string) => { const p = join(tmp, name); writeFileSync(p, text); return p; };
const issuesOf = (f: () => unknown): string[] => {
  try { f(); } catch (e) { assert.ok(e instanceof ConfigError, String(e)); return e.issues; }
  assert.fail('expected a ConfigError');
};

test('the shipped params file loads, with defaults filled', () => {
  const c = loadParamsFile('config/reacher.yaml');
  assert.equal(c.agent.kind, 'naf');
  assert.equal(c.agent.updates_per_step, 1, 'shipped: I = 1 (see the comment in the file)');
  assert.equal(parseConfig({}).agent.updates_per_step, 5, 'schema default: the paper\'s I = 5');
  assert.equal(c.model_based.imagination_length, 10);
  assert.deepEqual(c.joints, ['joint1', 'joint2', 'joint3']);
  assert.equal(c.model_based.refit_every_episodes, 5);
});

test('an invalid value names the parameter, what is allowed and what was given', () => {
  const [msg] = issuesOf(() => parseConfig({ agent: { learning_rate: -1 } }));
  assert.equal(msg, 'agent.learning_rate: must be a number > 0 and <= 1; got -1');
  const [kind] = issuesOf(() => parseConfig({ model_based: { dynamics: 'gp' } }));
  assert.match(kind, /^model_based\.dynamics: must be one of "tvlg", "nn", "true"; got "gp"/);
});

test('unknown keys, wrong types and several errors are all reported', () => {
  const issues = issuesOf(() => parseConfig({ agent: { lr: 1, batch_size: 'big' }, seed: 1.5 }));
  assert.equal(issues.length, 3);
  assert.ok(issues.some((m) => m.startsWith('agent.lr: unknown parameter')));
  assert.ok(issues.some((m) => m.startsWith('agent.batch_size: must be an integer >= 1 and <= 4096; got "big"')));
  assert.ok(issues.some((m) => m.startsWith('seed: must be an integer >= 0; got 1.5')));
});

test('cross-field rules: p above its safety cap, home pose size', () => {
  const issues = issuesOf(() => parseConfig({ model_based: { on_policy_fraction: 0.9, max_on_policy_fraction: 0.5 }, task: { home_pose: [0, 0] } }));
  assert.ok(issues.some((m) => m.includes('on_policy_fraction: must be <= model_based.max_on_policy_fraction (0.5')));
  assert.ok(issues.some((m) => m.startsWith('task.home_pose: must have one entry per joint')));
});

test('params-file errors: YAML syntax, missing section, missing file', () => {
  assert.match(issuesOf(() => loadParamsFile(file('bad.yaml', 'naf_trainer:\n  ros__parameters:\n    seed: [1,\n')))[0], /^YAML syntax error/);
  assert.match(issuesOf(() => loadParamsFile(file('nosec.yaml', 'other_node:\n  ros__parameters: {}\n')))[0], /naf_trainer: ros__parameters/);
  assert.match(issuesOf(() => loadParamsFile(join(tmp, 'absent.yaml')))[0], /cannot read the params file/);
  const wildcard = loadParamsFile(file('wild.yaml', '/**:\n  ros__parameters:\n    seed: 3\n'));
  assert.equal(wildcard.seed, 3);
});

test('run-time parameter updates: range, type, read-only and the on-policy cap', () => {
  const c = parseConfig({ model_based: { on_policy_fraction: 0.2, max_on_policy_fraction: 0.5 } });
  assert.equal(validateParameterUpdate('model_based.on_policy_fraction', 0.4, c), null);
  assert.match(validateParameterUpdate('model_based.on_policy_fraction', 0.9, c) ?? '', /max_on_policy_fraction \(0\.5, the safety cap\)/);
  assert.match(validateParameterUpdate('model_based.max_on_policy_fraction', 1, c) ?? '', /read-only/);
  assert.match(validateParameterUpdate('safety.homing_kp', 'fast', c) ?? '', /must be a number/);
  assert.match(validateParameterUpdate('agent.learning_rate', 0.01, c) ?? '', /read-only while the node runs/);
  assert.match(validateParameterUpdate('agent.nope', 1, c) ?? '', /unknown parameter/);
  assert.equal(c.model_based.on_policy_fraction, 0.2, 'a rejected update leaves the config unchanged');
});

test('flattenParameters gives dotted ROS names', () => {
  const flat = flattenParameters(parseConfig({}));
  assert.equal(flat.get('agent.learning_rate'), 0.001);
  assert.deepEqual(flat.get('joints'), ['joint1', 'joint2', 'joint3']);
  assert.ok(!flat.has('agent'));
});
