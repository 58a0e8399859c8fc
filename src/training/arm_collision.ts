/**
 * The line a run prints about its arm's collision geometry (`env/collision_report.ts`): the meshes
 * and primitives the embedded simulator has, what it left out, and the contacts at the home pose,
 * from a MuJoCo model of the config's URDF loaded exactly as the embedded arm loads it.
 */
import type { NafConfig } from '../config/schema.js';
import { describeCollision } from '../env/collision_report.js';
import { RigidBodyModel } from '../env/rigid_body.js';
import { projectPath } from './factory.js';

/**
 * `collision: ...` for the config's arm at `task.home_pose`.
 * @throws as `RigidBodyModel.create` (the config is checked before: `armIssues`).
 */
export async function armCollisionLine(config: NafConfig): Promise<string> {
  const model = await RigidBodyModel.create(projectPath(config.urdf_path), config.joints, { meshSearchPath: config.mesh_search_path });
  try {
    return describeCollision(model, config.task.home_pose);
  } finally {
    model.dispose();
  }
}
