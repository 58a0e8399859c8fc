/**
 * The measurement behind test/algorithm2_margin.test.ts: Algorithm 2 as shipped (config/reacher.yaml:
 * separate 2x200 networks, I = 1, l = 10, p = 0.5) against NAF alone (the same config without
 * imagination and with p = 1: Algorithm 1) on a short budget, per seed, on the update paths
 * available here:
 *
 *   node --import tsx bench/learning_margin.ts [--seeds 1,2,3,4,5,6] [--episodes 25] [--paths native,tfjs]
 *
 * Score of a run: the mean greedy test return of its last three evaluations (every 5 episodes on
 * 10 evaluation starts). Prints one JSON line per run and the margins (Algorithm 2 − NAF alone) per
 * seed and path, with their minimum: the test asserts a margin below that minimum on one seed.
 */
import { Command } from 'commander';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { alg2VsNafConfigs, lastThreeMean } from '../test/fixtures/learning_margin.js';
import { Trainer } from '../src/training/trainer.js';
import { silentLogger } from '../src/util/logger.js';

const o = new Command('learning_margin')
  .option('--seeds <list>', 'seeds', '1,2,3,4,5,6')
  .option('--episodes <n>', 'real episodes per run', (v) => Number(v), 25)
  .option('--paths <list>', 'update paths (native needs the addon)', 'native,tfjs')
  .parse()
  .opts();

const margins: { seed: number; path: string; alg2: number; naf: number; margin: number }[] = [];
for (const path of String(o.paths).split(',')) {
  for (const seed of String(o.seeds).split(',').map(Number)) {
    const scores: Record<string, number> = {};
    for (const [name, params] of Object.entries(alg2VsNafConfigs(seed, o.episodes, path as 'native' | 'tfjs'))) {
      const t0 = Date.now();
      const trainer = await Trainer.create(params, join(mkdtempSync(join(tmpdir(), 'naf-margin-')), 'run'), silentLogger());
      const evals: number[] = [];
      await trainer.run({ onEval: (e) => evals.push(e.meanReturn) });
      trainer.dispose();
      scores[name] = lastThreeMean(evals);
      console.log(JSON.stringify({ path, seed, method: name, score: +scores[name].toFixed(3), evals: evals.map((v) => +v.toFixed(2)), seconds: (Date.now() - t0) / 1000 }));
    }
    margins.push({ seed, path, alg2: scores.alg2, naf: scores.naf, margin: scores.alg2 - scores.naf });
  }
}
console.log(JSON.stringify({ margins: margins.map((m) => ({ ...m, margin: +m.margin.toFixed(3) })), min: Math.min(...margins.map((m) => m.margin)) }));
