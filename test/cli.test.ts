/**
 * The console a person sees: a progress line that fits the terminal with elapsed time and ETA,
 * a plain backend line, --version, and every error as one line with exit code 2.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clock, progressLine } from '../src/cli/progress.js';
import { backendLine } from '../src/cli/backend_line.js';

const full = { episode: 57, total: 120, startEpisode: 0, elapsed: 431, controller: 'ilqg', ret: -4.2113, best: -2.6044, stepsPerSecond: 48.2, updatesPerSecond: 231.7, modelMse: 0.000123, imagined: 123456 };

test('progress line: fits every width, keeps episode, elapsed and ETA at 80 columns, drops the least important first', () => {
  for (const w of [20, 40, 60, 80, 100, 147, 200]) assert.ok(progressLine(full, w).length <= w - 1, `width ${w}: ${progressLine(full, w)}`);
  const l80 = progressLine(full, 80);
  assert.match(l80, /^ep 57\/120 /);
  assert.match(l80, /7:11 eta 7:56/, 'elapsed 431 s; 63 episodes left at 7.56 s each');
  assert.match(l80, /ret -4\.21 best -2\.60/);
  const wide = progressLine(full, 200);
  assert.match(wide, /\[#+\.+\]/, 'a bar when there is room');
  for (const f of ['ilqg', '48 st/s', '232 up/s', 'mse 1.2e-4', 'img 123k']) assert.ok(wide.includes(f), f);
  const narrow = progressLine(full, 40);
  assert.match(narrow, /^ep 57\/120 7:11 eta 7:56/);
  assert.ok(!narrow.includes('img'));
  assert.equal(progressLine({ episode: 0, total: 5, startEpisode: 0, elapsed: 3 }, 80).includes('eta -'), true, 'no ETA before the first episode');
  assert.equal(clock(3725), '1:02:05');
});

test('backend line: which backend runs; a missing tfjs-node is optional, with how to get it', () => {
  const missing = backendLine({ name: 'wasm', tried: [{ name: 'tensorflow', error: "Cannot find package '@tensorflow/tfjs-node' imported from /x/backend.ts" }, { name: 'wasm' }] });
  assert.match(missing, /^tfjs backend: wasm \(WebAssembly/);
  assert.match(missing, /optional native backend is not installed \(not needed; to try it: npm install @tensorflow\/tfjs-node\)/);
  assert.ok(!missing.includes('Cannot find package'));
  assert.equal(backendLine({ name: 'tensorflow', tried: [{ name: 'tensorflow' }] }), 'tfjs backend: tensorflow (native TensorFlow through @tensorflow/tfjs-node)');
  assert.match(backendLine({ name: 'wasm', tried: [{ name: 'tensorflow', error: 'libtensorflow.so.2: cannot open shared object file' }, { name: 'wasm' }] }), /installed but did not load \(libtensorflow/);
});

const cli = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { encoding: 'utf8' });

test('CLI: --version; errors are one line naming the thing, exit code 2; --debug adds the stack', () => {
  const v = cli('--version');
  assert.equal(v.status, 0);
  assert.match(v.stdout, /^naf_ros \d+\.\d+\.\d+ \(node v\d+/);
  const typo = cli('eval', '--checkpoint', 'runs/no-such-run');
  assert.equal(typo.status, 2);
  assert.equal(typo.stderr.trim().split('\n').length, 1, typo.stderr);
  assert.match(typo.stderr, /^naf-ros: no checkpoint at runs\/no-such-run: expected a run folder/);
  const dir = mkdtempSync(join(tmpdir(), 'naf-cli-'));
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, 'naf_trainer:\n  ros__parameters:\n    agent: {learning_rate: 5, hiden: [3]}\n');
  const cfg = cli('train', '--config', bad);
  assert.equal(cfg.status, 2);
  assert.equal(cfg.stderr.trim().split('\n').length, 1, cfg.stderr);
  assert.match(cfg.stderr, /agent\.hiden: unknown parameter.*; agent\.learning_rate: must be a number > 0 and <= 1; got 5/);
  const unknown = cli('train', '--bogus');
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /unknown option '--bogus'/);
  const resume = cli('train', '--resume', join(dir, 'nothing-here'));
  assert.equal(resume.status, 2);
  assert.match(resume.stderr, /^naf-ros: invalid configuration in .*nothing-here: not a run folder/);
  const debug = cli('--debug', 'report', join(dir, 'nothing-here'));
  assert.equal(debug.status, 2);
  assert.match(debug.stderr, /^naf-ros: .*not a run folder.*\n.*ConfigError[\s\S]*at /);
});
