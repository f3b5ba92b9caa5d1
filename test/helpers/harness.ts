// A real bot for tests: temp journal and log, a generated replay, console off by default.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { parseConfig, deepMerge } from '../../src/config/load.ts';
import type { ConfigInput } from '../../src/config/schema.ts';
import { Bot, type BotOptions } from '../../src/app/bot.ts';
import { generateCsv } from '../../src/market/generator.ts';
import { silentLogger } from '../../src/core/logger.ts';
import type { ChatUser, Reply, Role } from '../../src/chat/types.ts';
import type { Clock, SimClock } from '../../src/core/clock.ts';

export interface HarnessOptions {
  config?: ConfigInput;
  /** Candles in the generated replay (default 3000 1m candles). */
  candles?: number;
  /** Replay this CSV instead of generating one. */
  replayFile?: string;
  seed?: number;
  /** Extra Bot options (transport roots, wall clock…). */
  bot?: Partial<BotOptions>;
  /** Wait for the replay to finish before returning (default true). */
  waitForReplay?: boolean;
  dir?: string;
}

export interface Harness {
  bot: Bot;
  dir: string;
  replay: string;
  output: PassThrough;
  /** Everything the bot printed on its console output. */
  printed(): string;
  stop(): Promise<void>;
}

export const tempDir = (prefix = 'skipper-t-'): string => mkdtempSync(join(tmpdir(), prefix));

export function chatUser(role: Role | null, id = `u-${role ?? 'stranger'}`, transport: ChatUser['transport'] = 'console'): ChatUser {
  return { transport, id, name: id, role };
}

/** Start a bot on a generated replay. */
export async function startBot(o: HarnessOptions = {}): Promise<Harness> {
  const dir = o.dir ?? tempDir();
  const replay = o.replayFile ?? join(dir, 'candles.csv');
  if (!o.replayFile) await generateCsv(replay, o.candles ?? 3000, o.seed ?? 7);
  const base: ConfigInput = {
    journal: { path: join(dir, 'skipper.db') },
    log: { file: join(dir, 'skipper.log'), level: 'info' },
    chat: { console: { enabled: false } },
    data: { source: 'replay', replayFile: replay, speed: 'max' },
  };
  const config = parseConfig(deepMerge(base as Record<string, unknown>, (o.config ?? {}) as Record<string, unknown>));
  const output = new PassThrough();
  let text = '';
  output.on('data', (d: Buffer) => (text += d.toString()));
  const bot = new Bot({ config, logger: silentLogger(), output, input: new PassThrough(), ...o.bot });
  await bot.start();
  if (o.waitForReplay ?? true) await bot.feedsDone();
  return { bot, dir, replay, output, printed: () => text, stop: () => bot.stop() };
}

/** Feed one more flat 1m candle after the replay (close moved by `move`), so the paper venue fills working orders. */
export function feedCandle(h: Harness, symbol: string, move = 0): void {
  const last = h.bot.engine.status().lastCandle[symbol]!;
  const close = last.close * (1 + move);
  const ts = last.ts + 60_000;
  (h.bot.clock as SimClock).set(ts + 60_000);
  h.bot.engine.onCandle(symbol, {
    ts,
    open: last.close,
    high: Math.max(close, last.close) * 1.0001,
    low: Math.min(close, last.close) * 0.9999,
    close,
    volume: 1000,
  });
}

/** A command's reply (it must answer). */
export async function reply(h: Harness, user: ChatUser, text: string): Promise<Reply> {
  const r = await h.bot.dispatcher.handleText(user, text);
  if (!r) throw new Error(`no reply to ${text}`);
  return r;
}

/**
 * A command, and Confirm pressed when it asks: the prompt and the outcome (`done` is the reply itself when it
 * did not ask; with `prompted`, a command that did not ask throws).
 */
export async function confirmWith(
  h: Harness,
  user: ChatUser,
  text: string,
  o: { prompted?: boolean } = {},
): Promise<{ ask: Reply; done: Reply }> {
  const ask = await reply(h, user, text);
  const b = ask.buttons?.flat().find((x) => x.label === 'Confirm');
  if (ask.title !== 'Please confirm' || b === undefined) {
    if (o.prompted === true) throw new Error(`${text}: expected a confirmation prompt, got ${ask.title ?? ''}: ${ask.text}`);
    return { ask, done: ask };
  }
  return { ask, done: (await h.bot.dispatcher.handleButton(user, b.data)).edit! };
}

/** A wall clock the test moves by hand (`t`). */
export class ManualClock implements Clock {
  constructor(public t = Date.UTC(2030, 0, 1)) {}
  now(): number {
    return this.t;
  }
}
