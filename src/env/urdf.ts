/**
 * URDF reader: parses a robot description (http://wiki.ros.org/urdf/XML) into a typed kinematic
 * tree and derives the `ArmSpec` (joint names, effort/velocity/position limits) of its serial chain
 * of actuated joints. Only what the learner needs is read: links with their `<inertial>`, and
 * joints with type, parent, child, `<origin>`, `<axis>`, `<limit>` and `<dynamics>`. Elements the
 * learner does not use (`<visual>`, `<collision>`, `<ros2_control>`, `<gazebo>`, `<mujoco>`,
 * `<transmission>`) are ignored here.
 *
 * Units follow URDF: lengths m, angles rad, masses kg, inertias kg·m², efforts N·m (revolute) or N
 * (prismatic), velocities rad/s or m/s, damping N·m·s/rad.
 */
import { readFileSync } from 'node:fs';
import { XMLParser } from 'fast-xml-parser';
import { SaxesParser } from 'saxes';
import type { ArmSpec } from './types.js';

/** A malformed or unsupported robot description. The message names the element at fault. */
export class UrdfError extends Error {
  override name = 'UrdfError';
}

export type Vec3 = [number, number, number];

/** A URDF `<origin>`: translation xyz (m) and fixed-axis roll-pitch-yaw rpy (rad). */
export interface UrdfOrigin {
  xyz: Vec3;
  rpy: Vec3;
}

export interface UrdfInertial {
  /** Pose of the centre of mass (and inertia axes) in the link frame. */
  origin: UrdfOrigin;
  /** kg */
  mass: number;
  /** kg·m², about the centre of mass, in the inertial frame. */
  inertia: { ixx: number; ixy: number; ixz: number; iyy: number; iyz: number; izz: number };
}

export interface UrdfLink {
  name: string;
  inertial?: UrdfInertial;
}

export type UrdfJointType = 'revolute' | 'continuous' | 'prismatic' | 'fixed';

export interface UrdfLimit {
  /** rad or m (URDF default 0). */
  lower: number;
  upper: number;
  /** N·m or N */
  effort: number;
  /** rad/s or m/s */
  velocity: number;
}

export interface UrdfJoint {
  name: string;
  type: UrdfJointType;
  parent: string;
  child: string;
  /** Pose of the child (joint) frame in the parent link frame at q = 0. */
  origin: UrdfOrigin;
  /** Unit axis in the joint frame (URDF default (1, 0, 0)). */
  axis: Vec3;
  /** Required for revolute and prismatic joints, optional for continuous, absent for fixed. */
  limit?: UrdfLimit;
  /** `<dynamics damping friction>`, 0 when absent. */
  dynamics: { damping: number; friction: number };
}

export interface UrdfModel {
  name: string;
  links: Map<string, UrdfLink>;
  /** Joints in document order. */
  joints: UrdfJoint[];
  /** The link with no parent joint (`world` for an arm bolted to the world). */
  root: string;
  /** Joint whose child is the given link (undefined for the root). */
  parentJointOf(link: string): UrdfJoint | undefined;
}

const SUPPORTED: readonly string[] = ['revolute', 'continuous', 'prismatic', 'fixed'];
const UNSUPPORTED: readonly string[] = ['floating', 'planar'];

type XmlNode = Record<string, unknown>;

function attr(node: XmlNode | undefined, key: string): string | undefined {
  const v = node?.[`@_${key}`];
  return v === undefined ? undefined : String(v);
}

function child(node: XmlNode, key: string, where: string): XmlNode | undefined {
  const v = node[key];
  if (v === undefined) return undefined;
  if (Array.isArray(v)) {
    if (v.length > 1) throw new UrdfError(`${where}: more than one <${key}>`);
    return asNode(v[0]);
  }
  return asNode(v);
}

/** Empty elements (`<link name="a"/>`) come back as '' from fast-xml-parser: treat as {}. */
function asNode(v: unknown): XmlNode {
  return typeof v === 'object' && v !== null ? (v as XmlNode) : {};
}

function num(text: string | undefined, fallback: number | undefined, what: string): number {
  if (text === undefined || text.trim() === '') {
    if (fallback === undefined) throw new UrdfError(`${what} is missing`);
    return fallback;
  }
  const v = Number(text);
  if (!Number.isFinite(v)) throw new UrdfError(`${what} must be a finite number, got "${text}"`);
  return v;
}

function vec3(text: string | undefined, fallback: Vec3, what: string): Vec3 {
  if (text === undefined) return [...fallback];
  const parts = text.trim().split(/\s+/);
  if (parts.length !== 3) throw new UrdfError(`${what} must have 3 numbers, got "${text}"`);
  return parts.map((p) => num(p, undefined, what)) as Vec3;
}

function origin(node: XmlNode | undefined, where: string): UrdfOrigin {
  return {
    xyz: vec3(attr(node, 'xyz'), [0, 0, 0], `${where} <origin xyz>`),
    rpy: vec3(attr(node, 'rpy'), [0, 0, 0], `${where} <origin rpy>`),
  };
}

function parseLink(node: XmlNode): UrdfLink {
  const name = attr(node, 'name');
  if (!name) throw new UrdfError('<link> without a name');
  const where = `link "${name}"`;
  const inn = child(node, 'inertial', where);
  if (!inn) return { name };
  const i = child(inn, 'inertia', where) ?? {};
  const g = (k: string) => num(attr(i, k), 0, `${where} <inertia ${k}>`);
  const mass = num(attr(child(inn, 'mass', where), 'value'), undefined, `${where} <mass value>`);
  if (mass < 0) throw new UrdfError(`${where} <mass value> must be >= 0, got ${mass}`);
  return {
    name,
    inertial: {
      origin: origin(child(inn, 'origin', where), where),
      mass,
      inertia: { ixx: g('ixx'), ixy: g('ixy'), ixz: g('ixz'), iyy: g('iyy'), iyz: g('iyz'), izz: g('izz') },
    },
  };
}

function parseJoint(node: XmlNode): UrdfJoint {
  const name = attr(node, 'name');
  if (!name) throw new UrdfError('<joint> without a name');
  const where = `joint "${name}"`;
  const type = attr(node, 'type') ?? '';
  if (UNSUPPORTED.includes(type))
    throw new UrdfError(`${where}: unsupported joint type "${type}" (supported: ${SUPPORTED.join(', ')})`);
  if (!SUPPORTED.includes(type))
    throw new UrdfError(`${where}: unknown joint type "${type}" (supported: ${SUPPORTED.join(', ')})`);
  const parent = attr(child(node, 'parent', where), 'link');
  const childLink = attr(child(node, 'child', where), 'link');
  if (!parent) throw new UrdfError(`${where}: missing <parent link>`);
  if (!childLink) throw new UrdfError(`${where}: missing <child link>`);
  const axis = vec3(attr(child(node, 'axis', where), 'xyz'), [1, 0, 0], `${where} <axis xyz>`);
  const n = Math.hypot(axis[0], axis[1], axis[2]);
  if (type !== 'fixed' && !(n > 1e-12)) throw new UrdfError(`${where}: <axis xyz> must be non-zero`);
  const unit: Vec3 = n > 1e-12 ? [axis[0] / n, axis[1] / n, axis[2] / n] : [1, 0, 0];
  const lim = child(node, 'limit', where);
  let limit: UrdfLimit | undefined;
  if (lim) {
    limit = {
      lower: num(attr(lim, 'lower'), 0, `${where} <limit lower>`),
      upper: num(attr(lim, 'upper'), 0, `${where} <limit upper>`),
      effort: num(attr(lim, 'effort'), undefined, `${where} <limit effort>`),
      velocity: num(attr(lim, 'velocity'), undefined, `${where} <limit velocity>`),
    };
    if (!(limit.effort > 0)) throw new UrdfError(`${where} <limit effort> must be > 0, got ${limit.effort}`);
    if (!(limit.velocity > 0)) throw new UrdfError(`${where} <limit velocity> must be > 0, got ${limit.velocity}`);
    if (type !== 'continuous' && limit.lower > limit.upper)
      throw new UrdfError(`${where}: <limit lower> ${limit.lower} > upper ${limit.upper}`);
  } else if (type === 'revolute' || type === 'prismatic') {
    throw new UrdfError(`${where}: a ${type} joint needs <limit lower upper effort velocity>`);
  }
  const dyn = child(node, 'dynamics', where);
  return {
    name,
    type: type as UrdfJointType,
    parent,
    child: childLink,
    origin: origin(child(node, 'origin', where), where),
    axis: unit,
    limit,
    dynamics: {
      damping: num(attr(dyn, 'damping'), 0, `${where} <dynamics damping>`),
      friction: num(attr(dyn, 'friction'), 0, `${where} <dynamics friction>`),
    },
  };
}

/**
 * Checks that `xml` is well-formed XML 1.0 as the ROS tools read it (expat in xacro and
 * `ros2 launch`, tinyxml2 in urdfdom): a strict parser (saxes), because fast-xml-parser's validator
 * lets through what those refuse, e.g. `--` inside a comment.
 * @throws UrdfError naming the first fault with its line and column.
 */
export function checkWellFormed(xml: string): void {
  const parser = new SaxesParser({ position: true });
  let fault: string | undefined;
  parser.on('error', (e) => {
    fault ??= e.message.replace(/^(\d+):(\d+): /, 'line $1, column $2: ');
  });
  parser.write(xml).close();
  if (fault !== undefined) throw new UrdfError(`malformed XML at ${fault}`);
}

/**
 * Parses URDF XML into a `UrdfModel` and checks that it is a tree (unique names, known links,
 * one parent per link, a single root, no cycles).
 * @throws UrdfError on malformed XML (with line/column), a missing `<robot>`, a revolute/prismatic
 *   joint without `<limit>` or without `effort`/`velocity`, an unsupported joint type
 *   (floating, planar), unknown links, or a structure that is not a tree.
 */
export function parseUrdf(xml: string): UrdfModel {
  checkWellFormed(xml);
  const parser = new XMLParser({
    ignoreAttributes: false,
    attributeNamePrefix: '@_',
    parseAttributeValue: false,
    isArray: (_name, jpath) => jpath === 'robot.link' || jpath === 'robot.joint',
  });
  const doc = parser.parse(xml) as XmlNode;
  if (doc.robot === undefined) throw new UrdfError('no <robot> root element');
  const robot = asNode(doc.robot);
  const name = attr(robot, 'name') ?? '';
  const links = new Map<string, UrdfLink>();
  for (const n of (robot.link as unknown[] | undefined) ?? []) {
    const l = parseLink(asNode(n));
    if (links.has(l.name)) throw new UrdfError(`duplicate link "${l.name}"`);
    links.set(l.name, l);
  }
  if (links.size === 0) throw new UrdfError('<robot> has no <link>');
  const joints = ((robot.joint as unknown[] | undefined) ?? []).map((n) => parseJoint(asNode(n)));
  const byChild = new Map<string, UrdfJoint>();
  const names = new Set<string>();
  for (const j of joints) {
    if (names.has(j.name)) throw new UrdfError(`duplicate joint "${j.name}"`);
    names.add(j.name);
    for (const l of [j.parent, j.child])
      if (!links.has(l)) throw new UrdfError(`joint "${j.name}" references unknown link "${l}"`);
    if (byChild.has(j.child))
      throw new UrdfError(`link "${j.child}" has two parent joints ("${byChild.get(j.child)!.name}", "${j.name}")`);
    byChild.set(j.child, j);
  }
  const roots = [...links.keys()].filter((l) => !byChild.has(l));
  if (roots.length !== 1)
    throw new UrdfError(`the links must form one tree with a single root, found roots: [${roots.join(', ')}]`);
  for (const l of links.keys()) {
    // Walk to the root; a cycle would never reach it.
    let cur = l;
    for (let steps = 0; byChild.has(cur); steps++) {
      if (steps > links.size) throw new UrdfError(`kinematic loop through link "${l}"`);
      cur = byChild.get(cur)!.parent;
    }
  }
  return { name, links, joints, root: roots[0], parentJointOf: (l) => byChild.get(l) };
}

/** Reads and parses a URDF file. @throws UrdfError (see `parseUrdf`), or the fs error. */
export function loadUrdf(path: string): UrdfModel {
  return parseUrdf(readFileSync(path, 'utf8'));
}

/** Joints from the root to `link` (base to tip, fixed joints included). */
export function jointPath(model: UrdfModel, link: string): UrdfJoint[] {
  if (!model.links.has(link)) throw new UrdfError(`unknown link "${link}"`);
  const path: UrdfJoint[] = [];
  for (let j = model.parentJointOf(link); j; j = model.parentJointOf(j.parent)) path.unshift(j);
  return path;
}

/**
 * The `ArmSpec` of a serial chain of actuated (revolute, continuous, prismatic) joints.
 * @param jointNames the joints in base-to-tip order; default: every actuated joint of the model,
 *   which must then lie on one path from the root.
 * @returns limits per joint; continuous joints get position limits of ±Infinity.
 * @throws UrdfError when a named joint does not exist or is fixed, when the joints do not form one
 *   serial chain in the given order, or when a continuous joint has no `<limit effort velocity>`.
 */
export function armSpecFromUrdf(model: UrdfModel, jointNames?: readonly string[]): ArmSpec {
  const actuated = model.joints.filter((j) => j.type !== 'fixed');
  let chain: UrdfJoint[];
  if (jointNames) {
    if (jointNames.length === 0) throw new UrdfError('jointNames is empty');
    if (new Set(jointNames).size !== jointNames.length) throw new UrdfError(`jointNames has duplicates: ${jointNames.join(', ')}`);
    chain = jointNames.map((n) => {
      const j = model.joints.find((k) => k.name === n);
      if (!j) throw new UrdfError(`joint "${n}" does not exist (actuated joints: ${actuated.map((k) => k.name).join(', ')})`);
      if (j.type === 'fixed') throw new UrdfError(`joint "${n}" is fixed, not actuated`);
      return j;
    });
  } else {
    if (actuated.length === 0) throw new UrdfError('the model has no actuated joint');
    // Order base to tip by depth; the chain check below rejects branches.
    chain = [...actuated].sort((a, b) => jointPath(model, a.child).length - jointPath(model, b.child).length);
  }
  // Every joint on the path root -> tip link must be either in the chain (in order) or fixed.
  const path = jointPath(model, chain[chain.length - 1].child);
  let k = 0;
  for (const j of path) {
    if (j === chain[k]) k++;
    else if (chain.includes(j))
      throw new UrdfError(
        `broken chain: joint "${chain[k].name}" is not on the path from "${model.root}" to joint "${j.name}" ` +
          `(the actuated joints must form one serial chain, listed base to tip)`,
      );
    else if (j.type !== 'fixed')
      throw new UrdfError(`broken chain: actuated joint "${j.name}" is on the chain's path but not in it (chain: ${chain.map((c) => c.name).join(', ')})`);
  }
  if (k !== chain.length)
    throw new UrdfError(
      `broken chain: joint "${chain[k].name}" is not on the path from "${model.root}" to the chain's tip ` +
        `(the actuated joints must form one serial chain, listed base to tip)`,
    );
  const f = (g: (j: UrdfJoint) => number) => Float64Array.from(chain, g);
  for (const j of chain)
    if (!j.limit) throw new UrdfError(`joint "${j.name}" (${j.type}) needs <limit effort velocity> for the torque bound`);
  return {
    jointNames: chain.map((j) => j.name),
    effortLimits: f((j) => j.limit!.effort),
    velocityLimits: f((j) => j.limit!.velocity),
    lowerLimits: f((j) => (j.type === 'continuous' ? -Infinity : j.limit!.lower)),
    upperLimits: f((j) => (j.type === 'continuous' ? Infinity : j.limit!.upper)),
  };
}
