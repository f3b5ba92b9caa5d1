import { z } from 'zod';
import { Cron } from 'croner';
import { TIMEFRAMES } from '../core/types.ts';
import { riskConfigSchema } from '../risk/limits.ts';
import { executionConfigSchema } from '../execution/config.ts';
import { DEFAULT_JUMP_RULE } from '../market/validator.ts';
import { DEFAULT_GOLDEN_RULES, OBJECTIVES, ruleProblem } from '../core/metric-rules.ts';
import { VOTE_MODES } from '../models/ensemble.ts';
import { modelsConfigSchema } from '../models/config.ts';
import { LIVE_VENUE_IDS, VENUE_IDS } from '../exchange/venues.ts';
import { GRID_SPACINGS } from '../grid/levels.ts';

// The whole configuration, validated at start. Every field has a safe default, so an empty file
// (or no file) runs the paper exchange on BTC/USDT 1m. Secrets never live here: see env.ts.

const fraction = (max = 1) => z.number().min(0).max(max);
const symbol = z.string().regex(/^[A-Z0-9]{2,20}\/[A-Z0-9]{2,20}(:[A-Z0-9]{2,20})?$/, 'expected a symbol like BTC/USDT');

const role = z.enum(['viewer', 'trader', 'admin']);
const userEntry = z.object({ id: z.union([z.string(), z.number()]).transform(String), role, name: z.string().optional() }).strict();

const alertTypeOrAll = z.string();

/** `strategy.params.spacing: geometric` (the grid's one word among numbers) is read as `strategy.spacing`. */
function liftSpacing(v: unknown): unknown {
  if (typeof v !== 'object' || v === null || !('params' in v)) return v;
  const { params, ...rest } = v as { params: unknown };
  if (typeof params !== 'object' || params === null || !('spacing' in params) || typeof params.spacing !== 'string') return v;
  const { spacing, ...numbers } = params as { spacing: string };
  return { ...rest, spacing, params: numbers };
}

const cronPattern = z.string().refine((p) => {
  try {
    new Cron(p, { paused: true }).stop();
    return true;
  } catch {
    return false;
  }
}, 'not a valid cron pattern (e.g. "0 3 * * *")');

const telegramWebhook = z
  .object({
    /** The public URL Telegram posts updates to (Telegram wants HTTPS on port 443, 80, 88 or 8443). */
    url: z.string().url(),
    /** Where the bot's HTTP server listens (a reverse proxy forwards the public URL here). */
    listen: z
      .object({ host: z.string().default('127.0.0.1'), port: z.number().int().min(1).max(65535).default(8443) })
      .strict()
      .prefault({}),
  })
  .strict();

const telegram = z
  .object({
    enabled: z.boolean().default(false),
    users: z.array(userEntry).default([]),
    /** Where alerts and reports go: chat ids (and optional forum topic ids). */
    alertChats: z
      .array(z.object({ chatId: z.union([z.string(), z.number()]).transform(String), topicId: z.number().int().optional() }).strict())
      .default([]),
    /** Long-polling timeout in seconds (Telegram's getUpdates `timeout`). */
    pollTimeoutSec: z.number().int().min(0).max(50).default(30),
    /** Webhook mode instead of long polling; the secret token comes from TELEGRAM_WEBHOOK_SECRET. */
    webhook: telegramWebhook.optional(),
  })
  .strict();

const discord = z
  .object({
    enabled: z.boolean().default(false),
    applicationId: z.string().optional(),
    guildIds: z.array(z.string()).default([]),
    users: z.array(userEntry).default([]),
    /** Discord role ids mapped to a Skipper role. */
    roles: z.array(z.object({ id: z.string(), role }).strict()).default([]),
    /** Alert routing: posted to every matching route's channel (each channel once); `types` and `severities` default to all. */
    routes: z
      .array(
        z
          .object({
            channelId: z.string(),
            types: z.array(alertTypeOrAll).default(['*']),
            severities: z.array(z.enum(['info', 'warning', 'critical'])).default(['info', 'warning', 'critical']),
          })
          .strict(),
      )
      .default([]),
  })
  .strict();

export const configSchema = z
  .object({
    mode: z.enum(['backtest', 'paper', 'live']).default('paper'),
    /** Short id that prefixes client order ids: unique per account if several bots share one. */
    botId: z
      .string()
      .regex(/^[a-z0-9]{1,8}$/, 'botId: 1–8 lowercase letters/digits')
      .default('sk'),
    market: z
      .object({
        type: z.enum(['spot', 'perp']).default('spot'),
        symbols: z.array(symbol).min(1).default(['BTC/USDT']),
        timeframe: z.enum(TIMEFRAMES).default('1m'),
        allowShort: z.boolean().default(false),
        leverage: z.number().min(1).max(125).default(1),
      })
      .strict()
      .prefault({}),
    data: z
      .object({
        /** `live` polls public candles through ccxt; `replay` reads a CSV. */
        source: z.enum(['live', 'replay']).default('live'),
        exchange: z.enum(LIVE_VENUE_IDS).default('binance'),
        replayFile: z.string().optional(),
        /** Replay speed: a multiple of real time, or 'max'. */
        speed: z.union([z.number().positive(), z.literal('max')]).default('max'),
        pollSec: z.number().min(1).default(10),
        websocket: z.boolean().default(false),
        warmup: z.number().int().min(0).default(200),
        /** Hold (no trade, alert) a candle this many σ of recent volatility from the last close, until the next confirms it; null = off. */
        jumpSigmas: z.number().positive().nullable().default(DEFAULT_JUMP_RULE.sigmas),
        /** …and at least this fraction away (smaller moves are never held). */
        jumpMinPct: z.number().min(0).default(DEFAULT_JUMP_RULE.minPct),
      })
      .strict()
      .prefault({}),
    exchange: z
      .object({
        name: z.enum(VENUE_IDS).default('paper'),
        /** Real venues: testnet/demo unless explicitly false (live trading needs mode: live too). */
        testnet: z.boolean().default(true),
        paper: z
          .object({
            startingBalance: z.record(z.string(), z.number().min(0)).default({ USDT: 10_000 }),
            makerFee: fraction(0.01).default(0.001),
            takerFee: fraction(0.01).default(0.001),
            slippageBps: z.number().min(0).max(1000).default(0),
            maxVolumeParticipation: fraction().nullable().default(null),
            qtyStep: z.number().positive().default(0.00001),
            priceStep: z.number().positive().default(0.01),
            minNotional: z.number().min(0).default(5),
          })
          .strict()
          .prefault({}),
        /** Adopt orders/positions found on the venue that the bot did not create (else: report only). */
        adoptExternal: z.boolean().default(false),
        /** Perps margin mode (Skipper's risk model assumes isolated). */
        marginMode: z.enum(['isolated', 'cross']).default('isolated'),
        /** Order updates over websockets (ccxt pro); REST polling is always the fallback. */
        websocket: z.boolean().default(true),
        /** REST polling period for order updates when no stream is up (and as a safety net). */
        pollSec: z.number().min(1).default(5),
        /** Replace the venue's API hosts with this URL (a proxy, or the test fake). */
        apiUrl: z.string().url().optional(),
        reconcileEverySec: z.number().min(10).default(300),
        /** How long start-up keeps trying an unreachable venue (connect, reconciliation) before it gives up. */
        startupTimeoutSec: z.number().min(0).default(120),
        recvWindowMs: z.number().int().min(1000).max(60_000).default(10_000),
      })
      .strict()
      .prefault({}),
    strategy: z
      .preprocess(
        liftSpacing,
        z
          .object({
            name: z.string().default('sma-cross'),
            params: z.record(z.string(), z.number()).default({}),
            /** Grid strategy: level spacing (may be written as params.spacing). */
            spacing: z.enum(GRID_SPACINGS).optional(),
            /** model | ensemble strategies (src/models/wire.ts): model folder(s), ensemble file, vote, entry gate. */
            model: z.string().min(1).optional(),
            models: z.array(z.string().min(1)).min(1).optional(),
            ensemble: z.string().min(1).optional(),
            vote: z.enum(VOTE_MODES).optional(),
            minConfidence: z.number().min(0).max(1).optional(),
          })
          .strict(),
      )
      .prefault({}),
    risk: riskConfigSchema.prefault({}),
    execution: executionConfigSchema.prefault({}),
    models: modelsConfigSchema.prefault({}),
    approvals: z
      .object({
        mode: z.enum(['off', 'always', 'above']).default('off'),
        aboveNotional: z.number().min(0).default(1000),
        timeoutSec: z.number().int().min(10).max(86_400).default(120),
        maxPriceDriftPct: fraction(0.5).default(0.005),
        /** In replays, hold the candle clock while a proposal waits for an answer. */
        holdReplay: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
    journal: z
      .object({
        path: z.string().default('data/skipper.db'),
        synchronous: z.enum(['NORMAL', 'FULL']).default('NORMAL'),
        equityEverySec: z.number().min(1).default(3600),
      })
      .strict()
      .prefault({}),
    chat: z
      .object({
        console: z
          .object({ enabled: z.boolean().default(true), role: role.default('admin') })
          .strict()
          .prefault({}),
        telegram: telegram.prefault({}),
        discord: discord.prefault({}),
        /** How long a confirmation button stays valid. */
        confirmTimeoutSec: z.number().int().min(10).default(60),
      })
      .strict()
      .prefault({}),
    alerts: z
      .object({
        coalesceSec: z.number().min(0).default(60),
        minSeverity: z.enum(['info', 'warning', 'critical']).default('info'),
        /** Critical alerts nobody acknowledges within `unacknowledgedMin` minutes pause (or flatten) the bot; null = off. */
        escalation: z
          .object({
            unacknowledgedMin: z.number().min(1).max(1440).nullable().default(null),
            action: z.enum(['pause', 'flatten']).default('pause'),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    reports: z
      .object({
        dailyCron: z.string().default('0 0 * * *'),
        weeklyCron: z.string().default('0 0 * * 1'),
        monthlyCron: z.string().default('0 0 1 * *'),
        timezone: z.string().default('UTC'),
        charts: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
    log: z
      .object({
        level: z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']).default('info'),
        file: z.string().default('data/skipper.log'),
      })
      .strict()
      .prefault({}),
    /** Prometheus metrics over HTTP (bearer token from METRICS_TOKEN when set). */
    metrics: z
      .object({
        enabled: z.boolean().default(false),
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(9464),
      })
      .strict()
      .prefault({}),
    /** Dead-man heartbeat (pinged while the trading loop makes progress) and the in-process watchdog. */
    heartbeat: z
      .object({
        url: z.string().url().nullable().default(null),
        method: z.enum(['GET', 'POST']).default('GET'),
        everySec: z.number().min(5).max(86_400).default(60),
        timeoutSec: z.number().min(1).max(60).default(10),
        /** Watchdog: no candle processed for this many timeframes while the feed is up → critical alert. */
        staleTimeframes: z.number().min(1).max(1000).default(3),
        /** Watchdog: the event loop blocked longer than this → critical alert. */
        loopStallSec: z.number().min(1).max(600).default(10),
      })
      .strict()
      .prefault({}),
    /** Online journal backups on a schedule, rotated. */
    backup: z
      .object({
        cron: cronPattern.nullable().default('0 3 * * *'),
        timezone: z.string().default('UTC'),
        /** Default: a `backups` folder beside the journal. */
        dir: z.string().nullable().default(null),
        keep: z.number().int().min(1).max(1000).default(7),
      })
      .strict()
      .prefault({}),
    /** Research (skipper sweep / select): the golden rules a candidate must pass, and what sweeps maximise. */
    research: z
      .object({
        rules: z
          .array(z.string().superRefine((t, ctx) => void (ruleProblem(t) && ctx.addIssue({ code: 'custom', message: ruleProblem(t)! }))))
          .default([...DEFAULT_GOLDEN_RULES]),
        objective: z.enum(OBJECTIVES).default('sharpe'),
        /** Candle CSV per symbol for /backtest when the bot runs live (a replay uses its replay file). */
        data: z.record(z.string(), z.string().min(1)).optional(),
        /** Where /stress finds its crash-window CSVs (e.g. ../shared/data). */
        dataDir: z.string().min(1).optional(),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((c, ctx) => {
    // Real orders need both switches on purpose: a venue and live mode.
    if (c.mode === 'live' && c.exchange.name === 'paper') {
      ctx.addIssue({ code: 'custom', path: ['exchange', 'name'], message: 'live mode needs a real venue: binance or bybit' });
    }
    if (c.mode !== 'live' && c.exchange.name !== 'paper') {
      ctx.addIssue({
        code: 'custom',
        path: ['mode'],
        message: `exchange.name ${c.exchange.name} places real orders: set mode: live (paper mode uses the built-in paper exchange)`,
      });
    }
  });

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;
export type Role = z.infer<typeof role>;
