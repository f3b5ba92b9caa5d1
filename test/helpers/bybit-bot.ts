// A live bot in this process (real ccxt) on a local fake Bybit, replaying generated candles and steered
// through its dispatcher: the venue tests of the execution algos and the grid.
import { join } from 'node:path';
import { deepMerge } from '../../src/config/load.ts';
import type { ConfigInput } from '../../src/config/schema.ts';
import { generateCsv } from '../../src/market/generator.ts';
import { FakeBybit } from '../fakes/exchange/bybit.ts';
import { startBot, tempDir, type Harness } from './harness.ts';

const KEY = 'bybit-bot-key-000001';
const SECRET = 'bybit-bot-secret-000001';

export interface BybitBot {
  h: Harness;
  fake: FakeBybit;
  /** The bot, then the fake. */
  close(): Promise<void>;
}

/** `candles` 1m candles from 30,000 replayed by a live bot on the fake Bybit (`type`), `config` on top. */
export async function bybitBot(o: {
  type: 'spot' | 'perp';
  prefix: string;
  candles: number;
  seed: number;
  volatility: number;
  config: ConfigInput;
  waitForReplay?: boolean;
  /** `--confirm-live` (default true); false: the bot waits for an admin's go. */
  confirmLive?: boolean;
}): Promise<BybitBot> {
  const dir = tempDir(o.prefix);
  const csv = join(dir, 'candles.csv');
  await generateCsv(csv, o.candles, o.seed, { startPrice: 30_000, volatility: o.volatility });
  const fake = await new FakeBybit({
    type: o.type,
    apiKey: KEY,
    secret: SECRET,
    balances: { USDT: 10_000 },
    prices: { BTCUSDT: 30_000 },
  }).start();
  const base = {
    mode: 'live',
    market: { type: o.type },
    exchange: { name: 'bybit', testnet: true, apiUrl: fake.url, websocket: false, pollSec: 1, recvWindowMs: 2000 },
  };
  const h = await startBot({
    dir,
    replayFile: csv,
    config: deepMerge(base, o.config as Record<string, unknown>) as ConfigInput,
    bot: { secrets: { exchangeApiKey: KEY, exchangeApiSecret: SECRET }, confirmLive: o.confirmLive ?? true },
    ...(o.waitForReplay === false ? { waitForReplay: false } : {}),
  }).catch(async (e: unknown) => {
    await fake.close();
    throw e;
  });
  return {
    h,
    fake,
    close: async () => {
      await h.stop();
      await fake.close();
    },
  };
}

/** A command's reply (it must answer). */
export { reply as ask } from './harness.ts';
