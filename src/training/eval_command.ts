/**
 * The policy of a checkpoint, and `naf-ros eval`: loads a checkpoint (with the config it was
 * trained with) and runs its greedy policy mu(x) from the held-out test starts on the embedded
 * arm.
 */
import type { PolicySnapshot } from '../agent/types.js';
import { initBackend } from '../agent/backend.js';
import type { NafConfig } from '../config/schema.js';
import { parseConfig } from '../config/load.js';
import { readRunConfig, SUCCESS_DISTANCE } from '../report/run_folder.js';
import { Rng } from '../util/rng.js';
import { CheckpointError, readCheckpoint, resolveCheckpoint } from './checkpoint.js';
import { evaluate, randomTargetTestStarts, summariseEvaluation, testStarts } from './episode.js';
import { buildActor, buildAgent, buildArm, buildTask } from './factory.js';
import type { LearnerState } from './learner.js';
import { configRecorder } from '../viz/record.js';
import type { Rollout } from '../viz/rollout.js';

/** What a trainer or node checkpoint holds that a policy needs. */
interface PolicyState {
  config?: NafConfig;
  episode?: number;
  learner?: Pick<LearnerState, 'agent'>;
}

export interface CheckpointPolicy {
  /** The checkpoint file (or legacy folder) read. */
  path: string;
  /** Its run folder, when it is in one. */
  runDir: string | null;
  /** The config it was trained with. */
  config: NafConfig;
  /** Training episodes behind it (NaN when the checkpoint does not say). */
  episode: number;
  /** The policy as plain arrays (`createActor`, `EpisodeActor.setPolicy`). */
  snapshot: PolicySnapshot;
  /** tfjs backend used to rebuild the network. */
  backend: string;
}

/**
 * Loads the policy of a checkpoint: `arg` is a run folder (its newest checkpoint), a checkpoint
 * file (`.safetensors`, extension optional) or a checkpoint folder of the previous format. The
 * config is the checkpoint's own (trainer checkpoints carry it), else its run folder's.
 * @throws CheckpointError (not found, corrupt, no config) or the agent's shape-mismatch Error.
 */
export async function loadCheckpointPolicy(arg: string, opts: { online?: boolean } = {}): Promise<CheckpointPolicy> {
  const { path, runDir } = resolveCheckpoint(arg);
  const state = readCheckpoint(path).state as PolicyState;
  if (!state?.learner?.agent) throw new CheckpointError(`${path}: holds no agent state (not a naf_ros training checkpoint)`);
  let config: NafConfig;
  if (state.config) config = parseConfig(state.config, `the config inside ${path}`);
  else if (runDir) config = readRunConfig(runDir);
  else throw new CheckpointError(`${path}: holds no config and is not inside a run folder (<run>/checkpoints/) whose config could be used`);
  const backend = await initBackend(config.backend === 'auto' ? undefined : config.backend);
  const agent = buildAgent(config, buildTask(config));
  try {
    await agent.setState(state.learner.agent);
    const snapshot = opts.online ? agent.snapshot() : agent.greedySnapshot();
    return { path, runDir, config, episode: state.episode ?? NaN, snapshot, backend: backend.name };
  } finally {
    agent.dispose();
  }
}

export interface EvaluationResult {
  checkpoint: string;
  episode: number;
  returns: number[];
  /** Final fingertip distance per episode, m. */
  finalDistances: number[];
  meanReturn: number;
  /** Episodes ending within SUCCESS_DISTANCE (2 cm). */
  successes: number;
  /** m */
  medianDistance: number;
  /** Seed and episodes of the test starts actually used. */
  seed: number;
  episodes: number;
  /** The starts were random reachable targets (`randomTargetTestStarts`), not the task's own. */
  randomTargets: boolean;
  backend: string;
  /** The episodes as recorded, with `record` (`src/viz/rollout.ts`). */
  rollout?: Rollout;
}

/**
 * `naf-ros eval`: the greedy policy of a checkpoint on the held-out test starts
 * (`training.test_episodes` from `training.test_seed` of the run's config unless given) or, with
 * `randomTargets`, on the held-out random reachable targets (`training.test_random_targets`, 20
 * where that is 0) — the two tests of the run's `test.json`; with `record`, the episodes are
 * recorded too (`rollout`).
 * @throws CheckpointError for a missing or corrupt checkpoint
 */
export async function evaluateCheckpoint(arg: string, opts: { episodes?: number; seed?: number; online?: boolean; record?: boolean; randomTargets?: boolean } = {}): Promise<EvaluationResult> {
  const policy = await loadCheckpointPolicy(arg, { online: opts.online });
  const { config } = policy;
  const randomTargets = Boolean(opts.randomTargets);
  const episodes = opts.episodes ?? (randomTargets ? config.training.test_random_targets || 20 : config.training.test_episodes);
  const seed = opts.seed ?? config.training.test_seed;
  const task = buildTask(config);
  const arm = await buildArm(config);
  try {
    const actor = buildActor(config, task, new Rng(0));
    actor.setPolicy(policy.snapshot);
    const what = randomTargets ? 'held-out random targets' : 'held-out starts';
    const rec = opts.record ? configRecorder(config, task, `naf-ros eval: ${opts.online ? 'online' : 'greedy'} policy of ${policy.path}, ${episodes} ${what} of seed ${seed}`) : null;
    const starts = randomTargets ? randomTargetTestStarts(task, episodes, seed) : testStarts(task, episodes, seed);
    const r = evaluate(rec ? rec.arm(arm) : arm, task, actor, starts);
    rec?.annotate(r);
    return {
      checkpoint: policy.path, episode: policy.episode, ...r, ...summariseEvaluation(r, SUCCESS_DISTANCE), seed, episodes, randomTargets, backend: policy.backend,
      ...(rec ? { rollout: rec.rollout() } : {}),
    };
  } finally {
    arm.dispose();
  }
}
