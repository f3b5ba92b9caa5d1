// A live feed that loads ccxt (over a second of module loading on a busy 2-core box) when its first
// batch is asked for, not when the bot is built: start-up reaches its ready line without it.
import type { Candle } from '../core/types.ts';
import type { CandleFeed, FeedState } from './feed.ts';
import type { LiveFeed, LiveFeedOptions } from './live-feed.ts';

type Named = Pick<LiveFeedOptions, 'exchangeId' | 'symbol' | 'timeframe'>;

/** e.g. 'binance:BTC/USDT:1m' */
export const liveFeedName = (o: Named): string => `${o.exchangeId}:${o.symbol}:${o.timeframe}`;

/** A live feed's state before its first answer. */
export const connectingState = (o: Named, since: number): FeedState => ({
  status: 'connecting',
  detail: `connecting to ${o.exchangeId}`,
  since,
});

export class LazyLiveFeed implements CandleFeed {
  readonly name: string;
  readonly symbol: string;
  readonly timeframe: LiveFeedOptions['timeframe'];
  private inner: LiveFeed | undefined;
  private stopped = false;
  private readonly since: number;

  constructor(private readonly opts: LiveFeedOptions) {
    this.name = liveFeedName(opts);
    this.symbol = opts.symbol;
    this.timeframe = opts.timeframe;
    this.since = opts.clock.now();
  }

  state(): FeedState {
    if (this.inner) return this.inner.state();
    return this.stopped ? { status: 'stopped', detail: 'stopped', since: this.since } : connectingState(this.opts, this.since);
  }

  async *batches(): AsyncGenerator<Candle[]> {
    if (this.stopped) return;
    const { LiveFeed } = await import('./live-feed.ts');
    if (this.stopped) return;
    this.inner ??= new LiveFeed(this.opts);
    yield* this.inner.batches();
  }

  stop(): void {
    this.stopped = true;
    this.inner?.stop();
  }
}
