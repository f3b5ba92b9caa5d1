import { defineCommand, kv, modeWords, shownParams, dataSourceOf, describeDataSource } from './kit.ts';

export default defineCommand({
  name: 'mode',
  description: 'Trading mode, venue, market, strategy and data source',
  minRole: 'viewer',
  run({ services }) {
    const cfg = services.config;
    const st = services.engine.status();
    const params = shownParams(cfg.strategy.name, cfg.strategy.params);
    const paramText = Object.entries(params)
      .map(([k, v]) => `${k}=${v}${Object.hasOwn(cfg.strategy.params, k) ? '' : ' (default)'}`)
      .join(', ');
    const data = describeDataSource(services.dataSource?.() ?? dataSourceOf(cfg.data, {}));
    const env =
      st.environment === 'paper' ? 'simulated exchange' : st.environment === 'testnet' ? 'testnet (test money)' : 'production (real money)';
    const pairs: Array<[string, string]> = [
      ['Mode', modeWords(st.mode, st.environment)],
      ['Venue', `${st.venue} — ${env}`],
      [
        'Market',
        `${st.marketType}${st.marketType === 'perp' ? `, leverage ${cfg.market.leverage}×, shorts ${cfg.market.allowShort ? 'on' : 'off'}` : ' (long only)'}`,
      ],
      ['Strategy', cfg.strategy.name],
      ['Parameters', paramText || 'none'],
      ['Symbols', services.engine.symbolList().join(', ')],
      ['Timeframe', cfg.market.timeframe],
      ['Data', data],
    ];
    return { title: 'Mode', text: kv(pairs), mono: true };
  },
});
