/**
 * The training progress line of `naf-ros train`, fitted to the terminal width: fields are kept in
 * order of importance (episode, active learning-health warnings as `⚠ code,code`, elapsed and
 * ETA, return, best evaluation, controller, speed, model error, imagined transitions) and dropped
 * from the least important until the line fits;
 * the bar takes what room is left (none below 8 columns). cli-progress draws it.
 */

export interface ProgressState {
  /** Episodes completed (of the whole run) and the budget. */
  episode: number;
  total: number;
  /** Episodes completed when this session started (resume), for the ETA. */
  startEpisode: number;
  /** Seconds since this session started. */
  elapsed: number;
  controller?: string;
  /** Return of the last training episode. */
  ret?: number;
  /** Best greedy evaluation return so far. */
  best?: number;
  stepsPerSecond?: number;
  updatesPerSecond?: number;
  modelMse?: number;
  imagined?: number;
  /** Control steps of the last episode in which the safety supervisor changed the command. */
  interventions?: number;
  /** Codes of the active learning-health warnings (`learning_health.ts`); shown after the episode. */
  warnings?: string[];
}

/** "4:05", "1:02:03"; "-" when unknown. */
export function clock(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '-';
  const t = Math.round(s), h = Math.floor(t / 3600), m = Math.floor((t % 3600) / 60), sec = t % 60;
  const mm = h ? String(m).padStart(2, '0') : String(m);
  return `${h ? `${h}:` : ''}${mm}:${String(sec).padStart(2, '0')}`;
}

/** Seconds left at the pace of this session's episodes (NaN before the first one). */
export function eta(s: ProgressState): number {
  const done = s.episode - s.startEpisode;
  return done > 0 ? (s.elapsed / done) * (s.total - s.episode) : NaN;
}

const num = (v: number | undefined, d: number) => (v !== undefined && Number.isFinite(v) ? v.toFixed(d) : '-');
const compact = (v: number | undefined) => (v === undefined || !Number.isFinite(v) ? '-' : v >= 1e6 ? `${(v / 1e6).toFixed(1)}M` : v >= 1e4 ? `${Math.round(v / 1e3)}k` : String(Math.round(v)));

/**
 * The progress line for a terminal `width` columns wide (never longer than width - 1, so the
 * cursor never wraps).
 */
export function progressLine(s: ProgressState, width: number): string {
  // ⚠ is drawn two columns wide by some terminals: one more column of room when it is shown.
  const w = Math.max(20, width) - (s.warnings?.length ? 2 : 1);
  // [text, priority]: lower is more important. The first field is always shown.
  const fields: [string, number][] = [
    [`ep ${s.episode}/${s.total}`, 0],
    ...(s.warnings?.length ? [[`⚠ ${s.warnings.join(',')}`, 1] as [string, number]] : []),
    [`${clock(s.elapsed)} eta ${clock(eta(s))}`, 1],
    [`ret ${num(s.ret, 2)}`, 2],
    [`best ${num(s.best, 2)}`, 3],
    [`${s.controller ?? '-'}`, 6],
    [`${num(s.stepsPerSecond, 0)} st/s`, 4],
    [`${num(s.updatesPerSecond, 0)} up/s`, 5],
    [`mse ${s.modelMse !== undefined && Number.isFinite(s.modelMse) ? s.modelMse.toExponential(1) : '-'}`, 7],
    [`img ${compact(s.imagined)}`, 8],
  ];
  // The supervisor's interventions are shown when there are any (a policy learning motions its
  // deployment forbids), right after the return.
  if (s.interventions) fields.splice(3, 0, [`safety ${s.interventions}`, 2]);
  const join = (fs: [string, number][]) => fs.map((f) => f[0]).join(' ');
  let kept = fields;
  for (let p = 8; join(kept).length > w && p > 0; p--) kept = kept.filter((f) => f[1] < p);
  let line = join(kept);
  if (line.length > w) line = line.slice(0, w);
  const room = w - line.length - 3; // " [" + "]"
  if (room >= 8) {
    const n = Math.min(30, room);
    const filled = Math.round((n * Math.min(s.episode, s.total)) / Math.max(1, s.total));
    const head = kept[0][0];
    line = `${head} [${'#'.repeat(filled)}${'.'.repeat(n - filled)}]${line.slice(head.length)}`;
  }
  return line;
}
