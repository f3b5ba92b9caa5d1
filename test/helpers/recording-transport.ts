// A ChatTransport that records what the bot posts: for tests of scheduled messages (reports).
import type { ChatTransport, Topic } from '../../src/chat/transport.ts';
import type { MessageRef, Reply } from '../../src/chat/types.ts';

export class RecordingTransport implements ChatTransport {
  readonly name = 'console' as const;
  readonly posts: Array<{ reply: Reply; topic: Topic }> = [];
  readonly edits: Array<{ ref: MessageRef; reply: Reply }> = [];

  async start(): Promise<void> {}
  async stop(): Promise<void> {}

  async broadcast(reply: Reply, topic: Topic): Promise<MessageRef[]> {
    this.posts.push({ reply, topic });
    return [{ transport: this.name, chatId: 'rec', messageId: String(this.posts.length) }];
  }

  async edit(ref: MessageRef, reply: Reply): Promise<void> {
    this.edits.push({ ref, reply });
  }
}
