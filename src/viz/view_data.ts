/**
 * What the replay page gets from a rollout: the URDF with its mesh filenames pointed at the
 * server's `/mesh/<i>/<name>` URLs (meshes found as `src/env/mesh_resolution.ts` finds them:
 * `mesh_search_path`, `package://` on the ROS package path, relative to the URDF), the mesh files to
 * serve, and per episode the joint angles, the target and the tip's path (forward kinematics of the
 * URDF, `KinematicChain`).
 */
import { statSync } from 'node:fs';
import { basename, dirname, extname } from 'node:path';
import { KinematicChain } from '../env/kinematics.js';
import { meshCandidates } from '../env/mesh_resolution.js';
import { parseUrdf } from '../env/urdf.js';
import type { Rollout } from './rollout.js';

/** Mesh formats the page's loaders read (urdf-loader: STL, Collada; three's OBJLoader). */
const BROWSER_MESH = new Set(['.stl', '.dae', '.obj']);

/** The JSON the page loads (`/data.json`). Units: rad, m, s. */
export interface ViewData {
  source: string;
  jointNames: string[];
  tipLink: string;
  /** Meshes the URDF references: served, and left out with the reason. */
  meshes: { served: number; missing: { filename: string; reason: string }[] };
  episodes: {
    /** [3] m, or null when the recording has none. */
    target: number[] | null;
    /** [steps] s from the episode's first sample. */
    t: number[];
    /** [steps][nJ] rad */
    q: number[][];
    /** [steps][3] m, root frame; empty when the tip link is unknown. */
    tip: number[][];
    return?: number;
    finalDistance?: number;
    aborted?: boolean;
  }[];
}

/** The page's data, the URDF it loads, and the mesh files by URL path. */
export interface ViewAssets {
  data: ViewData;
  urdf: string;
  meshes: Map<string, string>;
}

const isFile = (p: string) => {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
};

/**
 * The URDF with every `<mesh filename>` replaced: by `/mesh/<i>/<basename>` where the file is found
 * in a format the page reads, else by `/missing/<i>/<basename>` (the page draws nothing there).
 */
export function rewriteMeshes(urdf: string, search: { urdfDir: string; searchPath?: readonly string[] }): { urdf: string; meshes: Map<string, string>; missing: { filename: string; reason: string }[] } {
  const meshes = new Map<string, string>();
  const missing: { filename: string; reason: string }[] = [];
  const urls = new Map<string, string>();
  const urlFor = (filename: string): string => {
    const known = urls.get(filename);
    if (known) return known;
    const i = urls.size;
    const name = encodeURIComponent(basename(filename.replace(/[?#].*$/, '')));
    const ext = extname(filename.replace(/[?#].*$/, '')).toLowerCase();
    const path = BROWSER_MESH.has(ext) ? meshCandidates(filename, search).find(isFile) : undefined;
    let url: string;
    if (path) {
      url = `/mesh/${i}/${name}`;
      meshes.set(url, path);
    } else {
      url = `/missing/${i}/${name}`;
      missing.push({ filename, reason: BROWSER_MESH.has(ext) ? 'not found' : `unsupported format ${ext || '(no extension)'}` });
    }
    urls.set(filename, url);
    return url;
  };
  const out = urdf.replace(/(<mesh\b[^>]*?\bfilename\s*=\s*)(["'])([^"']*)\2/g, (_m, pre: string, quote: string, filename: string) => `${pre}${quote}${urlFor(filename)}${quote}`);
  return { urdf: out, meshes, missing };
}

/**
 * The page's assets for a rollout.
 * @throws UrdfError when the rollout's URDF does not parse; Error when its tip link or joints are
 *   not the URDF's.
 */
export function viewAssets(rollout: Rollout): ViewAssets {
  const model = parseUrdf(rollout.robotDescription);
  const chain = rollout.tipLink ? new KinematicChain(model, rollout.tipLink, rollout.jointNames) : null;
  const { urdf, meshes, missing } = rewriteMeshes(rollout.robotDescription, {
    urdfDir: rollout.urdfPath ? dirname(rollout.urdfPath) : process.cwd(), searchPath: rollout.meshSearchPath,
  });
  const r6 = (v: number) => Math.round(v * 1e6) / 1e6;
  const data: ViewData = {
    source: rollout.source, jointNames: rollout.jointNames, tipLink: rollout.tipLink,
    meshes: { served: meshes.size, missing },
    episodes: rollout.episodes.filter((e) => e.steps.length).map((e) => ({
      target: e.target.every(Number.isFinite) ? e.target.map(r6) : null,
      t: e.steps.map((s) => r6(s.t - e.steps[0].t)),
      q: e.steps.map((s) => s.q.map(r6)),
      tip: chain ? e.steps.map((s) => Array.from(chain.position(s.q), r6)) : [],
      ...(e.return !== undefined ? { return: e.return } : {}),
      ...(e.finalDistance !== undefined ? { finalDistance: e.finalDistance } : {}),
      ...(e.aborted !== undefined ? { aborted: e.aborted } : {}),
    })),
  };
  return { data, urdf, meshes };
}
