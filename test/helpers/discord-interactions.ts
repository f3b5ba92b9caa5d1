// Raw Discord gateway payloads (INTERACTION_CREATE) for tests, injected into a real discord.js client.
import { DiscordTransport } from '../../src/chat/discord.ts';
import type { FakeDiscordApi, FakeMessage } from '../fakes/discord-api.ts';
import type { Harness } from './harness.ts';

export const DISCORD_GUILD = '2000000000000000001';
export const DISCORD_GENERAL = '3000000000000000001';

let tokenSeq = 0;
/** Display names of the test users (by id). */
export const NAMES: Record<string, string> = {};

export function member(userId: string, roles: string[]) {
  return {
    user: { id: userId, username: NAMES[userId] ?? 'someone', discriminator: '0', global_name: null, avatar: null },
    roles,
    permissions: '0',
    joined_at: new Date(0).toISOString(),
    deaf: false,
    mute: false,
    flags: 0,
  };
}

export function base(fake: FakeDiscordApi, type: number, userId: string, roles: string[], channelId = DISCORD_GENERAL) {
  return {
    id: fake.nextId(),
    application_id: fake.applicationId,
    type,
    // Real interaction tokens are long opaque strings.
    token: `itok${++tokenSeq}`.padEnd(64, 'x'),
    version: 1,
    guild_id: DISCORD_GUILD,
    channel_id: channelId,
    channel: { id: channelId, type: 0 },
    member: member(userId, roles),
    entitlements: [],
    locale: 'en-US',
    guild_locale: 'en-US',
    app_permissions: '0',
    authorizing_integration_owners: { '0': DISCORD_GUILD },
    context: 0,
  };
}

export type Opt = { name: string; type: number; value: string | number };
export const str = (name: string, value: string): Opt => ({ name, type: 3, value });

export const slashPayload = (fake: FakeDiscordApi, userId: string, name: string, options: Opt[] = [], roles: string[] = []) => ({
  ...base(fake, 2, userId, roles),
  data: { id: fake.nextId(), name, type: 1, options },
});

export const buttonPayload = (fake: FakeDiscordApi, userId: string, customId: string, message: FakeMessage, roles: string[] = []) => ({
  ...base(fake, 3, userId, roles, message.channel_id.startsWith('interaction:') ? DISCORD_GENERAL : message.channel_id),
  data: { custom_id: customId, component_type: 2 },
  message: fake.apiMessage(message),
});

/** Inject a raw INTERACTION_CREATE into the transport's discord.js client; resolves once it is answered. */
export async function inject(to: Harness | DiscordTransport, raw: { id: string }): Promise<void> {
  const d = to instanceof DiscordTransport ? to : to.bot.discord!;
  // What the gateway's INTERACTION_CREATE handler calls (discord.js client/websocket/handlers).
  (d.client as unknown as { actions: { InteractionCreate: { handle(x: unknown): void } } }).actions.InteractionCreate.handle(raw);
  await d.settled();
}

export const customIds = (rows: Array<{ components: Array<{ custom_id: string }> }>): string[] =>
  rows.flatMap((r) => r.components.map((c) => c.custom_id));
