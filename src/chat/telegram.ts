// The Telegram transport: grammY long polling in, HTML messages with inline keyboards out.
import { autoRetry } from '@grammyjs/auto-retry';
import { run, sequentialize, type RunnerHandle } from '@grammyjs/runner';
import { Bot, GrammyError, HttpError, InputFile, type Api, type Context } from 'grammy';
import type { InlineKeyboardButton, InlineKeyboardMarkup, Message, User, UserFromGetMe } from 'grammy/types';
import type { Config } from '../config/schema.ts';
import { UserError, errorMessage } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import { registerSecret, scrubSecrets } from '../core/logger.ts';
import type { CommandSpec } from './command.ts';
import { STALE_BUTTON, type ButtonResult, type Dispatcher } from './dispatcher.ts';
import type { ChatTransport, Destination, Topic } from './transport.ts';
import type { Button, ChatUser, MessageRef, Reply, Role } from './types.ts';
import { jumpsTheQueue } from './jumps-queue.ts';

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
  /** Webhook mode instead of long polling (src/ops/telegram-webhook.ts). */
  webhook?: TelegramWebhookMode;
}

/** Receives updates over a webhook instead of long polling. */
export interface TelegramWebhookMode {
  start(bot: Bot, allowedUpdates: Array<'message' | 'callback_query'>, signal?: AbortSignal): Promise<void>;
  stop(): Promise<void>;
}

// Bot API limits (https://core.telegram.org/bots/api).
export const MAX_TEXT = 4096;
export const MAX_CAPTION = 1024;
const MAX_CALLBACK_DATA = 64;
const MAX_TOAST = 200;
/** A very long reply becomes at most this many messages; the rest is cut with a note. */
const MAX_PARTS = 5;
const TRUNCATED = '\n… (truncated)';
export const HINT = 'Commands start with /. Try /help.';

export const escapeHtml = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Cut plain text into pieces whose HTML-escaped length fits `budget`, preferring line breaks. */
function pack(text: string, budget: number): string[] {
  // Escaped length without escaping: '&' → '&amp;' (+4), '<' / '>' → '&lt;' / '&gt;' (+3).
  const size = (s: string) => s.length + 4 * (s.match(/&/g)?.length ?? 0) + 3 * (s.match(/[<>]/g)?.length ?? 0);
  const parts: string[] = [];
  let cur: string[] = [];
  let curSize = -1; // size of cur joined with '\n'; -1 when empty
  const flush = () => {
    parts.push(cur.join('\n'));
    cur = [];
    curSize = -1;
  };
  for (const line of text.split('\n')) {
    const n = size(line);
    if (curSize >= 0 && curSize + 1 + n <= budget) {
      cur.push(line);
      curSize += 1 + n;
      continue;
    }
    if (curSize >= 0) flush();
    if (n <= budget) {
      cur = [line];
      curSize = n;
      continue;
    }
    // One line longer than a whole message: hard-split it (by code point, never inside an entity).
    let piece = '';
    let pieceSize = 0;
    for (const ch of line) {
      const c = size(ch);
      if (pieceSize + c > budget) {
        parts.push(piece);
        piece = '';
        pieceSize = 0;
      }
      piece += ch;
      pieceSize += c;
    }
    cur = [piece];
    curSize = pieceSize;
  }
  if (curSize >= 0 || parts.length === 0) flush();
  return parts;
}

/**
 * A Reply as Telegram HTML: escaped title in <b>, body escaped (in <pre> when mono), an optional
 * plain `lead` line before the body. Split into ≤ maxParts messages of ≤ limit characters each;
 * beyond that the text is truncated with a note.
 */
export function renderHtml(reply: Pick<Reply, 'title' | 'text' | 'mono'>, limit = MAX_TEXT, maxParts = MAX_PARTS, lead?: string): string[] {
  let head = reply.title ? `<b>${escapeHtml(reply.title)}</b>` : '';
  if (lead) head = head ? `${head}\n${escapeHtml(lead)}` : escapeHtml(lead);
  const body = reply.text.replace(/\s+$/, '');
  if (!body) return [truncateHtml(head || '(empty)', limit)];
  const [open, close] = reply.mono ? ['<pre>', '</pre>'] : ['', ''];
  const overhead = open.length + close.length;
  const headLen = head ? head.length + 1 : 0;
  // Budget of the first part is smaller by the heading; a heading too long for it is truncated.
  const build = (note: number) => {
    const [p0 = ''] = pack(body, Math.max(1, limit - overhead - headLen - note));
    // The rest, from where the first part ended (dropping the line break it was cut at).
    const rest = body.slice(p0.length).replace(/^\n/, '');
    return rest ? [p0, ...pack(rest, Math.max(1, limit - overhead - note))] : [p0];
  };
  let parts = build(0);
  let cut = false;
  if (parts.length > maxParts) {
    parts = build(TRUNCATED.length).slice(0, maxParts);
    cut = true;
  }
  return parts.map((p, i) => {
    const text = escapeHtml(p) + (cut && i === parts.length - 1 ? escapeHtml(TRUNCATED) : '');
    const html = `${open}${text}${close}`;
    return i === 0 && head ? truncateHtml(`${head}\n${html}`, limit) : html;
  });
}

/** Last resort for a heading that alone exceeds the limit (rare): cut outside tags and entities. */
function truncateHtml(html: string, limit: number): string {
  if (html.length <= limit) return html;
  // Only <b>, </b>, <pre>, </pre> and &amp;/&lt;/&gt; occur: cut, then drop a half tag or entity.
  let s = html
    .slice(0, limit - 1)
    .replace(/<[^>]*$/, '')
    .replace(/&[a-z]*$/, '');
  const openB = (s.match(/<b>/g) ?? []).length - (s.match(/<\/b>/g) ?? []).length;
  const openPre = (s.match(/<pre>/g) ?? []).length - (s.match(/<\/pre>/g) ?? []).length;
  s += '…';
  const closing = (openPre > 0 ? '</pre>' : '') + (openB > 0 ? '</b>' : '');
  return s.slice(0, limit - closing.length) + closing;
}

/** Buttons → inline keyboard rows. Payloads over Telegram's 64 bytes can't be sent and are dropped. */
export function keyboardRows(buttons: Button[][] | undefined, onDrop?: (b: Button) => void): InlineKeyboardButton[][] {
  const rows: InlineKeyboardButton[][] = [];
  for (const row of buttons ?? []) {
    const r: InlineKeyboardButton[] = [];
    for (const b of row) {
      const bytes = Buffer.byteLength(b.data, 'utf8');
      if (bytes === 0 || bytes > MAX_CALLBACK_DATA) onDrop?.(b);
      else r.push({ text: b.label, callback_data: b.data });
    }
    if (r.length) rows.push(r);
  }
  return rows;
}

const apiError = (e: unknown): { code?: number; description: string } =>
  e instanceof GrammyError
    ? { code: e.error_code, description: e.description }
    : e instanceof HttpError
      ? { description: e.message } // sensitiveLogs is off: no URL (and so no token) in it
      : { description: errorMessage(e) };

const isNotModified = (e: unknown) => e instanceof GrammyError && /message is not modified/i.test(e.description);
const isNoText = (e: unknown) => e instanceof GrammyError && /no text in the message/i.test(e.description);
/** Benign answers we handle ourselves: not worth a log line. */
const isBenign = (description: string) => /message is not modified|no text in the message/i.test(description);

/** An error safe to throw to callers that log it: a plain message, secrets scrubbed. */
const safeError = (e: unknown, what: string): Error => {
  const { code, description } = apiError(e);
  return new Error(scrubSecrets(`Telegram ${what} failed${code ? ` (${code})` : ''}: ${description}`));
};

type ChatId = number | string;
/** grammY types its signals with the abort-controller polyfill; Node's AbortSignal works at runtime. */
type Signal = NonNullable<Parameters<Api['getMe']>[0]>;
const sig = (s: AbortSignal): Signal => s as unknown as Signal;

/**
 * Telegram via grammY. Long polling through @grammyjs/runner: updates from different chats are
 * handled concurrently (a slow chart or venue call in one chat doesn't hold up an Approve press in
 * another), while `sequentialize` keeps each chat's commands in order. 429s are retried after
 * `retry_after` by @grammyjs/auto-retry. Everything rendered is escaped HTML.
 */
export class TelegramTransport implements ChatTransport {
  readonly name = 'telegram' as const;
  readonly bot: Bot;
  private readonly log: Logger;
  private readonly users: Map<string, Role>;
  private runner: RunnerHandle | undefined;
  private readonly inflight = new Set<Promise<unknown>>();
  /** Highest update id seen, and the id below which updates are duplicates of an earlier session. */
  private lastUpdateId = 0;
  private skipUpTo = 0;
  /** Outbound calls in flight, each with its own signal: stop() aborts them (and their retry waits). */
  private readonly calls = new Set<AbortController>();
  private closed = false;
  private retryTimer: NodeJS.Timeout | undefined;
  private stopping = false;
  private readonly webhook: TelegramWebhookMode | undefined;

  constructor(readonly opts: TelegramOptions) {
    registerSecret(opts.token);
    this.log = opts.log.child({ transport: 'telegram' });
    this.users = new Map(opts.config.users.map((u) => [u.id, u.role]));
    this.webhook = opts.webhook;
    const apiRoot = (opts.apiRoot ?? 'https://api.telegram.org').replace(/\/+$/, '');
    this.bot = new Bot(opts.token, {
      ...(opts.botInfo ? { botInfo: opts.botInfo } : {}),
      // The long poll must outlive its own `timeout`; other calls give up well before grammY's 500 s.
      client: { apiRoot, timeoutSeconds: opts.config.pollTimeoutSec + 30 },
    });
    // Outermost transformer last: failures are logged once, after auto-retry has had its go.
    this.bot.api.config.use(autoRetry({ maxRetryAttempts: 3, maxDelaySeconds: 60, rethrowHttpErrors: true }));
    this.bot.api.config.use(async (prev, method, payload, signal) => {
      try {
        const res = await prev(method, payload, signal);
        if (!res.ok && !isBenign(res.description)) {
          const chatId = (payload as { chat_id?: unknown } | undefined)?.chat_id;
          this.log.warn({ method, chatId, code: res.error_code, error: scrubSecrets(res.description) }, 'telegram call failed');
        }
        return res;
      } catch (e) {
        if (!signal?.aborted) this.log.warn({ method, error: scrubSecrets(apiError(e).description) }, 'telegram call failed');
        throw e;
      }
    });
    // Outermost: a signal per call. One long-lived signal shared by every call took an 'abort'
    // listener per concurrent call (MaxListenersExceededWarning under chat load).
    this.bot.api.config.use(async (prev, method, payload, signal) => {
      if (signal) return prev(method, payload, signal); // the runner's long poll brings its own
      const c = new AbortController();
      if (this.closed) c.abort();
      this.calls.add(c);
      try {
        return await prev(method, payload, sig(c.signal));
      } finally {
        this.calls.delete(c);
      }
    });

    this.bot.use(async (ctx, next) => {
      const id = ctx.update.update_id;
      if (id <= this.skipUpTo) return; // redelivered after a polling restart: already handled
      this.lastUpdateId = Math.max(this.lastUpdateId, id);
      const p = next();
      this.inflight.add(p);
      try {
        await p;
      } finally {
        this.inflight.delete(p);
      }
    });
    this.bot.use(sequentialize((ctx: Context) => (ctx.chat && !jumpsTheQueue(ctx.message?.text) ? String(ctx.chat.id) : undefined)));
    this.bot.on('message:text', (ctx) => this.onText(ctx));
    this.bot.on('callback_query', (ctx) => this.onButton(ctx));
    this.bot.catch((err) => {
      this.log.error(
        { updateId: err.ctx.update.update_id, error: scrubSecrets(apiError(err.error).description) },
        'telegram update failed',
      );
    });
  }

  // ---- lifecycle ----

  async start(): Promise<void> {
    this.stopping = false;
    try {
      await this.connect();
    } catch (e) {
      const { code, description } = apiError(e);
      if (code === 401 || code === 404) {
        throw new UserError(`Telegram rejected the bot token (${code}: ${scrubSecrets(description)}). Check TELEGRAM_BOT_TOKEN.`);
      }
      // Telegram unreachable: keep the bot running (trading doesn't depend on chat) and retry.
      this.log.error({ error: scrubSecrets(description) }, 'telegram unreachable at start; retrying in 15 s');
      this.retryLater(15_000);
    }
  }

  private async connect(): Promise<void> {
    // getMe, unless botInfo was given. Called directly: bot.init() retries network errors forever,
    // which would hang start(); we fail once and retry on our own schedule instead.
    if (!this.bot.isInited()) this.bot.botInfo = await this.bot.api.getMe();
    if (this.webhook) {
      await this.bot.api.setMyCommands(this.commandList(), {}).catch(() => {});
      return this.webhook.start(this.bot, ['message', 'callback_query']);
    }
    // Long polling and a webhook exclude each other; deleting a missing webhook is a no-op.
    await this.bot.api.deleteWebhook({ drop_pending_updates: false });
    await this.bot.api.setMyCommands(this.commandList(), {}).catch(() => {
      /* logged by the transformer; commands still work without the menu */
    });
    this.poll();
  }

  /** The command menu: Telegram wants lowercase names (≤ 32) and descriptions of 3–256 chars. */
  commandList(): Array<{ command: string; description: string }> {
    const out: Array<{ command: string; description: string }> = [];
    for (const c of this.opts.commands) {
      const command = c.name.toLowerCase();
      if (!/^[a-z0-9_]{1,32}$/.test(command)) {
        this.log.warn({ command: c.name }, 'command name not allowed by Telegram; left out of the menu');
        continue;
      }
      let description = c.description.trim().slice(0, 256);
      if (description.length < 3) description = `/${command}`.padEnd(3, '.');
      out.push({ command, description });
    }
    return out.slice(0, 100);
  }

  private poll(): void {
    if (this.stopping) return;
    this.skipUpTo = this.lastUpdateId;
    const handle = run(this.bot, {
      runner: {
        fetch: { timeout: this.opts.config.pollTimeoutSec, allowed_updates: ['message', 'callback_query'] },
        // The runner would print fetch errors with console.error; the API transformer logs them.
        silent: true,
        retryInterval: 'quadratic',
      },
    });
    this.runner = handle;
    handle.task()?.catch((e: unknown) => {
      if (this.stopping || this.runner !== handle) return;
      this.runner = undefined;
      const { code, description } = apiError(e);
      const why = code === 409 ? 'another process is polling with this token, or a webhook is set' : scrubSecrets(description);
      if (code === 401) {
        this.log.error({ error: why }, 'telegram polling stopped: the bot token was rejected');
        return;
      }
      this.log.error({ error: why }, 'telegram polling stopped; restarting in 30 s');
      this.retryLater(30_000);
    });
  }

  private retryLater(ms: number): void {
    if (this.stopping) return;
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      this.connect().catch((e: unknown) => {
        this.log.error({ error: scrubSecrets(apiError(e).description) }, 'telegram still unreachable; retrying');
        this.retryLater(Math.min(ms * 2, 300_000));
      });
    }, ms);
    this.retryTimer.unref();
  }

  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    clearTimeout(this.retryTimer);
    const handle = this.runner;
    this.runner = undefined;
    if (handle) await handle.stop().catch(() => {}); // aborts the pending long poll
    await this.webhook?.stop();
    // Let handlers that are mid-way finish (they may write to the journal), but not forever.
    if (this.inflight.size) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([Promise.allSettled([...this.inflight]), new Promise((r) => (timer = setTimeout(r, 5000)))]);
      clearTimeout(timer);
    }
    // Confirm what we handled, so a restart doesn't see those updates again.
    if (handle && this.lastUpdateId > 0) {
      const ac = new AbortController();
      const t = setTimeout(() => ac.abort(), 2000);
      await this.bot.api.getUpdates({ offset: this.lastUpdateId + 1, limit: 1, timeout: 0 }, sig(ac.signal)).catch(() => {});
      clearTimeout(t);
    }
    this.closed = true;
    for (const c of this.calls) c.abort();
  }

  // ---- inbound ----

  /** Who is talking: role from the allow-list (Telegram user id), null for strangers. */
  chatUser(from: User): ChatUser {
    const id = String(from.id);
    const name = from.username ?? from.first_name;
    return { transport: 'telegram', id, ...(name ? { name } : {}), role: this.users.get(id) ?? null };
  }

  /** Config reload: the allow-list read again from `opts.config.users`. */
  reloadUsers(): void {
    this.users.clear();
    for (const u of this.opts.config.users) this.users.set(u.id, u.role);
  }

  private async onText(ctx: Context): Promise<void> {
    const msg = ctx.message;
    if (!msg?.text || !msg.from || msg.from.is_bot) return;
    const user = this.chatUser(msg.from);
    const thread = msg.is_topic_message ? msg.message_thread_id : undefined;
    let text = msg.text.trim();
    if (!text.startsWith('/')) {
      // Group chatter isn't addressed to us; in a private chat, strangers get the refusal (once).
      if (msg.chat.type !== 'private') return;
      const r = user.role ? { text: HINT } : await this.opts.dispatcher.handleText(user, text);
      if (r) await this.reply(msg.chat.id, r, thread);
      return;
    }
    // "/status@OtherBot" in a group is for another bot.
    const at = /^\/[^\s@]*@(\S+)/.exec(text)?.[1];
    if (at && at.toLowerCase() !== this.bot.botInfo.username.toLowerCase()) return;
    // Telegram clients send /start when a chat with the bot is opened.
    if (/^\/start(@\S+)?$/i.test(text) && !this.opts.commands.some((c) => c.name === 'start')) text = '/help';
    const reply = await this.opts.dispatcher.handleText(user, text);
    // A file for the asker (a backup) goes to their private chat, not to the group.
    if (reply?.document && msg.chat.type !== 'private') return this.sendPrivately(msg.chat.id, msg.from.id, reply, thread);
    if (reply) await this.reply(msg.chat.id, reply, thread);
  }

  private async sendPrivately(groupId: ChatId, userId: number, reply: Reply, thread: number | undefined): Promise<void> {
    const sent = await this.post(userId, reply).then(
      () => true,
      () => false,
    );
    const text = sent
      ? 'Sent to you in a private chat.'
      : 'I could not message you privately: open a chat with me, press Start, and ask again there.';
    await this.reply(groupId, { text }, thread);
  }

  private async onButton(ctx: Context): Promise<void> {
    const q = ctx.callbackQuery;
    if (!q) return;
    const user = this.chatUser(q.from);
    let result: ButtonResult;
    try {
      result = q.data ? await this.opts.dispatcher.handleButton(user, q.data) : { toast: STALE_BUTTON };
    } catch (e) {
      this.log.error({ error: scrubSecrets(errorMessage(e)) }, 'button handling failed');
      result = { toast: 'That did not work; check /status.' };
    }
    // Always answer, or the client keeps a spinner on the button.
    await ctx.answerCallbackQuery(result.toast ? { text: result.toast.slice(0, MAX_TOAST) } : {}).catch(() => {});
    const m = q.message;
    // An inaccessible (too old) message has date 0 and can't be edited.
    if (result.edit && m && m.date !== 0) {
      await this.editMessage(m.chat.id, m.message_id, result.edit, 'photo' in m && !!m.photo).catch(() => {});
    }
    if (result.reply && m) {
      const thread = 'is_topic_message' in m && m.is_topic_message ? m.message_thread_id : undefined;
      await this.reply(m.chat.id, result.reply, thread);
    }
  }

  /** An answer in the chat it was asked in. Failures are logged by the API transformer. */
  private async reply(chatId: ChatId, reply: Reply, thread: number | undefined): Promise<void> {
    await this.post(chatId, reply, thread).catch(() => {});
  }

  // ---- outbound ----

  /**
   * Send a reply; returns the message that carries the buttons (the last one when the text was
   * split), which is the one later edits replace.
   */
  private async post(chatId: ChatId, reply: Reply, thread?: number): Promise<Message> {
    const base = { parse_mode: 'HTML' as const, ...(thread !== undefined ? { message_thread_id: thread } : {}) };
    const rows = keyboardRows(reply.buttons, (b) => this.log.warn({ label: b.label }, 'button payload over 64 bytes; left out'));
    const markup: { reply_markup?: InlineKeyboardMarkup } = rows.length ? { reply_markup: { inline_keyboard: rows } } : {};
    const sendText = async (r: Reply): Promise<Message> => {
      const parts = renderHtml(r);
      let last: Message | undefined;
      for (const [i, html] of parts.entries()) {
        const isLast = i === parts.length - 1;
        last = await this.bot.api.sendMessage(chatId, html, {
          ...base,
          link_preview_options: { is_disabled: true },
          ...(isLast ? markup : {}),
        });
      }
      return last!;
    };
    if (reply.document) {
      const file = new InputFile(reply.document.data, reply.document.filename);
      const caption = renderHtml(reply, MAX_CAPTION, 1)[0]!;
      return this.bot.api.sendDocument(chatId, file, { ...base, caption, ...markup });
    }
    if (!reply.image) return sendText(reply);

    const photo = new InputFile(reply.image.png, reply.image.filename);
    const caption = renderHtml(reply, MAX_CAPTION, 2, reply.image.caption);
    if (caption.length === 1) return this.bot.api.sendPhoto(chatId, photo, { ...base, caption: caption[0]!, ...markup });
    // Too long for a caption: the picture with its heading, then the text as message(s).
    const head =
      reply.title || reply.image.caption
        ? renderHtml({ text: '', ...(reply.title ? { title: reply.title } : {}) }, MAX_CAPTION, 1, reply.image.caption)[0]
        : undefined;
    await this.bot.api.sendPhoto(chatId, photo, { ...base, ...(head ? { caption: head } : {}) });
    const { title: _t, image: _i, ...rest } = reply;
    return sendText(rest);
  }

  /** Post to every alert chat (Telegram has no per-topic routing: all chats get everything). */
  async broadcast(reply: Reply, _topic: Topic): Promise<MessageRef[]> {
    const chats = this.opts.config.alertChats;
    const results = await Promise.allSettled(chats.map((c) => this.post(c.chatId, reply, c.topicId)));
    const refs: MessageRef[] = [];
    let firstError: unknown;
    results.forEach((r, i) => {
      if (r.status === 'fulfilled') refs.push({ transport: 'telegram', chatId: chats[i]!.chatId, messageId: String(r.value.message_id) });
      else firstError ??= r.reason;
    });
    if (refs.length === 0 && firstError !== undefined) throw safeError(firstError, 'broadcast');
    return refs;
  }

  /** Each alert chat (or forum topic) on its own; Telegram has no per-type routing. */
  destinations(): Destination[] {
    return this.opts.config.alertChats.map((c) => ({
      id: c.topicId !== undefined ? `${c.chatId}/${c.topicId}` : c.chatId,
      accepts: () => true,
      post: async (reply: Reply) => {
        try {
          const m = await this.post(c.chatId, reply, c.topicId);
          return { transport: 'telegram' as const, chatId: c.chatId, messageId: String(m.message_id) };
        } catch (e) {
          throw safeError(e, 'post');
        }
      },
    }));
  }

  async edit(ref: MessageRef, reply: Reply): Promise<void> {
    const id = Number(ref.messageId);
    if (!Number.isInteger(id)) throw new Error(`Telegram edit: bad message id ${ref.messageId}`);
    await this.editMessage(ref.chatId, id, reply, false);
  }

  /** Replace a message's text (or caption) and keyboard; no buttons removes the keyboard. */
  private async editMessage(chatId: ChatId, messageId: number, reply: Reply, photo: boolean): Promise<void> {
    const reply_markup: InlineKeyboardMarkup = { inline_keyboard: keyboardRows(reply.buttons) };
    try {
      if (photo) {
        const caption = renderHtml(reply, MAX_CAPTION, 1, reply.image?.caption)[0]!;
        await this.bot.api.editMessageCaption(chatId, messageId, { caption, parse_mode: 'HTML', reply_markup });
      } else {
        const html = renderHtml(reply, MAX_TEXT, 1)[0]!;
        await this.bot.api.editMessageText(chatId, messageId, html, {
          parse_mode: 'HTML',
          reply_markup,
          link_preview_options: { is_disabled: true },
        });
      }
    } catch (e) {
      if (isNotModified(e)) return;
      if (!photo && isNoText(e)) return this.editMessage(chatId, messageId, reply, true); // it was a photo
      throw safeError(e, 'edit');
    }
  }
}
