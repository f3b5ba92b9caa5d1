// One rig for the ccxt venue family: the live adapter with the REAL ccxt against a venue's local fake
// (test/fakes/exchange/), parameterised by venue. Time: one TestClock drives the adapter and the fake;
// the adapter's injected sleep advances it and sleeps only a few real ms, so recvWindow deadlines and
// rate-limit waits pass quickly but measurably. A new venue adds its fake to FAKES below.
import ccxt from 'ccxt';
import { silentLogger } from '../../src/core/logger.ts';
import type { MarketType } from '../../src/core/types.ts';
import { CcxtExchange, type CcxtExchangeOptions } from '../../src/exchange/ccxt/index.ts';
import type { LiveVenueId } from '../../src/exchange/venues.ts';
import { FakeBinance, type FakeBinanceOptions } from '../fakes/exchange/binance.ts';
import { FakeBybit, type FakeBybitOptions } from '../fakes/exchange/bybit.ts';
import { Recorder, TestClock, realSleep } from './venue-time.ts';

/** Per venue: its fake, the fake's options and the ccxt class the adapter uses. */
interface Family {
  binance: { fake: FakeBinance; options: FakeBinanceOptions; ccxt: InstanceType<typeof ccxt.pro.binance> };
  bybit: { fake: FakeBybit; options: FakeBybitOptions; ccxt: InstanceType<typeof ccxt.pro.bybit> };
}
export type FakeOf<V extends LiveVenueId> = Family[V]['fake'];
export type FakeOptionsOf<V extends LiveVenueId> = Family[V]['options'];

/** The API keys each fake checks (Bybit's also verifies the HMAC signature with the secret). */
export const RIG_KEYS: Record<LiveVenueId, { apiKey: string; secret: string }> = {
  binance: { apiKey: 'fake-api-key-0123456789', secret: 'fake-api-secret-0123456789' },
  bybit: { apiKey: 'fake-bybit-key-0123456789', secret: 'fake-bybit-secret-0123456789' },
};
export const RIG_RECV_MS = 2000;
/** pollMs that keeps the REST poller asleep (see noPolling). */
export const NO_POLL_MS = 987_654;

const FAKES: { [V in LiveVenueId]: (o: FakeOptionsOf<V>) => Promise<FakeOf<V>> } = {
  binance: (o) => new FakeBinance(o).start(),
  bybit: (o) => new FakeBybit(o).start(),
};

/** Adapters and fakes to close after each test (closeRigs). */
const open: Array<{ ex?: CcxtExchange; fake: { close(): Promise<void> } }> = [];
export async function closeRigs(): Promise<void> {
  for (const r of open.splice(0)) {
    await r.ex?.close();
    await r.fake.close();
  }
}

export async function makeFake<V extends LiveVenueId>(
  venue: V,
  type: MarketType,
  clock: TestClock,
  fake: Partial<FakeOptionsOf<V>> = {},
): Promise<FakeOf<V>> {
  const { apiKey, secret } = RIG_KEYS[venue];
  const base = venue === 'bybit' ? { type, now: () => clock.now(), apiKey, secret } : { type, now: () => clock.now(), apiKey };
  const f = await (FAKES[venue] as (o: FakeOptionsOf<V>) => Promise<FakeOf<V>>)({ ...base, ...fake } as FakeOptionsOf<V>);
  open.push({ fake: f });
  return f;
}

/** A ccxt pro instance of the class the adapter would pick (rate limiter off, short timeout). */
export function ccxtClient<V extends LiveVenueId>(venue: V, type: MarketType): Family[V]['ccxt'] {
  const c =
    venue === 'bybit'
      ? new ccxt.pro.bybit({ enableRateLimit: false })
      : type === 'spot'
        ? new ccxt.pro.binance({ enableRateLimit: false })
        : new ccxt.pro.binanceusdm({ enableRateLimit: false });
  c.timeout = 300;
  return c as Family[V]['ccxt'];
}

export type RigOptions<V extends LiveVenueId> = Partial<CcxtExchangeOptions> & {
  fake?: Partial<FakeOptionsOf<V>>;
  connect?: boolean;
  realSleepCap?: number;
  /** Real time slept per simulated ms (default: 2 ms per sleep, whatever its length). */
  realSleepScale?: number;
  fakeInstance?: FakeOf<V>;
  clock?: TestClock;
  /** Keep the REST poller asleep (its pause neither ends nor moves the clock): only the code under test talks. */
  noPolling?: boolean;
};

export interface Rig<V extends LiveVenueId> {
  ex: CcxtExchange;
  fake: FakeOf<V>;
  clock: TestClock;
  rec: Recorder;
  ccxt: Family[V]['ccxt'];
  sleeps: number[];
  /** While set, the adapter's sleeps wait for it (the clock stands still). */
  hold: { until: Promise<void> | null };
}

export async function ccxtRig<V extends LiveVenueId>(venue: V, type: MarketType, opts: RigOptions<V> = {}): Promise<Rig<V>> {
  const clock = opts.clock ?? new TestClock();
  const fake = opts.fakeInstance ?? (await makeFake(venue, type, clock, opts.fake));
  const c = ccxtClient(venue, type);
  const rec = new Recorder();
  const sleeps: number[] = [];
  const hold: Rig<V>['hold'] = { until: null };
  const cap = opts.realSleepCap ?? 2;
  const ex = new CcxtExchange({
    venue,
    marketType: type,
    testnet: false,
    symbols: ['BTC/USDT'],
    credentials: RIG_KEYS[venue],
    clock,
    log: silentLogger(),
    leverage: 5,
    marginMode: 'isolated',
    websocket: false,
    pollMs: 100,
    recvWindowMs: RIG_RECV_MS,
    apiUrl: fake.url,
    wsUrl: fake.wsUrl,
    exchange: c,
    sleep: async (ms) => {
      if (opts.noPolling && ms === NO_POLL_MS) return new Promise((r) => setTimeout(r, 60_000).unref());
      while (hold.until) await hold.until;
      sleeps.push(ms);
      clock.advance(ms);
      await realSleep(Math.min(opts.realSleepScale !== undefined ? ms * opts.realSleepScale : ms, cap));
    },
    ...opts,
    ...(opts.noPolling ? { pollMs: NO_POLL_MS } : {}),
  });
  open.push({ ex, fake });
  ex.setListener(rec);
  if (opts.connect !== false) await ex.connect();
  return { ex, fake, clock, rec, ccxt: c, sleeps, hold };
}
