/**
 * What makes a bench results file traceable (results.json, realtime.json, jitter.json,
 * peers.json): the commit of this checkout and whether its tracked files had uncommitted changes,
 * where the NAF update ran (`agent.update_path` and the native GEMM, or why not), and, given the
 * resolved base parameters (params file + --set), a hash of them.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { nativeGemm } from '../src/nn/gemm.js';

export interface Provenance {
  commit: string;
  dirty: boolean;
  /** e.g. "auto; native GEMM OpenBLAS 0.3.21 ..." or "auto; native GEMM unavailable (<why>)" */
  updatePath: string;
  /** sha256 of the base parameters as JSON, 16 hex digits (when they were given) */
  configHash?: string;
}

const repo = fileURLToPath(new URL('..', import.meta.url));
const git = (...a: string[]) => spawnSync('git', ['-C', repo, ...a], { encoding: 'utf8' }).stdout?.trim() ?? '';

export function provenance(base?: Record<string, unknown>): Provenance {
  const native = nativeGemm();
  const configured = (base?.agent as { update_path?: string } | undefined)?.update_path ?? 'auto';
  return {
    commit: git('rev-parse', 'HEAD'),
    dirty: git('status', '--porcelain', '--untracked-files=no') !== '',
    updatePath: `${configured}; native GEMM ${'gemm' in native ? native.gemm.name : `unavailable (${native.error})`}`,
    ...(base ? { configHash: createHash('sha256').update(JSON.stringify(base)).digest('hex').slice(0, 16) } : {}),
  };
}
