/**
 * `naf-ros eval`: loads the policy of a checkpoint (with the config it was trained with) and
 * runs the greedy policy from fixed evaluation starts on the embedded arm.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { parseConfig } from '../config/load.js';
import { readCheckpoint, readLatestCheckpoint } from './checkpoint.js';
import { evaluate, evaluationStarts } from './episode.js';
import { buildTraining } from './factory.js';
import type { LearnerState } from './learner.js';

/**
 * @param path a run folder (its newest checkpoint) or one checkpoint folder
 * @returns per-episode returns and final fingertip distances (m), and the tfjs backend used
 * @throws CheckpointError for a missing or corrupt checkpoint
 */
export async function evaluateCheckpoint(path: string, opts: { episodes: number; seed: number }): Promise<{ returns: number[]; finalDistances: number[]; backend: string }> {
  const isRun = existsSync(join(path, 'config.json'));
  const runDir = isRun ? path : dirname(dirname(path));
  const config = parseConfig(JSON.parse(readFileSync(join(runDir, 'config.json'), 'utf8')), join(runDir, 'config.json'));
  const state = (isRun ? readLatestCheckpoint(join(path, 'checkpoints')).state : readCheckpoint(path).state) as { learner: LearnerState };
  const parts = await buildTraining(config);
  await parts.agent.setState(state.learner.agent);
  parts.actor.setPolicy(parts.agent.snapshot());
  const starts = evaluationStarts(parts.task, opts.episodes, opts.seed);
  const r = evaluate(parts.arm, parts.task, parts.actor, starts);
  parts.agent.dispose();
  parts.arm.dispose();
  return { ...r, backend: parts.backend.name };
}
