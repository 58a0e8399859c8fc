/**
 * The URDF text MuJoCo's URDF importer is given (`mujoco_model.ts` compiles it). Preparation (the
 * file on disk is never changed):
 *  * without a `<mujoco>` element, `<mujoco><compiler fusestatic="false" discardvisual="true"/>`
 *    is added: by default MuJoCo fuses jointless links (a fingertip, `tool0`) into their parents
 *    and their frames would be lost;
 *  * `<collision>` meshes MuJoCo can read (binary STL, OBJ) are kept when their files are found
 *    (`mesh_resolution.ts`: `package://` through `mesh_search_path` and a sourced ROS's package
 *    path, `file://`, absolute, relative to the URDF): each file is put into MuJoCo's virtual file
 *    system under a flat unique name in a folder of its own, the filename rewritten to it (`scale`
 *    kept), and removed again once the model is compiled. Other `<collision>` meshes (not found,
 *    Collada, ASCII STL) are dropped; `<visual>` meshes always are (the simulator draws nothing;
 *    `discardvisual`). Every decision is in the returned `CollisionReport` (`collision_report.ts`),
 *    so a run can say in one line which collision geometry its arm has.
 *
 * A link without `<inertial>` gets its mass from its collision geometry (MuJoCo's
 * `inertiafromgeom` auto, density 1000 kg/m³), meshes included; the checks of a config require an
 * `<inertial>` on every link a controlled joint moves (`config/arm_checks.ts`).
 */
import { basename } from 'node:path';
import { XMLBuilder, XMLParser } from 'fast-xml-parser';
import { locateMesh, type MeshSearch } from './mesh_resolution.js';
import type { CollisionReport, LinkGeometry } from './collision_report.js';

type OrderedNode = Record<string, unknown> & { ':@'?: Record<string, string> };
const XML_OPTIONS = { preserveOrder: true, ignoreAttributes: false, attributeNamePrefix: '@_', commentPropName: '#comment', parseTagValue: false, parseAttributeValue: false, trimValues: false } as const;

function tagOf(n: OrderedNode): string {
  return Object.keys(n).find((k) => k !== ':@') ?? '';
}

function children(n: OrderedNode): OrderedNode[] {
  const c = n[tagOf(n)];
  return Array.isArray(c) ? (c as OrderedNode[]) : [];
}

/** What `urdfForMujoco` needs besides the text. */
export interface MujocoUrdfOptions {
  /** Where mesh files are looked for (`mesh_resolution.ts`); without it every mesh is dropped as not found. */
  search?: MeshSearch;
  /** Folder of MuJoCo's virtual file system the kept mesh files will be written to (`<compiler meshdir>`). */
  meshDir?: string;
  /** Mesh files (absolute paths) to leave out, with the reason (MuJoCo rejected them before). */
  rejected?: ReadonlyMap<string, string>;
}

/** The prepared URDF: text for MuJoCo, the mesh files it names, the collision report. */
export interface MujocoUrdf {
  xml: string;
  /** Mesh files to put into `meshDir` under `name` before compiling. */
  meshFiles: { name: string; path: string; bytes: Uint8Array }[];
  collision: CollisionReport;
}

const PRIMITIVES = ['box', 'cylinder', 'sphere', 'capsule'];

/**
 * The URDF text MuJoCo is given (see the module docstring), and the report of its geometry.
 * @param xml URDF text (already checked by `parseUrdf`)
 */
export function urdfForMujoco(xml: string, opts: MujocoUrdfOptions = {}): MujocoUrdf {
  const doc = new XMLParser(XML_OPTIONS).parse(xml) as OrderedNode[];
  const robot = doc.find((n) => tagOf(n) === 'robot');
  if (!robot) return { xml, meshFiles: [], collision: { links: [] } };
  const search = opts.search ?? { urdfDir: '.', searchPath: [], env: {} };
  const meshFiles: MujocoUrdf['meshFiles'] = [];
  const nameOf = new Map<string, string>(); // path -> flat name
  const links: LinkGeometry[] = [];
  const robotChildren = children(robot);
  for (const link of robotChildren.filter((n) => tagOf(n) === 'link')) {
    const geo: LinkGeometry = { link: link[':@']?.['@_name'] ?? '?', primitives: [], meshes: [], dropped: [] };
    link.link = children(link).filter((el) => {
      const tag = tagOf(el);
      if (tag !== 'visual' && tag !== 'collision') return true;
      const shape = children(el).filter((g) => tagOf(g) === 'geometry').flatMap(children).find((g) => tagOf(g) !== '#text' && tagOf(g) !== '#comment');
      const kind = shape ? tagOf(shape) : '';
      if (kind !== 'mesh') {
        if (tag === 'collision' && PRIMITIVES.includes(kind)) geo.primitives.push(kind);
        return true;
      }
      const file = shape![':@']?.['@_filename'] ?? '';
      if (tag === 'visual') {
        geo.dropped.push({ element: 'visual', file, reason: 'visual' });
        return false;
      }
      const found = locateMesh(file, search);
      const reason = 'reason' in found ? found.reason : opts.rejected?.get(found.path);
      if (reason !== undefined || !('path' in found)) {
        geo.dropped.push({ element: 'collision', file, reason: reason ?? 'not found' });
        return false;
      }
      let name = nameOf.get(found.path);
      if (!name) {
        name = `m${nameOf.size}_${basename(found.path).replace(/\.[^.]*$/, '').replace(/[^A-Za-z0-9_]/g, '_')}.${found.format.toLowerCase()}`;
        nameOf.set(found.path, name);
        meshFiles.push({ name, path: found.path, bytes: found.bytes });
      }
      shape![':@'] = { ...shape![':@'], '@_filename': name };
      geo.meshes.push({ file, format: found.format, path: found.path });
      return true;
    });
    if (geo.primitives.length || geo.meshes.length || geo.dropped.length) links.push(geo);
  }
  let mujoco = robotChildren.find((n) => tagOf(n) === 'mujoco');
  if (!mujoco) {
    mujoco = { mujoco: [{ compiler: [], ':@': { '@_fusestatic': 'false', '@_discardvisual': 'true' } }] };
    robotChildren.unshift(mujoco);
  }
  if (meshFiles.length) {
    // MuJoCo's URDF importer strips a mesh filename to its base name (compiler strippath, on for
    // URDF) and reads it from meshdir: the flat names in the virtual folder.
    let compiler = children(mujoco).find((n) => tagOf(n) === 'compiler');
    if (!compiler) children(mujoco).push((compiler = { compiler: [] }));
    compiler[':@'] = { ...compiler[':@'], '@_meshdir': opts.meshDir ?? '/' };
  }
  return { xml: new XMLBuilder({ ...XML_OPTIONS, suppressEmptyNode: true }).build(doc) as string, meshFiles, collision: { links } };
}
