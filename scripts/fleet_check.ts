/**
 * Checks a fleet run (scripts/fleet_netns_check.sh) from what it left on disk:
 *
 *   1. every effort command recorded on each arm (`cmds-arm<K>.txt`: '<wall s> <topic> <values>'
 *      per message) is finite and within the URDF's effort limits; the longest gap between two
 *      commands is reported;
 *   2. exactly-once delivery: the learner's ledger (`episodes.jsonl` of its run folder, which a
 *      resumed learner continues) holds every episode of every actor session once — for each actor
 *      session (its node.log.jsonl: "fleet actor /armK (session S)" and "naf_trainer stopped: C
 *      episodes completed, A aborted"), the ledger's episodes of (arm, session) are exactly 1..C+A —
 *      and no key twice.
 *
 *   node --import tsx scripts/fleet_check.ts --root <RUN_ROOT> --params <params file> [--arms 2]
 *
 * Exits 1 when a check fails, printing which.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { loadParamsFile } from '../src/config/load.js';
import { absolutePaths } from '../src/config/params_file.js';
import { armSpecFromUrdf, loadUrdf } from '../src/env/urdf.js';
import { readRecords } from '../src/report/run_folder.js';
import type { LedgerLine } from '../src/training/fleet_learner.js';

const o = new Command('fleet_check')
  .requiredOption('--root <dir>', 'the run root (learner/, arm<K>/, cmds-arm<K>.txt)')
  .requiredOption('--params <file>', 'the params file of the run (urdf_path, joints)')
  .option('--arms <n>', 'number of arms', (v) => Number(v), 2)
  .option('--max-gap-ms <ms>', 'fail when two recorded commands of an arm are further apart', (v) => Number(v))
  .option('--max-jitter-p99-ms <ms>', 'fail when the median over an actor\'s /diagnostics reports of the control loop\'s jitter p99 is above', (v) => Number(v))
  .parse()
  .opts<{ root: string; params: string; arms: number; maxGapMs?: number; maxJitterP99Ms?: number }>();

const config = absolutePaths(loadParamsFile(o.params));
const spec = armSpecFromUrdf(loadUrdf(config.urdf_path), config.joints);
const failures: string[] = [];
const fail = (m: string) => { failures.push(m); console.log(`FAIL ${m}`); };
const runFolders = (dir: string) => (existsSync(dir) ? readdirSync(dir).map((d) => join(dir, d)) : []);

// 1. Commands.
for (let k = 1; k <= o.arms; k++) {
  const file = join(o.root, `cmds-arm${k}.txt`);
  if (!existsSync(file)) { fail(`arm ${k}: no command recording ${file}`); continue; }
  let n = 0, nonFinite = 0, above = 0, maxGap = 0, prev = NaN, maxAbs = 0;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 3) continue;
    const t = Number(f[0]);
    const u = f.slice(2).map(Number);
    n++;
    if (!Number.isNaN(prev)) maxGap = Math.max(maxGap, t - prev);
    prev = t;
    u.forEach((v, j) => {
      if (!Number.isFinite(v)) nonFinite++;
      else if (Math.abs(v) > spec.effortLimits[j] + 1e-9) above++;
      if (Number.isFinite(v)) maxAbs = Math.max(maxAbs, Math.abs(v) / spec.effortLimits[j]);
    });
  }
  console.log(`arm ${k}: ${n} commands, ${nonFinite} not finite, ${above} values above the URDF effort limits (largest |u|/limit ${maxAbs.toFixed(3)}), longest gap ${(maxGap * 1000).toFixed(0)} ms`);
  if (n === 0) fail(`arm ${k}: no commands recorded`);
  if (o.maxGapMs !== undefined && maxGap * 1000 > o.maxGapMs) fail(`arm ${k}: a gap of ${(maxGap * 1000).toFixed(0)} ms between commands (limit ${o.maxGapMs} ms)`);
  if (nonFinite) fail(`arm ${k}: ${nonFinite} non-finite command values`);
  if (above) fail(`arm ${k}: ${above} command values above the effort limits`);
}

// 1b. The actors' control loops, from their /diagnostics reports (diagnostics.jsonl): the jitter
// |callback interval - period| p99 over the last 1000 periods, per 1-s report (the first 20 reports,
// before 1000 periods exist, are left out).
for (let k = 1; k <= o.arms; k++) {
  for (const dir of runFolders(join(o.root, `arm${k}`))) {
    const file = join(dir, 'diagnostics.jsonl');
    if (!existsSync(file)) continue;
    const reports = readRecords<Record<string, string>>(file).slice(20);
    const p99 = reports.map((r) => Number(r['control_loop.jitter_p99_ms'])).filter(Number.isFinite).sort((a, b) => a - b);
    const max = reports.map((r) => Number(r['control_loop.jitter_max_ms'])).filter(Number.isFinite);
    const gc = reports.map((r) => Number(r['control_loop.gc_pause_max_ms'])).filter(Number.isFinite);
    if (!p99.length) continue;
    const med = p99[(p99.length - 1) >> 1];
    console.log(`arm ${k} control loop: jitter p99 median ${med.toFixed(2)} ms over ${p99.length} reports (largest ${p99.at(-1)!.toFixed(2)} ms), ` +
      `jitter max ${Math.max(...max).toFixed(1)} ms, GC pause max ${gc.length ? Math.max(...gc).toFixed(1) : '-'} ms`);
    if (o.maxJitterP99Ms !== undefined && med > o.maxJitterP99Ms) fail(`arm ${k}: control-loop jitter p99 median ${med.toFixed(2)} ms (limit ${o.maxJitterP99Ms} ms)`);
  }
}

// 2. Exactly once.
const ledgers = runFolders(join(o.root, 'learner')).map((d) => join(d, 'episodes.jsonl')).filter(existsSync);
if (ledgers.length !== 1) fail(`expected one learner run folder with episodes.jsonl under ${join(o.root, 'learner')}, found ${ledgers.length}`);
const ledger = ledgers.length ? readRecords<LedgerLine>(ledgers[0]) : [];
const keys = new Map<string, number>();
for (const l of ledger) keys.set(`${l.arm}/${l.session}/${l.episode}`, (keys.get(`${l.arm}/${l.session}/${l.episode}`) ?? 0) + 1);
const twice = [...keys].filter(([, c]) => c > 1);
if (twice.length) fail(`${twice.length} episode keys taken more than once: ${twice.slice(0, 5).map(([k, c]) => `${k} x${c}`).join(', ')}`);
for (let k = 1; k <= o.arms; k++) {
  for (const dir of runFolders(join(o.root, `arm${k}`))) {
    const log = join(dir, 'node.log.jsonl');
    if (!existsSync(log)) continue;
    const lines = readRecords<{ message: string }>(log).map((l) => l.message);
    const session = lines.map((m) => m.match(/^fleet actor (\S+) \(session (\d+)\)/)).find(Boolean);
    const stopped = lines.map((m) => m.match(/^naf_trainer stopped: (\d+) episodes completed, (\d+) aborted in the run/)).find(Boolean);
    if (!session) { fail(`${log}: no "fleet actor ... (session ...)" line`); continue; }
    if (!stopped) { fail(`${log}: no "naf_trainer stopped" line (the actor did not stop cleanly)`); continue; }
    const [arm, s] = [session[1], Number(session[2])];
    const sent = Number(stopped[1]) + Number(stopped[2]);
    const taken = ledger.filter((l) => l.arm === arm && l.session === s).map((l) => l.episode).sort((a, b) => a - b);
    const missing = Array.from({ length: sent }, (_, i) => i + 1).filter((e) => !taken.includes(e));
    const extra = taken.filter((e) => e < 1 || e > sent);
    console.log(`${arm} session ${s}: the actor ran ${sent} episodes (${stopped[1]} completed, ${stopped[2]} aborted); the ledger holds ${taken.length}${taken.some((e, i) => e === taken[i - 1]) ? ' (with repeats)' : ''}` +
      `${ledger.some((l) => l.arm === arm && l.session === s && l.drained) ? `, ${ledger.filter((l) => l.arm === arm && l.session === s && l.drained).length} taken during a stop` : ''}`);
    if (missing.length) fail(`${arm} session ${s}: episodes never taken: ${missing.join(', ')}`);
    if (extra.length) fail(`${arm} session ${s}: episodes in the ledger the actor did not run: ${extra.join(', ')}`);
  }
}
console.log(failures.length ? `fleet check: ${failures.length} failure(s)` : 'fleet check: all passed');
process.exit(failures.length ? 1 : 0);
