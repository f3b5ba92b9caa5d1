// Trade ids and per-trade settings. A trade is one journaled position row: its id is the row id, so
// it is stable across restarts and needs no table of its own. Per-trade overrides (/trail, max hold)
// live in one runtime-state key per trade, shaped here and nowhere else.
import { STATE, type StateStore } from '../journal/state-keys.ts';
import type { BookPosition } from './portfolio.ts';

/** The id a trader types and reads: "T12". */
export const tradeId = (pos: Pick<BookPosition, 'id'>): string => `T${pos.id}`;

/** "T12", "t12", "#12", "12" → 12; null when the text is no trade id. */
export function parseTradeId(text: string): number | null {
  const m = /^(?:#|t)?(\d{1,12})$/i.exec(text.trim());
  return m ? Number(m[1]) : null;
}

/** Overrides for one trade; absent keys follow the config, null turns the rule off for this trade. */
export interface TradeSettings {
  trailingStopPct?: number | null;
  maxHoldMinutes?: number | null;
  /** The trail has moved this trade's stop: a stop-loss exit is a trailing stop (not an override). */
  trailed?: true;
}

/** Client order ids the venue gives its own closes of our positions (liquidations, auto-deleveraging). */
export const VENUE_CLOSE_ID = /^(liq-|autoclose-|adl_autoclose)/;

/** Read once per trade and process (the engine asks on every candle); setTradeSettings keeps it current. */
const cache = new WeakMap<StateStore, Map<number, TradeSettings>>();

function cached(journal: StateStore): Map<number, TradeSettings> {
  let byId = cache.get(journal);
  if (byId === undefined) cache.set(journal, (byId = new Map()));
  return byId;
}

export function tradeSettings(journal: StateStore, posId: number): TradeSettings {
  const byId = cached(journal);
  let v = byId.get(posId);
  if (v === undefined) byId.set(posId, (v = readSettings(journal, posId)));
  return v;
}

function readSettings(journal: StateStore, posId: number): TradeSettings {
  const v = STATE.tradeSettings(posId).read(journal);
  if (v === null || typeof v !== 'object') return {};
  const o = v as Record<string, unknown>;
  const out: TradeSettings = {};
  const pick = (x: unknown): number | null | undefined =>
    x === null ? null : typeof x === 'number' && Number.isFinite(x) && x > 0 ? x : undefined;
  const trail = pick(o['trailingStopPct']);
  const hold = pick(o['maxHoldMinutes']);
  if (trail !== undefined) out.trailingStopPct = trail;
  if (hold !== undefined) out.maxHoldMinutes = hold;
  if (o['trailed'] === true) out.trailed = true;
  return out;
}

/** A trade just opened has no overrides yet (ids are new): its settings are known without a read. */
export function newTradeSettings(journal: StateStore, posId: number): void {
  cached(journal).set(posId, {});
}

/** A closed trade's settings leave the cache (its key stays in the journal): one entry per open trade. */
export function forgetTradeSettings(journal: StateStore, posId: number): void {
  cache.get(journal)?.delete(posId);
}

export function setTradeSettings(journal: StateStore, posId: number, change: TradeSettings, ts: number): void {
  const next = { ...tradeSettings(journal, posId), ...change };
  STATE.tradeSettings(posId).write(journal, next, ts);
  cache.get(journal)?.set(posId, next);
}

/** The open position a trader means by a trade id or a symbol. */
export function findTrade(
  positions: ReadonlyMap<string, BookPosition>,
  ref: string,
  resolve: (symbol: string) => string | null,
): { pos: BookPosition } | { error: string } {
  const id = parseTradeId(ref);
  if (id !== null) {
    for (const p of positions.values()) if (p.id === id) return { pos: p };
    return { error: `No open trade T${id}. /positions lists the open trades and their ids.` };
  }
  const symbol = resolve(ref);
  const pos = symbol ? positions.get(symbol) : undefined;
  if (!symbol) return { error: `"${ref}" is neither a trade id (like T3) nor a traded symbol.` };
  if (!pos) return { error: `No open ${symbol} position. /positions lists the open trades and their ids.` };
  return { pos };
}
