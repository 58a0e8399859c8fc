/**
 * Nothing lost: a run stopped at a checkpoint and resumed continues exactly as the uninterrupted
 * run; a `kill -9` mid-run loses at most the work since the newest checkpoint; a resume with a
 * different config or arm is refused, naming the difference.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../src/config/load.js';
import { Trainer, type EvalMetrics } from '../src/training/trainer.js';
import { silentLogger } from '../src/util/logger.js';
import yaml from 'js-yaml';

const params = {
  seed: 11,
  task: { horizon: 20 },
  agent: { hidden: [24, 24], updates_per_step: 1, warmup_steps: 20, batch_size: 16, replay_capacity: 5000 },
  model_based: { refit_every_episodes: 2, imagination_every_steps: 5, imagination_starts: 2, imagination_length: 3, on_policy_fraction: 0.5 },
  training: { episodes: 6, eval_every_episodes: 2, eval_episodes: 2, checkpoint_every_episodes: 2 },
};
const tmp = () => mkdtempSync(join(tmpdir(), 'naf-resume-'));

async function train(runDir: string, episodes: number, resume: boolean): Promise<EvalMetrics[]> {
  const config = parseConfig({ ...params, training: { ...params.training, episodes } });
  const evals: EvalMetrics[] = [];
  const t = resume ? await Trainer.resume(runDir, silentLogger(), { override: config }) : await Trainer.create(config, runDir, silentLogger());
  await t.run({ onEval: (e) => evals.push(e) });
  t.dispose();
  return evals;
}

test('stop at a checkpoint + resume = the uninterrupted run (weights, buffers, model, RNG, noise)', async () => {
  const whole = await train(join(tmp(), 'a'), 6, false);
  const dir = join(tmp(), 'b');
  const first = await train(dir, 4, false);
  const rest = await train(dir, 6, true);
  const split = [...first, ...rest];
  assert.deepEqual(split.map((e) => e.episode), whole.map((e) => e.episode));
  for (let i = 0; i < whole.length; i++) {
    assert.equal(split[i].meanReturn, whole[i].meanReturn, `eval at episode ${whole[i].episode}`);
  }
  const metrics = readFileSync(join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(metrics.map((m) => m.episode), [1, 2, 3, 4, 5, 6], 'the learning curve continues without a reset');
});

test('resume refuses a different config, naming the parameter', async () => {
  const dir = join(tmp(), 'c');
  await train(dir, 2, false);
  const other = parseConfig({ ...params, agent: { ...params.agent, learning_rate: 0.01 } });
  await assert.rejects(Trainer.resume(dir, silentLogger(), { override: other }), /agent\.learning_rate: run has 0\.001, --config gives 0\.01/);
});

test('kill -9 mid-run, then --resume: finishes, curve continues from the newest checkpoint', async () => {
  const root = tmp();
  const cfg = join(root, 'p.yaml');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(cfg, yaml.dump({ naf_trainer: { ros__parameters: { ...params, training: { ...params.training, episodes: 16 } } } }));
  const runDir = join(root, 'run');
  const cli = (args: string[]) => spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'train', '-q', ...args], { stdio: 'ignore' });
  const child = cli(['--config', cfg, '--run-dir', runDir]);
  // Kill as soon as a second checkpoint exists, mid-episode.
  await new Promise<void>((resolve) => {
    const poll = setInterval(() => {
      const ck = join(runDir, 'checkpoints');
      if (existsSync(ck) && readdirSync(ck).filter((n) => n.startsWith('ckpt-') && Number(n.slice(5, 12)) >= 2).length >= 1) { clearInterval(poll); resolve(); }
    }, 20);
  });
  child.kill('SIGKILL');
  await new Promise((r) => child.on('exit', r));
  const before = readFileSync(join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').length;
  const checkpointed = Math.max(...readdirSync(join(runDir, 'checkpoints')).filter((n) => n.startsWith('ckpt-')).map((n) => Number(n.slice(5, 12))));
  assert.ok(before >= checkpointed, 'the killed run had logged at least up to its newest checkpoint');
  const resumed = cli(['--resume', runDir, '--config', cfg]);
  const code = await new Promise((r) => resumed.on('exit', r));
  assert.equal(code, 0);
  const episodes = readFileSync(join(runDir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).episode);
  // One curve, 1..16, no reset and no duplicates: episodes after the newest checkpoint were
  // trained again (that work, at most checkpoint_every_episodes episodes, is what a kill costs).
  assert.deepEqual(episodes, Array.from({ length: 16 }, (_, i) => i + 1));
});

test('Ctrl-C (SIGINT) says what it does and does it: drops the episode in progress, keeps the run as of the last complete one, exits 0', async () => {
  const root = tmp();
  const cfg = join(root, 'p.yaml');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(cfg, yaml.dump({ naf_trainer: { ros__parameters: { ...params, training: { ...params.training, episodes: 1000, checkpoint_every_episodes: 1000, eval_every_episodes: 1000 } } } }));
  const runDir = join(root, 'run');
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'train', '-q', '--config', cfg, '--run-dir', runDir], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr.on('data', (d) => { err += d; });
  const metrics = join(runDir, 'metrics.jsonl');
  await new Promise<void>((resolve) => {
    const poll = setInterval(() => { if (existsSync(metrics) && readFileSync(metrics, 'utf8').split('\n').length > 3) { clearInterval(poll); resolve(); } }, 20);
  });
  child.kill('SIGINT');
  const code = await new Promise((r) => child.on('exit', r));
  assert.equal(code, 0);
  const done = readFileSync(metrics, 'utf8').trim().split('\n').length;
  assert.ok(done < 1000, 'stopped early');
  assert.match(err, new RegExp(`SIGINT: stopping\\. The episode in progress \\(\\d+\\) is dropped; the run is kept as of episode \\d+`));
  assert.match(err, new RegExp(`stopped at episode ${done} of 1000 .*checkpoint .*ckpt-${String(done).padStart(7, '0')}\\.safetensors written.*Continue: npx naf-ros train --resume`));
  // what it said: the checkpoint of the last complete episode (and best = the untrained policy), test, plot, summary
  assert.deepEqual(readdirSync(join(runDir, 'checkpoints')).sort(), ['best.safetensors', 'ckpt-0000000.safetensors', `ckpt-${String(done).padStart(7, '0')}.safetensors`]);
  for (const f of ['test.json', 'learning_curve.svg', 'summary.md']) assert.ok(existsSync(join(runDir, f)), f);
  assert.match(readFileSync(join(runDir, 'summary.md'), 'utf8'), new RegExp(`${done} of 1000 episodes \\(not finished`));
});

test('resuming a complete run says so and how to extend it, and writes nothing', async () => {
  const dir = join(tmp(), 'd');
  await train(dir, 2, false);
  const ckpts = () => readdirSync(join(dir, 'checkpoints')).map((n) => `${n}:${statSync(join(dir, 'checkpoints', n)).mtimeMs}`);
  const before = ckpts();
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', 'train', '-q', '--resume', dir], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stderr, /is complete: 2 of 2 episodes trained; nothing to do\. To train it further: npx naf-ros train --resume .* --episodes <more than 2>/);
  assert.deepEqual(ckpts(), before);
});
