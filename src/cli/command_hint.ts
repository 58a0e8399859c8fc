/**
 * Commands the CLI prints for a person to paste (`--resume`, `eval`, `view`, ...). They start with
 * `npx naf-ros`: after `npm ci` in the naf_ros folder `naf-ros` itself is not on PATH, while npx
 * runs the package's own bin from that folder (README "Running naf-ros" says how to put it on PATH).
 * Arguments are shell-quoted where they need it (paths with spaces).
 */

/** How a printed command starts. */
export const NAF_ROS = 'npx naf-ros';

/** `s` as one POSIX shell word: as it is when safe, else in single quotes. */
export function shellWord(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** `npx naf-ros <args>`, each argument quoted as needed. */
export function nafRos(...args: string[]): string {
  return [NAF_ROS, ...args.map(shellWord)].join(' ');
}
