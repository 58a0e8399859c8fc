/**
 * What a person pastes and types: `train --set <name>=<value>` (shared with the bench) is checked
 * exactly as the params file is, and the commands the CLI prints start with `npx naf-ros`, which
 * runs from the package folder after `npm ci`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, loadParamsFile } from '../src/config/load.js';
import { merge, parseSet, parseSets } from '../src/config/overrides.js';
import { PACKAGE_ROOT } from '../src/config/params_file.js';
import { nafRos, shellWord } from '../src/cli/command_hint.js';
import { parseSet as benchParseSet } from '../bench/methods.js';
import { Trainer } from '../src/training/trainer.js';
import { silentLogger } from '../src/util/logger.js';

const reacher = join(PACKAGE_ROOT, 'config', 'reacher.yaml');
const cli = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', join(PACKAGE_ROOT, 'src', 'cli.ts'), ...args], { encoding: 'utf8', cwd: PACKAGE_ROOT });

test('--set parses dotted names and YAML values; later ones win; the bench uses the same parser', () => {
  assert.deepEqual(parseSet('agent.learning_rate=0.0005'), { agent: { learning_rate: 0.0005 } });
  assert.deepEqual(parseSet('agent.hidden=[64, 64]'), { agent: { hidden: [64, 64] } });
  assert.deepEqual(parseSet('model_based.enabled=false'), { model_based: { enabled: false } });
  assert.deepEqual(parseSet('agent.kind=ddpg'), { agent: { kind: 'ddpg' } });
  assert.deepEqual(parseSets(['seed=3', 'agent.hidden=[8]', 'seed=4', 'agent.gamma=0.9']), { seed: 4, agent: { hidden: [8], gamma: 0.9 } });
  assert.deepEqual(merge({ a: { b: 1, c: [1, 2] } }, { a: { c: [3] } }), { a: { b: 1, c: [3] } });
  assert.throws(() => parseSet('seed'), /--set: expected <parameter>=<value>/);
  assert.throws(() => parseSet('agent..x=1'), /is not a parameter name/);
  assert.throws(() => parseSet('agent.hidden=[1,'), /--set agent.hidden=\[1,: the value is not YAML/);
  assert.equal(benchParseSet, parseSet);
});

test('--set is validated as the params file: errors name the file and the --set; paths are relative to the working folder', () => {
  const ok = loadParamsFile(reacher, undefined, { overrides: { params: parseSets(['agent.learning_rate=0.0005', 'training.episodes=7']), source: '--set ...' } });
  assert.equal(ok.agent.learning_rate, 0.0005);
  assert.equal(ok.training.episodes, 7);
  assert.equal(ok.agent.kind, loadParamsFile(reacher).agent.kind, 'the rest from the file');
  const issues = (sets: string[]) => {
    try {
      loadParamsFile(reacher, undefined, { overrides: { params: parseSets(sets), source: sets.map((s) => `--set ${s}`).join(' ') } });
    } catch (e) {
      assert.ok(e instanceof ConfigError);
      return e.message;
    }
    return assert.fail('expected a ConfigError');
  };
  assert.match(issues(['agent.learning_rate=-1']), /reacher\.yaml with --set agent\.learning_rate=-1[\s\S]*agent\.learning_rate: must be a number > 0/);
  assert.match(issues(['agent.learnin_rate=0.1']), /agent\.learnin_rate: unknown parameter/);
  assert.match(issues(['joints=[joint1, joint2, nope]']), /nope/, 'checked against the arm too');
  const runs = loadParamsFile(reacher, undefined, { overrides: { params: parseSets(['run_dir=my_runs']), source: '--set run_dir=my_runs' } });
  assert.equal(runs.run_dir, join(process.cwd(), 'my_runs'), 'a --set path is relative to the working folder');
});

test('naf-ros train --set: a bad value is one line naming it, exit code 2, and no run folder', () => {
  const dir = mkdtempSync(join(tmpdir(), 'naf-set-cli-'));
  const r = cli('train', '--set', 'agent.learning_rate=-1', '--set', 'seed=2', '--run-dir', join(dir, 'run'));
  assert.equal(r.status, 2);
  assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  assert.match(r.stderr, /^naf-ros: invalid configuration in config\/reacher\.yaml with --set agent\.learning_rate=-1 --set seed=2: agent\.learning_rate: must be a number > 0/);
  assert.ok(!existsSync(join(dir, 'run')));
  const help = cli('train', '--help');
  assert.match(help.stdout, /--set <name=value>/);
});

test('printed commands start with npx naf-ros, quote what needs it, and run when pasted in the package folder', async () => {
  assert.equal(nafRos('train', '--resume', 'runs/2026-01-01T00-00-00-000Z-seed1'), 'npx naf-ros train --resume runs/2026-01-01T00-00-00-000Z-seed1');
  assert.equal(nafRos('view', '/tmp/my runs/a'), "npx naf-ros view '/tmp/my runs/a'");
  assert.equal(shellWord("it's"), `'it'\\''s'`);
  const dir = mkdtempSync(join(tmpdir(), 'naf-hint-'));
  mkdirSync(join(dir, 'run'));
  writeFileSync(join(dir, 'run', 'config.yaml'), 'naf_trainer:\n  ros__parameters: {}\n');
  await assert.rejects(Trainer.create(loadParamsFile(reacher), join(dir, 'run'), silentLogger()), new RegExp(`continue it with: npx naf-ros train --resume ${join(dir, 'run')}`));
  const pasted = spawnSync('npx', ['naf-ros', '--version'], { encoding: 'utf8', cwd: PACKAGE_ROOT, env: { ...process.env, npm_config_offline: 'true' } });
  assert.equal(pasted.status, 0, pasted.stderr);
  assert.match(pasted.stdout, /^naf_ros \d+\.\d+\.\d+/);
});
