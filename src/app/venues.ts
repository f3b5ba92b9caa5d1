// The venue factory: the paper exchange (its books in the journal, or in memory for backtests) or a
// real venue through ccxt (the library loads at connect), built from the config.
import type { Secrets } from '../config/env.ts';
import type { Config } from '../config/schema.ts';
import type { Clock } from '../core/clock.ts';
import { UserError } from '../core/errors.ts';
import type { Logger } from '../core/logger.ts';
import type { MarketInfo } from '../core/types.ts';
import { CcxtExchange, type CcxtExchangeOptions } from '../exchange/ccxt/index.ts';
import { defaultMarket, PaperExchange } from '../exchange/paper/index.ts';
import { PaperStore } from '../exchange/paper/index.ts';
import type { ExchangeClient } from '../exchange/types.ts';
import type { Journal } from '../journal/journal.ts';

/** A paper market: the defaults, with the precision and limits the config sets. */
export function paperMarket(cfg: Config, symbol: string): MarketInfo {
  const p = cfg.exchange.paper;
  return {
    ...defaultMarket(symbol, cfg.market.type),
    qtyStep: p.qtyStep,
    priceStep: p.priceStep,
    minQty: p.qtyStep,
    minNotional: p.minNotional,
  };
}

/** The paper exchange of the config, on `clock`; with a journal its books persist there. */
export function paperVenue(cfg: Config, clock: Clock, journal?: Journal): PaperExchange {
  const p = cfg.exchange.paper;
  return new PaperExchange({
    clock,
    marketType: cfg.market.type,
    markets: cfg.market.symbols.map((s) => paperMarket(cfg, s)),
    startingBalances: p.startingBalance,
    makerFee: p.makerFee,
    takerFee: p.takerFee,
    slippageBps: p.slippageBps,
    maxVolumeParticipation: p.maxVolumeParticipation,
    ...(journal ? { store: new PaperStore(journal.paperBooks()) } : {}),
  });
}

export interface VenueDeps {
  /** The trading clock (the paper venue matches on it). */
  clock: Clock;
  /** Real time: a real venue's receive windows and backoff, even when candles are replayed. */
  wall: Clock;
  journal: Journal;
  /** The risk limit in force (the config's, or /risk set's): the leverage set at connect never exceeds it. */
  maxLeverage: number;
  secrets: Secrets;
  log: Logger;
  onWait: CcxtExchangeOptions['onWait'];
  instrument: CcxtExchangeOptions['instrument'];
}

/** The venue named by exchange.name. */
export function createVenue(cfg: Config, d: VenueDeps): ExchangeClient {
  if (cfg.exchange.name === 'paper') return paperVenue(cfg, d.clock, d.journal);
  const { exchangeApiKey: apiKey, exchangeApiSecret: secret, exchangeApiPassword: password } = d.secrets;
  if (!apiKey || !secret)
    throw new UserError(`exchange.name ${cfg.exchange.name} needs EXCHANGE_API_KEY and EXCHANGE_API_SECRET in the environment`);
  return new CcxtExchange({
    venue: cfg.exchange.name,
    marketType: cfg.market.type,
    testnet: cfg.exchange.testnet,
    symbols: cfg.market.symbols,
    credentials: { apiKey, secret, ...(password ? { password } : {}) },
    clock: d.wall,
    log: d.log,
    // An open position at the venue takes this leverage at connect (isolated margin re-levers it): never above the limit.
    leverage: Math.min(cfg.market.leverage, d.maxLeverage),
    marginMode: cfg.exchange.marginMode,
    websocket: cfg.exchange.websocket,
    pollMs: cfg.exchange.pollSec * 1000,
    recvWindowMs: cfg.exchange.recvWindowMs,
    ...(cfg.exchange.apiUrl ? { apiUrl: cfg.exchange.apiUrl } : {}),
    onWait: d.onWait,
    instrument: d.instrument,
  });
}
