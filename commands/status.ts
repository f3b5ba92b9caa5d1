import {
  defineCommand,
  deskOf,
  type VenueReads,
  duration,
  kv,
  modeWords,
  money,
  pct,
  percent,
  qty,
  signedMoney,
  utc,
  marketFormat,
  quoteOf,
  describeDataSource,
  clockLabel,
  engineTimeNote,
  stopFaultHint,
  pausedSymbolsLine,
} from './kit.ts';

export default defineCommand({
  name: 'status',
  description: 'Mode, equity, positions, today’s PnL, risk, data feed and uptime',
  minRole: 'viewer',
  async run({ services }) {
    const st = services.engine.status();
    const perpInfo =
      st.marketType === 'perp' && st.positions.length > 0
        ? await fundingOf(
            deskOf(services).venue(),
            st.positions.map((p) => p.symbol),
          )
        : {};
    const now = services.clock.now();
    const feeds = services.feeds();
    const venue = services.venue();
    const ccy = quoteOf(services.config.market.symbols);
    const pausedSymbols = pausedSymbolsLine(st, services.engine.clockKind);
    const allPaused = services.engine.symbolList().every((s) => st.pausedSymbols[s] !== undefined);
    const risk = st.blocked
      ? `entries blocked — ${st.blocked}`
      : !pausedSymbols
        ? 'OK, trading'
        : allPaused
          ? 'entries paused on every symbol (below)'
          : 'OK, trading the symbols not paused (below)';
    const pairs: Array<[string, string]> = [
      ['Mode', modeWords(st.mode, st.environment)],
      ['Venue', `${st.venue} (${st.marketType}) — ${venue.up ? 'connected' : `DOWN: ${venue.detail}`}`],
      ['Equity', money(st.equity, ccy)],
      ['Cash', `${money(st.cash, ccy)} (free ${money(st.freeCash, ccy)})`],
      ['Today', `${signedMoney(st.todayPnl, ccy)} (${pct(st.dayStartEquity > 0 ? st.todayPnl / st.dayStartEquity : 0)})`],
      ['Unrealized', signedMoney(st.unrealizedPnl, ccy)],
      ['Risk', risk],
      ...(pausedSymbols ? [['Paused', `${pausedSymbols} (/resume <symbol>)`] as [string, string]] : []),
      ['Open orders', String(st.liveOrders.length)],
    ];
    // A TWAP/iceberg parent between slices has no open order, yet it will buy or sell more.
    const parents = services.algos?.active() ?? [];
    if (parents.length)
      pairs.push([
        'Parent orders',
        `${parents.length} active: ${parents.map((p) => `${p.id} (${p.algo} ${p.side} ${p.symbol}, ${p.sent}/${p.slices} slices sent)`).join(', ')}; see /orders`,
      ]);
    if (services.dataSource) pairs.push(['Data', describeDataSource(services.dataSource())]);
    const journalFault = services.journalFault?.() ?? null;
    if (journalFault) pairs.push(['Journal', `FAILED — ${journalFault}`]);
    for (const g of st.unprotected) pairs.push([`UNPROTECTED ${g.symbol}`, g.detail]);
    // Times of the engine's clock; in a replay that is candle time (said so), not the wall clock.
    const kind = services.engine.clockKind;
    if (kind !== 'wall') {
      pairs.push([
        'Clock',
        // A replay's clock starts at its first candle: before it there is no candle time to show (not 1970).
        st.now > 0
          ? `${clockLabel(kind)} ${utc(st.now)}${kind === 'after_replay' ? ' — the replay ended; time moves on at wall pace' : ''}`
          : `${clockLabel(kind)}, no candle yet`,
      ]);
    }
    for (const f of feeds) {
      // The engine's last candle (a replay feed reads ahead of it).
      const ts = st.lastCandle[f.symbol]?.ts;
      const last = ts !== undefined && Number.isFinite(ts) ? ` — last candle ${utc(ts)}${engineTimeNote(kind)}` : '';
      pairs.push([`Feed ${f.symbol}`, `${f.state.status}${f.state.detail ? ` (${f.state.detail})` : ''}${last}`]);
    }
    pairs.push(['Uptime', duration(now - services.startedAt)]);
    const posLines = st.positions.map((p) => {
      const { price, qty } = marketFormat(services, p.symbol);
      return (
        `${p.symbol} ${p.side} ${qty(p.qty)} @ ${price(p.entryPrice)} → ${price(p.markPrice)}  uPnL ${signedMoney(p.unrealizedPnl, ccy)}` +
        (p.stopLoss
          ? `  SL ${price(p.stopLoss)}${st.unprotected.some((g) => g.symbol === p.symbol) ? ' (not in place)' : ''}${stopFaultHint(services)}`
          : '') +
        (p.liquidationPrice ? `  liq ${price(p.liquidationPrice)}` : '') +
        (perpInfo[p.symbol] ?? '')
      );
    });
    const text = kv(pairs) + '\n\n' + (posLines.length ? `Positions:\n${posLines.join('\n')}` : 'No open positions.');
    return {
      title: 'Skipper status',
      text,
      mono: true,
      severity: journalFault || st.unprotected.length ? 'critical' : st.blocked ? 'warning' : 'info',
    };
  },
});

/** Perp positions: funding rate and open interest from the venue, or nothing if it is slow to answer. */
async function fundingOf(ex: VenueReads, symbols: string[]): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  if (!ex.fetchFundingRate && !ex.fetchOpenInterest) return out;
  const within = <T>(p: Promise<T>): Promise<T | null> =>
    Promise.race([p.catch(() => null), new Promise<null>((r) => setTimeout(() => r(null), 1500).unref())]);
  await Promise.all(
    symbols.map(async (sym) => {
      const [fr, oi] = await Promise.all([
        ex.fetchFundingRate ? within(ex.fetchFundingRate(sym)) : null,
        ex.fetchOpenInterest ? within(ex.fetchOpenInterest(sym)) : null,
      ]);
      const parts: string[] = [];
      if (fr) parts.push(`funding ${percent(fr.rate, 4)}${fr.nextTs ? ` next ${utc(fr.nextTs)}` : ''}`);
      if (oi !== null && oi !== undefined) parts.push(`OI ${qty(oi)}`);
      if (parts.length) out[sym] = `  ${parts.join(', ')}`;
    }),
  );
  return out;
}
