/**
 * A recorder for an arm of a config: the rollout's URDF, joints and tip link from the config and
 * its task, the target from the task. Used by the held-out test of `naf-ros train`, by
 * `naf-ros eval --record` and `naf-ros run --record`.
 */
import { readFileSync } from 'node:fs';
import type { NafConfig } from '../config/schema.js';
import type { ReachTask } from '../env/reach_task.js';
import { projectPath } from '../training/factory.js';
import { RolloutRecorder } from './rollout.js';

/**
 * @param source what is recorded (kept in the file, shown by `naf-ros view`)
 * @param readingNames joint names of the readings when they are not the config's joints in order
 *   (the sim bridge's joint states)
 * @throws the fs error when the URDF cannot be read
 */
export function configRecorder(config: NafConfig, task: ReachTask, source: string, readingNames?: readonly string[]): RolloutRecorder {
  const urdfPath = projectPath(config.urdf_path);
  return new RolloutRecorder({
    source, robotDescription: readFileSync(urdfPath, 'utf8'), urdfPath, meshSearchPath: [...config.mesh_search_path],
    jointNames: [...task.chain.jointNames], tipLink: task.chain.tipLink,
  }, () => task.getTarget(), readingNames);
}
