/**
 * Relative paths in the params files of a ROS node resolve against the folder of the file that
 * sets them, as for `naf-ros train --config` (src/config/params_file.ts); a list of paths
 * (`mesh_search_path`) entry by entry. rcl merges files without keeping where a value came from,
 * so the files are read again here: a path parameter whose value is the one the last file setting
 * it gives is resolved against that file's folder.
 * A value from `-p name:=value` or a default is left as it is (urdf_path: package folder,
 * other paths: working directory).
 */
import { dirname, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import type { NafConfig } from '../../config/schema.js';
import { PATH_PARAMETERS } from '../../config/schema.js';
import { resolvePathValue } from '../../config/params_file.js';
import { readParamsFiles } from '../transport/params_files.js';

/** A copy of `config` with the file-relative paths resolved. */
export function resolveNodePaths(config: NafConfig, paramsFiles: string[], nodeName: string, namespace = '/'): NafConfig {
  const c = structuredClone(config) as unknown as Record<string, Record<string, unknown>>;
  for (const name of PATH_PARAMETERS) {
    const keys = name.split('.');
    const holder = keys.length === 1 ? c : c[keys[0]];
    const key = keys[keys.length - 1];
    const value = holder?.[key];
    if (value === undefined) continue;
    // rcl hands list parameters over as arrays, as js-yaml reads them: compared by content.
    const from = [...paramsFiles].reverse().find((f) => isDeepStrictEqual(readParamsFiles([f], nodeName, namespace).get(name), value));
    if (from) holder[key] = resolvePathValue(value, dirname(resolve(from)));
  }
  return c as unknown as NafConfig;
}
