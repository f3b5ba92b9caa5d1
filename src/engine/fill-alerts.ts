// The alerts a fill raises: the fill itself, and the position it opened or closed (a stop-loss hit
// says so). Worded from the market's steps; the engine raises them in its candle's order.
import type { AlertInput } from '../core/alerts.ts';
import { tradeFigures } from '../core/alerts.ts';
import { assetAmount, price, qty, signedMoney } from '../core/format.ts';
import { splitSymbol } from '../core/symbols.ts';
import { EXIT_REASONS, type ExitReason, type Fill, type MarketInfo, type Order } from '../core/types.ts';
import type { Portfolio } from './portfolio.ts';
import { tradeId } from './trades.ts';

export function fillAlerts(
  f: Fill,
  o: Order | undefined,
  r: NonNullable<ReturnType<Portfolio['apply']>>,
  m: MarketInfo | undefined,
  why?: ExitReason,
  exitAvg?: number,
): AlertInput[] {
  const out: AlertInput[] = [];
  const liq = !o && f.clientOrderId.startsWith('liq-');
  const quote = splitSymbol(f.symbol)[1];
  const px = (x: number): string => price(x, m?.priceStep);
  const size = (x: number): string => qty(x, m?.qtyStep);
  out.push({
    figures: tradeFigures(f.symbol, { qty: f.qty, price: f.price, fee: f.fee, ccy: f.feeCurrency }),
    type: 'order_filled',
    severity: liq ? 'critical' : 'info',
    title: `${liq ? 'LIQUIDATION: ' : ''}${f.side.toUpperCase()} ${size(f.qty)} ${f.symbol} @ ${px(f.price)}`,
    message: `${f.clientOrderId} filled ${size(f.qty)} @ ${px(f.price)}, fee ${assetAmount(f.fee, f.feeCurrency, m)}`,
    data: { clientOrderId: f.clientOrderId, tradeId: f.tradeId },
  });
  if (r.closed) {
    const pnl = r.closed.realizedPnl - r.closed.fees;
    const inParts = exitAvg !== undefined && px(exitAvg) !== px(f.price);
    if (o?.purpose === 'stop_loss' || o?.purpose === 'stop_exit') {
      out.push({
        figures: tradeFigures(f.symbol, { qty: r.before?.qty ?? f.qty, price: f.price, pnl }),
        type: 'stop_hit',
        severity: 'warning',
        title: `${why === 'trailing_stop' ? 'Trailing stop' : 'Stop-loss'} hit on ${f.symbol}`,
        message: `closed ${r.closed.side} at ${px(f.price)}, PnL ${signedMoney(pnl, quote)}`,
      });
    }
    out.push({
      figures: tradeFigures(f.symbol, { qty: r.before?.qty ?? f.qty, price: f.price, pnl }),
      type: 'position_closed',
      severity: 'info',
      title: `Closed ${r.closed.side} ${f.symbol}`,
      message: `exit ${px(f.price)}${inParts ? ` (${px(exitAvg)} on average over its exits)` : ''}, entry ${px(r.closed.entryPrice)}, net PnL ${signedMoney(pnl, quote)}, trade ${tradeId(r.closed)}${why ? ` (${EXIT_REASONS[why]})` : ''}`,
    });
  }
  if (r.opened && r.after) {
    out.push({
      figures: tradeFigures(f.symbol, { qty: r.after.qty, price: r.after.entryPrice }),
      type: 'position_opened',
      severity: 'info',
      title: `Opened ${r.after.side} ${f.symbol}`,
      message: `${size(r.after.qty)} @ ${px(r.after.entryPrice)}${r.after.liquidationPrice ? `, liquidation ${px(r.after.liquidationPrice)}` : ''}, trade ${tradeId(r.after)}`,
    });
  }
  return out;
}
