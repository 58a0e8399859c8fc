/**
 * How a URDF becomes a MuJoCo model (MuJoCo 3.x, the official WebAssembly build, npm `mujoco-js`):
 * the one place that loads the module, prepares the URDF text for MuJoCo's importer and turns
 * MuJoCo's C++ exceptions into readable errors. Used by the simulated arm (`mujoco_arm.ts`) and
 * by the arm's rigid-body model (`rigid_body.ts`: g(q), M(q)), so both read the same URDF the
 * same way.
 *
 * Preparation (the file on disk is never changed):
 *  * without a `<mujoco>` element, `<mujoco><compiler fusestatic="false" discardvisual="true"/>`
 *    is added: by default MuJoCo fuses jointless links (a fingertip, `tool0`) into their parents
 *    and their frames would be lost;
 *  * `<mesh>` geometry is dropped (visual and collision): URDFs of real arms name their meshes
 *    with `package://` URIs, which only a ROS installation resolves. The embedded simulator then
 *    simulates the inertials, joints and primitive collision shapes; the dropped elements are
 *    reported (`droppedMeshes`) so the caller can say so.
 */
import { readFileSync } from 'node:fs';
import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import type { MainModule, MjModel } from 'mujoco-js';
import { parseUrdf, type UrdfModel } from './urdf.js';

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

type OrderedNode = Record<string, unknown> & { ':@'?: Record<string, string> };
const XML_OPTIONS = { preserveOrder: true, ignoreAttributes: false, attributeNamePrefix: '@_', commentPropName: '#comment', parseTagValue: false, parseAttributeValue: false, trimValues: false } as const;

function tagOf(n: OrderedNode): string {
  return Object.keys(n).find((k) => k !== ':@') ?? '';
}

function children(n: OrderedNode): OrderedNode[] {
  const c = n[tagOf(n)];
  return Array.isArray(c) ? (c as OrderedNode[]) : [];
}

/**
 * The URDF text MuJoCo is given (see the module docstring).
 * @param xml URDF text (already checked by `parseUrdf`)
 * @returns the prepared text and the dropped mesh elements as `link "<name>" <visual|collision> <file>`
 */
export function urdfForMujoco(xml: string): { xml: string; droppedMeshes: string[] } {
  const doc = new XMLParser(XML_OPTIONS).parse(xml) as OrderedNode[];
  const robot = doc.find((n) => tagOf(n) === 'robot');
  if (!robot) return { xml, droppedMeshes: [] };
  const dropped: string[] = [];
  const robotChildren = children(robot);
  for (const link of robotChildren.filter((n) => tagOf(n) === 'link')) {
    const kept = children(link).filter((el) => {
      const tag = tagOf(el);
      if (tag !== 'visual' && tag !== 'collision') return true;
      const mesh = children(el).filter((g) => tagOf(g) === 'geometry').flatMap(children).find((g) => tagOf(g) === 'mesh');
      if (!mesh) return true;
      dropped.push(`link "${link[':@']?.['@_name'] ?? '?'}" <${tag}> ${mesh[':@']?.['@_filename'] ?? ''}`.trim());
      return false;
    });
    link.link = kept;
  }
  if (!robotChildren.some((n) => tagOf(n) === 'mujoco')) {
    robotChildren.unshift({ mujoco: [{ compiler: [], ':@': { '@_fusestatic': 'false', '@_discardvisual': 'true' } }] });
  }
  return { xml: new XMLBuilder({ ...XML_OPTIONS, suppressEmptyNode: true }).build(doc) as string, droppedMeshes: dropped };
}

let fileCounter = 0;

export interface LoadedMujocoModel {
  mj: MainModule;
  model: MjModel;
  /** The parsed URDF. */
  urdf: UrdfModel;
  /** Mesh elements left out of the MuJoCo model (see `urdfForMujoco`). */
  droppedMeshes: string[];
}

/**
 * Reads a URDF file and compiles it into an MjModel (the caller owns `model` and must `delete()` it).
 * @throws UrdfError for an invalid URDF (checked by `parseUrdf` first, with a clear message);
 *   Error when MuJoCo rejects the model (with MuJoCo's own message); the fs error for a missing file.
 */
export async function loadMujocoModel(urdfPath: string): Promise<LoadedMujocoModel> {
  const text = readFileSync(urdfPath, 'utf8');
  const urdf = parseUrdf(text);
  const { xml, droppedMeshes } = urdfForMujoco(text);
  const mj = await loadMujoco();
  const file = `/naf_ros_arm_${process.pid}_${fileCounter++}.urdf`;
  mj.FS.writeFile(file, xml);
  mujocoLog.length = 0;
  let model: MjModel | null = null;
  try {
    model = mj.MjModel.loadFromXML(file);
  } catch (e) {
    throw new Error(`MuJoCo rejected ${urdfPath}: ${mujocoExceptionMessage(mj, e)} ${mujocoMessages()}`.trim());
  } finally {
    mj.FS.unlink(file);
  }
  if (!model) throw new Error(`MuJoCo rejected ${urdfPath}: ${mujocoMessages()}`);
  return { mj, model, urdf, droppedMeshes };
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
