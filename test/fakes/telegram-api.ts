// A local fake of the Telegram Bot API on 127.0.0.1, so the real grammY client can be tested without
// the network. Point grammY at it with `client: { apiRoot: fake.url }` (Skipper: TELEGRAM_API_ROOT).
//
// It serves `POST /bot<token>/<method>` with JSON or multipart bodies (as grammY sends them), checks
// what the real API checks where it matters to us (HTML entities, 4096/1024 limits, 64-byte
// callback_data, command names), records every call, and keeps the messages it "sent" so button
// presses and edits refer to real message ids. getUpdates long-polls like the real thing: it answers
// as soon as updates are queued, or with [] after `timeout` seconds; `offset` confirms updates.
//
// Tests inject updates with `sendText` / `pressButton`, wait with `waitFor`, and make the next N
// calls of a method fail with 429 via `rateLimit`. A wrong token gets 401, a malformed path 404.
// After `setWebhook` it POSTs each update to the webhook URL with the secret token header, like
// Telegram (getUpdates then answers 409), until `deleteWebhook`; `webhookDeliveries` records them.

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { UserFromGetMe } from 'grammy/types';

export interface FakeCall {
  seq: number;
  method: string;
  /** The request path, token included (the only place the token may appear). */
  path: string;
  /** Parsed body: JSON as sent; multipart fields as strings (JSON-looking values parsed). */
  body: Record<string, unknown>;
  /** The raw request body (latin1), for leak checks. */
  raw: string;
  /** Names of uploaded files (multipart). */
  files: string[];
  status: number;
  response: unknown;
}

export interface FakeUser {
  id: number;
  first_name: string;
  username?: string;
}

interface StoredMessage {
  message_id: number;
  date: number;
  chat: { id: number; type: string; title?: string; first_name?: string };
  from: { id: number; is_bot: true; first_name: string; username: string };
  text?: string;
  caption?: string;
  photo?: Array<{ file_id: string; file_unique_id: string; width: number; height: number }>;
  document?: { file_id: string; file_unique_id: string; file_name: string };
  reply_markup?: { inline_keyboard: Array<Array<{ text: string; callback_data?: string }>> };
  message_thread_id?: number;
  is_topic_message?: boolean;
}

interface Waiter {
  offset: number;
  limit: number;
  res: ServerResponse;
  call: FakeCall;
  timer: NodeJS.Timeout;
}

export const BOT_INFO: UserFromGetMe = {
  id: 4242,
  is_bot: true,
  first_name: 'Skipper',
  username: 'skipper_test_bot',
  can_join_groups: true,
  can_read_all_group_messages: false,
  supports_inline_queries: false,
  can_connect_to_business: false,
  has_main_web_app: false,
  has_topics_enabled: false,
  allows_users_to_create_topics: false,
  can_manage_bots: false,
  supports_join_request_queries: false,
};

const ALLOWED_TAGS = new Set([
  'b',
  'strong',
  'i',
  'em',
  'u',
  'ins',
  's',
  'strike',
  'del',
  'span',
  'tg-spoiler',
  'a',
  'code',
  'pre',
  'blockquote',
  'tg-emoji',
]);

/** Telegram's HTML parse mode, strictly enough to catch unescaped text: returns the plain text or an error. */
export function parseTelegramHtml(html: string): { ok: true; text: string } | { ok: false; error: string } {
  const stack: string[] = [];
  let text = '';
  let i = 0;
  while (i < html.length) {
    const c = html[i]!;
    if (c === '<') {
      const end = html.indexOf('>', i);
      if (end < 0) return { ok: false, error: `Can't find end of the tag at byte offset ${i}` };
      const tag = html.slice(i + 1, end).trim();
      const closing = tag.startsWith('/');
      const name = (closing ? tag.slice(1) : tag).split(/\s/)[0]!.toLowerCase();
      if (!ALLOWED_TAGS.has(name))
        return { ok: false, error: `Unsupported ${closing ? 'end' : 'start'} tag "${name}" at byte offset ${i}` };
      if (closing) {
        if (stack.pop() !== name)
          return { ok: false, error: `Unmatched end tag at byte offset ${i}, expected "</${stack.at(-1) ?? ''}>", found "</${name}>"` };
      } else stack.push(name);
      i = end + 1;
    } else if (c === '&') {
      const m = /^&(lt|gt|amp|quot|#\d+|#x[0-9a-f]+);/i.exec(html.slice(i));
      if (!m) return { ok: false, error: `Character entity expected at byte offset ${i}` };
      const e = m[1]!.toLowerCase();
      text +=
        e === 'lt'
          ? '<'
          : e === 'gt'
            ? '>'
            : e === 'amp'
              ? '&'
              : e === 'quot'
                ? '"'
                : String.fromCodePoint(e.startsWith('#x') ? parseInt(e.slice(2), 16) : Number(e.slice(1)));
      i += m[0].length;
    } else {
      text += c;
      i++;
    }
  }
  if (stack.length) return { ok: false, error: `Can't find end tag corresponding to start tag "${stack.at(-1)}"` };
  return { ok: true, text };
}

class ApiFailure extends Error {
  constructor(
    readonly code: number,
    readonly description: string,
    readonly parameters?: Record<string, unknown>,
  ) {
    super(description);
  }
}
const bad = (description: string) => new ApiFailure(400, `Bad Request: ${description}`);

export class FakeTelegram {
  url = '';
  readonly calls: FakeCall[] = [];
  readonly messages = new Map<number, StoredMessage>();
  private readonly server: Server;
  private readonly users = new Map<number, FakeUser>();
  private updates: Array<{ update_id: number } & Record<string, unknown>> = [];
  private waiters: Waiter[] = [];
  private callWaiters: Array<() => void> = [];
  private readonly limits = new Map<string, { n: number; retryAfter: number }>();
  private nextUpdateId = 1000;
  /** Set by setWebhook: updates are POSTed there instead of being queued for getUpdates. */
  webhook: { url: string; secret?: string } | undefined;
  readonly webhookDeliveries: Array<{ updateId: number; status: number }> = [];
  private nextMessageId = 1;
  private nextCallbackId = 1;
  private seq = 0;

  private constructor(readonly token: string) {
    this.server = createServer((req, res) => void this.handle(req, res));
  }

  static async start(token: string): Promise<FakeTelegram> {
    const f = new FakeTelegram(token);
    await new Promise<void>((r) => f.server.listen(0, '127.0.0.1', r));
    f.url = `http://127.0.0.1:${(f.server.address() as AddressInfo).port}`;
    return f;
  }

  async close(): Promise<void> {
    for (const w of this.waiters) clearTimeout(w.timer);
    this.waiters = [];
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server.close(() => r()));
  }

  // ---- test controls ----

  addUser(u: FakeUser): void {
    this.users.set(u.id, u);
  }

  private user(id: number): FakeUser {
    return this.users.get(id) ?? { id, first_name: `User${id}` };
  }

  private chatOf(chatId: number, u?: FakeUser): StoredMessage['chat'] {
    return chatId > 0
      ? { id: chatId, type: 'private', first_name: u?.first_name ?? `User${chatId}` }
      : { id: chatId, type: 'supergroup', title: `Group ${chatId}` };
  }

  /** A user types `text`; in their private chat unless `chatId` (negative: a group) is given. */
  sendText(userId: number, text: string, opts: { chatId?: number; threadId?: number } = {}): number {
    const from = { is_bot: false, ...this.user(userId) };
    const chatId = opts.chatId ?? userId;
    const cmd = /^\/\S+/.exec(text);
    const message: Record<string, unknown> = {
      message_id: this.nextMessageId++,
      date: Math.floor(Date.now() / 1000),
      chat: this.chatOf(chatId, from),
      from,
      text,
      ...(cmd ? { entities: [{ type: 'bot_command', offset: 0, length: cmd[0].length }] } : {}),
      ...(opts.threadId !== undefined ? { message_thread_id: opts.threadId, is_topic_message: true } : {}),
    };
    return this.push({ message });
  }

  /** A user presses an inline button (any payload: forged ones too) under a message the bot sent. */
  pressButton(userId: number, messageId: number, data: string): string {
    const msg = this.messages.get(messageId);
    if (!msg) throw new Error(`fake telegram: no message ${messageId}`);
    const id = String(this.nextCallbackId++);
    this.push({
      callback_query: {
        id,
        from: { is_bot: false, ...this.user(userId) },
        message: structuredClone(msg),
        chat_instance: `ci${msg.chat.id}`,
        data,
      },
    });
    return id;
  }

  /** The next `n` calls of `method` get 429 with retry_after. */
  rateLimit(method: string, n: number, retryAfter = 1): void {
    this.limits.set(method, { n, retryAfter });
  }

  callsOf(method: string): FakeCall[] {
    return this.calls.filter((c) => c.method === method);
  }

  /** Resolves with the first call (from index `after` on) of `method` that matches. */
  async waitFor(
    method: string | string[],
    pred: (c: FakeCall) => boolean = () => true,
    opts: { after?: number; timeoutMs?: number } = {},
  ): Promise<FakeCall> {
    const methods = Array.isArray(method) ? method : [method];
    const find = () => this.calls.find((c) => c.seq >= (opts.after ?? 0) && methods.includes(c.method) && pred(c));
    const deadline = Date.now() + (opts.timeoutMs ?? 5000);
    for (;;) {
      const hit = find();
      if (hit) return hit;
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(`fake telegram: timed out waiting for ${methods.join('/')}; calls: ${this.calls.map((c) => c.method).join(', ')}`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.callWaiters.push(() => {
          clearTimeout(t);
          r();
        });
      });
    }
  }

  /** The sequence number the next recorded call will get (for `waitFor(..., { after })`). */
  get mark(): number {
    return this.seq;
  }

  // ---- server ----

  private push(u: Record<string, unknown>): number {
    const update_id = this.nextUpdateId++;
    if (this.webhook) {
      void this.postToWebhook(this.webhook, { update_id, ...u });
      return update_id;
    }
    this.updates.push({ update_id, ...u });
    this.serveWaiters();
    return update_id;
  }

  private async postToWebhook(w: { url: string; secret?: string }, update: Record<string, unknown> & { update_id: number }): Promise<void> {
    let status = 0;
    try {
      const res = await fetch(w.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(w.secret ? { 'x-telegram-bot-api-secret-token': w.secret } : {}) },
        body: JSON.stringify(update),
      });
      await res.arrayBuffer();
      status = res.status;
    } catch {
      status = -1;
    }
    this.webhookDeliveries.push({ updateId: update.update_id, status });
  }

  private pending(offset: number, limit: number) {
    return this.updates.filter((u) => u.update_id >= offset).slice(0, limit);
  }

  private serveWaiters(): void {
    for (const w of [...this.waiters]) {
      const batch = this.pending(w.offset, w.limit);
      if (!batch.length) continue;
      clearTimeout(w.timer);
      this.waiters = this.waiters.filter((x) => x !== w);
      this.respond(w.res, w.call, 200, { ok: true, result: batch });
    }
  }

  private record(c: Omit<FakeCall, 'seq' | 'status' | 'response'>): FakeCall {
    const call: FakeCall = { seq: this.seq++, status: 0, response: undefined, ...c };
    this.calls.push(call);
    return call;
  }

  private respond(res: ServerResponse, call: FakeCall | undefined, status: number, body: unknown): void {
    if (call) {
      call.status = status;
      call.response = body;
      const w = this.callWaiters;
      this.callWaiters = [];
      for (const f of w) f();
    }
    if (res.writableEnded || res.destroyed) return;
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    try {
      await this.serve(req, res);
    } catch (e) {
      // A bug in the fake: answer (so the client doesn't hang) and make it visible.
      this.respond(res, undefined, 500, { ok: false, error_code: 500, description: `fake telegram: ${String(e)}` });
      throw e;
    }
  }

  private async serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const buf = Buffer.concat(chunks);
    const path = (req.url ?? '').split('?')[0]!;
    const m = /^\/bot([^/]+)\/([A-Za-z]+)$/.exec(path);
    // Like the real API: a malformed path is 404, a well-formed but wrong token 401.
    if (!m) return this.respond(res, undefined, 404, { ok: false, error_code: 404, description: 'Not Found' });
    if (m[1] !== this.token) return this.respond(res, undefined, 401, { ok: false, error_code: 401, description: 'Unauthorized' });
    const method = m[2]!;
    const { body, files } = await parseBody(req.headers['content-type'] ?? '', buf);
    const call = this.record({ method, path, body, raw: buf.toString('latin1'), files });

    const limit = this.limits.get(method);
    if (limit && limit.n > 0) {
      limit.n--;
      const description = `Too Many Requests: retry after ${limit.retryAfter}`;
      return this.respond(res, call, 429, { ok: false, error_code: 429, description, parameters: { retry_after: limit.retryAfter } });
    }
    try {
      if (method === 'getUpdates' && this.webhook) {
        const description = "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first";
        return this.respond(res, call, 409, { ok: false, error_code: 409, description });
      }
      if (method === 'getUpdates') return this.getUpdates(req, res, call, body);
      const result = this.dispatch(method, body, files);
      this.respond(res, call, 200, { ok: true, result });
    } catch (e) {
      if (!(e instanceof ApiFailure)) throw e;
      this.respond(res, call, e.code, {
        ok: false,
        error_code: e.code,
        description: e.description,
        ...(e.parameters ? { parameters: e.parameters } : {}),
      });
    }
  }

  private getUpdates(req: IncomingMessage, res: ServerResponse, call: FakeCall, body: Record<string, unknown>): void {
    const offset = Number(body.offset ?? 0);
    const limit = Math.min(100, Math.max(1, Number(body.limit ?? 100)));
    const timeout = Math.max(0, Number(body.timeout ?? 0));
    // `offset` confirms every update below it.
    if (offset > 0) this.updates = this.updates.filter((u) => u.update_id >= offset);
    const batch = this.pending(offset, limit);
    if (batch.length || timeout === 0) return this.respond(res, call, 200, { ok: true, result: batch });
    const w: Waiter = {
      offset,
      limit,
      res,
      call,
      timer: setTimeout(() => {
        this.waiters = this.waiters.filter((x) => x !== w);
        this.respond(res, call, 200, { ok: true, result: [] });
      }, timeout * 1000),
    };
    this.waiters.push(w);
    // The client gave up (grammY aborts the long poll on stop).
    res.on('close', () => {
      if (!res.writableEnded) {
        clearTimeout(w.timer);
        this.waiters = this.waiters.filter((x) => x !== w);
      }
    });
    void req;
  }

  private dispatch(method: string, b: Record<string, unknown>, files: string[]): unknown {
    switch (method) {
      case 'getMe':
        return BOT_INFO;
      case 'setWebhook': {
        if (typeof b.url !== 'string' || !/^https?:\/\//.test(b.url)) throw bad('bad webhook: An HTTPS URL must be provided for webhook');
        const secret = b.secret_token === undefined ? undefined : String(b.secret_token);
        if (secret !== undefined && !/^[A-Za-z0-9_-]{1,256}$/.test(secret))
          throw bad('bad webhook: secret token contains unallowed characters');
        this.webhook = { url: b.url, ...(secret !== undefined ? { secret } : {}) };
        return true;
      }
      case 'deleteWebhook':
        this.webhook = undefined;
        return true;
      case 'setMyCommands':
        if (method === 'setMyCommands') checkCommands(b.commands);
        return true;
      case 'sendMessage': {
        const text = checkText(b.text, b.parse_mode, 4096, 'message');
        checkMarkup(b.reply_markup);
        return this.store(b, { text: text });
      }
      case 'sendDocument': {
        if (!files.length && typeof b.document !== 'string') throw bad('there is no document in the request');
        const caption = b.caption === undefined ? undefined : checkText(b.caption, b.parse_mode, 1024, 'caption');
        checkMarkup(b.reply_markup);
        return this.store(b, {
          document: { file_id: `doc${this.nextMessageId}`, file_unique_id: `d${this.nextMessageId}`, file_name: files[0] ?? 'file' },
          ...(caption !== undefined ? { caption } : {}),
        });
      }
      case 'sendPhoto': {
        if (!files.length && typeof b.photo !== 'string') throw bad('there is no photo in the request');
        const caption = b.caption === undefined ? undefined : checkText(b.caption, b.parse_mode, 1024, 'caption');
        checkMarkup(b.reply_markup);
        return this.store(b, {
          photo: [{ file_id: `photo${this.nextMessageId}`, file_unique_id: `u${this.nextMessageId}`, width: 800, height: 400 }],
          ...(caption !== undefined ? { caption } : {}),
        });
      }
      case 'editMessageText':
      case 'editMessageCaption':
      case 'editMessageReplyMarkup': {
        const msg = this.messages.get(Number(b.message_id));
        if (!msg || String(msg.chat.id) !== String(b.chat_id)) throw bad('message to edit not found');
        checkMarkup(b.reply_markup);
        const markup = b.reply_markup as StoredMessage['reply_markup'] | undefined;
        const next: StoredMessage = { ...msg };
        if (method === 'editMessageText') {
          if (msg.text === undefined) throw bad('there is no text in the message to edit');
          next.text = checkText(b.text, b.parse_mode, 4096, 'message');
        } else if (method === 'editMessageCaption') {
          if (!msg.photo) throw bad('there is no caption in the message to edit');
          next.caption = checkText(b.caption ?? '', b.parse_mode, 1024, 'caption');
        }
        // An edit without reply_markup drops the keyboard, like the real API.
        if (markup?.inline_keyboard?.length) next.reply_markup = markup;
        else delete next.reply_markup;
        if (
          next.text === msg.text &&
          next.caption === msg.caption &&
          JSON.stringify(next.reply_markup) === JSON.stringify(msg.reply_markup)
        ) {
          throw bad(
            'message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message',
          );
        }
        this.messages.set(msg.message_id, next);
        return next;
      }
      case 'answerCallbackQuery':
        if (typeof b.text === 'string' && b.text.length > 200) throw bad('MESSAGE_TOO_LONG');
        return true;
      default:
        throw new ApiFailure(404, 'Not Found');
    }
  }

  private store(b: Record<string, unknown>, content: Partial<StoredMessage>): StoredMessage {
    const chatId = Number(b.chat_id);
    if (!Number.isFinite(chatId) || chatId === 0) throw bad('chat not found');
    const markup = b.reply_markup as StoredMessage['reply_markup'] | undefined;
    const thread = b.message_thread_id === undefined ? undefined : Number(b.message_thread_id);
    const msg: StoredMessage = {
      message_id: this.nextMessageId++,
      date: Math.floor(Date.now() / 1000),
      chat: this.chatOf(chatId),
      from: { id: BOT_INFO.id, is_bot: true, first_name: BOT_INFO.first_name, username: BOT_INFO.username },
      ...content,
      ...(markup?.inline_keyboard?.length ? { reply_markup: markup } : {}),
      ...(thread !== undefined ? { message_thread_id: thread, is_topic_message: true } : {}),
    };
    this.messages.set(msg.message_id, msg);
    return msg;
  }
}

function checkText(v: unknown, parseMode: unknown, max: number, what: string): string {
  if (typeof v !== 'string') throw bad(`${what} text is empty`);
  let text = v;
  if (parseMode === 'HTML') {
    const p = parseTelegramHtml(v);
    if (!p.ok) throw bad(`can't parse entities: ${p.error}`);
    text = p.text;
  }
  if (!text.trim() && what === 'message') throw bad('message text is empty');
  if (text.length > max) throw bad(what === 'message' ? 'message is too long' : 'message caption is too long');
  return text;
}

function checkMarkup(m: unknown): void {
  if (m === undefined) return;
  const kb = (m as { inline_keyboard?: unknown }).inline_keyboard;
  if (!Array.isArray(kb)) throw bad('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array');
  for (const row of kb as unknown[][]) {
    for (const b of row as Array<{ text?: unknown; callback_data?: unknown }>) {
      if (typeof b.text !== 'string' || !b.text) throw bad('text buttons are unallowed in the inline keyboard');
      if (typeof b.callback_data === 'string' && (Buffer.byteLength(b.callback_data) > 64 || !b.callback_data))
        throw bad('BUTTON_DATA_INVALID');
    }
  }
}

function checkCommands(v: unknown): void {
  if (!Array.isArray(v)) throw bad('commands must be an Array');
  if (v.length > 100) throw bad('too many commands');
  for (const c of v as Array<{ command?: unknown; description?: unknown }>) {
    if (typeof c.command !== 'string' || !/^[a-z0-9_]{1,32}$/.test(c.command)) throw bad('BOT_COMMAND_INVALID');
    if (typeof c.description !== 'string' || c.description.length < 1 || c.description.length > 256)
      throw bad('BOT_COMMAND_DESCRIPTION_INVALID');
  }
}

/** JSON, urlencoded or multipart bodies, as grammY sends them. */
async function parseBody(contentType: string, buf: Buffer): Promise<{ body: Record<string, unknown>; files: string[] }> {
  if (!buf.length) return { body: {}, files: [] };
  if (contentType.includes('application/json')) return { body: JSON.parse(buf.toString('utf8')) as Record<string, unknown>, files: [] };
  if (contentType.includes('application/x-www-form-urlencoded')) {
    return { body: Object.fromEntries([...new URLSearchParams(buf.toString('utf8'))].map(([k, v]) => [k, maybeJson(v)])), files: [] };
  }
  const boundary = /boundary=("?)([^";]+)\1/.exec(contentType)?.[2];
  if (contentType.includes('multipart/form-data') && boundary) return parseMultipart(buf, boundary);
  return { body: {}, files: [] };
}

/**
 * Hand-rolled and lenient like Telegram's: undici's FormData parser (Response.formData) rejects
 * grammY's unquoted `filename=` and header lines without a space after the colon.
 */
function parseMultipart(buf: Buffer, boundary: string): { body: Record<string, unknown>; files: string[] } {
  const body: Record<string, unknown> = {};
  const files: string[] = [];
  const delim = Buffer.from(`--${boundary}`);
  let pos = buf.indexOf(delim);
  while (pos >= 0) {
    const start = pos + delim.length;
    if (buf.subarray(start, start + 2).toString() === '--') break; // closing delimiter
    const next = buf.indexOf(delim, start);
    if (next < 0) break;
    const part = buf.subarray(start + 2, next - 2); // skip the CRLF after the delimiter and before the next
    const sep = part.indexOf('\r\n\r\n');
    const headers = part.subarray(0, sep).toString('utf8');
    const content = part.subarray(sep + 4);
    const disp = /content-disposition:\s*form-data;\s*(.*)/i.exec(headers)?.[1] ?? '';
    const name = /(?:^|;)\s*name="?([^";]+)"?/.exec(disp)?.[1] ?? '';
    const filename = /filename="?([^";\r\n]+)"?/.exec(disp)?.[1];
    if (filename !== undefined) {
      files.push(filename);
      body[name] = `<file ${filename} ${content.length} bytes>`;
    } else body[name] = maybeJson(content.toString('utf8'));
    pos = next;
  }
  return { body, files };
}

const maybeJson = (v: string): unknown => (/^[[{]/.test(v) ? safeJson(v) : v);

function safeJson(s: string): unknown {
  try {
    return JSON.parse(s);
  } catch {
    return s;
  }
}
