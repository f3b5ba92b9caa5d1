// Which chat transports run, said once at start-up: a token in the environment for a transport the
// config leaves off is almost always a forgotten `enabled: true`, so it gets a warning. (A transport
// on without its token stops the bot at start: see Bot.)
import type { Config } from '../config/schema.ts';
import type { Secrets } from '../config/env.ts';
import { counted } from '../core/format.ts';

export interface TransportSummary {
  /** e.g. "console (admin)", "Telegram (2 users, 1 alert chat)". */
  running: string[];
  off: string[];
  warnings: string[];
}

export function transportSummary(chat: Config['chat'], secrets: Secrets): TransportSummary {
  const out: TransportSummary = { running: [], off: [], warnings: [] };
  if (chat.console.enabled) out.running.push(`console (${chat.console.role})`);
  else out.off.push('console');
  const t = chat.telegram;
  if (t.enabled) out.running.push(`Telegram (${counted(t.users.length, 'user')}, ${counted(t.alertChats.length, 'alert chat')})`);
  else {
    out.off.push('Telegram');
    if (secrets.telegramBotToken)
      out.warnings.push(
        'TELEGRAM_BOT_TOKEN is set but chat.telegram.enabled is not true: Telegram is OFF. Set chat.telegram.enabled: true to use it.',
      );
  }
  const d = chat.discord;
  if (d.enabled) out.running.push(`Discord (${counted(d.guildIds.length, 'guild')}, ${counted(d.routes.length, 'alert route')})`);
  else {
    out.off.push('Discord');
    if (secrets.discordBotToken)
      out.warnings.push(
        'DISCORD_BOT_TOKEN is set but chat.discord.enabled is not true: Discord is OFF. Set chat.discord.enabled: true to use it.',
      );
  }
  return out;
}

/** "Chat: console (admin), Telegram (…); off: Discord" */
export function transportLine(s: TransportSummary): string {
  const on = s.running.length ? s.running.join(', ') : 'none (headless: alerts and reports are only journaled)';
  return `Chat: ${on}${s.off.length ? `; off: ${s.off.join(', ')}` : ''}`;
}
