/**
 * The browser modules of the replay page: three.js and urdf-loader served from node_modules as the
 * ES modules they ship (no bundler, no CDN). The page imports bare names (`three`,
 * `three/examples/jsm/...`, `urdf-loader`) through an import map; this module finds every file those
 * imports reach (following relative and mapped imports from the entry points), so the server can
 * serve exactly that set and nothing else of node_modules.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

/** A package served under `/vendor/<name>/`. */
interface VendorPackage { name: string; root: string }

/** The package folder of `three` and `urdf-loader` (found as node resolves them). */
function packages(): VendorPackage[] {
  // three's `require` export is build/three.cjs; urdf-loader's main is src/URDFLoader.js.
  return [
    { name: 'three', root: dirname(dirname(require.resolve('three'))) },
    { name: 'urdf-loader', root: dirname(dirname(require.resolve('urdf-loader'))) },
  ];
}

/** The import map of the page: bare specifiers -> URLs under /vendor/. */
export const IMPORT_MAP = {
  imports: {
    three: '/vendor/three/build/three.module.js',
    'three/examples/jsm/': '/vendor/three/examples/jsm/',
    'three/addons/': '/vendor/three/examples/jsm/',
    'urdf-loader': '/vendor/urdf-loader/src/URDFLoader.js',
  },
};

/** The modules the page imports by name. */
const ENTRY_POINTS = [
  'three',
  'three/examples/jsm/controls/OrbitControls.js',
  'three/examples/jsm/loaders/STLLoader.js',
  'three/examples/jsm/loaders/ColladaLoader.js',
  'three/examples/jsm/loaders/OBJLoader.js',
  'urdf-loader',
];

/** Static import/export specifiers of an ES module's text. */
export function importSpecifiers(code: string): string[] {
  const out = new Set<string>();
  const re = /\b(?:import|export)\s*(?:[\w*{}\s,$]*?\s*from\s*)?['"]([^'"\n]+)['"]|\bimport\(\s*['"]([^'"\n]+)['"]\s*\)/g;
  for (let m = re.exec(code); m; m = re.exec(code)) out.add(m[1] ?? m[2]);
  return [...out];
}

/**
 * Every module file the page can load: URL path (`/vendor/three/build/three.module.js`) -> absolute
 * file path.
 * @throws Error when an import leaves its package or names a package that is not served.
 */
export function pageModules(): Map<string, string> {
  const pkgs = packages();
  const files = new Map<string, string>();
  const urlToFile = (url: string): string => {
    const pkg = pkgs.find((p) => url.startsWith(`/vendor/${p.name}/`));
    if (!pkg) throw new Error(`replay page: ${url} is not in a served package`);
    const file = resolve(pkg.root, url.slice(`/vendor/${pkg.name}/`.length));
    if (!file.startsWith(pkg.root + sep)) throw new Error(`replay page: ${url} leaves its package`);
    return file;
  };
  const mapped = (spec: string): string => {
    const map = IMPORT_MAP.imports as Record<string, string>;
    if (map[spec]) return map[spec];
    const prefix = Object.keys(map).filter((k) => k.endsWith('/') && spec.startsWith(k)).sort((a, b) => b.length - a.length)[0];
    if (!prefix) throw new Error(`replay page: import "${spec}" is not in the import map`);
    return map[prefix] + spec.slice(prefix.length);
  };
  const visit = (url: string) => {
    if (files.has(url)) return;
    const file = urlToFile(url);
    files.set(url, file);
    for (const spec of importSpecifiers(readFileSync(file, 'utf8'))) {
      if (spec.startsWith('./') || spec.startsWith('../')) {
        const pkg = pkgs.find((p) => url.startsWith(`/vendor/${p.name}/`))!;
        const target = resolve(dirname(file), spec);
        visit(`/vendor/${pkg.name}/${relative(pkg.root, target).split(sep).join('/')}`);
      } else visit(mapped(spec));
    }
  };
  for (const e of ENTRY_POINTS) visit(mapped(e));
  return files;
}

/** The page's own files (index.html, view.js), next to this module. */
export const PAGE_DIR = join(dirname(fileURLToPath(import.meta.url)), 'page');
