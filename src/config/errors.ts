// Config errors without the config stack (zod, yaml): the CLI reports them before loading it.
import { UserError } from '../core/errors.ts';
import { counted } from '../core/format.ts';

/** `ConfigError.file` when the problems are in command-line flags, not a file. */
export const COMMAND_LINE = 'the command line';

/** A config that can't be used: every problem, each with its path in the file and the reason. */
export class ConfigError extends UserError {
  override name = 'ConfigError';
  constructor(
    readonly file: string,
    readonly problems: string[],
  ) {
    super(`${file}: ${counted(problems.length, 'problem')}\n` + problems.map((p) => `  - ${p}`).join('\n'));
  }
}
