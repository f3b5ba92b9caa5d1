// Watches a fake Binance's book while a bot trades on it: every exit against what the bot holds.
import type { FakeBinance } from '../fakes/exchange/binance.ts';
import type { BookEvent } from '../fakes/exchange/shared.ts';

/**
 * `otherBase`: spot coins on the account that are not the bot's. Records a problem whenever an exit
 * (with the exits already working) is larger than what the bot holds, when a spot trade leaves the
 * bot holding less than nothing (it sold coins it never bought), or when a perp position goes short
 * (the bots under test are long-only: a short is a flip).
 */
export function watchExits(fake: FakeBinance, otherBase = 0): { problems: string[]; orders: () => number } {
  const perp = fake.type === 'perp';
  const problems: string[] = [];
  const held = (): number => {
    if (perp) return fake.book.positions.get('BTCUSDT')?.qty ?? 0;
    const b = fake.book.bal('BTC');
    return b.free + b.locked - otherBase;
  };
  let orders = 0;
  fake.book.listeners.push((e: BookEvent) => {
    const o = e.order;
    if (e.execType === 'NEW' && !o.conditional && o.kind !== 'stop_market' && o.kind !== 'stop_limit') {
      orders++;
      if (o.side === 'SELL') {
        const working = fake.book.working('BTCUSDT').filter((x) => x !== o && x.side === 'SELL' && x.kind === 'market');
        const total = o.qty + working.reduce((s, x) => s + x.qty - x.filled, 0);
        if (total > held() + 1e-9) problems.push(`sell ${o.coid} ${o.qty} with ${total - o.qty} working, holding ${held()}`);
      }
    }
    if (e.trade !== undefined && held() < -1e-9)
      problems.push(`${perp ? 'position flipped' : 'sold coins the bot never bought'}: ${held()} after ${o.coid}`);
  });
  return { problems, orders: () => orders };
}
