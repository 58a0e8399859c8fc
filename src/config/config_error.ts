/** A configuration problem: `issues` has one line per invalid parameter, each naming it as the user writes it. */
export class ConfigError extends Error {
  constructor(
    readonly source: string,
    readonly issues: string[],
  ) {
    // One issue reads as one line (the CLI prints it as is); several are listed.
    super(issues.length === 1 ? `invalid configuration in ${source}: ${issues[0]}` : `invalid configuration in ${source}:\n  - ${issues.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}
