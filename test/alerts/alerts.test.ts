// Alert delivery as the trader sees it: every alert's real outcome per channel in the journal,
// coalesced repeats summed up from their figures, and what the storm guard holds back counted to
// the same channel. Console and Discord (real discord.js against the local fake API).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signedMoney } from '../../src/chat/format.ts';
import type { AlertType } from '../../src/core/alerts.ts';
import type { AlertRow, Journal } from '../../src/journal/journal.ts';
import { FakeDiscordApi } from '../fakes/discord-api.ts';
import { startBot, type Harness } from '../helpers/harness.ts';

const T0 = Date.UTC(2026, 0, 10, 12);
const TRADE_TYPES: AlertType[] = ['order_filled', 'position_opened', 'position_closed', 'stop_hit'];

const isSummary = (a: AlertRow): boolean => !!(a.data as { coalesced?: unknown } | null)?.coalesced;
const isStorm = (a: AlertRow): boolean => a.title.startsWith('Alert storm');

function allAlerts(j: Journal): AlertRow[] {
  return j.recentAlerts(100_000).reverse();
}

/**
 * For one channel and alert type: alerts posted on their own, plus those counted in storm summaries
 * and coalesced summaries that reached the channel. Every raised alert must be accounted for.
 */
function accounted(j: Journal, channel: string, type: string): { raised: number; accounted: number } {
  const rows = allAlerts(j);
  const sentTo = (a: AlertRow) => j.alertDeliveries(a.id).some((d) => d.channel === channel && d.status === 'sent');
  const raised = rows.filter((a) => a.type === type && !isSummary(a) && !isStorm(a));
  const own = raised.filter(sentTo).length;
  const inSummaries = rows.filter((a) => a.type === type && isSummary(a) && sentTo(a)).reduce((n, a) => n + a.count - 1, 0);
  const inStorms = rows
    .filter((a) => isStorm(a) && sentTo(a))
    .reduce((n, a) => n + ((a.data as { byType: Record<string, { count: number }> }).byType[type]?.count ?? 0), 0);
  return { raised: raised.length, accounted: own + inSummaries + inStorms };
}

describe('alerts on the console during a fast replay', () => {
  let h: Harness;
  let wall = T0;

  beforeAll(async () => {
    h = await startBot({
      candles: 6000,
      config: { chat: { console: { enabled: true } }, risk: { maxConsecutiveLosses: 0 } },
      bot: { wallClock: { now: () => wall } },
    });
  }, 60_000);
  afterAll(async () => {
    await h?.stop();
  });

  it('journals what really happened to each alert: sent, coalesced or held back by the storm guard', () => {
    const j = h.bot.journal;
    const closed = j.closedPositions().length;
    expect(closed).toBeGreaterThan(16);
    const rows = allAlerts(j).filter((a) => TRADE_TYPES.includes(a.type as AlertType));
    const byDelivery = (d: string) => rows.filter((a) => a.delivery === d);
    // Far more trade alerts than the storm guard lets through in one window (the wall clock stands still):
    // 20 a channel, the start notice one of them.
    const notices = allAlerts(j).filter((a) => a.title === 'Skipper started');
    expect(notices.map((a) => a.delivery)).toEqual(['sent']);
    expect(byDelivery('sent').length).toBe(20 - notices.length);
    expect(byDelivery('dropped').length).toBeGreaterThan(0);
    expect(byDelivery('coalesced').length).toBeGreaterThan(0);
    for (const a of byDelivery('sent')) expect(j.alertDeliveries(a.id).map((d) => [d.channel, d.status])).toEqual([['console', 'sent']]);
    for (const a of byDelivery('dropped'))
      expect(j.alertDeliveries(a.id).map((d) => [d.channel, d.status])).toEqual([['console', 'dropped']]);
    for (const a of byDelivery('coalesced')) expect(j.alertDeliveries(a.id)).toEqual([]);
  });

  it('says promptly, on the same channel, how many alerts the storm guard held back and what they add up to', () => {
    expect(h.printed()).not.toContain('Alert storm');
    wall += 10_000; // the storm window is over; no further alert is needed to trigger the summary
    h.bot.alerts.tick();
    const out = h.printed();
    const line = out.split('\n').find((l) => l.includes('Alert storm'));
    expect(line).toMatch(/^\[!\] Alert storm: \d+ alerts? not shown here: Held back in the last 10 s to avoid a flood:$/);
    expect(out).toMatch(/order_filled ×\d+: total size [\d.]+ BTC, price [\d,.]+–[\d,.]+, fees [\d,.]+ USDT/);
    const storm = allAlerts(h.bot.journal).find(isStorm)!;
    expect(storm.delivery).toBe('sent');
    expect(h.bot.journal.alertDeliveries(storm.id).map((d) => d.channel)).toEqual(['console']);
  });

  it('coalesced repeats are summed up from their figures: count, total size, total net PnL, price range', () => {
    const j = h.bot.journal;
    wall += 60_000; // every coalescing window has closed
    h.bot.alerts.tick();
    const out = h.printed();
    const positions = j.closedPositions();
    const total = positions.reduce((a, p) => a + p.realizedPnl - p.fees, 0);
    const closedLine = out.split('\n').find((l) => l.startsWith('[i] Closed long BTC/USDT ×'))!;
    expect(closedLine).toContain(`[i] Closed long BTC/USDT ×${positions.length}: ${positions.length} in 0 s: total size`);
    expect(closedLine).toContain(`total net PnL ${signedMoney(total)}`);
    const openedLine = out.split('\n').find((l) => l.startsWith('[i] Opened long BTC/USDT ×'))!;
    const size = positions.reduce((a, p) => a + p.maxQty, 0) + j.openPositions().reduce((a, p) => a + p.maxQty, 0);
    expect(openedLine).toMatch(/total size ([\d.]+) BTC, price [\d,.]+–[\d,.]+/);
    expect(Number(/total size ([\d.]+) BTC/.exec(openedLine)![1])).toBeCloseTo(size, 6);
  });

  it('every trade alert reached the console on its own or as a count in a summary', () => {
    for (const type of ['order_filled', 'position_opened', 'position_closed'] as const) {
      const r = accounted(h.bot.journal, 'console', type);
      expect(r.raised, type).toBeGreaterThan(0);
      expect(r.accounted, type).toBe(r.raised);
    }
  });
});

const CH = { trades: '3000000000000000002', alerts: '3000000000000000003' };

describe('alert delivery per Discord channel (real discord.js, fake Discord API)', () => {
  let fake: FakeDiscordApi;
  let h: Harness;
  let wall = T0;

  beforeAll(async () => {
    fake = await new FakeDiscordApi().start();
    h = await startBot({
      candles: 400,
      config: {
        strategy: { params: { fast: 200, slow: 1000 } }, // never warms up: only the alerts raised here
        chat: {
          discord: {
            enabled: true,
            applicationId: fake.applicationId,
            users: [{ id: '4000000000000000001', role: 'admin' }],
            routes: [
              { channelId: CH.trades, types: ['order_filled', 'position_opened', 'position_closed', 'stop_hit'] },
              { channelId: CH.alerts, severities: ['critical'] },
            ],
          },
        },
      },
      bot: {
        wallClock: { now: () => wall },
        secrets: { discordBotToken: 'tok-alerts', discordApiRoot: fake.url },
        discord: { gateway: false },
      },
    });
  });
  afterAll(async () => {
    await h?.stop();
    await fake?.close();
  });

  const settle = () => new Promise((r) => setTimeout(r, 150));
  async function until(pred: () => boolean, what: string): Promise<void> {
    for (let t = 0; !pred(); t += 20) {
      if (t > 5000) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('a storm summary reaches the #trades channel that lost the alerts, with the count and totals', async () => {
    for (let i = 0; i < 25; i++) {
      h.bot.alerts.raise({
        type: 'order_filled',
        severity: 'info',
        title: `BUY 0.001 BTC/USDT #${i}`,
        message: `fill ${i}`,
        figures: { qty: 0.001, price: 100_000 + i, fee: 0.1, unit: 'BTC', ccy: 'USDT' },
      });
    }
    await until(() => fake.channelMessages(CH.trades).length >= 20, '20 posts');
    await settle();
    expect(fake.channelMessages(CH.trades)).toHaveLength(20);
    wall += 10_000;
    h.bot.alerts.tick();
    await until(() => fake.channelMessages(CH.trades).length >= 21, 'the storm note');
    const note = fake.channelMessages(CH.trades)[20]!;
    expect(note.embeds[0].title).toContain('Alert storm: 5 alerts not shown here');
    expect(note.embeds[0].description).toContain('order\\_filled ×5: total size 0.005 BTC, price 100,020–100,024, fees 0.50 USDT');
    expect(fake.channelMessages(CH.alerts)).toHaveLength(0);

    await settle();
    const rows = allAlerts(h.bot.journal).filter((a) => a.title.startsWith('BUY 0.001'));
    expect(rows.map((a) => a.delivery)).toEqual([...Array(20).fill('sent'), ...Array(5).fill('dropped')]);
    expect(h.bot.journal.alertDeliveries(rows[24]!.id)).toMatchObject([{ channel: `discord:${CH.trades}`, status: 'dropped' }]);
    expect(accounted(h.bot.journal, `discord:${CH.trades}`, 'order_filled')).toEqual({ raised: 25, accounted: 25 });
  });

  it('a post Discord refuses is journaled as failed for that channel; the other channel still gets it', async () => {
    wall += 10_000;
    fake.failOnce('POST', `/channels/${CH.trades}/messages`, 403);
    const before = fake.channelMessages(CH.alerts).length;
    h.bot.alerts.raise({ type: 'position_closed', severity: 'critical', title: 'Closed long BTC/USDT (forced)', message: 'liquidated' });
    await until(() => fake.channelMessages(CH.alerts).length > before, 'the critical post');
    await settle();
    const row = allAlerts(h.bot.journal).find((a) => a.title.startsWith('Closed long BTC/USDT (forced)'))!;
    const d = h.bot.journal.alertDeliveries(row.id);
    expect(d.map((x) => [x.channel, x.status]).sort()).toEqual([
      [`discord:${CH.trades}`, 'failed'],
      [`discord:${CH.alerts}`, 'sent'],
    ]);
    expect(d.find((x) => x.status === 'failed')!.detail).toContain('403');
    expect(row.delivery).toBe('partial');
  });
});
