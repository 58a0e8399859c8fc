/**
 * Where a URDF `<mesh filename>` is on this computer, and whether MuJoCo can read it: the rules of
 * ROS's resource retriever (`package://`, `file://`) applied to folders the user names and to the
 * package path of a sourced ROS, without needing ROS.
 *
 * A `filename` resolves as:
 *  * `package://<pkg>/<rel>`: the first existing file of, in order,
 *    `<dir>/<pkg>/<rel>` for each `dir` of `mesh_search_path`;
 *    `<prefix>/share/<pkg>/<rel>` for each prefix of `AMENT_PREFIX_PATH` (ROS 2, colcon installs);
 *    `<entry>/<pkg>/<rel>` for each entry of `ROS_PACKAGE_PATH`, and `<entry>/<rel>` when that
 *    entry's folder is itself named `<pkg>` (ROS 1 style source trees);
 *  * `file:///abs/path` and an absolute path: that file;
 *  * any other relative path: relative to the URDF's folder;
 *  * any other URI scheme (`model://`, `http://`): not resolved.
 *
 * MuJoCo 3.x (the `mujoco-js` WebAssembly build) reads binary STL and Wavefront OBJ (its mesh
 * `file` attribute; its STL reader rejects ASCII STL: "number of faces should be between 1 and
 * 200000 in STL file ... perhaps this is an ASCII file?"). Collada (`.dae`), the usual visual format
 * of ROS description packages, and every other format are unsupported.
 */
import { readFileSync, statSync } from 'node:fs';
import { basename, delimiter, extname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Mesh formats MuJoCo reads. */
export type MeshFormat = 'STL' | 'OBJ';

/** Where meshes are looked for. */
export interface MeshSearch {
  /** Folders holding packages (`<dir>/<pkg>/...`), searched first, in order (`mesh_search_path`). */
  searchPath?: readonly string[];
  /** Folder of the URDF (base of relative filenames). */
  urdfDir: string;
  /** Environment with `AMENT_PREFIX_PATH` / `ROS_PACKAGE_PATH` (default: `process.env`). */
  env?: Readonly<Record<string, string | undefined>>;
}

/** A mesh file MuJoCo can read. */
export interface LocatedMesh {
  /** Absolute path of the file. */
  path: string;
  format: MeshFormat;
  bytes: Uint8Array;
}

/** A mesh that is left out, and why (`not found`, `unsupported format .dae`, ...). */
export interface MeshProblem {
  reason: string;
}

const isFile = (p: string): boolean => {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
};

const listOf = (v: string | undefined): string[] => (v ?? '').split(delimiter).filter(Boolean);

/**
 * The paths `filename` may denote, in the order they are tried (see the module docstring);
 * empty for a URI scheme that is not resolved.
 */
export function meshCandidates(filename: string, search: MeshSearch): string[] {
  const env = search.env ?? process.env;
  const pkg = /^package:\/\/([^/]+)\/(.+)$/.exec(filename);
  if (pkg) {
    const [, name, rel] = pkg;
    const out = (search.searchPath ?? []).map((dir) => join(dir, name, rel));
    for (const prefix of listOf(env.AMENT_PREFIX_PATH)) out.push(join(prefix, 'share', name, rel));
    for (const entry of listOf(env.ROS_PACKAGE_PATH)) {
      out.push(join(entry, name, rel));
      if (basename(resolve(entry)) === name) out.push(join(entry, rel));
    }
    return out;
  }
  if (filename.startsWith('file://')) {
    try {
      return [fileURLToPath(filename)];
    } catch {
      return [];
    }
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(filename)) return [];
  return [isAbsolute(filename) ? filename : resolve(search.urdfDir, filename)];
}

/** True when `bytes` are a binary STL (80-byte header, triangle count, 50 bytes per triangle). */
function isBinaryStl(bytes: Uint8Array): boolean {
  if (bytes.length < 84) return false;
  const n = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(80, true);
  return n >= 1 && bytes.length >= 84 + 50 * n;
}

/**
 * The mesh file of a URDF `<mesh filename>`, read, when it exists and MuJoCo can load it.
 * @returns the file, or the reason it is left out: `not found`, `unsupported format .<ext>`,
 *   `ASCII STL (MuJoCo reads binary STL only)`, `truncated binary STL`.
 */
export function locateMesh(filename: string, search: MeshSearch): LocatedMesh | MeshProblem {
  const ext = extname(filename.replace(/[?#].*$/, '')).toLowerCase();
  const format: MeshFormat | null = ext === '.stl' ? 'STL' : ext === '.obj' ? 'OBJ' : null;
  if (!format) return { reason: `unsupported format ${ext || '(no extension)'}` };
  const path = meshCandidates(filename, search).find(isFile);
  if (!path) return { reason: 'not found' };
  const bytes = new Uint8Array(readFileSync(path));
  if (format === 'STL' && !isBinaryStl(bytes))
    return { reason: new TextDecoder().decode(bytes.subarray(0, 5)) === 'solid' ? 'ASCII STL (MuJoCo reads binary STL only)' : 'truncated binary STL' };
  return { path: resolve(path), format, bytes };
}
