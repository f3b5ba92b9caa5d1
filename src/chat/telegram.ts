// PLACEHOLDER — replaced by the Telegram transport (grammY).
import type { UserFromGetMe } from 'grammy/types';
import type { Config } from '../config/schema.ts';
import type { Logger } from '../core/logger.ts';
import type { CommandSpec } from './command.ts';
import type { Dispatcher } from './dispatcher.ts';
import type { ChatTransport, Topic } from './transport.ts';
import type { MessageRef, Reply } from './types.ts';

export interface TelegramOptions {
  token: string;
  /** Bot API root; default https://api.telegram.org (TELEGRAM_API_ROOT for self-hosted servers). */
  apiRoot?: string;
  config: Config['chat']['telegram'];
  dispatcher: Dispatcher;
  commands: CommandSpec[];
  log: Logger;
  /** Known bot identity: skips getMe (tests). */
  botInfo?: UserFromGetMe;
}

export class TelegramTransport implements ChatTransport {
  readonly name = 'telegram' as const;
  constructor(readonly opts: TelegramOptions) {}
  async start(): Promise<void> {
    throw new Error('Telegram transport not implemented yet');
  }
  async stop(): Promise<void> {}
  async broadcast(_reply: Reply, _topic: Topic): Promise<MessageRef[]> {
    return [];
  }
  async edit(_ref: MessageRef, _reply: Reply): Promise<void> {}
}
