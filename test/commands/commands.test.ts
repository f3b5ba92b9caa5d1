import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatUser, feedCandle, startBot, tempDir, type Harness } from '../helpers/harness.ts';
import type { ConfigInput } from '../../src/config/schema.ts';
import type { Clock } from '../../src/core/clock.ts';
import { registerSecret } from '../../src/core/logger.ts';
import type { Reply } from '../../src/chat/types.ts';
import { humanLogLine, tailLines } from '../../src/ops/logtail.ts';

// A quiet bot: the strategy never warms up on 300 candles, so only chat moves money.
const QUIET: ConfigInput = {
  strategy: { name: 'sma-cross', params: { fast: 200, slow: 400 } },
  risk: { minTradeIntervalSec: 0, maxConsecutiveLosses: 0 },
};
const SYM = 'BTC/USDT';

class FakeWall implements Clock {
  t = Date.UTC(2030, 0, 1);
  now(): number {
    return this.t;
  }
}

const viewer = chatUser('viewer');
const trader = chatUser('trader');
const trader2 = chatUser('trader', 'u-trader-2');
const admin = chatUser('admin');
const stranger = chatUser(null);

let h: Harness;
let wall: FakeWall;

const send = async (user: typeof viewer, text: string): Promise<Reply> => {
  const r = await h.bot.dispatcher.handleText(user, text);
  if (!r) throw new Error(`no reply to ${text}`);
  return r;
};
const buttonData = (r: Reply, label: 'Confirm' | 'Cancel'): string => {
  const b = r.buttons?.flat().find((x) => x.label === label);
  if (!b) throw new Error(`no ${label} button in: ${r.text}`);
  return b.data;
};
/** Ask, then press Confirm as the same user; returns the edited prompt. */
const confirmed = async (user: typeof viewer, text: string): Promise<Reply> => {
  const ask = await send(user, text);
  expect(ask.title).toBe('Please confirm');
  const res = await h.bot.dispatcher.handleButton(user, buttonData(ask, 'Confirm'));
  if (!res.edit) throw new Error(`no edit after confirm: ${res.toast ?? ''}`);
  return res.edit;
};
/** A snapshot of everything a refused or invalid command must leave alone. */
const snapshot = (hh: Harness = h) => ({
  orders: hh.bot.journal.count('orders'),
  decisions: hh.bot.journal.count('decisions'),
  positions: hh.bot.engine.status().positions.length,
  live: hh.bot.engine.liveOrders.size,
  limits: { ...hh.bot.engine.risk.limits },
  approvals: hh.bot.approvals.mode(),
  mutes: hh.bot.alerts.mutes(),
});
const nextCandle = (hh: Harness = h, move = 0): void => feedCandle(hh, SYM, move);

beforeAll(async () => {
  wall = new FakeWall();
  h = await startBot({ candles: 300, config: QUIET, bot: { wallClock: wall } });
});
afterAll(async () => {
  await h.stop();
});

describe('access', () => {
  it('refuses unknown users once, politely, and changes nothing', async () => {
    const before = snapshot();
    const r = await h.bot.dispatcher.handleText(stranger, '/buy BTC/USDT 0.01');
    expect(r?.text).toMatch(/allow-list/);
    expect(await h.bot.dispatcher.handleText(stranger, '/balance')).toBeNull();
    expect(snapshot()).toEqual(before);
  });

  it('refuses a viewer trying to trade and a trader trying admin commands', async () => {
    const before = snapshot();
    expect((await send(viewer, '/buy BTC/USDT 0.01')).text).toMatch(/needs the trader role/);
    expect((await send(viewer, '/sell BTC/USDT 0.01')).text).toMatch(/needs the trader role/);
    expect((await send(viewer, '/close BTC/USDT')).text).toMatch(/needs the trader role/);
    expect((await send(viewer, '/approvals always')).text).toMatch(/needs the trader role/);
    expect((await send(viewer, '/alerts mute order_filled 1h')).text).toMatch(/needs the trader role/);
    expect((await send(trader, '/risk set riskPerTrade 0.025')).text).toMatch(/needs the admin role/);
    expect((await send(trader, '/logs')).text).toMatch(/needs the admin role/);
    expect((await send(trader, '/audit')).text).toMatch(/needs the admin role/);
    expect(snapshot()).toEqual(before);
  });
});

describe('read-only commands', () => {
  it('/balance shows equity, cash, venue balances and capital in use', async () => {
    const r = await send(viewer, '/balance');
    expect(r.text).toMatch(/Equity:\s+10,000\.00 USDT/);
    expect(r.text).toMatch(/Capital in use:/);
    // One format for one figure: the venue's USDT balance reads like the equity above it.
    expect(r.text).toMatch(/USDT\s+10,000\.00\s+0\.00\s+10,000\.00/);
    expect((await send(viewer, '/balance now')).text).toMatch(/Usage: \/balance/);
  });

  it('/mode describes the setup in plain words', async () => {
    const r = await send(viewer, '/mode');
    expect(r.text).toContain('paper trading (simulated money)');
    expect(r.text).toContain('sma-cross');
    expect(r.text).toContain('fast=200');
    expect(r.text).toMatch(/replay of candles\.csv/);
    expect(r.text).toMatch(/Timeframe:\s+1m/);
  });

  it('/health shows numbers', async () => {
    const r = await send(viewer, '/health');
    expect(r.text).toMatch(/CPU:\s+\d+(\.\d+)?% of one core/);
    expect(r.text).toMatch(/RSS \d+(\.\d+)? MB, heap \d/);
    expect(r.text).toMatch(/Event loop lag:\s+p50 \d+\.\d ms, p99 \d+\.\d ms, max \d+\.\d ms/);
    expect(r.text).toMatch(/Journal:\s+\d+(\.\d+)? (KB|MB) \+ WAL/);
    expect(r.text).toMatch(/Feed BTC\/USDT:\s+done/);
    expect(r.text).toMatch(/Uptime:/);
    expect(r.text).toMatch(/Version:\s+Skipper \d+\.\d+\.\d+ on Node v20\./);
  });

  it('/help lists what the user may run; /help <command> explains one, and says when it is not theirs', async () => {
    const all = await send(viewer, '/help');
    expect(all.text).toContain('/status — ');
    expect(all.text).not.toContain('/flatten');
    expect(all.text).toMatch(/\/help <command> explains one\.$/);
    const close = await send(trader, '/help /close');
    expect(close.title).toBe('/close');
    expect(close.text).toMatch(
      /^\/close <symbol> \[amount\]\n.+\nFor traders and admins; asks you to confirm before it acts\.\n\n {2}<symbol> — /,
    );
    expect(close.text).toMatch(/\n {2}\[amount\] — .+, optional$/);
    expect((await send(viewer, '/help flatten')).text).toBe('/flatten needs the admin role; you are a viewer. It is for admins only.');
    expect((await send(viewer, '/help staus')).text).toBe('No command /staus. Did you mean /status? /help lists the ones you can use.');
    expect((await send(viewer, '/help forceexit')).text).toBe('No command /forceexit. /help lists the ones you can use.'); // /close is not a viewer's
  });

  it('/whoami names the user and what the role allows', async () => {
    const r = await send(trader, '/whoami');
    expect(r.text).toMatch(/User id:\s+u-trader/);
    expect(r.text).toMatch(/Role:\s+trader/);
    expect(r.text).toContain('/buy');
    expect(r.text).not.toContain('/logs');
    expect((await send(viewer, '/whoami')).text).not.toContain('/buy');
  });

  it('/risk shows every limit and the risk state', async () => {
    const r = await send(viewer, '/risk');
    for (const k of ['riskPerTrade', 'maxDailyDrawdown', 'maxCapitalInUse', 'maxOpenPositions', 'maxVolatility'])
      expect(r.text).toContain(k);
    expect(r.text).toMatch(/riskPerTrade:\s+2%/);
    expect(r.text).toMatch(/maxVolatility:\s+off/);
    expect(r.text).toMatch(/Entries:\s+allowed/);
    expect(r.text).toMatch(/Entries in 24 h:\s+\d+ \/ 50/);
    expect(r.text).toMatch(/Volatility BTC\/USDT:\s+limit off/);
    expect(r.text).toMatch(/Today:\s+/);
    expect((await send(viewer, '/risk show riskPerTrade')).text).toMatch(/Usage: \/risk/);
    expect((await send(viewer, '/risk reset')).text).toMatch(/Usage: \/risk/);
  });

  it('/reconcile runs and summarizes (trader)', async () => {
    const r = await send(trader, '/reconcile');
    expect(r.title).toBe('Reconciliation');
    expect(r.text.length).toBeGreaterThan(0);
    expect((await send(viewer, '/reconcile')).text).toMatch(/needs the trader role/);
  });
});

describe('/buy, /sell, /cancel, /close', () => {
  it('asks for confirmation with the order and a risk preview; Cancel does nothing', async () => {
    const before = snapshot();
    const ask = await send(trader, '/buy btcusdt 0.01');
    expect(ask.text).toMatch(/BUY BTC\/USDT 0\.01 BTC at market \(last [\d,.]+\)\?/);
    expect(ask.text).toMatch(/Risk check now: accepted/);
    // The preview journals nothing.
    expect(snapshot()).toEqual(before);
    const res = await h.bot.dispatcher.handleButton(trader, buttonData(ask, 'Cancel'));
    expect(res.toast).toBe('Cancelled');
    expect(res.edit?.text).toMatch(/nothing was done/);
    expect(snapshot()).toEqual(before);
  });

  it('refuses a confirmation pressed by someone else, and an expired one does nothing', async () => {
    const before = snapshot();
    const ask = await send(trader, '/buy BTC/USDT 0.01');
    const other = await h.bot.dispatcher.handleButton(trader2, buttonData(ask, 'Confirm'));
    expect(other.toast).toMatch(/Only the person who asked/);
    expect(snapshot()).toEqual(before);
    wall.t += 61_000;
    const late = await h.bot.dispatcher.handleButton(trader, buttonData(ask, 'Confirm'));
    expect(late.toast).toMatch(/expired/);
    expect(snapshot()).toEqual(before);
    // Pressing it again: stale.
    expect((await h.bot.dispatcher.handleButton(trader, buttonData(ask, 'Confirm'))).toast).toMatch(/no longer valid/);
  });

  it('rejects bad arguments with the usage and changes nothing', async () => {
    const before = snapshot();
    for (const cmd of [
      '/buy',
      '/buy BTC/USDT',
      '/buy BTC/USDT lots',
      '/buy BTC/USDT 0',
      '/buy BTC/USDT 150%',
      '/buy BTC/USDT 0.01 -5',
      '/buy BTC/USDT 0.01 0',
      '/buy BTC/USDT 0.01 100 extra',
      '/sell nonsense 1',
    ]) {
      const r = await send(trader, cmd);
      expect(r.text, cmd).toMatch(/Usage: \/(buy|sell) <symbol> <amount> \[price\]/);
      expect(r.buttons, cmd).toBeUndefined();
    }
    const unknown = await send(trader, '/buy ETH/USDT 0.01');
    expect(unknown.text).toMatch(/ETH\/USDT is not traded by this bot\. Symbols: BTC\/USDT/);
    expect(snapshot()).toEqual(before);
  });

  it('a spot sell with nothing to sell is rejected by risk without a prompt', async () => {
    const before = snapshot();
    const r = await send(trader, '/sell BTC/USDT 0.01');
    expect(r.title).toBe('Not placed');
    expect(r.text).toMatch(/rejected by spot_long_only/);
    expect(h.bot.journal.count('decisions')).toBe(before.decisions + 1);
    expect(h.bot.journal.count('orders')).toBe(before.orders);
  });

  it('/buy of a resting limit order, then /cancel of it', async () => {
    const px = h.bot.engine.lastPrice(SYM);
    const limit = Math.round(px * 0.8);
    const done = await confirmed(trader, `/buy BTC/USDT 0.01 ${limit}`);
    const id = /Order (\S+):/.exec(done.text)?.[1];
    expect(id, done.text).toBeDefined();
    expect(done.text).toMatch(/Risk: accepted/);
    expect(h.bot.engine.liveOrders.get(id!)?.price).toBe(limit);
    const dec = h.bot.journal.recentDecisions(1)[0]!;
    expect(dec.clientOrderId).toBe(id);
    expect(dec.strategy).toBe('manual');

    const c = await send(trader, `/cancel ${id!.toUpperCase()}`);
    expect(c.title).toBe('Cancelled');
    expect(h.bot.engine.liveOrders.has(id!)).toBe(false);
    expect(h.bot.journal.getOrder(id!)).toMatchObject({ status: 'cancelled', reason: `cancelled by ${trader.name ?? trader.id}` });
    expect((await send(trader, `/cancel ${id!}`)).text).toMatch(/already cancelled/);
    expect((await send(trader, '/cancel sk-zzzzzz')).text).toMatch(/No working order/);
    expect((await send(trader, '/cancel')).text).toMatch(/Usage: \/cancel <order>/);
    expect((await send(viewer, `/cancel ${id!}`)).text).toMatch(/needs the trader role/);
  });

  it('/buy 5% of equity goes through risk: decision row and verdict', async () => {
    const st = h.bot.engine.status();
    const px = h.bot.engine.lastPrice(SYM);
    const ask = await send(trader, '/buy BTC/USDT 5%');
    expect(ask.text).toMatch(/BUY BTC\/USDT 5% of equity \(~500\.00 USDT\) at market/);
    const res = await h.bot.dispatcher.handleButton(trader, buttonData(ask, 'Confirm'));
    const done = res.edit!;
    const dec = h.bot.journal.recentDecisions(1)[0]!;
    expect(['accept', 'resize']).toContain(dec.verdict);
    expect(dec.requestedQty).toBeCloseTo((st.equity * 0.05) / px, 4);
    expect(dec.clientOrderId).toBeTruthy();
    expect(done.text).toContain(`Risk: ${dec.verdict === 'accept' ? 'accepted' : `resized by ${dec.verdictRule}`}`);
    expect(done.text).toContain(dec.clientOrderId!);
    // The replay has ended, so the market order filled at the last close. Tidy up: start flat again.
    expect(h.bot.journal.getOrder(dec.clientOrderId!)?.status).toBe('filled');
    h.bot.engine.flatten('test');
    expect(h.bot.engine.status().positions).toHaveLength(0);
    expect(h.bot.engine.liveOrders.size).toBe(0);
  });

  it('a size above the risk limits is resized, and the reply says by which rule', async () => {
    // 60% of equity exceeds maxCapitalInUse (50%).
    const done = await confirmed(trader, '/buy BTC/USDT 60%');
    const dec = h.bot.journal.recentDecisions(1)[0]!;
    expect(dec.verdict).toBe('resize');
    expect(done.text).toContain(`resized by ${dec.verdictRule}`);
    h.bot.engine.flatten('test');
    expect(h.bot.engine.status().positions).toHaveLength(0);
  });

  it('/close: no position → clear message; with a position → confirm with size and uPnL → closes', async () => {
    const before = snapshot();
    const none = await send(trader, '/close BTC/USDT');
    expect(none.text).toMatch(/No open BTC\/USDT position/);
    expect(none.buttons).toBeUndefined();
    expect(snapshot()).toEqual(before);
    expect((await send(trader, '/close DOGE/USDT')).text).toMatch(/not traded/);
    expect((await send(trader, '/close')).text).toMatch(/Usage: \/close <symbol>/);

    await confirmed(trader, '/buy BTC/USDT 0.01');
    nextCandle(h, 0.01);
    const pos = h.bot.engine.status().positions.find((p) => p.symbol === SYM);
    expect(pos?.qty).toBeCloseTo(0.01, 8);
    // /pnl's rows count whole trades: with one open, what they leave out of the equity change is said.
    const pnl = (await send(viewer, '/pnl all')).text;
    const usdt = (label: string) => Number(new RegExp(`${label}:\\s+([+-]?[\\d,.]+) USDT`).exec(pnl)![1]!.replace(/,/g, ''));
    const rest = usdt('Equity change') - usdt('Realized \\(net\\)') - usdt('Unrealized');
    expect(rest).toBeLessThan(0); // the entry fee
    expect(pnl).toMatch(/\nEquity change − realized − unrealized: -[\d.]+ USDT \(open trades' entry fees, and what trades spanning/);
    expect(Math.abs(usdt('Equity change − realized − unrealized') - rest)).toBeLessThanOrEqual(0.015); // rows rounded to cents

    const ask = await send(trader, '/close BTC/USDT');
    expect(ask.text).toMatch(/Close the long 0\.01 BTC\/USDT position at market\? Entry .*uPnL [+-]/);
    const cancel = await h.bot.dispatcher.handleButton(trader, buttonData(ask, 'Cancel'));
    expect(cancel.toast).toBe('Cancelled');
    expect(h.bot.engine.status().positions).toHaveLength(1);

    const done = await confirmed(trader, '/close BTC/USDT');
    expect(done.text).toMatch(/SELL 0\.01 BTC\/USDT at market: order \S+/);
    nextCandle(h);
    expect(h.bot.engine.status().positions).toHaveLength(0);
    // Stop-loss left over from the entry is cancelled with the position.
    expect([...h.bot.engine.liveOrders.values()].filter((o) => o.symbol === SYM)).toHaveLength(0);
  });
});

describe('/approvals', () => {
  it('shows the mode and pending proposals, sets it for traders, validates the notional', async () => {
    const show = await send(viewer, '/approvals');
    expect(show.text).toMatch(/Mode: off/);
    expect(show.text).toMatch(/No pending proposals/);
    const before = snapshot();
    for (const cmd of ['/approvals above', '/approvals above 0', '/approvals off 100', '/approvals sometimes']) {
      expect((await send(trader, cmd)).text, cmd).toMatch(/Usage: \/approvals \[always\|above\|off\] \[notional\]/);
    }
    expect(snapshot()).toEqual(before);
    const set = await send(trader, '/approvals above 500');
    expect(set.text).toMatch(/above 500\.00 USDT/);
    expect(h.bot.approvals.mode()).toEqual({ mode: 'above', aboveNotional: 500 });
    expect((await send(viewer, '/approvals')).text).toMatch(/Mode: above 500\.00 USDT/);
    await send(trader, '/approvals off');
    expect(h.bot.approvals.mode().mode).toBe('off');
  });
});

describe('/alerts', () => {
  it('shows routing; mute journals alerts of that type as muted (critical ones still go); unmute', async () => {
    const show = await send(viewer, '/alerts');
    expect(show.text).toMatch(/Delivered to: no channel/);
    expect(show.text).toMatch(/Muted: nothing/);
    expect(show.text).toMatch(/Critical alerts are never muted/);

    const before = snapshot();
    for (const cmd of [
      '/alerts mute',
      '/alerts mute order_filled',
      '/alerts mute order_filled 8d',
      '/alerts mute order_filled soon',
      '/alerts mute nope 1h',
      '/alerts unmute order_filled 1h',
      '/alerts order_filled',
    ]) {
      expect((await send(trader, cmd)).text, cmd).toMatch(/Usage: \/alerts/);
    }
    expect(snapshot()).toEqual(before);

    const m = await send(trader, '/alerts mute order_filled 2h');
    expect(m.text).toMatch(/order_filled alerts muted for 2 h,/);
    expect(m.text).toMatch(/Critical alerts are never muted/);
    expect(h.bot.alerts.mutes()).toEqual([{ type: 'order_filled', until: wall.t + 2 * 3_600_000 }]);

    h.bot.alerts.raise({ type: 'order_filled', severity: 'info', title: 'test fill', message: 'muted one' });
    expect(h.bot.journal.recentAlerts(1)[0]).toMatchObject({ type: 'order_filled', delivery: 'muted' });
    h.bot.alerts.raise({ type: 'order_filled', severity: 'critical', title: 'LIQUIDATION test', message: 'never muted' });
    // Not muted; this bot has no alert channel, so the journal says it went nowhere rather than "sent".
    expect(h.bot.journal.recentAlerts(1)[0]).toMatchObject({ title: 'LIQUIDATION test', delivery: 'none' });
    expect((await send(viewer, '/alerts')).text).toMatch(/order_filled until .* \(2 h left\)[\s\S]*test fill \[muted\]/);

    expect((await send(trader, '/alerts unmute order_filled')).text).toMatch(/delivered again/);
    expect(h.bot.alerts.mutes()).toEqual([]);
    expect((await send(trader, '/alerts unmute order_filled')).text).toMatch(/not muted/);
  });
});

describe('/logs and /audit', () => {
  it('/logs renders the tail of the pino log as short lines, secrets scrubbed', async () => {
    const file = h.bot.config.log.file;
    expect((await send(admin, '/logs')).text).toMatch(/not been written yet/);
    const secret = 'sk-test-SECRET-0123456789';
    registerSecret(secret);
    const t0 = Date.UTC(2030, 0, 1, 12, 0, 0);
    const lines = Array.from({ length: 300 }, (_, i) =>
      JSON.stringify({ level: i % 10 === 0 ? 40 : 30, time: t0 + i * 1000, msg: `line ${i}` }),
    );
    lines.push(JSON.stringify({ level: 50, time: t0 + 301_000, msg: `boom with ${secret}`, err: { message: 'kaput' } }));
    lines.push('not json at all');
    writeFileSync(file, lines.join('\n') + '\n');

    const r = await send(admin, '/logs 3');
    const out = r.text.split('\n');
    expect(out).toHaveLength(3);
    expect(out[0]).toBe('01-01 12:04:59 INFO  line 299');
    expect(out[1]).toBe('01-01 12:05:01 ERROR boom with [REDACTED] (err: kaput)');
    expect(out[2]).toBe('not json at all');
    expect((await send(admin, '/logs')).text.split('\n')).toHaveLength(20);
    expect((await send(admin, '/logs 200')).text.split('\n')).toHaveLength(200);
    expect((await send(admin, '/logs 201')).text).toMatch(/Usage: \/logs \[n\]/);
    expect((await send(admin, '/logs 0')).text).toMatch(/Usage: \/logs \[n\]/);
    writeFileSync(file, '');
    expect((await send(admin, '/logs')).text).toMatch(/empty/);
  });

  it('/audit shows the preceding commands, refused ones included', async () => {
    await h.bot.dispatcher.handleText(chatUser(null, 'u-nobody'), '/flatten');
    await send(viewer, '/buy BTC/USDT 1');
    await send(trader, '/buy BTC/USDT nope');
    const r = await send(admin, '/audit 10');
    expect(r.mono).toBe(true);
    expect(r.title).toMatch(/^Last \d+ commands \(UTC, wall clock\)$/); // the engine keeps replay time; the audit, wall time
    const rows = r.text.split('\n');
    expect(rows[0]).toMatch(/^time\s+via\s+user\s+role\s+command\s+outcome\s+detail$/);
    expect(r.text).toMatch(/u-nobody\s+-\s+\/flatten\s+refused\s+not on the allow-list/);
    expect(r.text).toMatch(/u-viewer\s+viewer\s+\/buy BTC\/USDT 1\s+refused\s+needs trader/);
    expect(r.text).toMatch(/u-trader\s+trader\s+\/buy BTC\/USDT nope\s+invalid\s+amount:/);
    // A command whose argument named nothing did nothing: audited as invalid, not ok.
    await send(trader, '/cancel sk-999999');
    await send(viewer, '/help nope');
    const after = (await send(admin, '/audit 5')).text;
    expect(after).toMatch(/\/cancel sk-999999\s+invalid\s+no such working order/);
    expect(after).toMatch(/\/help nope\s+invalid\s+no such command/);
    expect((await send(admin, '/audit 0')).text).toMatch(/Usage: \/audit \[n\]/);
  });
});

describe('/risk set', () => {
  it('validates, asks old → new, applies, and persists across a restart', async () => {
    const dir = tempDir();
    let a = await startBot({ dir, candles: 300, config: QUIET });
    try {
      const before = snapshot(a);
      const say = async (text: string) => (await a.bot.dispatcher.handleText(admin, text))!;
      expect((await say('/risk set riskPerTrade 0.5')).text).toMatch(/riskPerTrade must be .*Nothing was changed/);
      expect((await say('/risk set noSuchLimit 1')).text).toMatch(/unknown limit "noSuchLimit"/);
      expect((await say('/risk set riskPerTrade')).text).toMatch(/Usage: \/risk/);
      expect((await say('/risk set')).text).toMatch(/Usage: \/risk/);
      expect(snapshot(a)).toEqual(before);
      expect(a.bot.journal.getState('risk_limits', null)).toBeNull();

      const ask = await say('/risk set riskpertrade 0.025');
      expect(ask.text).toMatch(/Change risk limit riskPerTrade: 2% → 2\.5%\?/);
      const no = await a.bot.dispatcher.handleButton(admin, buttonData(ask, 'Cancel'));
      expect(no.toast).toBe('Cancelled');
      expect(a.bot.engine.risk.limits.riskPerTrade).toBe(0.02);

      const ask2 = await say('/risk set riskPerTrade 0.025');
      const yes = await a.bot.dispatcher.handleButton(admin, buttonData(ask2, 'Confirm'));
      expect(yes.edit?.text).toMatch(/riskPerTrade: 2% → 2\.5%/);
      expect(a.bot.engine.risk.limits.riskPerTrade).toBe(0.025);
      const yes2 = await a.bot.dispatcher.handleButton(admin, buttonData(await say('/risk set maxVolatility 3%'), 'Confirm'));
      expect(yes2.edit?.text).toMatch(/maxVolatility: off → 3%/);
      expect((await say('/risk')).text).toMatch(/riskPerTrade:\s+2\.5% \*/);
      // Two questions open at once: the older one, confirmed last, does not overwrite the newer change unseen.
      const older = await say('/risk set riskPerTrade 1%');
      const newer = await say('/risk set riskPerTrade 3%');
      expect((await a.bot.dispatcher.handleButton(admin, buttonData(newer, 'Confirm'))).edit?.text).toMatch(/2\.5% → 3%/);
      const stale = await a.bot.dispatcher.handleButton(admin, buttonData(older, 'Confirm'));
      expect(stale.edit?.text).toBe(
        'riskPerTrade changed since you asked (2.5% then, 3% now): nothing was changed. Send /risk set again if you still want 1%.',
      );
      expect(a.bot.engine.risk.limits.riskPerTrade).toBe(0.03);
      await say('/risk set riskPerTrade 2.5%').then((q) => a.bot.dispatcher.handleButton(admin, buttonData(q, 'Confirm')));

      await a.stop();
      a = await startBot({ dir, candles: 300, config: QUIET });
      expect(a.bot.engine.risk.limits.riskPerTrade).toBe(0.025);
      expect(a.bot.engine.risk.limits.maxVolatility).toBe(0.03);
      expect(a.bot.engine.risk.limits.maxOpenPositions).toBe(3); // untouched limits still come from the config
    } finally {
      await a.stop();
    }
  });
});

describe('tailLines', () => {
  it('reads only the end of a large file', async () => {
    const file = join(tempDir(), 'big.log');
    const line = JSON.stringify({ level: 30, time: 0, msg: 'x'.repeat(100) });
    writeFileSync(file, Array.from({ length: 60_000 }, (_, i) => `${line.slice(0, -2)}${i}"}`).join('\n') + '\n');
    const last = await tailLines(file, 3);
    expect(last.map((l) => (JSON.parse(l) as { msg: string }).msg.slice(100))).toEqual(['59997', '59998', '59999']);
    // A cap on the bytes read keeps a huge single line from being read whole.
    const capped = await tailLines(file, 100_000, 10_000);
    expect(capped.length).toBeGreaterThan(0);
    expect(capped.length).toBeLessThan(1000); // one 64 KiB chunk, not the 6 MB file
    expect(humanLogLine(`{"level":30,"time":0,"msg":"${'y'.repeat(300)}"}`).length).toBeLessThanOrEqual(180);
  });
});
