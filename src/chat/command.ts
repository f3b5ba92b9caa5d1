import type { ArgSpec, ChatUser, ParsedArgs, Reply, Role } from './types.ts';
import type { Services } from './services.ts';

export interface CommandContext {
  user: ChatUser;
  args: ParsedArgs;
  /** The raw argument text, for audit. */
  raw: string;
  services: Services;
}

/**
 * A chat command: one file in commands/. Transport-neutral: it gets parsed args and services and
 * returns a Reply. It never imports grammY or discord.js.
 */
export interface CommandSpec {
  name: string;
  description: string;
  minRole: Role;
  args?: ArgSpec[];
  /**
   * Destructive or money-moving commands return the question to ask; the dispatcher shows
   * Confirm / Cancel buttons and runs the command only after Confirm. Return null to skip.
   */
  confirm?: (ctx: CommandContext) => string | Confirmation | null;
  /** The answer is for the asker only (Discord answers ephemerally from the start, even when deferred). */
  ephemeral?: boolean;
  /** Extra role check that depends on the arguments (e.g. `/risk set` needs admin). */
  roleFor?: (args: ParsedArgs) => Role;
  run(ctx: CommandContext): Reply | Promise<Reply>;
}

/**
 * A question, and arguments the confirmed run uses instead of the ones typed: what a relative argument
 * resolved to when the question was asked ("-2%" → the price the question shows). Confirm then does
 * what the question said, not what the same words mean a minute later.
 */
export interface Confirmation {
  question: string;
  pin: ParsedArgs;
}

export const defineCommand = (c: CommandSpec): CommandSpec => c;

export function usage(c: CommandSpec): string {
  const a = (c.args ?? []).map((x) => {
    const label = x.choices && x.type === 'enum' ? x.choices.join('|') : x.name;
    return x.required ? `<${label}>` : `[${label}]`;
  });
  return [`/${c.name}`, ...a].join(' ');
}
