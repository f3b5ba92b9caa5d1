// The Discord transport end to end: a real bot, the real discord.js client talking REST to a local
// fake Discord API, and interactions injected as raw gateway payloads into that client.
import { execFile } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DiscordTransport, discordRole, renderReply, slashCommands } from '../../src/chat/discord.ts';
import { routeChannels } from '../../src/chat/routes.ts';
import { STALE_BUTTON, type Dispatcher } from '../../src/chat/dispatcher.ts';
import { parseConfig } from '../../src/config/load.ts';
import { createLogger, silentLogger } from '../../src/core/logger.ts';
import { COMMANDS } from '../../commands/index.ts';
import type { ConfigInput } from '../../src/config/schema.ts';
import { FakeDiscordApi } from '../fakes/discord-api.ts';
import { startBot, tempDir, type Harness } from '../helpers/harness.ts';
import { buttonPayload, customIds, inject, NAMES, slashPayload, str, type Opt } from '../helpers/discord-interactions.ts';

const TOKEN = 'test-discord-token-xyz';
const GUILD_A = '2000000000000000001';
const GUILD_B = '2000000000000000002';
const CH = {
  general: '3000000000000000001',
  trades: '3000000000000000002',
  alerts: '3000000000000000003',
  daily: '3000000000000000004',
  approvals: '3000000000000000005',
};
const U = {
  admin: '4000000000000000001',
  viewer: '4000000000000000002',
  roleTrader: '4000000000000000003',
  stranger: '4000000000000000009',
};
const ROLE = { trader: '5000000000000000001', viewer: '5000000000000000002' };

const discordConfig = (fake: FakeDiscordApi, extra: Record<string, unknown> = {}) => ({
  enabled: true,
  applicationId: fake.applicationId,
  guildIds: [GUILD_A, GUILD_B],
  users: [
    { id: U.admin, role: 'admin' as const },
    { id: U.viewer, role: 'viewer' as const },
  ],
  roles: [
    { id: ROLE.viewer, role: 'viewer' as const },
    { id: ROLE.trader, role: 'trader' as const },
  ],
  routes: [
    { channelId: CH.trades, types: ['order_filled', 'position_opened', 'position_closed', 'stop_hit'] },
    { channelId: CH.alerts, severities: ['critical' as const] },
    { channelId: CH.daily, types: ['daily_report'] },
    { channelId: CH.approvals, types: ['approval_pending'] },
  ],
  ...extra,
});

// ---- raw gateway payloads: test/helpers/discord-interactions.ts ----

Object.assign(NAMES, { [U.admin]: 'alice', [U.viewer]: 'vic', [U.roleTrader]: 'tom', [U.stranger]: 'mallory' });

const callbacks = (fake: FakeDiscordApi, raw: { id: string; token: string }) =>
  fake.find('POST', `/interactions/${raw.id}/${raw.token}/callback`);
const followUps = (fake: FakeDiscordApi, raw: { token: string }) => fake.find('POST', `/webhooks/${fake.applicationId}/${raw.token}`);

async function slash(h: Harness, fake: FakeDiscordApi, userId: string, name: string, options: Opt[] = [], roles: string[] = []) {
  const raw = slashPayload(fake, userId, name, options, roles);
  await inject(h, raw);
  const cb = callbacks(fake, raw);
  expect(cb).toHaveLength(1);
  return { raw, cb: cb[0]!, data: cb[0]!.body.data };
}

// ---- pure pieces ----

describe('discord rendering, routing and roles', () => {
  it('builds slash commands from the arg specs', () => {
    const cmds = slashCommands(COMMANDS);
    expect(cmds.map((c) => c.name)).toEqual(COMMANDS.map((c) => c.name));
    const pnl = cmds.find((c) => c.name === 'pnl')!;
    expect(pnl.options).toEqual([
      expect.objectContaining({
        name: 'period',
        type: 3,
        required: false,
        choices: ['day', 'week', 'month', 'all'].map((v) => ({ name: v, value: v })),
      }),
    ]);
    for (const c of cmds) expect(c.description.length).toBeLessThanOrEqual(100);
  });

  it('respects Discord limits and maps styles', () => {
    const long = renderReply({ text: 'x'.repeat(5000) });
    expect(long.content.length).toBeLessThanOrEqual(2000);
    const emb = renderReply({ title: 'T', text: 'y'.repeat(9000), mono: true, severity: 'critical' });
    const d = emb.embeds[0]!.description!;
    expect(d.length).toBeLessThanOrEqual(4096);
    expect(d.startsWith('```\n') && d.endsWith('\n```')).toBe(true);
    expect(emb.embeds[0]!.color).toBe(0xe74c3c);
    const many = renderReply({
      text: 'pick',
      buttons: [Array.from({ length: 7 }, (_, i) => ({ label: `b${i}`, data: `x:${i}`, style: 'danger' as const }))],
    });
    expect(many.components.map((r) => r.components.length)).toEqual([5, 2]);
    expect(many.components[0]!.components[0]).toMatchObject({ style: 4, custom_id: 'x:0', label: 'b0' });
    expect(renderReply({ text: 'a *b* _c_' }).content).toBe('a \\*b\\* \\_c\\_');
    const img = renderReply({
      title: 'Chart',
      text: 'eq',
      image: { png: Buffer.from([1, 2]), filename: 'equity chart.png', caption: 'cap' },
    });
    expect(img.files[0]!.name).toBe('equity_chart.png');
    expect(img.embeds[0]!.image!.url).toBe('attachment://equity_chart.png');
  });

  it('routes topics to every matching channel, each once', () => {
    const routes = [
      { channelId: 'a', types: ['order_filled'], severities: ['info', 'warning', 'critical'] as const },
      { channelId: 'b', types: ['*'], severities: ['critical'] as const },
      { channelId: 'a', types: ['*'], severities: ['critical'] as const },
    ].map((r) => ({ ...r, severities: [...r.severities] }));
    expect(routeChannels(routes, { type: 'order_filled', severity: 'info' })).toEqual(['a']);
    expect(routeChannels(routes, { type: 'order_filled', severity: 'critical' })).toEqual(['a', 'b']);
    expect(routeChannels(routes, { type: 'feed_down', severity: 'warning' })).toEqual([]);
  });

  it('resolves roles: explicit user first, else the highest mapped Discord role', () => {
    const cfg = {
      users: [{ id: 'u1', role: 'viewer' as const }],
      roles: [
        { id: 'r1', role: 'viewer' as const },
        { id: 'r2', role: 'admin' as const },
      ],
    };
    expect(discordRole(cfg, 'u1', ['r2'])).toBe('viewer');
    expect(discordRole(cfg, 'u2', ['r1', 'r2'])).toBe('admin');
    expect(discordRole(cfg, 'u3', ['r9'])).toBeNull();
  });
});

// ---- a running bot ----

describe('discord transport (real discord.js, fake Discord API)', () => {
  let fake: FakeDiscordApi;
  let h: Harness;
  let logFile: string;

  beforeAll(async () => {
    fake = await new FakeDiscordApi().start();
    const dir = tempDir();
    logFile = join(dir, 'bot.log');
    const logger = createLogger({ level: 'debug', destination: pino.destination({ dest: logFile, sync: true }) });
    // The slow SMA never warms up on 400 candles: no trades, so only the alerts raised here are posted.
    const config: ConfigInput = {
      strategy: { params: { fast: 200, slow: 1000 } },
      chat: { discord: discordConfig(fake) },
    };
    h = await startBot({
      dir,
      candles: 400,
      config,
      bot: { logger, secrets: { discordBotToken: TOKEN, discordApiRoot: fake.url }, discord: { gateway: false } },
    });
  });

  afterAll(async () => {
    await h?.stop();
    await fake?.close();
  });

  it('registers the slash commands in every configured guild at start', () => {
    const puts = fake.find('PUT', `/applications/${fake.applicationId}/guilds/`);
    expect(puts.map((p) => p.path)).toEqual([GUILD_A, GUILD_B].map((g) => `/applications/${fake.applicationId}/guilds/${g}/commands`));
    expect(puts[0]!.auth).toBe(`Bot ${TOKEN}`);
    const names = (fake.commands.get(GUILD_B) ?? []).map((c) => c.name);
    expect(names).toEqual(COMMANDS.map((c) => c.name));
    const pnl = fake.commands.get(GUILD_A)!.find((c) => c.name === 'pnl');
    expect(pnl.options[0].choices.map((c: { value: string }) => c.value)).toEqual(['day', 'week', 'month', 'all']);
  });

  it('answers /status with an embed and /help with the command list', async () => {
    const st = await slash(h, fake, U.viewer, 'status');
    expect(st.cb.body.type).toBe(4);
    expect(st.cb.auth).toBeUndefined(); // interaction callbacks are authorized by their token, not the bot's
    expect(st.data.embeds[0].title).toBe('Skipper status');
    expect(st.data.embeds[0].description).toMatch(/^```\n[\s\S]*paper trading/);
    expect(st.data.flags ?? 0).toBe(0);

    const help = await slash(h, fake, U.admin, 'help');
    expect(JSON.stringify(help.data)).toContain('/flatten');

    const pnl = await slash(h, fake, U.viewer, 'pnl', [str('period', 'week')]);
    expect(pnl.data.embeds[0].title).toBe('PnL — last week (replay time)');
  });

  it('lets a trader (by Discord role) pause, refuses a viewer, and refuses strangers once, ephemerally', async () => {
    const viewer = await slash(h, fake, U.viewer, 'pause');
    expect(viewer.data.content).toContain('/pause needs the trader role');
    expect(h.bot.engine.risk.state().paused).toBe(false);

    const trader = await slash(h, fake, U.roleTrader, 'pause', [], [ROLE.viewer, ROLE.trader]);
    expect(trader.data.content).toContain('Paused by tom');
    expect(h.bot.engine.risk.state().paused).toBe(true);
    await slash(h, fake, U.admin, 'resume');
    expect(h.bot.engine.risk.state().paused).toBe(false);

    const stranger = await slash(h, fake, U.stranger, 'status');
    expect(stranger.data.content).toContain("not on this bot's allow-list");
    expect(stranger.data.flags & 64).toBe(64);
    // Every time after that too: Discord shows "The application did not respond" to an interaction
    // without an answer, so a stranger gets the same ephemeral refusal again (nothing else).
    const again = slashPayload(fake, U.stranger, 'status');
    await inject(h, again);
    expect(callbacks(fake, again)[0]!.body).toMatchObject({ type: 4, data: { content: stranger.data.content, flags: 64 } });

    const rows = h.bot.journal.recentCommands(10).filter((r) => r.transport === 'discord');
    expect(rows.find((r) => r.userId === U.viewer && r.command === 'pause')?.outcome).toBe('refused');
    expect(rows.find((r) => r.userId === U.roleTrader && r.command === 'pause')).toMatchObject({
      outcome: 'ok',
      role: 'trader',
      userName: 'tom',
    });
    expect(rows.filter((r) => r.userId === U.stranger).map((r) => r.outcome)).toEqual(['refused', 'refused']);
  });

  it('takes slash-command options in any order, and a later option alone', async () => {
    // A chart may take long enough to be deferred: then the answer is edited into the original.
    const answer = async (options: Opt[]) => {
      const { raw, cb } = await slash(h, fake, U.viewer, 'chart', options);
      return cb.body.type === 4
        ? cb.body.data
        : fake.find('PATCH', `/webhooks/${fake.applicationId}/${raw.token}/messages/@original`)[0]!.body;
    };
    expect((await answer([str('period', '7d')])).embeds[0].title).toBe('Equity — last 7 days');
    expect((await answer([str('period', '7d'), str('kind', 'pnl')])).embeds[0].title).toBe('Daily PnL — last 7 days');
    expect((await answer([str('period', '5y')])).content).toContain('period: expected one of 1d, 7d');
    const audit = h.bot.journal.recentCommands(3).map((r) => `${r.command} ${r.args}: ${r.outcome}`);
    expect(audit).toEqual(['chart period:5y: invalid', 'chart kind:pnl period:7d: ok', 'chart period:7d: ok']);
  });

  it('answers in DMs by user id (no guild, no member)', async () => {
    const { member: m, guild_id: _g, ...rest } = slashPayload(fake, U.admin, 'status');
    const raw = { ...rest, user: m.user, channel: { id: '3000000000000000099', type: 1 }, channel_id: '3000000000000000099', context: 1 };
    await inject(h, raw);
    expect(callbacks(fake, raw)[0]!.body.data.embeds[0].title).toBe('Skipper status');
    expect(h.bot.journal.recentCommands(1)[0]).toMatchObject({
      transport: 'discord',
      userId: U.admin,
      role: 'admin',
      command: 'status',
      outcome: 'ok',
    });
  });

  it('rejects bad input without changing anything', async () => {
    const bad = await slash(h, fake, U.viewer, 'pnl', [str('period', 'decade')]);
    expect(bad.data.content).toContain('period: expected one of day, week, month, all');
    const unknown = await slash(h, fake, U.viewer, 'nosuch');
    expect(unknown.data.content).toContain('Unknown command');
  });

  it('/flatten asks for confirmation; the button runs it and updates the message', async () => {
    // Something to flatten (with nothing open /flatten asks nothing): a resting limit buy far below the market.
    const px = h.bot.engine.lastPrice('BTC/USDT');
    h.bot.engine.manualOrder({ symbol: 'BTC/USDT', side: 'buy', qty: 0.001, price: Math.round(px / 2) }, 'test');
    const ask = await slash(h, fake, U.admin, 'flatten');
    expect(ask.data.embeds[0].title).toBe('Please confirm');
    const [confirm, cancel] = customIds(ask.data.components);
    expect(confirm).toMatch(/^c:\d+:[0-9a-f]+:y$/);
    expect(cancel).toMatch(/:n$/);
    const prompt = fake.channelMessages(`interaction:${ask.raw.id}`)[0]!;

    // Someone else's press does nothing.
    const other = buttonPayload(fake, U.roleTrader, confirm!, prompt, [ROLE.trader]);
    await inject(h, other);
    expect(callbacks(fake, other)[0]!.body).toMatchObject({
      type: 4,
      data: { content: 'Only the person who asked can confirm this.', flags: 64 },
    });

    const press = buttonPayload(fake, U.admin, confirm!, prompt);
    await inject(h, press);
    const upd = callbacks(fake, press)[0]!;
    expect(upd.body.type).toBe(7); // UPDATE_MESSAGE
    expect(upd.body.data.components).toEqual([]);
    expect(upd.body.data.embeds[0].title).toBe('Confirmed');
    expect(upd.body.data.embeds[0].description).toContain('Flatten: 1 order cancelled');
    expect(followUps(fake, press)[0]!.body).toMatchObject({ content: 'Done', flags: 64 });

    // Replayed (same payload again) and forged presses: a stale toast, nothing runs.
    const replay = buttonPayload(fake, U.admin, confirm!, prompt);
    await inject(h, replay);
    expect(callbacks(fake, replay)[0]!.body).toMatchObject({ type: 4, data: { content: STALE_BUTTON, flags: 64 } });
    const forged = buttonPayload(fake, U.admin, 'c:1:deadbeef:y', prompt);
    await inject(h, forged);
    expect(callbacks(fake, forged)[0]!.body.data.content).toBe(STALE_BUTTON);
    const junk = buttonPayload(fake, U.admin, 'zz:what', prompt);
    await inject(h, junk);
    expect(callbacks(fake, junk)[0]!.body.data.content).toBe(STALE_BUTTON);

    const outcomes = h.bot.journal
      .recentCommands(20)
      .filter((r) => r.transport === 'discord' && (r.command === 'flatten' || r.command === 'confirm' || r.command === 'button'))
      .map((r) => `${r.command}:${r.outcome}`)
      .reverse();
    expect(outcomes).toEqual([
      'flatten:confirm',
      'confirm:refused',
      'flatten:confirmed',
      'confirm:invalid',
      'confirm:invalid',
      'button:invalid',
    ]);
  });

  it("a stranger's every button press gets an ephemeral refusal", async () => {
    const ask = await slash(h, fake, U.admin, 'risk', [str('action', 'set'), str('key', 'riskPerTrade'), str('value', '2.5%')]);
    const [confirm] = customIds(ask.data.components);
    const prompt = fake.channelMessages(`interaction:${ask.raw.id}`)[0]!;
    for (let k = 0; k < 2; k++) {
      const press = buttonPayload(fake, U.stranger, confirm!, prompt);
      await inject(h, press);
      expect(callbacks(fake, press)[0]!.body, `press ${k + 1}`).toMatchObject({
        type: 4,
        data: { content: expect.stringContaining("not on this bot's allow-list"), flags: 64 },
      });
    }
  });

  it('routes alerts to exactly the configured channels', async () => {
    const before = fake.messages.size;
    const cases = [
      { type: 'order_filled', severity: 'info', expect: [CH.trades] },
      { type: 'stop_hit', severity: 'warning', expect: [CH.trades] },
      { type: 'position_closed', severity: 'critical', expect: [CH.trades, CH.alerts] },
      { type: 'feed_down', severity: 'critical', expect: [CH.alerts] },
      { type: 'daily_report', severity: 'info', expect: [CH.daily] },
      { type: 'data_gap', severity: 'warning', expect: [] },
    ] as const;
    for (const c of cases)
      h.bot.alerts.raise({ type: c.type, severity: c.severity, title: `T-${c.type}-${c.severity}`, message: `m ${c.type}` });
    const expected = cases.reduce((n, c) => n + c.expect.length, 0);
    await waitUntil(() => fake.messages.size - before >= expected);
    await new Promise((r) => setTimeout(r, 100)); // nothing extra arrives
    const posted = [...fake.messages.values()].slice(before);
    expect(posted).toHaveLength(expected);
    for (const c of cases) {
      const where = posted.filter((m) => m.embeds[0]?.title?.includes(`T-${c.type}-${c.severity}`)).map((m) => m.channel_id);
      expect(where.sort(), `${c.type}/${c.severity}`).toEqual([...c.expect].sort());
    }
    const crit = posted.find((m) => m.embeds[0]?.title?.includes('T-feed_down'))!;
    expect(crit.embeds[0].color).toBe(0xe74c3c);
    const req = fake.find('POST', `/channels/${CH.alerts}/messages`)[0]!;
    expect(req.auth).toBe(`Bot ${TOKEN}`);
    expect(req.body.allowed_mentions).toEqual({ parse: [] });
  });

  it('posts images as attachments, edits posted messages, and rides out a 429', async () => {
    const d = h.bot.discord!;
    fake.rateLimitOnce('POST', `/channels/${CH.daily}/messages`, 0.1);
    const refs = await d.broadcast(
      { title: 'Daily report', text: 'equity up', image: { png: Buffer.from('89504e47', 'hex'), filename: 'equity.png' } },
      { type: 'daily_report', severity: 'info' },
    );
    expect(refs).toEqual([{ transport: 'discord', chatId: CH.daily, messageId: expect.stringMatching(/^\d+$/) }]);
    const posts = fake
      .find('POST', `/channels/${CH.daily}/messages`)
      .filter((r) => r.body?.embeds?.[0]?.title === 'Daily report' || r.status === 429);
    expect(posts.map((p) => p.status)).toEqual([429, 200]);
    expect(posts[1]!.files).toEqual([expect.objectContaining({ field: 'files[0]', name: 'equity.png', contentType: 'image/png' })]);
    expect(posts[1]!.body.embeds[0].image.url).toBe('attachment://equity.png');

    await d.edit(refs[0]!, { text: 'replaced', buttons: [] });
    const msg = fake.messages.get(refs[0]!.messageId)!;
    expect(msg).toMatchObject({ content: 'replaced', embeds: [], components: [], attachments: [], edits: 1 });
  });

  it('keeps the token out of the log file', async () => {
    fake.failOnce('POST', `/channels/${CH.alerts}/messages`, 403);
    h.bot.alerts.raise({ type: 'error', severity: 'critical', title: 'Boom', message: 'a failure' });
    await waitUntil(() => readFileSync(logFile, 'utf8').includes('discord post failed'));
    const log = readFileSync(logFile, 'utf8');
    expect(log).toContain('discord slash commands registered');
    expect(log).not.toContain(TOKEN);
    expect(log).not.toMatch(/itok\d+x{10}/); // nor interaction tokens
  });
});

describe('discord trade approvals', () => {
  it('posts the proposal to the approvals channel; Approve places the order and edits the message', async () => {
    const fake = await new FakeDiscordApi().start();
    const h = await startBot({
      waitForReplay: false,
      config: { approvals: { mode: 'always' }, chat: { discord: discordConfig(fake) } },
      bot: { secrets: { discordBotToken: TOKEN, discordApiRoot: fake.url }, discord: { gateway: false } },
    });
    try {
      const post = await fake.waitFor((r) => r.method === 'POST' && r.path === `/channels/${CH.approvals}/messages`, 10_000, 'proposal');
      expect(post.body.embeds[0].title).toMatch(/^Trade proposal #\d+$/);
      const ids = customIds(post.body.components);
      expect(ids).toEqual([expect.stringMatching(/^p:\d+:[0-9a-f]+:a$/), expect.stringMatching(/^p:\d+:[0-9a-f]+:r$/)]);
      const msg = fake.channelMessages(CH.approvals)[0]!;
      const ordersBefore = h.bot.journal.count('orders');

      // A viewer can't decide.
      const v = buttonPayload(fake, U.viewer, ids[0]!, msg);
      await inject(h, v);
      expect(callbacks(fake, v)[0]!.body.data.content).toContain('Only traders and admins');

      const press = buttonPayload(fake, U.roleTrader, ids[0]!, msg, [ROLE.trader]);
      await inject(h, press);
      expect(callbacks(fake, press)[0]!.body).toMatchObject({ type: 4, data: { flags: 64, content: expect.stringMatching(/^Approved/) } });
      const edit = fake.find('PATCH', `/channels/${CH.approvals}/messages/${msg.id}`)[0]!;
      expect(edit.body.embeds[0].title).toMatch(/— approved$/);
      expect(edit.body.embeds[0].description).toContain('Approved by tom (discord)');
      expect(edit.body.components).toEqual([]);
      expect(h.bot.journal.count('orders')).toBeGreaterThan(ordersBefore);

      // Pressing again: already decided, nothing new.
      const again = buttonPayload(fake, U.admin, ids[1]!, msg);
      await inject(h, again);
      expect(callbacks(fake, again)[0]!.body.data.content).toMatch(/^Already approved by tom/);

      const audit = h.bot.journal
        .recentCommands(10)
        .filter((r) => r.command === 'approval')
        .map((r) => `${r.userName}:${r.outcome}`)
        .reverse();
      expect(audit).toEqual(['vic:refused', 'tom:approved', 'alice:invalid']);
    } finally {
      // Let the replay run out without waiting for further proposals.
      h.bot.approvals.setMode('off', undefined, 'test');
      for (const p of h.bot.approvals.pendingList()) {
        const row = h.bot.journal.getProposal(p.id)!;
        await h.bot.dispatcher.handleButton(
          { transport: 'discord', id: U.admin, name: 'alice', role: 'admin' },
          `p:${row.id}:${row.nonce}:r`,
        );
      }
      await h.stop();
      await fake.close();
    }
  });
});

describe('discord slow answers', () => {
  it('acknowledges first when the dispatcher is slow, then edits the answer in', async () => {
    const fake = await new FakeDiscordApi().start();
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    // A stand-in dispatcher that takes longer than the deferral threshold (the client stays real).
    const dispatcher = {
      handleText: async () => (await sleep(150), { text: 'slow answer' }),
      handleButton: async () => (await sleep(150), { toast: 'ok', edit: { text: 'edited', buttons: [] } }),
    } as unknown as Dispatcher;
    const config = parseConfig({ chat: { discord: { enabled: true, users: [{ id: U.admin, role: 'admin' }] } } }).chat.discord;
    const t = new DiscordTransport({
      token: TOKEN,
      apiRoot: fake.url,
      config,
      dispatcher,
      commands: COMMANDS,
      log: silentLogger(),
      gateway: false,
      deferAfterMs: 30,
    });
    try {
      await t.start();
      // No applicationId and no guild: the id is looked up, and the commands go global.
      expect(fake.find('GET', '/applications/@me')).toHaveLength(1);
      expect(fake.commands.get('global')).toHaveLength(COMMANDS.length);

      const raw = slashPayload(fake, U.admin, 'status');
      await inject(t, raw);
      expect(callbacks(fake, raw).map((r) => r.body.type)).toEqual([5]); // DEFERRED_CHANNEL_MESSAGE_WITH_SOURCE
      const edit = fake.find('PATCH', `/webhooks/${fake.applicationId}/${raw.token}/messages/@original`);
      expect(edit.map((r) => r.body.content)).toEqual(['slow answer']);

      const msg = fake.channelMessages(`interaction:${raw.id}`)[0] ?? {
        id: fake.nextId(),
        channel_id: CH.general,
        content: 'x',
        embeds: [],
        components: [],
        attachments: [],
        edits: 0,
      };
      const press = buttonPayload(fake, U.admin, 'c:1:abc:y', msg);
      await inject(t, press);
      expect(callbacks(fake, press).map((r) => r.body.type)).toEqual([6]); // DEFERRED_UPDATE_MESSAGE
      const upd = fake.find('PATCH', `/webhooks/${fake.applicationId}/${press.token}/messages/@original`)[0]!;
      expect(upd.body).toMatchObject({ content: 'edited', components: [] });
      expect(followUps(fake, press)[0]!.body).toMatchObject({ content: 'ok', flags: 64 });
    } finally {
      await t.stop();
      await fake.close();
    }
  });
});

describe('skipper discord register', () => {
  it('registers the slash commands for every configured guild without starting the bot', async () => {
    const fake = await new FakeDiscordApi().start();
    try {
      const dir = tempDir();
      const cfgFile = join(dir, 'config.json');
      writeFileSync(cfgFile, JSON.stringify({ chat: { discord: { enabled: true, guildIds: [GUILD_A, GUILD_B] } } }));
      const run = promisify(execFile);
      const { stdout } = await run(process.execPath, ['bin/skipper.js', 'discord', 'register', '-c', cfgFile], {
        env: { ...process.env, DISCORD_BOT_TOKEN: TOKEN, DISCORD_API_ROOT: fake.url },
        timeout: 15_000,
      });
      // No applicationId in the config: it is looked up with the token.
      expect(fake.find('GET', '/applications/@me')).toHaveLength(1);
      expect(fake.find('PUT', '/applications/').map((r) => r.path)).toEqual(
        [GUILD_A, GUILD_B].map((g) => `/applications/${fake.applicationId}/guilds/${g}/commands`),
      );
      expect(stdout).toContain(`guild ${GUILD_A}: /help /status`);
      expect(stdout).not.toContain(TOKEN);
    } finally {
      await fake.close();
    }
  });
});

async function waitUntil(cond: () => boolean, timeoutMs = 5000): Promise<void> {
  for (let waited = 0; !cond(); waited += 20) {
    if (waited > timeoutMs) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}
