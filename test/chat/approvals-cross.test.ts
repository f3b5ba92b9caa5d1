// A trade proposal in paper replay with approvals on goes to Telegram AND Discord: the first decision
// wins wherever it is made, every copy is edited, and the audit table shows each step.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeDiscordApi } from '../fakes/discord-api.ts';
import { BOT_INFO, FakeTelegram, parseTelegramHtml, type FakeCall } from '../fakes/telegram-api.ts';
import { buttonPayload, customIds, inject, NAMES, slashPayload } from '../helpers/discord-interactions.ts';
import { startBot, type Harness } from '../helpers/harness.ts';

const TG_TOKEN = '123456:CROSS-token-abc';
const DC_TOKEN = 'cross-discord-token-xyz';
const TG_ADMIN = 111;
const TG_GROUP = -1001;
const DC_TRADER = '4000000000000000007';
const DC_APPROVALS = '3000000000000000005';
NAMES[DC_TRADER] = 'dora';

const text = (c: FakeCall) => {
  const p = parseTelegramHtml(String(c.body.text ?? ''));
  if (!p.ok) throw new Error(p.error);
  return p.text;
};
const tgButtons = (c: FakeCall) =>
  ((c.body.reply_markup as { inline_keyboard?: Array<Array<{ callback_data: string }>> } | undefined)?.inline_keyboard ?? []).flat();

describe('approvals across Telegram and Discord', () => {
  let tg: FakeTelegram;
  let dc: FakeDiscordApi;
  let h: Harness;
  let wall = Date.UTC(2026, 10, 21, 12);
  const orders = () => h.bot.journal.count('orders');

  /** The next proposal, as posted to both transports. */
  async function nextProposal(n: number) {
    const tgCall = await tg.waitFor(
      'sendMessage',
      (c) => String(c.body.chat_id) === String(TG_GROUP) && /Trade proposal #/.test(text(c)) && !seenIds.has(c.seq),
      {
        timeoutMs: 15_000,
      },
    );
    seenIds.add(tgCall.seq);
    const dcPost = await dc.waitFor(
      (r) => r.method === 'POST' && r.path === `/channels/${DC_APPROVALS}/messages` && r.body.embeds?.[0]?.title === `Trade proposal #${n}`,
      15_000,
      'proposal',
    );
    const dcMsg = dc.channelMessages(DC_APPROVALS).find((m) => m.embeds?.[0]?.title === `Trade proposal #${n}`)!;
    return {
      tgMessageId: (tgCall.response as { result: { message_id: number } }).result.message_id,
      tgButtons: tgButtons(tgCall).map((b) => b.callback_data),
      dcIds: customIds(dcPost.body.components),
      dcMsg,
    };
  }
  const seenIds = new Set<number>();

  beforeAll(async () => {
    tg = await FakeTelegram.start(TG_TOKEN);
    tg.addUser({ id: TG_ADMIN, first_name: 'Ada', username: 'ada' });
    dc = await new FakeDiscordApi().start();
    h = await startBot({
      candles: 3000,
      waitForReplay: false,
      config: {
        approvals: { mode: 'always', holdReplay: true, timeoutSec: 60 },
        chat: {
          telegram: { enabled: true, pollTimeoutSec: 1, users: [{ id: TG_ADMIN, role: 'admin' }], alertChats: [{ chatId: TG_GROUP }] },
          discord: {
            enabled: true,
            applicationId: dc.applicationId,
            guildIds: ['2000000000000000001'],
            users: [{ id: DC_TRADER, role: 'trader' }],
            routes: [{ channelId: DC_APPROVALS, types: ['approval_pending'] }],
          },
        },
      },
      bot: {
        secrets: { telegramBotToken: TG_TOKEN, telegramApiRoot: tg.url, discordBotToken: DC_TOKEN, discordApiRoot: dc.url },
        telegram: { botInfo: BOT_INFO },
        discord: { gateway: false },
        wallClock: { now: () => wall },
      },
    });
  });

  afterAll(async () => {
    h.bot.approvals.setMode('off', undefined, 'test');
    wall += 86_400_000;
    h.bot.approvals.sweep();
    await h.stop();
    await tg.close();
    await dc.close();
  });

  it('approved on Telegram: the Discord copy is updated and the order is placed', async () => {
    const p = await nextProposal(1);
    const before = orders();
    const after = tg.mark;
    tg.pressButton(TG_ADMIN, p.tgMessageId, p.tgButtons[0]!);
    const tgEdit = await tg.waitFor('editMessageText', (c) => Number(c.body.message_id) === p.tgMessageId, { after });
    expect(text(tgEdit)).toMatch(/Approved by ada \(telegram\)/);
    await dc.waitFor((r) => r.method === 'PATCH' && r.path === `/channels/${DC_APPROVALS}/messages/${p.dcMsg.id}`, 5000, 'discord edit');
    const dcEdit = dc.find('PATCH', `/channels/${DC_APPROVALS}/messages/${p.dcMsg.id}`)[0]!;
    expect(dcEdit.body.embeds[0].description).toMatch(/Approved by ada \(telegram\)/);
    expect(dcEdit.body.components).toEqual([]);
    expect(orders()).toBeGreaterThan(before);
    // The Discord button is now stale: pressing it decides nothing.
    await inject(h, buttonPayload(dc, DC_TRADER, p.dcIds[1]!, p.dcMsg));
    expect(h.bot.journal.getProposal(1)!.status).toBe('approved');
  });

  it('rejected on Discord: the Telegram copy is updated and nothing is placed', async () => {
    const p = await nextProposal(2);
    const before = orders();
    const after = tg.mark;
    await inject(h, buttonPayload(dc, DC_TRADER, p.dcIds[1]!, p.dcMsg));
    const tgEdit = await tg.waitFor('editMessageText', (c) => Number(c.body.message_id) === p.tgMessageId, { after });
    expect(text(tgEdit)).toMatch(/Rejected by dora \(discord\)/);
    expect(orders()).toBe(before);
  });

  it('expired: both copies say so and nothing is placed; the audit shows each step', async () => {
    const p = await nextProposal(3);
    const before = orders();
    const after = tg.mark;
    wall += 61_000;
    h.bot.approvals.sweep();
    const tgEdit = await tg.waitFor('editMessageText', (c) => Number(c.body.message_id) === p.tgMessageId, { after });
    expect(text(tgEdit)).toMatch(/Expired without a decision: nothing was placed/);
    await dc.waitFor((r) => r.method === 'PATCH' && r.path === `/channels/${DC_APPROVALS}/messages/${p.dcMsg.id}`, 5000, 'discord edit');
    expect(orders()).toBe(before);

    const audit = h.bot.journal
      .recentCommands(50)
      .filter((r) => r.command === 'approval')
      .map((r) => `${r.transport}:${r.userName}:${r.outcome}`)
      .reverse();
    expect(audit).toEqual(['telegram:ada:approved', 'discord:dora:invalid', 'discord:dora:rejected']);
    const statuses = [1, 2, 3].map((id) => h.bot.journal.getProposal(id)!.status);
    expect(statuses).toEqual(['approved', 'rejected', 'expired']);
    const alerts = h.bot.journal.recentAlerts(200).map((a) => a.type);
    expect(alerts.filter((t) => t === 'approval_pending').length).toBeGreaterThanOrEqual(3);
    expect(alerts).toContain('approval_expired');
  });
});

describe('the /approvals list on Discord', () => {
  let dc: FakeDiscordApi;
  let h: Harness;

  beforeAll(async () => {
    dc = await new FakeDiscordApi().start();
    h = await startBot({
      candles: 3000,
      waitForReplay: false,
      config: {
        approvals: { mode: 'always', holdReplay: true, timeoutSec: 3600 },
        chat: {
          discord: {
            enabled: true,
            applicationId: dc.applicationId,
            guildIds: ['2000000000000000001'],
            users: [{ id: DC_TRADER, role: 'trader' }],
            routes: [{ channelId: DC_APPROVALS, types: ['approval_pending'] }],
          },
        },
      },
      bot: { secrets: { discordBotToken: DC_TOKEN, discordApiRoot: dc.url }, discord: { gateway: false } },
    });
  });

  afterAll(async () => {
    h.bot.approvals.setMode('off', undefined, 'test');
    h.bot.approvals.withdraw({}, 'test over', 'test');
    await h.stop();
    await dc.close();
  });

  it('lists the pending proposal with Approve/Reject buttons; pressing one decides it and refreshes the list', async () => {
    await dc.waitFor((r) => r.method === 'POST' && r.path === `/channels/${DC_APPROVALS}/messages`, 15_000, 'proposal');
    const raw = slashPayload(dc, DC_TRADER, 'approvals');
    await inject(h, raw);
    const reply = dc.find('POST', `/interactions/${raw.id}/${raw.token}/callback`)[0]!.body.data;
    expect(reply.embeds[0].description).toMatch(/Pending:\n#1 BUY/);
    const ids = customIds(reply.components);
    expect(ids).toEqual([expect.stringMatching(/^p:1:[0-9a-f]+:a:l$/), expect.stringMatching(/^p:1:[0-9a-f]+:r:l$/)]);
    const list = dc.channelMessages(`interaction:${raw.id}`)[0]!;
    const press = buttonPayload(dc, DC_TRADER, ids[1]!, list);
    await inject(h, press);
    const upd = dc.find('POST', `/interactions/${press.id}/${press.token}/callback`)[0]!.body;
    expect(upd.type).toBe(7); // the list message is updated…
    expect(upd.data.embeds[0].description).not.toMatch(/#1 /); // (the replay goes on: a newer one may be listed)
    expect(h.bot.journal.getProposal(1)!.status).toBe('rejected'); // …and the proposal decided once
  });
});
