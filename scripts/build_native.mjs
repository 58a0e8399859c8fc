/**
 * Builds the optional native GEMM addon (native/blas: OpenBLAS through Node-API) with node-gyp.
 *
 *   npm run build:native            build it; exit 1 with the reason when it cannot be built
 *   node scripts/build_native.mjs --optional
 *                                   what `npm ci` runs (postinstall): try, print one line, never fail
 *
 * Needs a C compiler, make, Node's headers on this machine (no download: the build is skipped
 * when they are absent) and OpenBLAS (Debian/Ubuntu: `apt install libopenblas-dev`). Without the
 * addon the NAF update runs on tfjs (wasm) with the same results; `naf-ros info` says which path
 * is in use.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const optional = process.argv.includes('--optional');
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = path.join(root, 'native', 'blas');
const addon = path.join(dir, 'build', 'Release', 'naf_blas.node');

function done(ok, line) {
  console.log(`naf-ros: native GEMM ${line}`);
  process.exit(ok || optional ? 0 : 1);
}

if (process.env.NAF_ROS_SKIP_NATIVE === '1') done(true, 'not built (NAF_ROS_SKIP_NATIVE=1)');

// Node's headers: from npm's nodedir setting, else beside this node binary (distribution packages
// and the official tarballs both have include/node). node-gyp would otherwise download them.
const nodedir = [process.env.npm_config_nodedir, process.config.variables.node_prefix, path.resolve(path.dirname(process.execPath), '..')]
  .find((d) => d && existsSync(path.join(d, 'include', 'node', 'node_api.h')));
if (!nodedir) done(false, "not built: Node's headers (include/node/node_api.h) are not on this machine; the NAF update uses tfjs");

const openblas = spawnSync('pkg-config', ['--exists', 'openblas'], { stdio: 'ignore' }).status === 0
  || ['/usr/include/cblas.h', '/usr/include/openblas/cblas.h', '/usr/local/include/cblas.h'].some((f) => existsSync(f));
if (!openblas) done(false, 'not built: OpenBLAS not found (apt install libopenblas-dev, then npm run build:native); the NAF update uses tfjs');

// node-gyp ships with npm; npm tells scripts where (npm_config_node_gyp), else look beside npm.
const gyp = [process.env.npm_config_node_gyp, path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js')]
  .find((f) => f && existsSync(f));
if (!gyp) done(false, 'not built: node-gyp not found (it ships with npm)');

const build = spawnSync(process.execPath, [gyp, 'rebuild', `--nodedir=${nodedir}`], { cwd: dir, encoding: 'utf8', timeout: 300_000, env: { ...process.env, npm_config_nodedir: nodedir } });
if (build.status !== 0) {
  const why = `${build.stderr ?? ''}${build.stdout ?? ''}`.split('\n').find((l) => /error/i.test(l) && !/gyp (ERR|info)/.test(l)) ?? build.error?.message ?? `node-gyp exited with ${build.status}`;
  done(false, `not built: ${why.trim()}`);
}
try {
  // Loaded in a child process: a library that loads at build time but not at run time shows here.
  const info = execFileSync(process.execPath, ['-e', `console.log(require(${JSON.stringify(addon)}).info().blas)`], { encoding: 'utf8' }).trim();
  done(true, `built: ${info} (${path.relative(root, addon)})`);
} catch (e) {
  done(false, `built but does not load: ${String(e.message).split('\n')[0]}`);
}
