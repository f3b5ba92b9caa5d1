// Strategy entries split into TWAP/iceberg parents (`execution.signals`): the decision is journaled and
// counted once, its slices are `entry` orders of the strategy; an entry signal waits for the parent, an
// exit signal or a closed position stops it; small entries and `signals: false` go out whole; an
// approved proposal starts the parent.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ApprovalService } from '../../src/chat/approvals.ts';
import { Notifier } from '../../src/chat/transport.ts';
import type { ChatUser } from '../../src/chat/types.ts';
import { parseConfig } from '../../src/config/load.ts';
import { silentLogger } from '../../src/core/logger.ts';
import type { ExecutionConfig } from '../../src/execution/config.ts';
import { Journal } from '../../src/journal/journal.ts';
import { childOrderId } from '../../src/journal/parents.ts';
import { MIN, rig, SYM, T0, type RigOptions } from '../helpers/engine-rig.ts';
import { RecordingTransport } from '../helpers/recording-transport.ts';
import { startBot, tempDir } from '../helpers/harness.ts';

const SPLIT: Partial<ExecutionConfig> = { algo: 'twap', aboveNotional: 1000, slices: 4, intervalSec: 120, signals: true };
// 4,000 USDT at 100 (less the fee and the stop's room): about 38.5 BTC, above aboveNotional.
const LIMITS: RigOptions['limits'] = { sizing: 'fixed', fixedQuote: 4000, stopLossPct: 0.05, maxCapitalInUse: 1 };

function setup(script: Parameters<typeof rig>[0], execution: Partial<ExecutionConfig> = SPLIT, opts: RigOptions = {}) {
  const r = rig(script, { limits: LIMITS, store: true, execution, ...opts });
  const algos = r.algos;
  const flat = (n: number, p = 100) => {
    for (let i = 0; i < n; i++) r.candle(p, p, p, p);
  };
  const parents = () => algos.parents.recent(10);
  return { r, algos, flat, parents };
}

describe('split strategy entries', () => {
  it('one decision, one counted entry; 4 entry slices 2 min apart on the candle clock; the stop covers what filled', () => {
    const { r, algos, flat, parents } = setup({ 0: 'enter_long' });
    flat(1);
    const [p] = parents();
    expect(p).toMatchObject({ algo: 'twap', slices: 4, intervalMs: 120_000, status: 'active', sent: 1, createdBy: 'strategy scripted' });
    const decision = r.journal.getDecision(p!.decisionId!)!;
    expect(decision).toMatchObject({ strategy: 'scripted', action: 'enter_long', clientOrderId: p!.id });
    const total = p!.totalQty;
    expect(total).toBeGreaterThan(38);
    flat(10);
    const kids = algos.parents.children(p!.id);
    expect(kids.map((o) => o.clientOrderId)).toEqual([1, 2, 3, 4].map((n) => childOrderId(p!.id, n)));
    expect(kids.every((o) => o.status === 'filled' && o.purpose === 'entry')).toBe(true);
    expect(kids[0]!.qty).toBeCloseTo(total / 4, 3);
    expect(kids[1]!.createdAt - kids[0]!.createdAt).toBe(120_000);
    expect(algos.parents.get(p!.id)).toMatchObject({ status: 'done', sent: 4 });
    const pos = r.engine.portfolio.positions.get(SYM)!;
    expect(pos.qty).toBeCloseTo(total, 9);
    const stops = [...r.engine.liveOrders.values()].filter((o) => o.purpose === 'stop_loss');
    expect(stops.reduce((t, o) => t + (o.qty ?? 0), 0)).toBeCloseTo(total, 9);
    // The slices' decisions name the strategy; the entry counted once for the trade-frequency limits.
    const sliceDecisions = r.journal.recentDecisions(20).filter((d) => d.clientOrderId?.startsWith(`${p!.id}-`));
    expect(sliceDecisions.map((d) => d.strategy)).toEqual(['scripted', 'scripted', 'scripted', 'scripted']);
    expect(r.engine.risk.state().recentEntries).toHaveLength(1);
  });

  it('slices cut by a risk limit: the parent ends done with what is left unfilled, told once as info, not stopped with a warning', () => {
    // Capital in use capped at 35 % of equity: the last slice is resized, and nothing more fits.
    const { r, algos, flat, parents } = setup({ 0: 'enter_long' }, SPLIT, { limits: { ...LIMITS, maxCapitalInUse: 0.35 } });
    flat(14);
    const p = algos.parents.get(parents()[0]!.id)!;
    const filled = algos.parents.children(p.id).reduce((t, o) => t + o.filledQty, 0);
    expect(filled).toBeLessThan(p.totalQty);
    expect(p.status).toBe('done');
    expect(p.reason).toMatch(/left unfilled: slice \d+ .*capital in use/);
    expect(r.alerts.alerts.filter((a) => a.title.includes(p.id))).toEqual([
      expect.objectContaining({
        severity: 'info',
        title: `TWAP ${p.id} done, part unfilled`,
        message: expect.stringMatching(/left unfilled/),
      }),
    ]);
    expect(r.engine.portfolio.positions.get(SYM)?.qty).toBeCloseTo(filled, 9);
  });

  it('on a journal that keeps no orders (backtests) the children are followed in memory, with the same outcome', () => {
    const { r, algos, flat, parents } = setup({ 0: 'enter_long', 2: 'enter_long' }, SPLIT, {
      journal: new Journal({ path: ':memory:', detail: 'fills' }),
      store: false,
    });
    flat(11);
    const p = parents()[0]!;
    expect(r.journal.count('orders')).toBe(0);
    expect(algos.parents.children(p.id).map((o) => [o.clientOrderId, o.status])).toEqual(
      [1, 2, 3, 4].map((n) => [childOrderId(p.id, n), 'filled']),
    );
    expect(algos.parents.get(p.id)).toMatchObject({ status: 'done', sent: 4 });
    expect(parents()).toHaveLength(1); // the second entry signal was refused
    expect(r.engine.portfolio.positions.get(SYM)?.qty).toBeCloseTo(p.totalQty, 9);
  });

  it('a restart mid-parent (same journal, new engine) goes on from the next slice: no slice twice, new entries refused', () => {
    const file = join(tempDir(), 'j.db');
    const journal = new Journal({ path: file });
    const before = setup({ 0: 'enter_long' }, SPLIT, { journal });
    before.flat(3); // slices 1 and 2 sent (candles 0 and 2), slice 1 filled
    const id = before.parents()[0]!.id;
    expect(before.algos.parents.get(id)).toMatchObject({ status: 'active', sent: 2 });

    const after = setup({ 0: 'enter_long' }, SPLIT, { journal, t0: T0 + 3 * MIN });
    expect(after.algos.building(SYM)).toBe(id);
    after.flat(8);
    expect(after.r.journal.recentDecisions(20).some((d) => d.verdictRule === 'entry_in_progress')).toBe(true);
    const kids = after.algos.parents.children(id);
    expect(kids.map((o) => o.clientOrderId)).toEqual([1, 2, 3, 4].map((n) => childOrderId(id, n)));
    expect(after.algos.parents.get(id)).toMatchObject({ status: 'done', sent: 4 });
    // Nothing bought twice: the position is the parent's total.
    expect(after.r.engine.portfolio.positions.get(SYM)?.qty).toBeCloseTo(after.algos.parents.get(id)!.totalQty, 9);
    journal.close();
  });

  it('an entry signal while the parent builds is refused; an exit signal stops it and cancels nothing twice', () => {
    const { r, algos, flat, parents } = setup({ 0: 'enter_long', 2: 'enter_long', 4: 'exit_long' });
    flat(3);
    const id = parents()[0]!.id;
    const refused = r.journal.recentDecisions(10).find((d) => d.verdictRule === 'entry_in_progress');
    expect(refused?.verdictReason).toContain(id);
    flat(2); // candle 4: exit
    expect(algos.parents.get(id)).toMatchObject({ status: 'cancelled', reason: 'scripted signalled exit long' });
    expect(r.alerts.alerts.filter((a) => a.title.includes(id))).toEqual([]); // the exit is the news
    const sent = algos.parents.get(id)!.sent;
    flat(12);
    expect(algos.parents.children(id)).toHaveLength(sent);
    expect(r.engine.portfolio.positions.get(SYM)).toBeUndefined();
    expect(parents()).toHaveLength(1);
  });

  it('an exit signal in the candle that fills the last slice finds the parent done, not stopped', () => {
    const { r, algos, flat, parents } = setup({ 0: 'enter_long', 7: 'exit_long' });
    flat(7); // slices sent at candles 0, 2, 4 and 6
    const id = parents()[0]!.id;
    expect(algos.parents.get(id)).toMatchObject({ status: 'active', sent: 4 });
    flat(1); // candle 7 fills the last slice, then the strategy signals its exit
    expect(algos.parents.get(id)).toMatchObject({ status: 'done', sent: 4 });
    expect(r.engine.portfolio.positions.get(SYM)).toBeDefined(); // the exit is working
    flat(1);
    expect(r.engine.portfolio.positions.get(SYM)).toBeUndefined();
  });

  it('a position closed by its stop-loss stops the parent before the next slice (no re-entry)', () => {
    const { r, algos, flat, parents } = setup({ 0: 'enter_long' });
    flat(2); // slice 1 filled at 100
    const id = parents()[0]!.id;
    expect(r.engine.portfolio.positions.get(SYM)?.qty).toBeCloseTo(parents()[0]!.totalQty / 4, 3);
    r.candle(100, 100, 90, 92); // the 5 % stop fills
    expect(r.engine.portfolio.positions.get(SYM)).toBeUndefined();
    flat(10, 92);
    expect(algos.parents.get(id)).toMatchObject({ status: 'stopped' });
    expect(algos.parents.get(id)!.reason).toMatch(/position it was building has closed/);
    expect(algos.parents.children(id)).toHaveLength(1);
    expect(r.engine.portfolio.positions.get(SYM)).toBeUndefined();
  });

  it('an entry at or under aboveNotional, or with signals off, goes out whole', () => {
    for (const execution of [
      { ...SPLIT, aboveNotional: 4000 },
      { ...SPLIT, signals: false },
    ]) {
      const { r, flat, parents } = setup({ 0: 'enter_long' }, execution);
      flat(2);
      expect(parents()).toHaveLength(0);
      expect(r.engine.portfolio.positions.get(SYM)?.qty).toBeGreaterThan(38);
      expect(r.journal.count('orders')).toBe(2); // the entry and its stop
    }
  });

  it('an approved proposal starts the parent', async () => {
    const started: ApprovalService[] = [];
    const notifier = new Notifier((_t, e) => {
      throw e;
    });
    notifier.add(new RecordingTransport());
    const cfg = { ...parseConfig({}).approvals, mode: 'always' as const, timeoutSec: 600 };
    let svc!: ApprovalService;
    const { r, algos, flat, parents } = setup({ 0: 'enter_long' }, SPLIT, {
      approvals: (p) =>
        (svc = new ApprovalService(p.journal, notifier, { now: () => Date.UTC(2030, 0, 1) }, silentLogger(), p.alerts, cfg)),
    });
    svc.attach(r.engine);
    started.push(svc);
    try {
      flat(1);
      expect(parents()).toHaveLength(0);
      const ada: ChatUser = { transport: 'telegram', id: '1', name: 'ada', role: 'trader' };
      const res = await svc.onButton(ada, ['p', '1', r.journal.getProposal(1)!.nonce, 'a']);
      const id = parents()[0]?.id;
      expect(res.toast).toContain(`started ${id}`);
      flat(10);
      expect(algos.parents.get(id!)).toMatchObject({ status: 'done', sent: 4 });
      expect(r.engine.portfolio.positions.get(SYM)?.qty).toBeCloseTo(algos.parents.get(id!)!.totalQty, 9);
    } finally {
      for (const s of started) s.stop();
    }
  });
});

describe('split strategy entries in the bot', () => {
  let stop: (() => Promise<void>) | undefined;
  afterEach(async () => {
    await stop?.();
  });

  it('execution.signals: every sma-cross entry of a replay becomes a parent with the decision id; none left active', async () => {
    const h = await startBot({
      candles: 1500,
      config: {
        strategy: { name: 'sma-cross', params: { fast: 5, slow: 20 } },
        risk: { minTradeIntervalSec: 0, maxConsecutiveLosses: 0 },
        execution: { algo: 'twap', aboveNotional: 0, slices: 3, intervalSec: 60, signals: true },
      },
    });
    stop = h.stop;
    const ps = h.bot.algos.parents.recent(50);
    expect(ps.length).toBeGreaterThan(3);
    expect(ps.every((p) => p.decisionId !== null && p.createdBy === 'strategy sma-cross')).toBe(true);
    for (const p of ps) expect(h.bot.journal.getDecision(p.decisionId!)?.clientOrderId).toBe(p.id);
    expect(ps.filter((p) => p.status === 'active').length).toBeLessThanOrEqual(1);
  });
});
