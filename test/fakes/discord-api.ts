// A local fake of the Discord REST API (v10) on 127.0.0.1, for the real discord.js client: point it
// at the fake with `new Client({ rest: { api: fake.url } })` (discord.js then calls `${url}/v10/...`).
//
// It serves what the Skipper transport uses: slash-command registration (guild and global), channel
// messages (JSON and multipart with files), message edits, interaction callbacks and webhook
// follow-ups/edits, GET channel, GET /applications/@me and GET /gateway/bot. Every request is
// recorded (method, path, auth header, JSON body or multipart parts) and messages get snowflake ids.
// Failure modes: `rateLimitOnce(method, path)` answers the next matching request with 429 and a
// Retry-After (discord.js's REST queue waits and retries); `failOnce(method, path, status)` answers
// it with an error status.

/* eslint-disable @typescript-eslint/no-explicit-any -- request bodies are loosely typed JSON from the client under test */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EventEmitter } from 'node:events';

export interface FakeFile {
  field: string;
  name: string;
  contentType: string;
  size: number;
}

export interface DiscordRequest {
  method: string;
  /** Path without the /v10 prefix, e.g. /channels/123/messages. */
  path: string;
  query: Record<string, string>;
  /** The Authorization header as sent ("Bot <token>"), if any. */
  auth: string | undefined;
  /** JSON body (or the multipart `payload_json`). */
  body: any;
  files: FakeFile[];
  /** The status the fake answered with. */
  status: number;
}

export interface FakeMessage {
  id: string;
  channel_id: string;
  content: string;
  embeds: any[];
  components: any[];
  attachments: any[];
  edits: number;
}

interface Rule {
  method: string;
  path: RegExp | string;
  status: number;
  retryAfterSec?: number;
}

const matches = (r: Rule, method: string, path: string) =>
  r.method === method && (typeof r.path === 'string' ? r.path === path : r.path.test(path));

export class FakeDiscordApi {
  url = '';
  readonly requests: DiscordRequest[] = [];
  readonly messages = new Map<string, FakeMessage>();
  /** Registered commands by scope: guild id, or 'global'. */
  readonly commands = new Map<string, any[]>();
  private server: Server | undefined;
  private seq = 1_300_000_000_000_000_000n;
  private rules: Rule[] = [];
  /** Interaction token → id of its original reply. */
  private readonly originals = new Map<string, string>();
  private readonly events = new EventEmitter();

  constructor(readonly applicationId = '1100000000000000001') {}

  async start(): Promise<this> {
    this.server = createServer((req, res) => {
      void this.handle(req, res).catch((e: unknown) => this.send(res, 500, { message: String(e), code: 0 }));
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', () => r()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server!.close(() => r()));
    this.server = undefined;
  }

  nextId(): string {
    return String(this.seq++);
  }

  /** The next matching request gets a 429 with Retry-After. */
  rateLimitOnce(method: string, path: RegExp | string, retryAfterSec = 0.2): void {
    this.rules.push({ method, path, status: 429, retryAfterSec });
  }

  /** The next matching request gets this error status. */
  failOnce(method: string, path: RegExp | string, status: number): void {
    this.rules.push({ method, path, status });
  }

  /** Requests matching method and path (a prefix string or a RegExp). */
  find(method: string, path: RegExp | string): DiscordRequest[] {
    return this.requests.filter((r) => r.method === method && (typeof path === 'string' ? r.path.startsWith(path) : path.test(r.path)));
  }

  /** Messages posted to a channel (not interaction replies), oldest first. */
  channelMessages(channelId: string): FakeMessage[] {
    return [...this.messages.values()].filter((m) => m.channel_id === channelId);
  }

  /** Resolves with the first request (already seen or future) matching `pred`. */
  waitFor(pred: (r: DiscordRequest) => boolean, timeoutMs = 5000, what = 'request'): Promise<DiscordRequest> {
    const seen = this.requests.find(pred);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const on = (r: DiscordRequest) => {
        if (!pred(r)) return;
        clearTimeout(t);
        this.events.off('request', on);
        resolve(r);
      };
      const t = setTimeout(() => {
        this.events.off('request', on);
        reject(new Error(`fake Discord: no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.events.on('request', on);
    });
  }

  private send(res: ServerResponse, status: number, body?: unknown, headers: Record<string, string> = {}): void {
    if (body === undefined) {
      res.writeHead(status, headers).end();
      return;
    }
    res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body));
  }

  private async readBody(req: IncomingMessage): Promise<{ body: any; files: FakeFile[] }> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const buf = Buffer.concat(chunks);
    const ct = req.headers['content-type'] ?? '';
    if (!buf.length) return { body: undefined, files: [] };
    if (ct.startsWith('multipart/form-data')) {
      // Node's fetch Response parses multipart bodies: no hand-rolled parser needed.
      const form = await new Response(buf, { headers: { 'content-type': ct } }).formData();
      const files: FakeFile[] = [];
      let body: any;
      for (const [field, v] of form.entries()) {
        if (typeof v === 'string') {
          if (field === 'payload_json') body = JSON.parse(v);
        } else files.push({ field, name: v.name, contentType: v.type, size: v.size });
      }
      return { body, files };
    }
    return { body: ct.includes('json') ? JSON.parse(buf.toString()) : buf.toString(), files: [] };
  }

  private newMessage(channelId: string, data: any): FakeMessage {
    const m: FakeMessage = {
      id: this.nextId(),
      channel_id: channelId,
      content: data?.content ?? '',
      embeds: data?.embeds ?? [],
      components: data?.components ?? [],
      attachments: (data?.attachments ?? []).map((a: any) => ({ id: this.nextId(), filename: a.filename })),
      edits: 0,
    };
    this.messages.set(m.id, m);
    return m;
  }

  private patchMessage(m: FakeMessage, data: any): FakeMessage {
    if (data.content !== undefined) m.content = data.content ?? '';
    if (data.embeds !== undefined) m.embeds = data.embeds ?? [];
    if (data.components !== undefined) m.components = data.components ?? [];
    if (data.attachments !== undefined)
      m.attachments = (data.attachments ?? []).map((a: any) => ({ id: this.nextId(), filename: a.filename }));
    m.edits++;
    return m;
  }

  /** The API shape of a message (enough for discord.js's Message class). */
  apiMessage(m: FakeMessage): Record<string, unknown> {
    return {
      id: m.id,
      channel_id: m.channel_id,
      type: 0,
      content: m.content,
      author: { id: this.applicationId, username: 'skipper', discriminator: '0', global_name: null, avatar: null, bot: true },
      embeds: m.embeds,
      components: m.components,
      attachments: m.attachments.map((a) => ({
        id: a.id,
        filename: a.filename,
        size: 1,
        url: `https://cdn.invalid/${a.filename}`,
        proxy_url: `https://cdn.invalid/${a.filename}`,
      })),
      mentions: [],
      mention_roles: [],
      mention_everyone: false,
      pinned: false,
      tts: false,
      timestamp: new Date(0).toISOString(),
      edited_timestamp: m.edits ? new Date(0).toISOString() : null,
      flags: 0,
    };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const u = new URL(req.url ?? '/', 'http://x');
    const method = req.method ?? 'GET';
    const path = decodeURIComponent(u.pathname).replace(/^\/v10/, '');
    const { body, files } = await this.readBody(req);
    const rec: DiscordRequest = {
      method,
      path,
      query: Object.fromEntries(u.searchParams),
      auth: typeof req.headers.authorization === 'string' ? req.headers.authorization : undefined,
      body,
      files,
      status: 200,
    };
    const answer = (status: number, data?: unknown, headers?: Record<string, string>) => {
      rec.status = status;
      this.requests.push(rec);
      this.events.emit('request', rec);
      this.send(res, status, data, headers);
    };

    const ri = this.rules.findIndex((r) => matches(r, method, path));
    if (ri >= 0) {
      const rule = this.rules.splice(ri, 1)[0]!;
      if (rule.status === 429) {
        const s = rule.retryAfterSec ?? 0.2;
        return answer(
          429,
          { message: 'You are being rate limited.', retry_after: s, global: false },
          { 'retry-after': String(s), 'x-ratelimit-scope': 'user' },
        );
      }
      return answer(rule.status, { message: `fake failure ${rule.status}`, code: 0 });
    }
    if (!u.pathname.startsWith('/v10/')) return answer(404, { message: '404: Not Found (expected /v10)', code: 0 });

    let m: RegExpExecArray | null;
    if (method === 'GET' && path === '/gateway/bot') {
      return answer(200, {
        url: 'ws://127.0.0.1:9',
        shards: 1,
        session_start_limit: { total: 1000, remaining: 1000, reset_after: 0, max_concurrency: 1 },
      });
    }
    if (method === 'GET' && path === '/applications/@me') return answer(200, { id: this.applicationId, name: 'Skipper (fake)', flags: 0 });
    if ((m = /^\/applications\/(\d+)\/(?:guilds\/(\d+)\/)?commands$/.exec(path)) && method === 'PUT') {
      if (m[1] !== this.applicationId) return answer(403, { message: 'Missing Access', code: 50001 });
      const list = (body as any[]).map((c) => ({
        ...c,
        id: this.nextId(),
        application_id: m![1],
        ...(m![2] ? { guild_id: m![2] } : {}),
        version: '1',
        type: c.type ?? 1,
      }));
      this.commands.set(m[2] ?? 'global', list);
      return answer(200, list);
    }
    if ((m = /^\/channels\/(\d+)$/.exec(path)) && method === 'GET')
      return answer(200, { id: m[1], type: 0, name: `chan-${m[1]}`, guild_id: '1' });
    if ((m = /^\/channels\/(\d+)\/messages$/.exec(path)) && method === 'POST')
      return answer(200, this.apiMessage(this.newMessage(m[1]!, body)));
    if ((m = /^\/channels\/(\d+)\/messages\/(\d+)$/.exec(path)) && method === 'PATCH') {
      const msg = this.messages.get(m[2]!);
      if (!msg || msg.channel_id !== m[1]) return answer(404, { message: 'Unknown Message', code: 10008 });
      return answer(200, this.apiMessage(this.patchMessage(msg, body)));
    }
    if ((m = /^\/interactions\/(\d+)\/([^/]+)\/callback$/.exec(path)) && method === 'POST') {
      // type 4 (reply) creates the interaction's original message; the rest just acknowledge.
      if (body?.type === 4) this.originals.set(m[2]!, this.newMessage(`interaction:${m[1]}`, body.data).id);
      return answer(204);
    }
    if ((m = /^\/webhooks\/(\d+)\/([^/]+)$/.exec(path)) && method === 'POST')
      return answer(200, this.apiMessage(this.newMessage(`webhook:${m[2]!.slice(0, 8)}`, body)));
    if ((m = /^\/webhooks\/(\d+)\/([^/]+)\/messages\/([^/]+)$/.exec(path))) {
      if (method === 'DELETE') return answer(204);
      const id = m[3] === '@original' ? this.originals.get(m[2]!) : m[3];
      const msg = (id && this.messages.get(id)) || this.newMessage(`webhook:${m[2]!.slice(0, 8)}`, {});
      if (method === 'PATCH') return answer(200, this.apiMessage(this.patchMessage(msg, body)));
      if (method === 'GET') return answer(200, this.apiMessage(msg));
    }
    return answer(404, { message: `404: Not Found (${method} ${path})`, code: 0 });
  }
}
