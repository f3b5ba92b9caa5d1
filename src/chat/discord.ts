// The Discord transport (discord.js v14). Inbound: slash commands and button presses become
// Dispatcher calls (validation, roles, confirmation and audit stay there). Outbound: alerts, reports
// and proposals are posted to the channels the routing table picks, and can be edited later.
import {
  ActionRowBuilder,
  AttachmentBuilder,
  ButtonBuilder,
  ButtonStyle,
  Client,
  DiscordAPIError,
  EmbedBuilder,
  Events,
  GatewayIntentBits,
  MessageFlags,
  REST,
  Routes,
  SlashCommandBuilder,
  type SlashCommandIntegerOption,
  type SlashCommandNumberOption,
  escapeMarkdown,
  type APIActionRowComponent,
  type APIButtonComponent,
  type APIEmbed,
  type APIMessage,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  type Interaction,
  type RawFile,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import type { Config } from '../config/schema.ts';
import { registerSecret, type Logger } from '../core/logger.ts';
import type { CommandSpec } from './command.ts';
import { REFUSAL, type Dispatcher } from './dispatcher.ts';
import { routeChannels } from './routes.ts';
import type { ChatTransport, Destination, Topic } from './transport.ts';
import { ROLE_RANK, type ArgSpec, type Button, type ChatUser, type MessageRef, type Reply, type Role } from './types.ts';

export interface DiscordOptions {
  token: string;
  /** REST API root; default Discord's (DISCORD_API_ROOT points tests at a fake). */
  apiRoot?: string;
  config: Config['chat']['discord'];
  dispatcher: Dispatcher;
  commands: CommandSpec[];
  log: Logger;
  /** Connect to the gateway (default true). Tests inject interactions instead. */
  gateway?: boolean;
  /** Acknowledge an interaction first (and edit the answer in later) when a command takes longer than this. Default 2000 ms; Discord allows 3 s. */
  deferAfterMs?: number;
}

type DiscordConfig = Config['chat']['discord'];

// Discord's limits.
const CONTENT_MAX = 2000;
const EMBED_DESCRIPTION_MAX = 4096;
const EMBED_TITLE_MAX = 256;
const EMBED_FOOTER_MAX = 1024; // Discord allows 2048, but title + description + footer must stay under 6000
const BUTTONS_PER_ROW = 5;
const ROWS_MAX = 5;
const LABEL_MAX = 80;
const CUSTOM_ID_MAX = 100;
const DESCRIPTION_MAX = 100;
const CHOICES_MAX = 25;

const COLOR: Record<NonNullable<Reply['severity']>, number> = { info: 0x3498db, warning: 0xf1c40f, critical: 0xe74c3c };
const STYLE: Record<NonNullable<Button['style']>, ButtonStyle> = {
  primary: ButtonStyle.Primary,
  secondary: ButtonStyle.Secondary,
  success: ButtonStyle.Success,
  danger: ButtonStyle.Danger,
};

const clip = (s: string, max: number): string => (s.length <= max ? s : `${s.slice(0, max - 1)}…`);

// ---- slash commands -------------------------------------------------------------------------

/** Discord option name for an argument: lowercase, 1–32 of letters, digits, - and _. */
const optionName = (a: ArgSpec): string =>
  a.name
    .toLowerCase()
    .replace(/[^-_\p{L}\p{N}]/gu, '_')
    .slice(0, 32) || 'arg';

/** Slash command definitions from the command specs (the same ArgSpecs drive text parsing and /help). */
export function slashCommands(commands: readonly CommandSpec[]): RESTPostAPIChatInputApplicationCommandsJSONBody[] {
  return commands.map((c) => {
    const b = new SlashCommandBuilder().setName(c.name.toLowerCase()).setDescription(clip(c.description || c.name, DESCRIPTION_MAX));
    // Discord wants required options first; the dispatcher takes them by name, in any order.
    const args = [...(c.args ?? [])].sort((x, y) => Number(!!y.required) - Number(!!x.required));
    for (const a of args) {
      const name = optionName(a);
      const desc = clip(a.description || a.name, DESCRIPTION_MAX);
      const required = !!a.required;
      if (a.type === 'number' || a.type === 'int') {
        const numeric = <O extends SlashCommandIntegerOption | SlashCommandNumberOption>(o: O): O => {
          o.setName(name).setDescription(desc).setRequired(required);
          if (a.min !== undefined) o.setMinValue(a.min);
          if (a.max !== undefined) o.setMaxValue(a.max);
          return o;
        };
        if (a.type === 'int') b.addIntegerOption(numeric);
        else b.addNumberOption(numeric);
      } else {
        b.addStringOption((o) => {
          o.setName(name).setDescription(desc).setRequired(required);
          const choices = a.type === 'enum' ? (a.choices ?? []) : [];
          // More than 25 choices don't fit Discord's menu: it stays free text, validated by the dispatcher.
          if (choices.length > 0 && choices.length <= CHOICES_MAX) o.addChoices(...choices.map((v) => ({ name: clip(v, 100), value: v })));
          return o;
        });
      }
    }
    return b.toJSON();
  });
}

export interface Registered {
  /** null: global commands (no guild configured). */
  guildId: string | null;
  names: string[];
}

/**
 * Register (bulk-overwrite) the slash commands in every configured guild; with no guild configured,
 * as global commands. Returns what was registered.
 */
export async function registerSlashCommands(
  rest: REST,
  o: { applicationId?: string | undefined; guildIds: readonly string[]; commands: readonly CommandSpec[] },
): Promise<Registered[]> {
  const appId = o.applicationId ?? ((await rest.get(Routes.currentApplication())) as { id: string }).id;
  const body = slashCommands(o.commands);
  const names = body.map((c) => c.name);
  const out: Registered[] = [];
  const scopes = o.guildIds.length ? o.guildIds : [null];
  for (const guildId of scopes) {
    try {
      await rest.put(guildId ? Routes.applicationGuildCommands(appId, guildId) : Routes.applicationCommands(appId), { body });
    } catch (e) {
      const hint =
        e instanceof DiscordAPIError && e.code === 50001
          ? ' (is the bot in that guild, invited with the applications.commands scope?)'
          : '';
      throw new Error(
        `registering slash commands ${guildId ? `in guild ${guildId}` : 'globally'} failed: ${e instanceof Error ? e.message : String(e)}${hint}`,
        { cause: e },
      );
    }
    out.push({ guildId, names });
  }
  return out;
}

/** A REST client for the bot token (the CLI registers commands without starting the bot). */
export function discordRest(token: string, apiRoot?: string): REST {
  registerSecret(token);
  return new REST(apiRoot ? { api: apiRoot } : {}).setToken(token);
}

// ---- rendering ------------------------------------------------------------------------------

/** A Reply in Discord terms: plain content or an embed, button rows, PNG files. */
export interface Rendered {
  content: string;
  embeds: APIEmbed[];
  components: APIActionRowComponent<APIButtonComponent>[];
  files: Array<{ name: string; data: Buffer }>;
  ephemeral: boolean;
}

/** Body text within `max` characters: monospace in a code block, otherwise Markdown-escaped. */
function body(text: string, mono: boolean | undefined, max: number): string {
  if (mono) {
    // A ``` inside the text would close the block early.
    const inner = text.replace(/```/g, '`\u200b``');
    return `\`\`\`\n${clip(inner, max - 8)}\n\`\`\``;
  }
  return clip(escapeMarkdown(text), max).replace(/(^|[^\\])\\…$/, '$1…');
}

const safeFilename = (name: string): string => name.replace(/[^\w.-]/g, '_').slice(0, 100) || 'image.png';

export function renderReply(reply: Reply): Rendered {
  const files = reply.image ? [{ name: safeFilename(reply.image.filename), data: reply.image.png }] : [];
  if (reply.document) files.push({ name: safeFilename(reply.document.filename), data: reply.document.data });
  const components: Rendered['components'] = [];
  for (const row of reply.buttons ?? []) {
    for (let k = 0; k < row.length; k += BUTTONS_PER_ROW) {
      const buttons = row.slice(k, k + BUTTONS_PER_ROW).map((b) =>
        new ButtonBuilder()
          .setCustomId(b.data.slice(0, CUSTOM_ID_MAX))
          .setLabel(clip(b.label, LABEL_MAX))
          .setStyle(STYLE[b.style ?? 'secondary']),
      );
      components.push(new ActionRowBuilder<ButtonBuilder>().addComponents(buttons).toJSON());
    }
  }
  const base = { components: components.slice(0, ROWS_MAX), files, ephemeral: !!reply.ephemeral };
  if (reply.title) {
    const e = new EmbedBuilder().setTitle(clip(reply.title, EMBED_TITLE_MAX)).setColor(COLOR[reply.severity ?? 'info']);
    if (reply.text) e.setDescription(body(reply.text, reply.mono, EMBED_DESCRIPTION_MAX));
    if (reply.image && files[0]) e.setImage(`attachment://${files[0].name}`);
    if (reply.image?.caption) e.setFooter({ text: clip(reply.image.caption, EMBED_FOOTER_MAX) });
    return { ...base, content: '', embeds: [e.toJSON()] };
  }
  const caption = reply.image?.caption ? `\n${escapeMarkdown(reply.image.caption)}` : '';
  const content = body(reply.text || '—', reply.mono, CONTENT_MAX - Math.min(caption.length, 200)) + clip(caption, 200);
  return { ...base, content, embeds: [] };
}

const attachments = (r: Rendered) => r.files.map((f) => new AttachmentBuilder(f.data, { name: f.name }));

/** Options for a new interaction reply or follow-up. */
const createOptions = (r: Rendered) => ({
  ...(r.content ? { content: r.content } : {}),
  embeds: r.embeds,
  components: r.components,
  files: attachments(r),
  ...(r.ephemeral ? { flags: MessageFlags.Ephemeral as const } : {}),
});

/** Options that replace a message entirely: content, embeds, buttons (none → removed) and files. */
const replaceOptions = (r: Rendered) => ({
  content: r.content,
  embeds: r.embeds,
  components: r.components,
  files: attachments(r),
  attachments: [],
});

const rawFiles = (r: Rendered): RawFile[] =>
  r.files.map((f) => ({ name: f.name, data: f.data, contentType: f.name.endsWith('.png') ? 'image/png' : 'application/octet-stream' }));
const rawAttachments = (r: Rendered) => r.files.map((f, i) => ({ id: i, filename: f.name }));

// ---- routing and roles ----------------------------------------------------------------------

/** A user's role: an explicit `users` entry wins; otherwise the highest role mapped from their Discord roles. */
export function discordRole(cfg: Pick<DiscordConfig, 'users' | 'roles'>, userId: string, memberRoles: readonly string[]): Role | null {
  const explicit = cfg.users.find((u) => u.id === userId);
  if (explicit) return explicit.role;
  let best: Role | null = null;
  for (const m of cfg.roles) if (memberRoles.includes(m.id) && (!best || ROLE_RANK[m.role] > ROLE_RANK[best])) best = m.role;
  return best;
}

function memberRoleIds(i: Interaction): string[] {
  const member = i.member;
  if (!member || !i.guildId) return [];
  // A raw API member (guild not cached: no gateway) lists role ids; a cached GuildMember has a manager.
  const ids = Array.isArray(member.roles) ? member.roles : [...member.roles.cache.keys()];
  // @everyone's role id is the guild id: mapping it gives every member of the guild a role.
  return ids.includes(i.guildId) ? ids : [...ids, i.guildId];
}

/** Interaction tokens sit in webhook/callback URLs: keep them out of logs. */
const scrubRoute = (s: string): string => s.replace(/\/[\w.-]{40,}/g, '/:token');

/** What to log about a failure: a DiscordAPIError's `url` carries the interaction token, so not the whole error. */
const errInfo = (e: unknown) =>
  e instanceof DiscordAPIError
    ? { code: e.code, status: e.status, method: e.method, message: e.message }
    : e instanceof Error
      ? { name: e.name, message: scrubRoute(e.message), stack: e.stack && scrubRoute(e.stack) }
      : { message: String(e) };

// ---- the transport --------------------------------------------------------------------------

export class DiscordTransport implements ChatTransport {
  readonly name = 'discord' as const;
  /** The discord.js client (tests inject raw interactions through it). */
  readonly client: Client;
  private readonly byName = new Map<string, CommandSpec>();
  private readonly inflight = new Set<Promise<void>>();
  private readonly log: Logger;
  private stopping = false;

  constructor(readonly opts: DiscordOptions) {
    registerSecret(opts.token);
    this.log = opts.log.child({ transport: 'discord' });
    for (const c of opts.commands) this.byName.set(c.name.toLowerCase(), c);
    this.client = new Client({
      // Slash commands and buttons arrive as interactions: no message-content or member intents needed.
      intents: [GatewayIntentBits.Guilds],
      ...(opts.apiRoot ? { rest: { api: opts.apiRoot } } : {}),
      allowedMentions: { parse: [] },
    });
    // REST works without a gateway session (tests, and broadcasts before login completes).
    this.client.rest.setToken(opts.token);
    this.client.on(Events.InteractionCreate, (i) => this.onInteraction(i));
    this.client.on(Events.Error, (e) => this.log.error({ error: errInfo(e) }, 'discord client error'));
    this.client.on(Events.Warn, (m) => this.log.warn(scrubRoute(m)));
    this.client.rest.on('rateLimited', (info) =>
      this.log.warn(
        { method: info.method, route: scrubRoute(info.route), retryAfterMs: info.retryAfter, global: info.global },
        'discord rate limit: request queued',
      ),
    );
  }

  async start(): Promise<void> {
    try {
      await this.registerCommands();
    } catch (e) {
      // Commands registered by an earlier run keep working; say what went wrong and carry on.
      this.log.error({ error: errInfo(e) }, 'discord slash command registration failed');
    }
    if (this.opts.gateway !== false) {
      this.client.once(Events.ClientReady, (c) => this.log.info({ user: c.user.username }, 'discord gateway ready'));
      await this.client.login(this.opts.token);
    }
  }

  async registerCommands(): Promise<Registered[]> {
    const done = await registerSlashCommands(this.client.rest, {
      applicationId: this.opts.config.applicationId,
      guildIds: this.opts.config.guildIds,
      commands: this.opts.commands,
    });
    for (const d of done) this.log.info({ guild: d.guildId ?? 'global', commands: d.names.length }, 'discord slash commands registered');
    return done;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.client.removeAllListeners(Events.InteractionCreate);
    let t: NodeJS.Timeout | undefined;
    await Promise.race([this.settled(), new Promise<void>((r) => (t = setTimeout(r, 2000)))]);
    clearTimeout(t);
    await this.client.destroy();
  }

  /** Resolves when every interaction being handled has been answered (tests await it). */
  async settled(): Promise<void> {
    while (this.inflight.size) await Promise.all([...this.inflight]);
  }

  // ---- outbound ----

  async broadcast(reply: Reply, topic: Topic): Promise<MessageRef[]> {
    const channels = routeChannels(this.opts.config.routes, topic);
    if (!channels.length) return [];
    const r = renderReply({ ...reply, ephemeral: false });
    const posted = await Promise.allSettled(channels.map((channelId) => this.postRendered(channelId, r)));
    const refs: MessageRef[] = [];
    posted.forEach((p, k) => {
      if (p.status === 'fulfilled') refs.push(p.value);
      else this.log.error({ error: errInfo(p.reason), channel: channels[k], topic: topic.type }, 'discord post failed');
    });
    if (!refs.length) throw new Error(`could not post to any Discord channel for ${topic.type}`);
    return refs;
  }

  private async postRendered(channelId: string, r: Rendered): Promise<MessageRef> {
    const msg = (await this.client.rest.post(Routes.channelMessages(channelId), {
      body: {
        ...(r.content ? { content: r.content } : {}),
        embeds: r.embeds,
        components: r.components,
        attachments: rawAttachments(r),
        allowed_mentions: { parse: [] },
      },
      files: rawFiles(r),
    })) as APIMessage;
    return { transport: 'discord', chatId: channelId, messageId: msg.id };
  }

  /** Each routed channel on its own, with its routes as the filter. */
  destinations(): Destination[] {
    const ids = [...new Set(this.opts.config.routes.map((r) => r.channelId))];
    return ids.map((channelId) => ({
      id: channelId,
      accepts: (topic: Topic) => routeChannels(this.opts.config.routes, topic).includes(channelId),
      post: async (reply: Reply) => {
        try {
          return await this.postRendered(channelId, renderReply({ ...reply, ephemeral: false }));
        } catch (e) {
          this.log.error({ error: errInfo(e), channel: channelId }, 'discord post failed');
          throw new Error(`Discord post to channel ${channelId} failed: ${errInfo(e).message}`);
        }
      },
    }));
  }

  async edit(ref: MessageRef, reply: Reply): Promise<void> {
    const r = renderReply(reply);
    await this.client.rest.patch(Routes.channelMessage(ref.chatId, ref.messageId), {
      body: {
        content: r.content,
        embeds: r.embeds,
        components: r.components,
        attachments: rawAttachments(r),
        allowed_mentions: { parse: [] },
      },
      files: rawFiles(r),
    });
  }

  // ---- inbound ----

  private onInteraction(i: Interaction): void {
    if (this.stopping) return;
    let work: Promise<void>;
    if (i.isChatInputCommand()) work = this.onSlash(i);
    else if (i.isButton()) work = this.onButton(i);
    else return;
    const tracked: Promise<void> = work
      .catch((e: unknown) => this.log.error({ error: errInfo(e), kind: i.isButton() ? 'button' : 'command' }, 'discord interaction failed'))
      .finally(() => this.inflight.delete(tracked));
    this.inflight.add(tracked);
  }

  private userOf(i: Interaction): ChatUser {
    return {
      transport: 'discord',
      id: i.user.id,
      name: i.user.username,
      role: discordRole(this.opts.config, i.user.id, memberRoleIds(i)),
    };
  }

  /**
   * The command and its options by argument name: options come in any order and any subset, and
   * the dispatcher validates them as it does typed text. The text ("/chart period:7d") is for the audit.
   */
  private commandArgs(i: ChatInputCommandInteraction): { text: string; named?: Record<string, string> } {
    const cmd = this.byName.get(i.commandName);
    if (!cmd) return { text: `/${i.commandName}` }; // a stale registration: the dispatcher says "unknown command"
    const named: Record<string, string> = {};
    for (const a of cmd.args ?? []) {
      const v = i.options.get(optionName(a))?.value;
      if (v !== undefined && v !== null && String(v).trim() !== '') named[a.name] = String(v).trim();
    }
    const shown = Object.entries(named).map(([k, v]) => `${k}:${/\s/.test(v) ? `"${v.replace(/"/g, '')}"` : v}`);
    return { text: [`/${cmd.name}`, ...shown].join(' '), named };
  }

  /**
   * Discord wants an answer within 3 s: when the work takes longer, acknowledge first (`defer`) and
   * edit the answer in once it's ready.
   */
  private async withDeferral<T>(work: Promise<T>, defer: () => Promise<unknown>): Promise<{ value: T; deferred: boolean }> {
    work.catch(() => {}); // awaited below; this only keeps a failed defer() from leaving it unobserved
    let t: NodeJS.Timeout | undefined;
    const slow = new Promise<'slow'>((r) => (t = setTimeout(() => r('slow'), this.opts.deferAfterMs ?? 2000)));
    try {
      const first = await Promise.race([work.then((value) => ({ value })), slow]);
      if (first !== 'slow') return { value: first.value, deferred: false };
    } finally {
      clearTimeout(t);
    }
    await defer();
    return { value: await work, deferred: true };
  }

  private async onSlash(i: ChatInputCommandInteraction): Promise<void> {
    const user = this.userOf(i);
    const { text, named } = this.commandArgs(i);
    this.log.debug({ user: user.id, role: user.role, command: i.commandName }, 'discord command');
    // Strangers only ever get the refusal: keep it between them and the bot.
    const ephemeral = !user.role || !!this.byName.get(i.commandName)?.ephemeral;
    const { value, deferred } = await this.withDeferral(this.opts.dispatcher.handleText(user, text, named), () =>
      i.deferReply(ephemeral ? { flags: MessageFlags.Ephemeral } : {}),
    );
    // Where the dispatcher chose silence (a stranger's repeat), Discord still needs an answer or it
    // shows "The application did not respond": the refusal again, seen by the stranger only.
    const reply = value ?? { text: REFUSAL };
    const r = renderReply({ ...reply, ephemeral: !!reply.ephemeral || ephemeral });
    if (deferred) await i.editReply(replaceOptions(r));
    else await i.reply(createOptions(r));
  }

  private async onButton(i: ButtonInteraction): Promise<void> {
    const user = this.userOf(i);
    this.log.debug({ user: user.id, role: user.role, button: i.customId.split(':')[0] }, 'discord button');
    const { value: pressed, deferred } = await this.withDeferral(this.opts.dispatcher.handleButton(user, i.customId), () =>
      i.deferUpdate(),
    );
    // A stranger's every press gets the (ephemeral) refusal, not just the first.
    const res = !user.role && !pressed.toast ? { ...pressed, toast: REFUSAL } : pressed;
    const toast = res.toast ? { content: clip(res.toast, CONTENT_MAX), flags: MessageFlags.Ephemeral as const } : undefined;
    if (res.edit) {
      const r = replaceOptions(renderReply(res.edit));
      if (deferred) await i.editReply(r);
      else await i.update(r);
      if (toast) await i.followUp(toast);
    } else if (toast) {
      if (deferred) await i.followUp(toast);
      else await i.reply(toast);
    } else if (!deferred && !res.reply) {
      await i.deferUpdate(); // nothing to say: acknowledge so the button stops spinning
    }
    if (res.reply) {
      const r = createOptions(renderReply(res.reply));
      if (i.replied || i.deferred) await i.followUp(r);
      else await i.reply(r);
    }
  }
}
