/**
 * One benchmark training run in its own process (so runs use both cores):
 *   node --import tsx bench/learning_job.ts <json {params, runDir}>
 * Writes the run folder of `Trainer` (eval.jsonl is what the report reads).
 */
import { parseConfig } from '../src/config/load.js';
import { Trainer } from '../src/training/trainer.js';
import { createLogger } from '../src/util/logger.js';
import { join } from 'node:path';

const { params, runDir } = JSON.parse(process.argv[2]) as { params: unknown; runDir: string };
const config = parseConfig(params, 'bench job');
const logger = createLogger({ file: join(runDir, 'log.jsonl'), console: false });
const trainer = await Trainer.create(config, runDir, logger);
await trainer.run({
  onEval: (e) => process.stdout.write(JSON.stringify({ episode: e.episode, meanReturn: e.meanReturn }) + '\n'),
});
trainer.dispose();
