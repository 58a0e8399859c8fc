/**
 * How a URDF becomes a MuJoCo model (MuJoCo 3.x, the official WebAssembly build, npm `mujoco-js`):
 * the one place that loads the module, compiles the URDF text prepared by `mujoco_urdf.ts` (with
 * the collision mesh files it found, put into MuJoCo's virtual file system for the compile and
 * removed after it) and turns MuJoCo's C++ exceptions into readable errors. Used by the simulated
 * arm (`mujoco_arm.ts`) and by the arm's rigid-body model (`rigid_body.ts`: g(q), M(q)), so both
 * read the same URDF the same way.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { MainModule, MjModel } from 'mujoco-js';
import { parseUrdf, type UrdfModel } from './urdf.js';
import type { MeshSearch } from './mesh_resolution.js';
import type { CollisionReport } from './collision_report.js';
import { urdfForMujoco, type MujocoUrdf } from './mujoco_urdf.js';

let modulePromise: Promise<MainModule> | null = null;
/** MuJoCo's printed messages (errors, warnings), last few lines, for error reports. */
const mujocoLog: string[] = [];

function logLine(s: string): void {
  mujocoLog.push(s);
  if (mujocoLog.length > 20) mujocoLog.shift();
}

/** The last lines MuJoCo printed (for error messages). */
export function mujocoMessages(): string {
  return mujocoLog.join(' ').trim();
}

/** The MuJoCo WASM module, instantiated once per process (its output captured, not printed). */
export function loadMujoco(): Promise<MainModule> {
  modulePromise ??= import('mujoco-js')
    .then((m) => m.default({ print: logLine, printErr: logLine }))
    .catch((e: unknown) => {
      modulePromise = null; // let a later call retry
      throw e;
    });
  return modulePromise;
}

let probeModel: MjModel | null = null;

/**
 * MuJoCo's message for a C++ exception thrown by `loadFromXML` (mjXError / mjCError). Their first
 * member is the message (`char message[...]`), so it is read from WASM memory at the exception
 * pointer; the memory is reached through the buffer of a typed-array view of a tiny probe model,
 * because this build exports neither `HEAPU8` nor `UTF8ToString`.
 */
function mujocoExceptionMessage(mj: MainModule, e: unknown): string {
  const ptr = (e as { excPtr?: unknown })?.excPtr;
  const kind = e instanceof Error ? e.message || e.name : String(e);
  if (typeof ptr !== 'number') return kind;
  try {
    if (!probeModel) {
      mj.FS.writeFile('/naf_ros_probe.xml', '<mujoco/>');
      probeModel = mj.MjModel.loadFromXML('/naf_ros_probe.xml');
    }
    const buf = (probeModel.body_pos as Float64Array).buffer;
    const bytes = new Uint8Array(buf, ptr, Math.min(1000, buf.byteLength - ptr));
    const end = bytes.indexOf(0);
    return `${kind}: ${new TextDecoder().decode(bytes.subarray(0, end < 0 ? bytes.length : end)).replace(/\s+/g, ' ').trim()}`;
  } catch {
    return kind;
  }
}

let fileCounter = 0;

export interface LoadedMujocoModel {
  mj: MainModule;
  model: MjModel;
  /** The parsed URDF. */
  urdf: UrdfModel;
  /** The collision geometry MuJoCo simulates, and what was left out (`urdfForMujoco`). */
  collision: CollisionReport;
}

/** Options of `loadMujocoModel`. */
export interface MujocoModelOptions {
  /** Folders holding ROS packages, searched first for `package://` meshes (`mesh_search_path`). */
  meshSearchPath?: readonly string[];
  /** Environment with the ROS package path (default `process.env`). */
  env?: Readonly<Record<string, string | undefined>>;
}

/** Writes the mesh files into MuJoCo's virtual file system; returns the clean-up. */
function writeMeshes(mj: MainModule, dir: string, files: MujocoUrdf['meshFiles']): () => void {
  if (!files.length) return () => {};
  mj.FS.mkdir(dir);
  for (const f of files) mj.FS.writeFile(`${dir}/${f.name}`, f.bytes);
  return () => {
    for (const f of files) mj.FS.unlink(`${dir}/${f.name}`);
    mj.FS.rmdir(dir);
  };
}

/**
 * Reads a URDF file and compiles it into an MjModel (the caller owns `model` and must `delete()` it),
 * with the mesh collision geometry MuJoCo can load (`urdfForMujoco`). A mesh MuJoCo rejects
 * (e.g. a flat one: "mesh volume is too small") is left out with MuJoCo's message as the reason,
 * and the model compiled again without it.
 * @param urdfPath the URDF file; relative mesh filenames are relative to its folder
 * @throws UrdfError for an invalid URDF (checked by `parseUrdf` first, with a clear message);
 *   Error when MuJoCo rejects the model (with MuJoCo's own message); the fs error for a missing file.
 */
export async function loadMujocoModel(urdfPath: string, opts: MujocoModelOptions = {}): Promise<LoadedMujocoModel> {
  const text = readFileSync(urdfPath, 'utf8');
  const urdf = parseUrdf(text);
  const mj = await loadMujoco();
  const tag = `${process.pid}_${fileCounter++}`;
  const file = `/naf_ros_arm_${tag}.urdf`;
  const meshDir = `/naf_ros_meshes_${tag}`;
  const search: MeshSearch = { searchPath: opts.meshSearchPath ?? [], urdfDir: dirname(resolve(urdfPath)), env: opts.env };
  const rejected = new Map<string, string>();
  for (;;) {
    const prepared = urdfForMujoco(text, { search, meshDir, rejected });
    mj.FS.writeFile(file, prepared.xml);
    const cleanUp = writeMeshes(mj, meshDir, prepared.meshFiles);
    mujocoLog.length = 0;
    let model: MjModel | null = null;
    let message = '';
    try {
      model = mj.MjModel.loadFromXML(file);
    } catch (e) {
      message = `${mujocoExceptionMessage(mj, e)} ${mujocoMessages()}`.trim();
    } finally {
      mj.FS.unlink(file);
      cleanUp();
    }
    if (model) {
      excludeNearContacts(model);
      return { mj, model, urdf, collision: prepared.collision };
    }
    const culprit = prepared.meshFiles.find((f) => message.includes(f.name.replace(/\.[^.]*$/, '')));
    if (!culprit) throw new Error(`MuJoCo rejected ${urdfPath}: ${message}`.trim());
    // e.g. "mjCError: Error: qhull error Element name 'm2_flat', id 2 ..." (a flat mesh): MuJoCo's words only
    const why = (/Error:\s*(.*?)\s*(Element name|$)/.exec(message.replace(/^mjCError:\s*/, ''))?.[1] ?? message).slice(0, 120);
    rejected.set(culprit.path, `MuJoCo rejected it (${why})`);
  }
}

/**
 * Links one or two joints apart never collide with each other, including the links welded to the
 * world (the robot's base). Published collision models approximate links by primitives and convex
 * hulls that overlap around the joints by design: MuJoCo's own parent filter skips a body and its
 * parent, except when the parent is (welded to) the world, so Drake's iiwa14 base and first link
 * (cylinders overlapping by 2.5 mm) would push each other at every step; and across a short wrist
 * link the hulls of the links on either side overlap over most of its range (the iiwa's link 5 and
 * link 7 for |q6| < 1.4 rad) — Drake ships collision filter groups for exactly these pairs, which a
 * URDF cannot express. Done with the geoms' contact bit masks: each geom gets bit (d mod 30) of the
 * depth d of its body's weld group in the kinematic tree (world = 0) as `contype`, and every bit but
 * those of depths d ± 1 and d ± 2 as `conaffinity`; geoms collide when one's contype meets the
 * other's conaffinity, so links three to 27 joints apart (an arm folding onto itself) and siblings
 * (two fingers) still collide. (Gazebo's default is no self-collision within a model.)
 */
function excludeNearContacts(m: MjModel): void {
  const parent = m.body_parentid as Int32Array, weld = m.body_weldid as Int32Array;
  const depth = new Int32Array(m.nbody);
  for (let b = 1; b < m.nbody; b++) depth[b] = weld[b] === b ? depth[weld[parent[b]]] + 1 : depth[weld[b]];
  const contype = m.geom_contype as Int32Array, conaffinity = m.geom_conaffinity as Int32Array, body = m.geom_bodyid as Int32Array;
  const P = 30; // bits used: depths differing by 28 or 29 would alias to 2 or 1 (no arm is that deep)
  const bit = (d: number) => 1 << (((d % P) + P) % P);
  for (let g = 0; g < m.ngeom; g++) {
    if (contype[g] === 0 && conaffinity[g] === 0) continue; // a geom that collides with nothing stays so
    const d = depth[weld[body[g]]];
    contype[g] = bit(d);
    conaffinity[g] = ((1 << P) - 1) & ~(bit(d - 2) | bit(d - 1) | bit(d + 1) | bit(d + 2));
  }
}

/**
 * qpos and dof addresses [nJ] of named hinge/slide joints.
 * @throws Error naming a joint MuJoCo does not have, or one that is not a hinge or slide.
 */
export function jointAddresses(mj: MainModule, model: MjModel, jointNames: readonly string[], who: string): { qpos: Int32Array; dof: Int32Array } {
  const qpos = new Int32Array(jointNames.length);
  const dof = new Int32Array(jointNames.length);
  const { mjJNT_HINGE, mjJNT_SLIDE } = mj.mjtJoint;
  jointNames.forEach((name, i) => {
    const id = mj.mj_name2id(model, mj.mjtObj.mjOBJ_JOINT.value, name);
    if (id < 0) throw new Error(`${who}: MuJoCo model has no joint "${name}"`);
    const type = (model.jnt_type as Int32Array)[id];
    if (type !== mjJNT_HINGE.value && type !== mjJNT_SLIDE.value)
      throw new Error(`${who}: joint "${name}" is not a hinge or slide joint in MuJoCo (type ${type})`);
    qpos[i] = (model.jnt_qposadr as Int32Array)[id];
    dof[i] = (model.jnt_dofadr as Int32Array)[id];
  });
  return { qpos, dof };
}
