// The replay page of `naf-ros view`: draws the arm from its URDF (urdf-loader on three.js) and
// replays the recorded episodes: joint angles over time, the target (orange sphere, 2 cm radius)
// and the tip's path so far (blue line). Data: /data.json (src/viz/view_data.ts), /robot.urdf.
// Debug hook for tests: window.__naf_view (ready, error, links, episode, frame, frames, q, ...).
import * as THREE from 'three';
import { OrbitControls } from 'three/examples/jsm/controls/OrbitControls.js';
import { OBJLoader } from 'three/examples/jsm/loaders/OBJLoader.js';
import URDFLoader from 'urdf-loader';

const view = {
  ready: false, error: null, links: [], joints: [], episode: 0, frame: 0, frames: 0, playing: true, q: [], rendered: 0,
  meshesLoaded: 0, meshErrors: 0,
};
window.__naf_view = view;
const $ = (id) => document.getElementById(id);

function fail(e) {
  view.error = String(e && e.message ? e.message : e);
  $('error').textContent = `naf-ros view: ${view.error}`;
}

async function fetchOk(url) {
  const r = await fetch(url);
  if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`);
  return r;
}

/** Loads the URDF; resolves when its meshes have loaded (or failed). */
function loadRobot(urdfText, data) {
  return new Promise((resolve) => {
    const manager = new THREE.LoadingManager();
    let pending = 0;
    const settle = () => { if (pending === 0) resolve(robot); };
    const loader = new URDFLoader(manager);
    loader.parseCollision = false;
    loader.loadMeshCb = (path, mgr, material, done) => {
      if (path.startsWith('/missing/')) { done(null); return; }
      pending++;
      const finish = (obj, err) => {
        if (err) view.meshErrors++; else view.meshesLoaded++;
        done(obj, err);
        pending--;
        settle();
      };
      if (/\.obj$/i.test(path)) {
        new OBJLoader(mgr).load(path, (obj) => {
          if (material) obj.traverse((c) => { if (c.isMesh) c.material = material; });
          finish(obj);
        }, undefined, (err) => finish(null, err));
      } else loader.defaultMeshLoader(path, mgr, material, finish);
    };
    const robot = loader.parse(urdfText);
    if (data.meshes.served === 0) resolve(robot);
    else settle();
  });
}

/** Thin lines between the link frames: the arm stays visible where no mesh was found. */
function skeleton(robot) {
  const pts = [];
  const a = new THREE.Vector3();
  const b = new THREE.Vector3();
  const inv = new THREE.Matrix4().copy(robot.matrixWorld).invert();
  for (const j of Object.values(robot.joints)) {
    const parent = j.parent;
    if (!parent) continue;
    parent.getWorldPosition(a).applyMatrix4(inv);
    j.getWorldPosition(b).applyMatrix4(inv);
    if (a.distanceTo(b) > 1e-6) pts.push(a.clone(), b.clone());
  }
  return pts;
}

async function main() {
  const data = await (await fetchOk('/data.json')).json();
  const urdfText = await (await fetchOk('/robot.urdf')).text();
  view.frames = 0;
  $('source').textContent = data.source;
  if (!data.episodes.length) throw new Error('the recording has no episode');

  const renderer = new THREE.WebGLRenderer({ antialias: true });
  renderer.setPixelRatio(window.devicePixelRatio);
  renderer.setSize(window.innerWidth, window.innerHeight);
  document.body.appendChild(renderer.domElement);
  const scene = new THREE.Scene();
  scene.background = new THREE.Color(0xf4f5f7);
  scene.add(new THREE.HemisphereLight(0xffffff, 0x8899aa, 2.2));
  const sun = new THREE.DirectionalLight(0xffffff, 1.6);
  sun.position.set(2, 4, 3);
  scene.add(sun);
  // ROS frames are z-up, three.js is y-up: everything of the robot lives in `world`.
  const world = new THREE.Group();
  world.rotation.x = -Math.PI / 2;
  scene.add(world);

  const robot = await loadRobot(urdfText, data);
  world.add(robot);
  view.links = Object.keys(robot.links);
  view.joints = data.jointNames.filter((n) => robot.joints[n]);
  const missingJoints = data.jointNames.filter((n) => !robot.joints[n]);
  if (missingJoints.length) throw new Error(`joints not in the URDF: ${missingJoints.join(', ')}`);

  const skeletonGeom = new THREE.BufferGeometry();
  const skeletonLine = new THREE.LineSegments(skeletonGeom, new THREE.LineBasicMaterial({ color: 0x333333 }));
  world.add(skeletonLine);

  const target = new THREE.Mesh(new THREE.SphereGeometry(0.02, 24, 16), new THREE.MeshStandardMaterial({ color: 0xff8010, transparent: true, opacity: 0.6 }));
  world.add(target);
  const pathGeom = new THREE.BufferGeometry();
  const path = new THREE.Line(pathGeom, new THREE.LineBasicMaterial({ color: 0x1a73d9 }));
  world.add(path);
  const tipDot = new THREE.Mesh(new THREE.SphereGeometry(0.006, 12, 8), new THREE.MeshStandardMaterial({ color: 0x1a73d9 }));
  world.add(tipDot);

  // Camera: look at the box of the arm at rest, the targets and the tip paths.
  scene.updateMatrixWorld(true);
  const box = new THREE.Box3().setFromObject(robot);
  const toScene = (p) => new THREE.Vector3(p[0], p[1], p[2]).applyMatrix4(world.matrixWorld);
  for (const e of data.episodes) {
    if (e.target) box.expandByPoint(toScene(e.target));
    for (const p of e.tip) box.expandByPoint(toScene(p));
  }
  if (box.isEmpty()) box.setFromCenterAndSize(new THREE.Vector3(), new THREE.Vector3(1, 1, 1));
  const center = box.getCenter(new THREE.Vector3());
  const size = Math.max(0.2, box.getSize(new THREE.Vector3()).length());
  const camera = new THREE.PerspectiveCamera(45, window.innerWidth / window.innerHeight, size / 100, size * 50);
  camera.position.copy(center).add(new THREE.Vector3(0.6, 0.5, 0.75).multiplyScalar(size));
  const controls = new OrbitControls(camera, renderer.domElement);
  controls.target.copy(center);
  controls.update();
  const grid = new THREE.GridHelper(Math.ceil(size * 2 * 10) / 10, 20, 0xbbbbbb, 0xdddddd);
  grid.position.y = Math.min(0, box.min.y);
  scene.add(grid);
  window.addEventListener('resize', () => {
    camera.aspect = window.innerWidth / window.innerHeight;
    camera.updateProjectionMatrix();
    renderer.setSize(window.innerWidth, window.innerHeight);
  });

  // Episode selection and playback.
  const select = $('episode');
  data.episodes.forEach((e, i) => {
    const o = document.createElement('option');
    o.value = String(i);
    const d = e.finalDistance !== undefined ? `, ${(e.finalDistance * 100).toFixed(1)} cm` : '';
    o.textContent = `${i + 1} / ${data.episodes.length}${d}${e.aborted ? ' (aborted)' : ''}`;
    select.appendChild(o);
  });
  let clock = 0; // s into the episode
  const episode = () => data.episodes[view.episode];
  const setEpisode = (i) => {
    view.episode = i;
    select.value = String(i);
    clock = 0;
    const e = episode();
    view.frames = e.t.length;
    target.visible = Boolean(e.target);
    if (e.target) target.position.set(e.target[0], e.target[1], e.target[2]);
    pathGeom.setAttribute('position', new THREE.Float32BufferAttribute(e.tip.flat(), 3));
  };
  const frameAt = (e, t) => {
    let k = 0;
    while (k + 1 < e.t.length && e.t[k + 1] <= t) k++;
    return k;
  };
  const show = () => {
    const e = episode();
    const k = frameAt(e, clock);
    view.frame = k;
    e.q[k].forEach((v, j) => robot.setJointValue(data.jointNames[j], v));
    view.q = e.q[k].slice();
    pathGeom.setDrawRange(0, k + 1);
    tipDot.visible = e.tip.length > 0;
    if (e.tip.length) tipDot.position.set(...e.tip[k]);
    robot.updateMatrixWorld(true);
    skeletonGeom.setFromPoints(skeleton(robot));
    const dur = e.t[e.t.length - 1] || 1;
    $('time').value = String(Math.round((clock / dur) * 1000));
    const parts = [`t = ${e.t[k].toFixed(2)} s of ${dur.toFixed(2)} s`, `step ${k} / ${e.t.length - 1}`];
    if (e.tip.length && e.target) parts.push(`tip to target ${(100 * Math.hypot(e.tip[k][0] - e.target[0], e.tip[k][1] - e.target[1], e.tip[k][2] - e.target[2])).toFixed(1)} cm`);
    if (e.return !== undefined) parts.push(`return ${e.return.toFixed(2)}`);
    $('info').textContent = parts.join(' · ');
  };
  select.addEventListener('change', () => { setEpisode(Number(select.value)); show(); });
  $('play').addEventListener('click', () => {
    view.playing = !view.playing;
    $('play').textContent = view.playing ? 'pause' : 'play';
  });
  $('time').addEventListener('input', () => {
    const e = episode();
    clock = (Number($('time').value) / 1000) * (e.t[e.t.length - 1] || 0);
    view.playing = false;
    $('play').textContent = 'play';
    show();
  });

  setEpisode(0);
  show();
  let last = performance.now();
  let hold = 0; // s shown at the end of an episode before the next
  const tick = (now) => {
    const dt = Math.min(0.1, (now - last) / 1000);
    last = now;
    if (view.playing) {
      const e = episode();
      const dur = e.t[e.t.length - 1] || 0;
      if (clock >= dur) {
        hold += dt;
        if (hold > 0.8) { hold = 0; setEpisode((view.episode + 1) % data.episodes.length); }
      } else clock = Math.min(dur, clock + dt * Number($('speed').value));
      show();
    }
    controls.update();
    renderer.render(scene, camera);
    view.rendered++;
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
  view.ready = true;
}

main().catch(fail);
