/**
 * What collision geometry the embedded simulator has for an arm (`mujoco_model.ts` builds the
 * report while it prepares the URDF for MuJoCo), the contacts between the arm's own bodies at a
 * pose, and the one line a run prints about both (`naf-ros train`, `naf-ros run`, the node, the
 * sim bridge).
 *
 * A mesh collision model that starts in contact breaks learning: MuJoCo pushes the touching bodies
 * apart from the first step, so the "initial state" is not at rest. MuJoCo collides meshes as
 * their convex hulls, and never bodies that are parent and child (its `filterparent` default).
 */
import type { MainModule, MjData, MjModel } from 'mujoco-js';
import type { MeshFormat } from './mesh_resolution.js';

/** A mesh MuJoCo simulates as collision geometry. */
export interface KeptMesh {
  /** `filename` as written in the URDF. */
  file: string;
  format: MeshFormat;
  /** The file it was read from. */
  path: string;
}

/** A `<visual>` or `<collision>` mesh element left out of the MuJoCo model. */
export interface DroppedGeometry {
  element: 'visual' | 'collision';
  /** `filename` as written in the URDF. */
  file: string;
  /** `visual`, `not found`, `unsupported format .dae`, `ASCII STL ...`, `MuJoCo rejected it: ...` */
  reason: string;
}

/** One link's geometry in the MuJoCo model. */
export interface LinkGeometry {
  link: string;
  /** Kept primitive collision shapes: `box`, `cylinder`, `sphere`, `capsule`. */
  primitives: string[];
  meshes: KeptMesh[];
  dropped: DroppedGeometry[];
}

/** Collision geometry of an arm, per link (links without any geometry are left out). */
export interface CollisionReport {
  links: LinkGeometry[];
}

const SHOWN_PER_REASON = 3;

/**
 * The report in one line, e.g. `collision: 9 meshes (STL) + 8 primitives on 12 links; dropped 2
 * (not found: package://drake_models/.../link_6.obj, ...); visuals not simulated; no contact at
 * the home pose`.
 * @param contacts body pairs in contact at `contacts.pose` (`contactPairs`); omitted: not said
 */
export function collisionSummary(report: CollisionReport, contacts?: { pose: string; pairs: readonly string[] }): string {
  const meshes = report.links.flatMap((l) => l.meshes);
  const primitives = report.links.reduce((n, l) => n + l.primitives.length, 0);
  const links = report.links.filter((l) => l.meshes.length || l.primitives.length).length;
  const formats = [...new Set(meshes.map((m) => m.format))].sort().join(', ');
  const parts: string[] = [];
  if (meshes.length) parts.push(`${meshes.length} mesh${meshes.length === 1 ? '' : 'es'} (${formats})`);
  if (primitives) parts.push(`${primitives} primitive${primitives === 1 ? '' : 's'}`);
  let line = `collision: ${parts.length ? `${parts.join(' + ')} on ${links} link${links === 1 ? '' : 's'}` : 'none'}`;
  const dropped = report.links.flatMap((l) => l.dropped).filter((d) => d.element === 'collision');
  if (dropped.length) {
    const byReason = new Map<string, string[]>();
    for (const d of dropped) byReason.set(d.reason, [...(byReason.get(d.reason) ?? []), d.file]);
    const groups = [...byReason].map(([reason, files]) => {
      const shown = files.slice(0, SHOWN_PER_REASON).join(', ');
      const more = files.length > SHOWN_PER_REASON ? ` and ${files.length - SHOWN_PER_REASON} more` : '';
      const where = reason === 'not found' && files.some((f) => f.startsWith('package://')) ? '; package:// is searched in mesh_search_path, AMENT_PREFIX_PATH, ROS_PACKAGE_PATH' : '';
      return `${reason}: ${shown}${more}${where}`;
    });
    line += `; dropped ${dropped.length} (${groups.join('; ')})`;
  }
  line += '; visuals not simulated';
  if (contacts) {
    line += contacts.pairs.length
      ? `; IN CONTACT at the ${contacts.pose}: ${contacts.pairs.join(', ')} (MuJoCo pushes them apart from the first step: choose another pose or fix the collision geometry)`
      : `; no contact at the ${contacts.pose}`;
  }
  return line;
}

/** A MuJoCo model of the arm that can tell its geometry and contacts (`MujocoArm`, `RigidBodyModel`). */
export interface CollisionModel {
  readonly collision: CollisionReport;
  /** Body pairs in contact with the arm's joints at q (rad or m), every other joint at 0. */
  contactsAt(q: ArrayLike<number>): string[];
}

/**
 * The line a run prints about its arm (`collisionSummary`), with the contacts at pose q.
 * @param q the arm's joints, rad or m (e.g. `task.home_pose`)
 * @param pose what q is, for the line (default `home pose`)
 * @throws RangeError when q has the wrong length.
 */
export function describeCollision(model: CollisionModel, q: ArrayLike<number>, pose = 'home pose'): string {
  return collisionSummary(model.collision, { pose, pairs: model.contactsAt(q) });
}

/**
 * Pairs of bodies (URDF links) in contact in `d` after `mj_forward`, as `a–b` (names sorted),
 * each pair once, sorted.
 */
export function contactPairs(mj: MainModule, m: MjModel, d: MjData): string[] {
  const bodyOf = m.geom_bodyid as Int32Array;
  const name = (geom: number) => mj.mj_id2name(m, mj.mjtObj.mjOBJ_BODY.value, bodyOf[geom]) || `body ${bodyOf[geom]}`;
  const pairs = new Set<string>();
  for (let i = 0; i < d.ncon; i++) {
    const c = d.contact.get(i);
    if (!c) continue;
    pairs.add([name(c.geom1), name(c.geom2)].sort().join('–'));
    c.delete();
  }
  return [...pairs].sort();
}
