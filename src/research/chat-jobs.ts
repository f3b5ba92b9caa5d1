// /backtest and /stress from chat: one research job at a time per bot, run on a one-thread piscina
// pool (never on the trading loop), cancellable. The config is the one the bot runs; parameters
// changed from chat go through the sweep's parser and validator (params.ts).
import type { Piscina } from 'piscina';
import type { Services } from '../chat/services.ts';
import type { Reply } from '../chat/types.ts';
import { ConfigError } from '../config/load.ts';
import type { Config } from '../config/schema.ts';
import { duration } from '../core/format.ts';
import type { ChatOutcome, ChatTask } from './chat-worker.ts';
import { workerModule } from './jobs.ts';
import { buildConfigs, parseParam, validateSpecs, type ParamPoint, type ParamSpec } from './params.ts';

export type ChatJobKind = ChatTask['kind'];
export const DEFAULT_DAYS = 30;
export const MAX_DAYS = 3650;

const LABEL: Record<ChatJobKind, string> = { backtest: 'a backtest', stress: 'a stress test' };

interface Running {
  kind: ChatJobKind;
  by: string;
  startedAt: number;
  abort: AbortController;
}

/** The research job slot of one bot. */
export class ChatJobs {
  private running: Running | null = null;

  constructor(private readonly now: () => number) {}

  busy(): Running | null {
    return this.running;
  }

  /** Cancel the running job; returns what was cancelled, or null when nothing runs. */
  cancel(): Running | null {
    const r = this.running;
    r?.abort.abort();
    return r;
  }

  /** Run a task on its own worker thread; `busy` when another job holds the slot. */
  async run(task: ChatTask, by: string): Promise<ChatOutcome | { busy: Running } | { cancelled: true }> {
    if (this.running) return { busy: this.running };
    const abort = new AbortController();
    const mine: Running = { kind: task.kind, by, startedAt: this.now(), abort };
    this.running = mine;
    let pool: Piscina<ChatTask, ChatOutcome> | undefined;
    try {
      const { Piscina } = await import('piscina');
      const { filename, execArgv } = workerModule('chat-worker');
      pool = new Piscina<ChatTask, ChatOutcome>({ filename, execArgv, minThreads: 0, maxThreads: 1 });
      return await pool.run(task, { signal: abort.signal });
    } catch (e) {
      if (abort.signal.aborted) return { cancelled: true };
      throw e;
    } finally {
      this.running = null;
      void pool?.destroy();
    }
  }
}

const slots = new WeakMap<object, ChatJobs>();

/** The job slot of the bot these services belong to. */
export function chatJobsFor(services: Services): ChatJobs {
  let j = slots.get(services.engine);
  if (!j) slots.set(services.engine, (j = new ChatJobs(() => services.clock.now())));
  return j;
}

/** "A backtest is already running, started 2 min ago by X — /backtest cancel". */
export function busyText(r: Running, now: number): string {
  const what = LABEL[r.kind];
  return `${what[0]!.toUpperCase()}${what.slice(1)} is already running, started ${duration(now - r.startedAt)} ago by ${r.by} — /${r.kind} cancel`;
}

/** Who asked, for the busy message. */
export const askerName = (u: { name?: string | undefined; id: string; transport: string }): string => u.name ?? `${u.transport}:${u.id}`;

export type BacktestArgs = { cancel: true } | { days: number; point: ParamPoint; specs: ParamSpec[] };

/** `[days] [path=value…]` or `cancel`. Throws a message naming the bad token or path. */
export function parseBacktestArgs(text: string): BacktestArgs {
  const tokens = text.trim().split(/\s+/).filter(Boolean);
  if (tokens.length === 1 && tokens[0]!.toLowerCase() === 'cancel') return { cancel: true };
  let days = DEFAULT_DAYS;
  const specs: ParamSpec[] = [];
  tokens.forEach((t, i) => {
    if (!t.includes('=')) {
      if (i === 0 && /^\d+d?$/i.test(t)) {
        days = Number.parseInt(t, 10);
        if (days < 1 || days > MAX_DAYS) throw new Error(`days must be 1 to ${MAX_DAYS}, not ${days}`);
        return;
      }
      throw new Error(`"${t}" is neither a number of days nor path=value (e.g. strategy.params.fast=12)`);
    }
    let spec: ParamSpec;
    try {
      spec = parseParam(t);
    } catch (e) {
      throw new Error((e as Error).message.replace(/^--param /, ''));
    }
    if (spec.values.length !== 1) throw new Error(`${spec.path}: one value here (ranges and lists are for skipper sweep)`);
    specs.push(spec);
  });
  const point: ParamPoint = Object.fromEntries(specs.map((s) => [s.path, s.values[0]!]));
  return { days, point, specs };
}

/** The running config with the point's values, checked by the same validator the sweep uses. */
export function configWith(config: Config, specs: readonly ParamSpec[], point: ParamPoint): Config {
  const raw = config as unknown as Record<string, unknown>;
  try {
    validateSpecs(raw, specs);
  } catch (e) {
    throw new Error((e instanceof ConfigError ? e.problems.join('; ') : (e as Error).message).replace(/^--param /, ''));
  }
  const built = buildConfigs(raw, [point]);
  if (built.skipped.length) throw new Error(built.skipped[0]!.why);
  return built.ok[0]!.config;
}

/**
 * The candles a chat backtest uses, per symbol: research.data when the config names a file for every
 * symbol, else the replay file the bot runs on. The reason instead when there is none.
 */
export function chatData(services: Services): { data: Record<string, string> } | { none: string } {
  const cfg = services.config;
  const files = cfg.research.data ?? {};
  const missing = cfg.market.symbols.filter((s) => files[s] === undefined);
  if (missing.length === 0) return { data: Object.fromEntries(cfg.market.symbols.map((s) => [s, files[s]!])) };
  const src = services.dataSource?.();
  if (src?.kind === 'replay') return { data: Object.fromEntries(cfg.market.symbols.map((s) => [s, src.file])) };
  return {
    none:
      `No candle data to backtest on: this bot runs on ${src?.kind === 'live' ? 'live candles' : 'its own feeds'} ` +
      `(the journal keeps no candles), and research.data in the config names no CSV for ${missing.join(', ')} ` +
      `(e.g. research.data: { "${missing[0]}": data/btc-1m.csv }).`,
  };
}

/** The chat reply for a finished, failed or cancelled job. */
export function outcomeReply(kind: ChatJobKind, o: ChatOutcome | { cancelled: true }): Reply {
  if ('cancelled' in o) return { text: `The ${kind === 'backtest' ? 'backtest' : 'stress test'} was cancelled: no result.` };
  if (o.error !== undefined)
    return { title: o.title, text: `No result: ${o.error}`, severity: 'warning', audit: { outcome: 'invalid', reason: o.error } };
  return {
    title: o.title,
    text: o.text,
    mono: true,
    ...(o.png ? { image: { png: Buffer.from(o.png), filename: `${kind}.png` } } : {}),
  };
}
