import { readFileSync } from 'node:fs';
import { ConfigError } from './errors.ts';
import { registerSecret } from '../core/logger.ts';

/** Secrets come only from the environment, never from the config file, and never reach logs or chat. */
export interface Secrets {
  exchangeApiKey?: string;
  exchangeApiSecret?: string;
  exchangeApiPassword?: string;
  telegramBotToken?: string;
  discordBotToken?: string;
  /** Self-hosted Bot API server (or a test fake); default api.telegram.org. */
  telegramApiRoot?: string;
  /** Discord REST root (tests point it at a local fake). */
  discordApiRoot?: string;
  /** Bearer token the metrics endpoint requires (optional). */
  metricsToken?: string;
  /** Telegram webhook mode: the secret token Telegram sends with every update. */
  telegramWebhookSecret?: string;
}

export function readSecrets(env: NodeJS.ProcessEnv = process.env): Secrets {
  const s: Secrets = {};
  // NAME, or the file named by NAME_FILE (Docker/compose secrets).
  const pick = (k: string): string | undefined => {
    if (env[k] && env[k]!.trim() !== '') return env[k]!.trim();
    const file = env[`${k}_FILE`]?.trim();
    if (!file) return undefined;
    try {
      return readFileSync(file, 'utf8').trim() || undefined;
    } catch (e) {
      // A config problem (exit 2), named by the variable to fix.
      throw new ConfigError('the environment', [
        `${k}_FILE: cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      ]);
    }
  };
  const set = <K extends keyof Secrets>(key: K, v: string | undefined, secret = true) => {
    if (v === undefined) return;
    s[key] = v;
    if (secret) registerSecret(v);
  };
  set('exchangeApiKey', pick('EXCHANGE_API_KEY'));
  set('exchangeApiSecret', pick('EXCHANGE_API_SECRET'));
  set('exchangeApiPassword', pick('EXCHANGE_API_PASSWORD'));
  set('telegramBotToken', pick('TELEGRAM_BOT_TOKEN'));
  set('discordBotToken', pick('DISCORD_BOT_TOKEN'));
  set('telegramApiRoot', pick('TELEGRAM_API_ROOT'), false);
  set('discordApiRoot', pick('DISCORD_API_ROOT'), false);
  set('metricsToken', pick('METRICS_TOKEN'));
  set('telegramWebhookSecret', pick('TELEGRAM_WEBHOOK_SECRET'));
  return s;
}
