/**
 * The local HTTP server of `naf-ros view`: listens on 127.0.0.1 only and serves a fixed set of
 * resources, by exact URL path, and nothing else (no directory is served, so no path can reach a
 * file outside the set): the page (`/`, `/view.js`), its data (`/data.json`), the URDF
 * (`/robot.urdf`), the mesh files the URDF references (`/mesh/<i>/<name>`), and the three.js and
 * urdf-loader modules the page imports (`/vendor/...`, `page_modules.ts`). Requests whose Host is
 * not this loopback address (DNS rebinding) and methods other than GET/HEAD are refused.
 */
import { createReadStream, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join } from 'node:path';
import { IMPORT_MAP, PAGE_DIR, pageModules } from './page_modules.js';
import type { ViewAssets } from './view_data.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.json': 'application/json',
  '.urdf': 'application/xml', '.stl': 'model/stl', '.obj': 'model/obj', '.dae': 'model/vnd.collada+xml',
};

/** A resource: text in memory, or a file read when requested. */
type Resource = { body: string; type: string } | { file: string; type: string };

export interface ViewServer {
  /** `http://127.0.0.1:<port>/` */
  url: string;
  port: number;
  /** The URL paths served. */
  paths: string[];
  close(): Promise<void>;
}

/** index.html with the import map filled in. */
function indexHtml(): string {
  return readFileSync(join(PAGE_DIR, 'index.html'), 'utf8').replace('__IMPORT_MAP__', JSON.stringify(IMPORT_MAP));
}

/**
 * Starts the server for `assets`.
 * @param opts.port TCP port (default 0: any free one)
 * @throws the listen error (port in use: EADDRINUSE) or Error when the page's modules are missing.
 */
export async function startViewServer(assets: ViewAssets, opts: { port?: number } = {}): Promise<ViewServer> {
  const resources = new Map<string, Resource>();
  const html = { body: indexHtml(), type: TYPES['.html'] };
  resources.set('/', html);
  resources.set('/index.html', html);
  resources.set('/view.js', { file: join(PAGE_DIR, 'view.js'), type: TYPES['.js'] });
  resources.set('/data.json', { body: JSON.stringify(assets.data), type: TYPES['.json'] });
  resources.set('/robot.urdf', { body: assets.urdf, type: TYPES['.urdf'] });
  for (const [url, file] of assets.meshes) resources.set(url, { file, type: TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream' });
  for (const [url, file] of pageModules()) resources.set(url, { file, type: TYPES['.js'] });

  let port = 0;
  const server: Server = createServer((req, res) => {
    const deny = (code: number, text: string) => {
      res.writeHead(code, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`${text}\n`);
    };
    if (req.method !== 'GET' && req.method !== 'HEAD') return deny(405, 'method not allowed');
    const host = req.headers.host ?? '';
    if (host !== `127.0.0.1:${port}` && host !== `localhost:${port}`) return deny(403, 'forbidden host');
    let path: string;
    try {
      path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    } catch {
      return deny(400, 'bad request');
    }
    // Exact match only: the URL path is a key of the table, never joined to a folder.
    const r = resources.get(path);
    if (!r) return deny(404, 'not found');
    res.setHeader('content-type', r.type);
    res.setHeader('cache-control', 'no-store');
    res.setHeader('x-content-type-options', 'nosniff');
    if ('body' in r) {
      res.writeHead(200);
      res.end(req.method === 'HEAD' ? undefined : r.body);
      return;
    }
    if (req.method === 'HEAD') {
      res.writeHead(200);
      res.end();
      return;
    }
    const stream = createReadStream(r.file);
    stream.on('error', () => { if (!res.headersSent) deny(404, 'not found'); else res.destroy(); });
    stream.once('open', () => res.writeHead(200));
    stream.pipe(res);
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(opts.port ?? 0, '127.0.0.1', () => ok());
  });
  port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}/`, port, paths: [...resources.keys()],
    close: () => new Promise<void>((ok) => {
      server.closeAllConnections();
      server.close(() => ok());
    }),
  };
}
