// PLACEHOLDER — replaced by the Discord transport (discord.js).
import type { Config } from '../config/schema.ts';
import type { Logger } from '../core/logger.ts';
import type { CommandSpec } from './command.ts';
import type { Dispatcher } from './dispatcher.ts';
import type { ChatTransport, Topic } from './transport.ts';
import type { MessageRef, Reply } from './types.ts';

export interface DiscordOptions {
  token: string;
  /** REST API root; default Discord's (DISCORD_API_ROOT points tests at a fake). */
  apiRoot?: string;
  config: Config['chat']['discord'];
  dispatcher: Dispatcher;
  commands: CommandSpec[];
  log: Logger;
  /** Connect to the gateway (default true). Tests inject interactions instead. */
  gateway?: boolean;
}

export class DiscordTransport implements ChatTransport {
  readonly name = 'discord' as const;
  constructor(readonly opts: DiscordOptions) {}
  async start(): Promise<void> {
    throw new Error('Discord transport not implemented yet');
  }
  async stop(): Promise<void> {}
  async registerCommands(): Promise<void> {}
  async broadcast(_reply: Reply, _topic: Topic): Promise<MessageRef[]> {
    return [];
  }
  async edit(_ref: MessageRef, _reply: Reply): Promise<void> {}
}
