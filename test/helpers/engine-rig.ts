// An engine on the paper exchange with a scripted strategy, for precise engine tests.
import { SimClock } from '../../src/core/clock.ts';
import { MemoryAlertSink } from '../../src/core/alerts.ts';
import type { Candle, Signal, SignalAction } from '../../src/core/types.ts';
import type { ApprovalGate, Engine } from '../../src/engine/engine.ts';
import type { AlgoExecutor } from '../../src/execution/algo.ts';
import type { ConfigInput } from '../../src/config/schema.ts';
import { buildEngine } from '../../src/app/kernel.ts';
import { parseConfig } from '../../src/config/load.ts';
import { MetricsTracker } from '../../src/engine/metrics.ts';
import type { EngineEvents } from '../../src/engine/engine-events.ts';
import { PaperExchange } from '../../src/exchange/paper/index.ts';
import { PaperStore } from '../../src/exchange/paper/index.ts';
import { Journal } from '../../src/journal/journal.ts';
import { CandleValidator } from '../../src/market/validator.ts';
import { RiskEngine } from '../../src/risk/engine.ts';
import { DEFAULT_LIMITS, type RiskLimits } from '../../src/risk/types.ts';
import type { Strategy, StrategyContext } from '../../src/strategy/types.ts';

export const SYM = 'BTC/USDT';
export const MIN = 60_000;
export const T0 = Date.UTC(2025, 0, 1);

/** Emits the given action on the candle with the given index; records what it saw. */
export class ScriptedStrategy implements Strategy {
  readonly name = 'scripted';
  readonly warmup = 0;
  private i = -1;
  readonly seen: Array<{ i: number; position: StrategyContext['position']; pending: boolean }> = [];
  constructor(
    private readonly script: Map<number, SignalAction>,
    private readonly extra: Partial<Signal> = {},
  ) {}
  onCandle(c: Candle, ctx: StrategyContext): Signal | null {
    this.i++;
    this.seen.push({ i: this.i, position: ctx.position, pending: ctx.pending });
    const action = this.script.get(this.i);
    if (!action) return null;
    return { symbol: SYM, action, ts: c.ts + MIN, price: c.close, strategy: 'scripted', reason: `script step ${this.i}`, ...this.extra };
  }
}

export interface Rig {
  engine: Engine;
  journal: Journal;
  venue: PaperExchange;
  clock: SimClock;
  alerts: MemoryAlertSink;
  strategy: ScriptedStrategy;
  metrics: MetricsTracker;
  /** What the engine tells listeners built after it (execution algos). */
  events: EngineEvents;
  /** The kernel's TWAP/iceberg executor (the engine's entry splitter). */
  algos: AlgoExecutor;
  /** Feed one candle (o, h, l, c) at the next minute. */
  candle(o: number, h: number, l: number, c: number, volume?: number): Candle;
}

export interface RigOptions {
  limits?: Partial<RiskLimits>;
  extra?: Partial<Signal>;
  journal?: Journal;
  cash?: number;
  fee?: number;
  /** Keep the venue's books in the journal (like the bot does). */
  store?: boolean;
  marketType?: 'spot' | 'perp';
  /** The approval gate, built from the rig's journal and alerts (as the bot's ApprovalService is). */
  approvals?: (parts: { journal: Journal; alerts: MemoryAlertSink }) => ApprovalGate;
  /** The first candle's open time (a restart on the same journal goes on after the last candle). */
  t0?: number;
  /** The config's `execution` section (TWAP/iceberg; `signals`: split strategy entries). */
  execution?: ConfigInput['execution'];
  /** Perps: the strategy may go short (default false). */
  allowShort?: boolean;
}

export function rig(script: Record<number, SignalAction>, opts: RigOptions = {}): Rig {
  const t0 = opts.t0 ?? T0;
  const clock = new SimClock(t0);
  const journal = opts.journal ?? Journal.memory();
  const marketType = opts.marketType ?? 'spot';
  const market = {
    symbol: SYM,
    base: 'BTC',
    quote: 'USDT',
    type: marketType,
    qtyStep: 0.0001,
    priceStep: 0.01,
    minQty: 0.0001,
    minNotional: 1,
    maxLeverage: marketType === 'perp' ? 20 : 1,
  };
  const cash = opts.cash ?? 10_000;
  const fee = opts.fee ?? 0.001;
  const venue = new PaperExchange({
    clock,
    marketType,
    markets: [market],
    startingBalances: { USDT: cash },
    makerFee: fee,
    takerFee: fee,
    slippageBps: 0,
    ...(opts.store ? { store: new PaperStore(journal.paperBooks()) } : {}),
  });
  const alerts = new MemoryAlertSink();
  const strategy = new ScriptedStrategy(new Map(Object.entries(script).map(([k, v]) => [Number(k), v])), opts.extra);
  const metrics = new MetricsTracker(cash);
  const config = parseConfig({
    botId: 'sk',
    market: { symbols: [SYM], timeframe: '1m', type: marketType },
    ...(opts.execution ? { execution: opts.execution } : {}),
  });
  const { engine, events, algos } = buildEngine(config, {
    mode: 'paper',
    clock,
    journal,
    exchange: venue,
    risk: new RiskEngine({ ...DEFAULT_LIMITS, minTradeIntervalSec: 0, ...opts.limits }),
    alerts,
    strategy: () => strategy,
    market: () => market,
    validator: () => new CandleValidator(SYM, '1m'),
    allowShort: opts.allowShort ?? false,
    leverage: 1,
    takerFee: fee,
    startingCash: cash,
    equityEveryMs: 3_600_000,
    persistProgress: true,
    metrics,
    ...(opts.approvals ? { approvals: opts.approvals({ journal, alerts }) } : {}),
  });
  let ts = t0;
  return {
    engine,
    journal,
    venue,
    clock,
    alerts,
    strategy,
    metrics,
    events,
    algos: algos!,
    candle(o, h, l, c, volume = 10) {
      const k: Candle = { ts, open: o, high: h, low: l, close: c, volume };
      ts += MIN;
      clock.set(k.ts + MIN);
      engine.onCandle(SYM, k);
      return k;
    },
  };
}
