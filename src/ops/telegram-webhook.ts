// Telegram webhook mode: Telegram POSTs each update to `chat.telegram.webhook.url` (a reverse proxy
// forwards it to `listen`), with the secret token in X-Telegram-Bot-Api-Secret-Token. Every request
// is checked here before its body is read, and again by grammY's `webhookCallback`; anything else
// is refused and never reaches the dispatcher.
import { webhookCallback, type Bot } from 'grammy';
import { UserError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { listen, secretMatches, send, type Listening } from './http-listener.ts';

export interface WebhookSettings {
  url: string;
  listen: { host: string; port: number };
  secretToken: string;
}

const SECRET_HEADER = 'x-telegram-bot-api-secret-token';
/** Telegram's updates are small; anything bigger is not from Telegram. */
const MAX_BODY = 1_000_000;
/** Answer Telegram before its own timeout; a slow command finishes in the background. */
const ANSWER_WITHIN_MS = 8_000;
/** Telegram's rule for secret_token. */
export const SECRET_TOKEN = /^[A-Za-z0-9_-]{1,256}$/;

export class TelegramWebhook {
  private server: Listening | undefined;
  /** Requests refused for a missing or wrong secret (tests, /health). */
  refused = 0;

  constructor(
    private readonly s: WebhookSettings,
    private readonly log: Logger,
  ) {
    if (!SECRET_TOKEN.test(s.secretToken))
      throw new UserError('TELEGRAM_WEBHOOK_SECRET must be 1–256 characters of A–Z, a–z, 0–9, _ and -');
  }

  get port(): number | undefined {
    return this.server?.port;
  }

  /** Listen, then tell Telegram where to post (with the secret). */
  async start(bot: Bot, allowedUpdates: Array<'message' | 'callback_query'>, signal?: AbortSignal): Promise<void> {
    if (!this.server) {
      const path = new URL(this.s.url).pathname || '/';
      const handle = webhookCallback(bot, 'http', {
        secretToken: this.s.secretToken,
        onTimeout: 'return',
        timeoutMilliseconds: ANSWER_WITHIN_MS,
      });
      const r = await listen(
        this.s.listen.host,
        this.s.listen.port,
        (req, res) => {
          const at = (req.url ?? '/').split('?')[0];
          if (req.method !== 'POST') return send(res, 405, 'method not allowed\n', { allow: 'POST' });
          if (at !== path) return send(res, 404, 'not found\n');
          const presented = req.headers[SECRET_HEADER];
          if (!secretMatches(Array.isArray(presented) ? presented[0] : presented, this.s.secretToken)) {
            this.refused++;
            this.log.warn(
              { from: req.socket.remoteAddress, secret: presented === undefined ? 'missing' : 'wrong' },
              'telegram webhook request refused',
            );
            req.resume();
            return send(res, 401, 'unauthorized\n');
          }
          if (Number(req.headers['content-length'] ?? 0) > MAX_BODY) {
            req.resume();
            return send(res, 413, 'too large\n');
          }
          handle(req, res).catch((e: unknown) => {
            this.log.warn({ error: (e as Error).message }, 'telegram webhook update not handled');
            if (!res.headersSent) send(res, 400, 'bad update\n');
          });
        },
        `Telegram webhook listener on ${this.s.listen.host}:${this.s.listen.port}`,
      );
      if ('error' in r) throw new Error(r.error);
      this.server = r;
      this.log.info({ host: this.s.listen.host, port: r.port, path }, 'telegram webhook listening');
    }
    await bot.api.setWebhook(
      this.s.url,
      { secret_token: this.s.secretToken, allowed_updates: allowedUpdates, drop_pending_updates: false },
      signal as never,
    );
  }

  async stop(): Promise<void> {
    await this.server?.close();
    this.server = undefined;
  }
}
