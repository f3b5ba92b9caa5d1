// Where a broadcast goes, from the config alone (no chat library loaded): Discord's routes by alert type
// and severity, and whether anyone receives trade approvals at all.
import type { Config } from '../config/schema.ts';
import type { Topic } from './transport.ts';

type DiscordConfig = Config['chat']['discord'];

/** Channel ids whose route matches the topic (type or '*', and severity), each once, in table order. */
export function routeChannels(routes: DiscordConfig['routes'], topic: Topic): string[] {
  const out: string[] = [];
  for (const r of routes) {
    const typeOk = r.types.includes('*') || r.types.includes(topic.type);
    if (typeOk && r.severities.includes(topic.severity) && !out.includes(r.channelId)) out.push(r.channelId);
  }
  return out;
}

/** The topic a trade proposal is posted under (src/chat/approvals.ts). */
export const PROPOSAL_TOPIC: Topic = { type: 'approval_pending', severity: 'warning' };

/** Where trade proposals are posted: the console, Telegram's alert chats, Discord's matching routes. */
export function proposalReceivers(chat: Config['chat']): string[] {
  const out: string[] = [];
  if (chat.console.enabled) out.push('console');
  if (chat.telegram.enabled && chat.telegram.alertChats.length) out.push('Telegram alert chats');
  if (chat.discord.enabled && routeChannels(chat.discord.routes, PROPOSAL_TOPIC).length) out.push('Discord');
  return out;
}

/** Approvals on and nobody to ask: every proposal would expire unseen. The warning, or null. */
export function approvalsUnseen(chat: Config['chat'], mode: string): string | null {
  if (mode === 'off' || proposalReceivers(chat).length) return null;
  return 'Approvals are on but no chat receives the proposals (no console, no Telegram alert chat, no Discord route for approval_pending): every proposal will expire unanswered.';
}
