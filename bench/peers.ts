/**
 * The NAF update of naf_ros beside the same update in JAX (jit, XLA) and PyTorch (eager), timed
 * alternately in fresh processes on this machine:
 *
 *   npm run bench -- --peers [--python <python with jax, torch>] [--rounds 5] [--updates 3000]
 *   node --import tsx bench/peers.ts [same options] [--peers-dir bench/peers] [--out <dir>]
 *
 * Each round runs, in this order: naf_ros native path on 2 threads, JAX on 2 cores, naf_ros native
 * on 1 thread pinned to core 0, JAX pinned to core 0, naf_ros tfjs path on 2 threads, PyTorch with
 * 1 and 2 threads. Alternation spreads slow drifts of a shared machine over all of them. A peer
 * whose Python lacks its package (or a path that is not available, e.g. no native addon) is
 * reported as unavailable, not as zero. The peer scripts (`bench/peers/*.py`) make the same
 * update: three 2x200 ReLU networks, target V, Adam 1e-3, gradient clipping at 10, soft target
 * update, batch 64 — with one global clipping norm where naf_ros clips each network apart, and
 * without naf_ros's divergence guard (which saves and commits the state every update): naf_ros
 * does a little more per update.
 *
 * Prints a table of medians over the rounds and the ratios naf_ros / JAX (2 cores and 1 core);
 * with --out writes peers.json there (every run, the medians, commit, versions, machine).
 */
import { Command } from 'commander';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { provenance } from './provenance.js';

interface Candidate {
  name: string;
  cmd: string[];
  /** updates/s from the process's stdout */
  parse: (out: string) => number;
}

const here = fileURLToPath(new URL('.', import.meta.url));
const fromJson = (out: string) => JSON.parse(out.trim().split('\n').pop()!).updatesPerSecond as number;
const fromPeer = (out: string) => Number(/([\d.]+) updates\/s/.exec(out)?.[1] ?? NaN);

export function peerCandidates(o: { python: string; peersDir: string; updates: number }): Candidate[] {
  const rate = (args: string[]) => ['node', '--import', 'tsx', join(here, 'update_rate.ts'), '--updates', String(o.updates), ...args];
  const py = (script: string, threads: number) => [o.python, join(o.peersDir, script), String(threads), String(o.updates)];
  return [
    { name: 'naf_ros native, 2 threads', cmd: rate(['--path', 'native', '--threads', '2']), parse: fromJson },
    { name: 'JAX jit, 2 cores', cmd: py('jax_naf.py', 2), parse: fromPeer },
    { name: 'naf_ros native, 1 thread (core 0)', cmd: ['taskset', '-c', '0', ...rate(['--path', 'native', '--threads', '1'])], parse: fromJson },
    { name: 'JAX jit, 1 core (core 0)', cmd: ['taskset', '-c', '0', ...py('jax_naf.py', 1)], parse: fromPeer },
    { name: 'naf_ros tfjs-wasm, 2 threads', cmd: rate(['--path', 'tfjs', '--threads', '2', '--updates', String(Math.ceil(o.updates / 4))]), parse: fromJson },
    { name: 'PyTorch eager, 1 thread', cmd: py('torch_naf.py', 1), parse: fromPeer },
    { name: 'PyTorch eager, 2 threads', cmd: py('torch_naf.py', 2), parse: fromPeer },
  ];
}

/** Runs one candidate; updates/s, or the first line of its error. */
function runOnce(c: Candidate): number | string {
  const r = spawnSync(c.cmd[0], c.cmd.slice(1), { encoding: 'utf8', timeout: 600_000 });
  if (r.status !== 0) return `${(r.stderr || r.stdout || r.error?.message || `exit ${r.status}`).trim().split('\n').filter((l) => /Error|error|No module/.test(l)).pop() ?? `exit ${r.status}`}`;
  const v = c.parse(r.stdout);
  return Number.isFinite(v) ? v : `no rate in its output: ${r.stdout.trim().slice(0, 120)}`;
}

const median = (a: number[]) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function version(cmd: string[]): string {
  try {
    return execFileSync(cmd[0], cmd.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return 'unavailable';
  }
}

/** The side-by-side run (module docstring); returns what peers.json holds. */
export function runPeers(o: { python: string; peersDir: string; rounds: number; updates: number; log: (s: string) => void }) {
  const cands = peerCandidates(o);
  const runs: Record<string, (number | string)[]> = Object.fromEntries(cands.map((c) => [c.name, []]));
  for (let r = 1; r <= o.rounds; r++) {
    for (const c of cands) {
      // a candidate that failed in round 1 for a missing package is not retried
      if (r > 1 && typeof runs[c.name][0] === 'string') continue;
      const v = runOnce(c);
      runs[c.name].push(v);
      o.log(`round ${r}/${o.rounds}  ${c.name.padEnd(34)} ${typeof v === 'number' ? `${v.toFixed(1)} updates/s` : `unavailable: ${v}`}`);
    }
  }
  const medians: Record<string, number | null> = {};
  for (const c of cands) {
    const ok = runs[c.name].filter((v): v is number => typeof v === 'number');
    medians[c.name] = ok.length ? median(ok) : null;
  }
  const ratio = (a: string, b: string) => (medians[a] && medians[b] ? +(medians[a]! / medians[b]!).toFixed(2) : null);
  const ratios = {
    'naf_ros native 2 threads / JAX 2 cores': ratio('naf_ros native, 2 threads', 'JAX jit, 2 cores'),
    'naf_ros native 1 thread / JAX 1 core': ratio('naf_ros native, 1 thread (core 0)', 'JAX jit, 1 core (core 0)'),
    'naf_ros native 2 threads / PyTorch best': medians['PyTorch eager, 1 thread'] || medians['PyTorch eager, 2 threads']
      ? +(medians['naf_ros native, 2 threads']! / Math.max(medians['PyTorch eager, 1 thread'] ?? 0, medians['PyTorch eager, 2 threads'] ?? 0)).toFixed(2)
      : null,
    'naf_ros native 2 threads / naf_ros tfjs 2 threads': ratio('naf_ros native, 2 threads', 'naf_ros tfjs-wasm, 2 threads'),
  };
  return {
    date: new Date().toISOString(),
    ...provenance(),
    node: process.version,
    python: version([o.python, '-c', 'import sys; print(sys.version.split()[0])']),
    jax: version([o.python, '-c', 'import jax; print(jax.__version__)']),
    torch: version([o.python, '-c', 'import torch; print(torch.__version__)']),
    machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length },
    rounds: o.rounds,
    updates: o.updates,
    runs,
    medians,
    ratios,
  };
}

/** The table printed (and written to peers.md). */
export function peersTable(p: ReturnType<typeof runPeers>): string {
  const rows = Object.entries(p.medians).map(([k, v]) => `| ${k} | ${v === null ? 'unavailable' : v.toFixed(1)} | ${p.runs[k].map((x) => (typeof x === 'number' ? x.toFixed(0) : '–')).join(', ')} |`);
  const r = Object.entries(p.ratios).map(([k, v]) => `| ${k} | ${v ?? '–'} |`);
  return [
    `NAF update (batch 64, three 2x200 ReLU networks), ${p.rounds} alternating rounds of ${p.updates} updates; ${p.machine.cpu}, ${p.machine.cores} cores; commit ${p.commit.slice(0, 7)}${p.dirty ? ' (uncommitted changes)' : ''}, node ${p.node}, jax ${p.jax}, torch ${p.torch}, ${p.date.slice(0, 10)}`,
    '',
    '| update | median updates/s | every round |',
    '| --- | ---: | --- |',
    ...rows,
    '',
    '| ratio of medians | |',
    '| --- | ---: |',
    ...r,
  ].join('\n');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const o = new Command('peers')
    .option('--python <path>', 'a Python with jax, optax and torch', 'python3')
    .option('--peers-dir <dir>', 'folder of jax_naf.py and torch_naf.py', join(here, 'peers'))
    .option('--rounds <n>', 'alternating rounds', (v) => Number(v), 5)
    .option('--updates <n>', 'timed updates per run', (v) => Number(v), 3000)
    .option('--out <dir>', 'write peers.json and peers.md there')
    .parse()
    .opts();
  const p = runPeers({ ...(o as { python: string; peersDir: string; rounds: number; updates: number }), log: (s) => console.error(s) });
  const table = peersTable(p);
  console.log(table);
  if (o.out) {
    mkdirSync(o.out, { recursive: true });
    writeFileSync(join(o.out, 'peers.json'), JSON.stringify(p, null, 2) + '\n');
    writeFileSync(join(o.out, 'peers.md'), table + '\n');
  }
}
