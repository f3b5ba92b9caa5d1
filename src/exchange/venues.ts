/*
 * The one list of venues. The TypeScript types, the config schema's enums (exchange.name,
 * data.exchange), the live feed's exchange ids and the README's venue table all derive from it
 * (test/exchange/venues.test.ts checks the README). Adding a live venue: its id here, its facts
 * below, its spec in src/exchange/ccxt/<id>.ts (registered in ccxt/specs.ts), and its fake in
 * test/fakes/exchange/.
 */
import type { MarketType } from '../core/types.ts';

/** Venues reached through ccxt: they trade for real and serve live candles (data.exchange). */
export const LIVE_VENUE_IDS = ['binance', 'bybit'] as const;
/** Every value of exchange.name: the built-in paper exchange, then the live venues. */
export const VENUE_IDS = ['paper', ...LIVE_VENUE_IDS] as const;

export type LiveVenueId = (typeof LIVE_VENUE_IDS)[number];
export type VenueId = (typeof VENUE_IDS)[number];

interface VenueFacts {
  /** How messages name it. */
  label: string;
  /** How /status and the README name each market type (config market.type). */
  markets: Record<MarketType, string>;
  /** Where `testnet: true` trades, per market type ('testnet', 'demo'); paper is simulated money. */
  testMoney: Record<MarketType, string>;
}

export const VENUES: Record<VenueId, VenueFacts> = {
  paper: {
    label: 'Paper',
    markets: { spot: 'spot', perp: 'USDT perps' },
    testMoney: { spot: 'simulated', perp: 'simulated' },
  },
  binance: {
    label: 'Binance',
    markets: { spot: 'spot', perp: 'USDⓈ-M perps' },
    testMoney: { spot: 'testnet', perp: 'demo' },
  },
  bybit: {
    label: 'Bybit',
    markets: { spot: 'spot', perp: 'USDT perps' },
    testMoney: { spot: 'testnet', perp: 'testnet' },
  },
};

const isLiveVenue = (id: string): id is LiveVenueId => (LIVE_VENUE_IDS as readonly string[]).includes(id);

/** The README's venue table (its rows, header first), rendered from the list above. */
export function venueTableRows(): string[][] {
  const rows = VENUE_IDS.map((id) => {
    const v = VENUES[id];
    return [
      `\`${id}\``,
      v.label,
      `${v.markets.spot}, ${v.markets.perp}`,
      isLiveVenue(id) ? 'yes' : 'no',
      id === 'paper' ? 'always simulated' : `spot: ${v.testMoney.spot}, perp: ${v.testMoney.perp}`,
    ];
  });
  return [['`exchange.name`', 'venue', 'market.type spot, perp', 'live candles (`data.exchange`)', '`testnet: true`'], ...rows];
}
