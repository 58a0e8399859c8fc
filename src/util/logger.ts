/**
 * winston loggers: human-readable console lines plus JSON lines in the run folder.
 */
import winston from 'winston';

export type Logger = winston.Logger;

/**
 * @param opts.file JSON-lines log file (created with its folder by winston), or none
 * @param opts.console log to stderr (off for tests and benches)
 * @param opts.level 'error' | 'warn' | 'info' | 'debug'
 */
export function createLogger(opts: { file?: string; console?: boolean; level?: string } = {}): Logger {
  const transports: winston.transport[] = [];
  if (opts.console ?? true) {
    transports.push(new winston.transports.Console({
      stderrLevels: ['error', 'warn', 'info', 'debug'],
      format: winston.format.combine(
        winston.format.timestamp({ format: 'HH:mm:ss' }),
        winston.format.printf((i) => `[${i.timestamp}] ${i.level}: ${i.message}${i.meta ? ' ' + JSON.stringify(i.meta) : ''}`),
      ),
    }));
  }
  if (opts.file) {
    transports.push(new winston.transports.File({ filename: opts.file, format: winston.format.combine(winston.format.timestamp(), winston.format.json()) }));
  }
  if (transports.length === 0) transports.push(new winston.transports.Console({ silent: true }));
  return winston.createLogger({ level: opts.level ?? 'info', transports });
}

/** A logger that drops everything (tests). */
export function silentLogger(): Logger {
  return createLogger({ console: false });
}
