/**
 * One benchmark training run in its own process (so runs use both cores):
 *   node --import tsx bench/learning_job.ts <json {params, runDir}>
 * Writes the run folder of `Trainer`, and on stdout one JSON line per evaluation
 * (`{"eval": {episode, meanReturn, successes, episodes}}`) and a last line with the held-out test
 * and the run's totals (`{"done": {test, totals}}`), which the bench keeps in results.json.
 */
import { parseConfig } from '../src/config/load.js';
import { Trainer } from '../src/training/trainer.js';
import { createLogger } from '../src/util/logger.js';
import { join } from 'node:path';

const { params, runDir } = JSON.parse(process.argv[2]) as { params: unknown; runDir: string };
const config = parseConfig(params, 'bench job');
const logger = createLogger({ file: join(runDir, 'log.jsonl'), console: false });
const trainer = await Trainer.create(config, runDir, logger);
const out = await trainer.run({
  onEval: (e) => process.stdout.write(JSON.stringify({ eval: { episode: e.episode, meanReturn: e.meanReturn, successes: e.successes, episodes: e.finalDistances.length } }) + '\n'),
});
const { learner, agent } = trainer.parts;
const summary = (t: { episode: number; meanReturn: number; successes: number; medianDistance: number }) => ({ episode: t.episode, meanReturn: t.meanReturn, successes: t.successes, medianDistance: t.medianDistance });
const rt = out.test?.randomTargets;
const test = out.test && {
  episodes: out.test.episodes, successDistance: out.test.successDistance, final: summary(out.test.final), best: out.test.best && summary(out.test.best),
  ...(rt ? { randomTargets: { episodes: rt.episodes, final: summary(rt.final), best: rt.best && summary(rt.best) } } : {}),
};
const totals = { steps: learner.steps, updates: agent.updates, imagined: learner.imaginedTotal, refits: learner.refits, ilqgRejected: learner.ilqgRejected, wallSeconds: trainer.wallSeconds };
process.stdout.write(JSON.stringify({ done: { test, totals } }) + '\n');
trainer.dispose();
