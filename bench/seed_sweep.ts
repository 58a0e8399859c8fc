/**
 * The learning test's configuration (test/learning.test.ts: NAF with tvlg imagination, p = 0.5, a
 * small 64x64 shared-trunk network, 10 evaluation starts every 5 episodes) over several seeds, with
 * overrides: a cheap proxy for a change to the learner, minutes instead of the hours of the bench.
 *
 *   node --import tsx bench/seed_sweep.ts '<json overrides of the params>' [episodes=50] [seeds=3,5,7,9,11,13]
 *   e.g. node --import tsx bench/seed_sweep.ts '{"model_based":{"fictional_max_age_refits":0}}' 50
 *
 * Prints one line: per seed the mean of the last three evaluations, the mean test return over the
 * evaluations after episode 0 (the bench's grid score) and the held-out final successes of 20;
 * then their means over seeds.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../src/config/load.js';
import { Trainer } from '../src/training/trainer.js';
import { silentLogger } from '../src/util/logger.js';
import { merge } from './methods.js';

const overrides = JSON.parse(process.argv[2] ?? '{}') as Record<string, unknown>;
const episodes = Number(process.argv[3] ?? 50);
const seeds = (process.argv[4] ?? '3,5,7,9,11,13').split(',').map(Number);
const rows: { seed: number; last3: number; score: number; finalSucc: number; rejected: number }[] = [];
for (const seed of seeds) {
  const config = parseConfig(merge({
    seed,
    task: { horizon: 50, target_mode: 'fixed' },
    agent: { kind: 'naf', hidden: [64, 64], architecture: 'shared', updates_per_step: 1 },
    model_based: { enabled: true, dynamics: 'tvlg', on_policy_fraction: 0.5 },
    training: { episodes, eval_every_episodes: 5, eval_episodes: 10, checkpoint_every_episodes: episodes },
  }, overrides), 'seed sweep');
  const trainer = await Trainer.create(config, join(mkdtempSync(join(tmpdir(), 'naf-sweep-')), 'run'), silentLogger());
  const evals: number[] = [];
  const out = await trainer.run({ onEval: (e) => evals.push(e.meanReturn) });
  const rejected = trainer.parts.learner.ilqgRejected;
  trainer.dispose();
  const after = evals.slice(1);
  rows.push({ seed, last3: (evals.at(-1)! + evals.at(-2)! + evals.at(-3)!) / 3, score: after.reduce((a, b) => a + b, 0) / after.length, finalSucc: out.test!.final.successes, rejected });
}
const m = (k: 'last3' | 'score' | 'finalSucc') => (rows.reduce((s, r) => s + r[k], 0) / rows.length).toFixed(2);
console.log(`${JSON.stringify(overrides)}, ${episodes} episodes: mean of last 3 evaluations ${m('last3')}, score ${m('score')}, held-out final ${m('finalSucc')}/20 | per seed last3/score/final: `
  + rows.map((r) => `${r.seed}: ${r.last3.toFixed(2)}/${r.score.toFixed(2)}/${r.finalSucc}${r.rejected ? ` (${r.rejected} iLQG steps rejected)` : ''}`).join(', '));
