import type { AlertSeverity, AlertType } from '../core/alerts.ts';
import type { MessageRef, Reply, TransportName } from './types.ts';

/** What an outbound message is about: transports route on it (Discord channels, Telegram chats). */
export interface Topic {
  type: AlertType;
  severity: AlertSeverity;
}

/** One place a transport posts to (a Telegram chat or forum topic, a Discord channel). */
export interface Destination {
  /** Unique within the transport, e.g. the chat or channel id. */
  id: string;
  /** Whether this destination's routing takes the topic. */
  accepts(topic: Topic): boolean;
  post(reply: Reply, topic: Topic): Promise<MessageRef>;
}

/**
 * A chat transport (console, Telegram, Discord). Inbound: it turns messages and button presses into
 * Dispatcher calls. Outbound: it posts notifications to its configured destinations and can edit
 * what it posted (proposal and confirmation prompts).
 */
export interface ChatTransport {
  readonly name: TransportName;
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Post to every destination routed for this topic. Returns what was posted, for later edits. */
  broadcast(reply: Reply, topic: Topic): Promise<MessageRef[]>;
  /** Replace a posted message's content (and buttons; an empty list removes them). */
  edit(ref: MessageRef, reply: Reply): Promise<void>;
  /** Its destinations, one by one (alerts are delivered and accounted per destination). */
  destinations?(): Destination[];
}

export interface BroadcastOutcome {
  transport: TransportName;
  refs: MessageRef[];
  /** The transport threw: nothing it was to post went out. */
  error?: unknown;
}

/** Fans outbound messages out to every transport; a failing transport never blocks the others. */
export class Notifier {
  private readonly transports: ChatTransport[] = [];

  constructor(private readonly onError: (transport: string, e: unknown) => void) {}

  add(t: ChatTransport): void {
    this.transports.push(t);
  }

  list(): readonly ChatTransport[] {
    return this.transports;
  }

  async broadcast(reply: Reply, topic: Topic): Promise<MessageRef[]> {
    return (await this.broadcastEach(reply, topic)).flatMap((r) => r.refs);
  }

  /** Each transport's outcome (`only`: these transports): what it posted, or why it posted nothing. */
  async broadcastEach(reply: Reply, topic: Topic, only?: ReadonlySet<string>): Promise<BroadcastOutcome[]> {
    return Promise.all(
      this.transports
        .filter((t) => only === undefined || only.has(t.name))
        .map(async (t): Promise<BroadcastOutcome> => {
          try {
            return { transport: t.name, refs: await t.broadcast(reply, topic) };
          } catch (e) {
            this.onError(t.name, e);
            return { transport: t.name, refs: [], error: e };
          }
        }),
    );
  }

  async edit(refs: readonly MessageRef[], reply: Reply): Promise<void> {
    await Promise.all(
      refs.map(async (ref) => {
        const t = this.transports.find((x) => x.name === ref.transport);
        if (!t) return;
        try {
          await t.edit(ref, reply);
        } catch (e) {
          this.onError(t.name, e);
        }
      }),
    );
  }
}
