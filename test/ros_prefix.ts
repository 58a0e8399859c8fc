/**
 * For the tests that run `ros2 launch naf_ros ...` (ros_contract, gazebo_contract, ros_security):
 * an ament prefix holding this source tree as the package naf_ros — what `colcon build
 * --symlink-install` installs — so the launch files, params files and sources under test are the
 * working tree's. Put `<prefix>` first on AMENT_PREFIX_PATH.
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const REPO = new URL('..', import.meta.url).pathname.replace(/\/$/, '');

/** Creates `<tmp>/prefix` with share/naf_ros (a link to the repository) and the three executables; returns its path. */
export function nafRosPrefix(tmp: string): string {
  const p = join(tmp, 'prefix');
  mkdirSync(join(p, 'share/ament_index/resource_index/packages'), { recursive: true });
  writeFileSync(join(p, 'share/ament_index/resource_index/packages/naf_ros'), '');
  symlinkSync(REPO, join(p, 'share/naf_ros'));
  mkdirSync(join(p, 'lib/naf_ros'), { recursive: true });
  // The flags of CMakeLists.txt's wrappers: the real-time nodes collect garbage on their own thread.
  for (const [exe, mode, flags] of [['naf_trainer', 'node', '--single-threaded-gc '], ['naf_sim_bridge', 'sim-bridge', '--single-threaded-gc '], ['naf_learner', 'learner', '']]) {
    writeFileSync(join(p, 'lib/naf_ros', exe), `#!/bin/sh\nexec node ${flags}--import file://${REPO}/node_modules/tsx/dist/loader.mjs ${REPO}/src/ros/main.ts ${mode} "$@"\n`, { mode: 0o755 });
  }
  return p;
}
