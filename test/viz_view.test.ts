/**
 * `naf-ros view`: the server listens on 127.0.0.1 only and serves exactly its resources (no path
 * leaves them, other hosts and methods are refused); mesh files the URDF references are served as
 * the project resolves them; and the page, loaded in headless Chromium, draws the arm from its URDF
 * and replays the episodes (skipped, with the reason, where no Chromium is installed).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseUrdf } from '../src/env/urdf.js';
import { viewAssets, rewriteMeshes } from '../src/viz/view_data.js';
import { startViewServer } from '../src/viz/view_server.js';
import { viewCommand } from '../src/cli/view_command.js';
import { writeRolloutMcap } from '../src/viz/mcap_write.js';
import type { Rollout } from '../src/viz/rollout.js';

const URDF_PATH = new URL('../urdf/reacher3.urdf', import.meta.url).pathname;
const urdf = readFileSync(URDF_PATH, 'utf8');
const joints = ['joint1', 'joint2', 'joint3'];

function rollout(): Rollout {
  const episode = (k: number) => ({
    target: [0.15, 0.1 * (k - 0.5), 0.05] as [number, number, number],
    steps: Array.from({ length: 60 }, (_, i) => ({ t: k * 2 + i * 0.02, q: [1.2 * Math.sin(i / 8) - 0.3 * k, 0.8 * Math.cos(i / 10), -0.5 + 0.02 * i], qd: [0, 0, 0], effort: [0, 0, 0] })),
    return: -2, finalDistance: 0.03,
  });
  return { source: 'view test rollout', robotDescription: urdf, urdfPath: URDF_PATH, jointNames: joints, tipLink: 'fingertip', episodes: [episode(0), episode(1)] };
}

/** A raw GET (the path sent as written, no normalisation) -> status and body. */
function get(port: number, path: string, opts: { host?: string; method?: string } = {}): Promise<{ status: number; body: Buffer }> {
  return new Promise((ok, fail) => {
    const req = request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: { host: opts.host ?? `127.0.0.1:${port}` } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => ok({ status: res.statusCode!, body: Buffer.concat(chunks) }));
    });
    req.on('error', fail);
    req.end();
  });
}

test('the view server listens on 127.0.0.1 and serves only its resources: no traversal, no other host, GET/HEAD only', async () => {
  const server = await startViewServer(viewAssets(rollout()));
  try {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    const page = await get(server.port, '/');
    assert.equal(page.status, 200);
    assert.match(page.body.toString(), /<script type="importmap">\{"imports":\{"three":"\/vendor\/three\/build\/three.module.js"/);
    assert.equal((await get(server.port, '/vendor/three/build/three.module.js')).status, 200);
    assert.equal((await get(server.port, '/vendor/urdf-loader/src/URDFClasses.js')).status, 200);
    const data = JSON.parse((await get(server.port, '/data.json')).body.toString());
    assert.equal(data.episodes.length, 2);
    assert.equal(data.episodes[0].tip.length, 60);
    assert.equal((await get(server.port, '/robot.urdf')).body.toString(), urdf, 'no mesh: the URDF as it is');
    for (const path of [
      '/vendor/three/../../package.json', '/vendor/three/%2e%2e/%2e%2e/package.json', '/vendor/three/..%2f..%2fpackage.json',
      '/../package.json', '//etc/passwd', '/etc/passwd', '/vendor/three/package.json', '/vendor/three/build/', '/vendor/',
      '/view.js/../../cli.ts', '/src/cli.ts', '/node_modules/three/package.json', '/mesh/0/x.stl', '/%00', '/%',
    ]) {
      const r = await get(server.port, path);
      assert.ok(r.status === 404 || r.status === 400, `${path}: ${r.status}`);
    }
    assert.equal((await get(server.port, '/', { host: `evil.example:${server.port}` })).status, 403, 'DNS rebinding: another host name');
    assert.equal((await get(server.port, '/', { method: 'POST' })).status, 405);
    assert.equal((await get(server.port, '/data.json', { method: 'HEAD' })).status, 200);
    assert.ok(server.paths.every((p) => ['/', '/index.html', '/view.js', '/data.json', '/robot.urdf'].includes(p) || p.startsWith('/vendor/three/') || p.startsWith('/vendor/urdf-loader/')));
  } finally {
    await server.close();
  }
});

test('meshes the URDF references are served where found (package:// on mesh_search_path, relative), the rest named as missing', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'naf-view-mesh-'));
  mkdirSync(join(dir, 'pkgs', 'arm_description', 'meshes'), { recursive: true });
  const stl = Buffer.alloc(84 + 50); // a binary STL with one triangle
  stl.writeUInt32LE(1, 80);
  writeFileSync(join(dir, 'pkgs', 'arm_description', 'meshes', 'link1.stl'), stl);
  writeFileSync(join(dir, 'base.dae'), '<COLLADA/>');
  const text = `<robot name="m"><link name="a"><visual><geometry><mesh filename="package://arm_description/meshes/link1.stl"/></geometry></visual>
    <visual><geometry><mesh filename='base.dae' scale="1 1 1"/></geometry></visual>
    <visual><geometry><mesh filename="package://arm_description/meshes/gone.stl"/></geometry></visual>
    <visual><geometry><mesh filename="package://arm_description/meshes/link1.ply"/></geometry></visual>
    <collision><geometry><mesh filename="package://arm_description/meshes/link1.stl"/></geometry></collision></link></robot>`;
  const r = rewriteMeshes(text, { urdfDir: dir, searchPath: [join(dir, 'pkgs')] });
  assert.deepEqual([...r.meshes.keys()], ['/mesh/0/link1.stl', '/mesh/1/base.dae']);
  assert.deepEqual(r.missing, [
    { filename: 'package://arm_description/meshes/gone.stl', reason: 'not found' },
    { filename: 'package://arm_description/meshes/link1.ply', reason: 'unsupported format .ply' },
  ]);
  assert.equal((r.urdf.match(/\/mesh\/0\/link1\.stl/g) ?? []).length, 2, 'the same file, the same URL');
  assert.match(r.urdf, /filename='\/mesh\/1\/base\.dae'/);
  parseUrdf(r.urdf);
  const server = await startViewServer({ data: { ...viewAssets(rollout()).data }, urdf: r.urdf, meshes: r.meshes });
  try {
    const got = await get(server.port, '/mesh/0/link1.stl');
    assert.equal(got.status, 200);
    assert.deepEqual(got.body, stl);
    for (const path of ['/mesh/0/../../../package.json', '/mesh/0/..%2f..%2f..%2fpackage.json', `/mesh/0/${encodeURIComponent(join(dir, 'base.dae'))}`, '/mesh/2/gone.stl'])
      assert.equal((await get(server.port, path)).status, 404, path);
    assert.equal((await get(server.port, '/missing/2/gone.stl')).status, 404);
  } finally {
    await server.close();
  }
});

/** The Chromium to drive: $CHROMIUM, else Debian's or Google's in /usr/bin. */
function findChromium(): string | null {
  for (const p of [process.env.CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome']) if (p && existsSync(p)) return p;
  return null;
}

const chromium = findChromium();

test('the replay page in headless Chromium: the arm is drawn from its URDF, the replay advances, episodes can be chosen', {
  skip: chromium ? false : 'no Chromium found (set CHROMIUM=<path>, or apt-get install -y chromium)', timeout: 120_000,
}, async () => {
  const { chromium: pw } = await import('playwright-core');
  const dir = mkdtempSync(join(tmpdir(), 'naf-view-page-'));
  const file = await writeRolloutMcap(rollout(), join(dir, 'r.mcap'), { startTime: 1_700_000_000 });
  let stop!: () => void;
  const stopped = new Promise<void>((ok) => (stop = ok));
  const lines: string[] = [];
  let url = '';
  const served = viewCommand(file, {}, (l) => {
    lines.push(l);
    url ||= /open (http:\/\/127\.0\.0\.1:\d+\/)/.exec(l)?.[1] ?? '';
  }, stopped);
  while (!url) await new Promise((r) => setTimeout(r, 20));
  assert.match(lines[0], /2 episodes from .*r\.mcap/);
  const browser = await pw.launch({
    executablePath: chromium!, headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--enable-unsafe-swiftshader'],
  });
  try {
    const page = await browser.newPage({ viewport: { width: 800, height: 600 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url);
    await page.waitForFunction(() => (window as unknown as { __naf_view?: { ready: boolean; error: string | null } }).__naf_view?.ready || (window as unknown as { __naf_view?: { error: string | null } }).__naf_view?.error, null, { timeout: 60_000 });
    type View = { ready: boolean; error: string | null; links: string[]; joints: string[]; episode: number; frame: number; frames: number; q: number[]; rendered: number; playing: boolean };
    const state = () => page.evaluate(() => structuredClone((window as unknown as { __naf_view: View }).__naf_view));
    const s1 = await state();
    assert.equal(s1.error, null);
    assert.deepEqual(errors, []);
    assert.deepEqual([...s1.links].sort(), [...parseUrdf(urdf).links.keys()].sort(), 'the scene has the URDF\'s links');
    assert.deepEqual(s1.joints, joints);
    assert.equal(s1.frames, 60);
    await page.waitForFunction(() => (window as unknown as { __naf_view: View }).__naf_view.rendered > 2);

    /**
     * A screenshot of the canvas, decoded by the page (kept there as window.__shots[name]): its
     * pixels that differ from the background, and those that differ strongly (arm, target, path).
     */
    const canvas = page.locator('canvas');
    const shoot = async (name: string) => {
      const png = await canvas.screenshot();
      return page.evaluate(async ([b64, key]) => {
        const img = new Image();
        img.src = `data:image/png;base64,${b64}`;
        await img.decode();
        const c = document.createElement('canvas');
        c.width = img.width;
        c.height = img.height;
        const g = c.getContext('2d')!;
        g.drawImage(img, 0, 0);
        const d = g.getImageData(0, 0, c.width, c.height).data;
        const w = window as unknown as { __shots?: Record<string, Uint8ClampedArray> };
        (w.__shots ??= {})[key] = d;
        const bg = [0xf4, 0xf5, 0xf7];
        let drawn = 0, strong = 0;
        for (let i = 0; i < d.length; i += 4) {
          const diff = Math.abs(d[i] - bg[0]) + Math.abs(d[i + 1] - bg[1]) + Math.abs(d[i + 2] - bg[2]);
          if (diff > 30) drawn++;
          if (diff > 150) strong++; // the arm, the target and the path, not the light grid
        }
        return { drawn, strong, total: d.length / 4 };
      }, [png.toString('base64'), name] as const);
    };
    const a = await shoot('a');
    const fa = (await state()).frame;
    await page.waitForFunction((f) => (window as unknown as { __naf_view: View }).__naf_view.frame !== f, fa, { timeout: 10_000 });
    await new Promise((r) => setTimeout(r, 300));
    await shoot('b');
    const s2 = await state();
    writeFileSync(join(dir, 'shot.png'), await canvas.screenshot());
    assert.ok(a.strong > 500, `the arm is drawn: ${a.strong} strongly coloured pixels of ${a.total}`);
    assert.ok(a.drawn < a.total * 0.9, 'not everything is foreground');
    assert.notEqual(s2.frame, fa, 'the frame counter advances');
    assert.notDeepEqual(s2.q, s1.q, 'the joint angles change');
    const changed = await page.evaluate(() => {
      const { a: x, b: y } = (window as unknown as { __shots: Record<string, Uint8ClampedArray> }).__shots;
      let n = 0;
      for (let i = 0; i < x.length; i++) if (i % 4 !== 3 && Math.abs(x[i] - y[i]) > 40) n++;
      return n;
    });
    assert.ok(changed > 100, `the picture changes between two screenshots: ${changed} channel values`);
    // pause holds the frame; choosing episode 2 shows it from its start
    await page.click('#play');
    const held = (await state()).frame;
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await state()).frame, held, 'paused');
    await page.selectOption('#episode', '1');
    const s3 = await state();
    assert.equal(s3.episode, 1);
    assert.equal(s3.frame, 0);
    assert.match(await page.textContent('#info') ?? '', /step 0 \/ 59/);
  } finally {
    await browser.close();
    stop();
    await served;
  }
});
