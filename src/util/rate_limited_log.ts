/**
 * Rate-limited logging of repeated identical faults: the first occurrence of a key is logged with
 * its detail; later ones within `intervalS` are only counted, and the count is logged when the key
 * occurs again after the interval, or at the next `flush` after it ("joint_states rejected
 * (missing_joint): 178 times in the last 10.0 s; latest: ..."). A fault that floods at 1 kHz
 * therefore costs one line per interval, and none is lost from the count.
 */
import type { Logger } from './logger.js';

export type LogLevel = 'error' | 'warn' | 'info';

/** Default interval of routine fault logs, s (the safety supervisor's too). */
export const FAULT_LOG_INTERVAL_S = 10;

interface Entry { since: number; count: number; level: LogLevel; latest: string }

export class RateLimitedLog {
  private readonly entries = new Map<string, Entry>();

  /** @throws RangeError when intervalS is not > 0. */
  constructor(private readonly logger: Logger, readonly intervalS = FAULT_LOG_INTERVAL_S) {
    if (!(intervalS > 0)) throw new RangeError(`RateLimitedLog: intervalS must be > 0 s, got ${intervalS}`);
  }

  /**
   * One occurrence of `key` at time `now` (s, any monotonic clock the caller uses throughout).
   * @returns true when a line was written
   */
  report(key: string, now: number, level: LogLevel, text: string): boolean {
    const e = this.entries.get(key);
    if (!e) {
      this.entries.set(key, { since: now, count: 0, level, latest: text });
      this.logger.log(level, `${text} [repeats are counted and logged at most every ${this.intervalS} s]`);
      return true;
    }
    e.count++;
    e.level = level;
    e.latest = text;
    if (now - e.since < this.intervalS && now >= e.since) return false;
    this.summarise(key, e, now);
    return true;
  }

  /** Writes the pending counts whose interval has passed (call periodically, e.g. at 1 Hz). */
  flush(now: number): void {
    for (const [key, e] of this.entries) if (e.count > 0 && (now - e.since >= this.intervalS || now < e.since)) this.summarise(key, e, now);
  }

  /** Occurrences counted but not yet logged, for `key`. */
  pending(key: string): number {
    return this.entries.get(key)?.count ?? 0;
  }

  private summarise(key: string, e: Entry, now: number): void {
    const dt = Math.max(0, now - e.since);
    this.logger.log(e.level, `${key}: ${e.count} time${e.count === 1 ? '' : 's'} in the last ${dt.toFixed(1)} s; latest: ${e.latest}`);
    e.since = now;
    e.count = 0;
  }
}
