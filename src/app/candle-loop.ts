// The bot's candle loop over one batch of a feed: each candle through the engine, the journal checked
// every 64 candles, a replay held while a proposal waits for the trader.
//
// A replay on the paper venue commits its candles in groups (GROUP_CANDLES or GROUP_MS per
// transaction) instead of one by one. Profile of `--replay … --speed max` with the journal on disk:
// 39 % of the main thread was the per-candle commit and 14 % the progress-key write it carried. The
// venue's books live in the same journal, so no order leaves the process, and nothing is told to chat,
// before its group commits (the loop only awaits after the commit). A crash loses at most the open
// group, which the replay redoes from the last committed candle.
import type { ApprovalService } from '../chat/approvals.ts';
import { ReplayClock, type SimClock } from '../core/clock.ts';
import type { Candle } from '../core/types.ts';
import type { Engine } from '../engine/engine.ts';
import type { ExchangeClient } from '../exchange/types.ts';
import type { JournalHealth } from '../journal/health.ts';
import type { Journal } from '../journal/journal.ts';
import type { Ops } from '../ops/ops.ts';
import type { ReportService } from '../reports/service.ts';

const GROUP_CANDLES = 256;
const GROUP_MS = 16;

export interface CandleLoopHost {
  readonly engine: Engine;
  readonly journal: Journal;
  readonly journalHealth: JournalHealth;
  readonly exchange: ExchangeClient;
  readonly approvals: ApprovalService;
  readonly reports: ReportService;
  readonly ops: Ops;
  readonly config: { approvals: { holdReplay: boolean } };
  readonly isStopped: boolean;
}

export async function runCandles(
  bot: CandleLoopHost,
  symbol: string,
  batch: readonly Candle[],
  sim: SimClock | null,
  tfMs: number,
): Promise<void> {
  let i = 0;
  let halt = false;
  let hold = false;
  let inference: Promise<void> | null = null;
  // In a replay the market waits for the trader: hold the candle clock while a proposal is open, but
  // never while an order the trader placed is working (it needs candles to fill), and never on the
  // candles a restarted replay goes through again to warm up: a proposal left pending by the last run
  // waits at the candle it was made on, where its price and the trade's mark are.
  const holding = () =>
    sim !== null && !bot.isStopped && bot.config.approvals.holdReplay && bot.approvals.hasPending && !bot.engine.traderOrdersWorking();
  const warmUntil = bot.engine.resumeTs(symbol);
  const finish = (c: Candle, t0: number): void => {
    bot.engine.onCandle(symbol, c);
    if (sim) bot.reports.poll();
    bot.ops.candle(symbol, t0);
    hold = c.ts >= warmUntil && holding();
  };
  // Candles from i on, synchronously, until one needs an await (inference, a hold) or `limit`/GROUP_MS is reached.
  const run = (limit: number): void => {
    const until = performance.now() + GROUP_MS;
    for (let k = 0; k < limit && i < batch.length; k++) {
      // The journal (its file, its WAL) is checked before each batch and every 64 candles within
      // one: a stat or two, cheap next to 64 commits, and never inside a candle's decision.
      if (((i & 63) === 0 && !bot.journalHealth.check()) || bot.isStopped) {
        halt = true;
        return;
      }
      const c = batch[i++]!;
      // A candle newer than the last one processed: a replay that had ended is live again, on candle time.
      if (c.ts > warmUntil && sim instanceof ReplayClock) sim.resume();
      if (sim) sim.set(c.ts + tfMs);
      const t0 = performance.now();
      const prepared = bot.engine.prepareCandle(symbol, c); // model inference: no decision before it
      if (prepared) {
        inference = prepared.then(() => finish(c, t0)); // runs after the group has committed
        return;
      }
      finish(c, t0);
      if (hold || performance.now() > until) return;
    }
  };
  const grouped = sim !== null && bot.exchange.journalBacked === true;
  while (i < batch.length && !halt) {
    if (grouped) {
      bot.journal.maintainWal(); // between groups: inside one it is skipped (a transaction is open)
      bot.engine.onCandleGroup(() => run(GROUP_CANDLES)); // one transaction, progress written once
    } else run(1);
    if (inference) await inference;
    inference = null;
    while (hold && holding()) await bot.approvals.settled();
    hold = false;
  }
}
