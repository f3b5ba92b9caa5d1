// Everything start-up checks before it builds anything, in one place: `skipper run` (through the Bot)
// and `skipper config check` both call startupProblems, so the check says OK exactly when start-up
// would get past these. Each problem starts with the config key (or flag) to fix.
import { GridParamsError, gridParamsOf } from '../grid/config.ts';
import { Cron } from 'croner';
import { errorMessage } from '../core/errors.ts';
import { writableFileProblem } from '../core/file-checks.ts';
import { TIMEFRAME_MS } from '../core/types.ts';
import { journalFileProblem } from '../journal/file-guard.ts';
import { inspectReplayFile } from '../market/replay-feed.ts';
import { createStrategy, ParamError, STRATEGIES } from '../strategy/registry.ts';
import { isModelStrategy, modelStrategyProblems } from '../models/wire.ts';
import { readSecrets, type Secrets } from './env.ts';
import { COMMAND_LINE, ConfigError } from './errors.ts';
import type { Config } from './schema.ts';
import { dataSourceOf } from './data-source.ts';

export interface StartupOptions {
  /** `--replay` on the command line (wins over data.replayFile). */
  replay?: string;
  /** Default: read from the environment. */
  secrets?: Secrets;
  /** Parts the caller supplies itself (tests): their checks are skipped. */
  injected?: { exchange?: boolean; feeds?: boolean; logger?: boolean };
}

const CRONS = ['dailyCron', 'weeklyCron', 'monthlyCron'] as const;

/**
 * The strategy's problems, as start-up sees them: a model or ensemble strategy's model folders, the
 * grid's parameters, or an indicator strategy built for every symbol. Research runs (/backtest, sweeps)
 * check a config with it too, so they refuse exactly what start-up would.
 */
export function strategyProblems(cfg: Config): string[] {
  const { name, params } = cfg.strategy;
  if (isModelStrategy(name)) return modelStrategyProblems(cfg);
  try {
    if (name === 'grid') gridParamsOf(cfg.strategy, cfg.exchange.name === 'paper' ? cfg.exchange.paper.priceStep : 0);
    else if (!Object.hasOwn(STRATEGIES, name))
      return [`strategy.name: unknown strategy "${name}"; available: ${Object.keys(STRATEGIES).sort().join(', ')}`];
    else
      for (const symbol of cfg.market.symbols) createStrategy(name, symbol, { ...params, timeframeMs: TIMEFRAME_MS[cfg.market.timeframe] });
  } catch (e) {
    if (e instanceof GridParamsError) return e.problems;
    if (e instanceof ParamError) return e.problems.map((p) => `strategy.params.${p.key}: ${p.message}`);
    return [`strategy.params: ${errorMessage(e)}`];
  }
  return [];
}

/** Every problem start-up would hit, each as "key: what is wrong". Creates and changes nothing. */
export function startupProblems(cfg: Config, o: StartupOptions = {}): string[] {
  const out: string[] = [];
  const add = (key: string, msg: string) => out.push(`${key}: ${msg}`);

  out.push(...strategyProblems(cfg));

  // The timezone first, on its own: a bad one must not be blamed on a cron pattern.
  let tz = 'UTC';
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: cfg.reports.timezone });
    tz = cfg.reports.timezone;
  } catch {
    add('reports.timezone', `unknown time zone "${cfg.reports.timezone}"; use an IANA name such as UTC, Europe/Berlin or America/New_York`);
  }
  for (const k of CRONS) {
    try {
      new Cron(cfg.reports[k], { timezone: tz }).nextRun();
    } catch (e) {
      add(`reports.${k}`, `invalid cron pattern "${cfg.reports[k]}": ${errorMessage(e)}`);
    }
  }

  if (!o.injected?.feeds) {
    const d = dataSourceOf(cfg.data, { replay: o.replay });
    const src = d.kind === 'replay' ? { path: d.file, key: d.from === 'command line' ? '--replay' : 'data.replayFile' } : undefined;
    if (cfg.data.source === 'replay' && !src) {
      add('data.replayFile', 'required when data.source is replay (or pass --replay); without it the bot would poll live prices');
    } else if (src) {
      try {
        inspectReplayFile(src.path, { resampleTo: cfg.market.timeframe });
      } catch (e) {
        add(src.key, errorMessage(e));
      }
    }
  }

  if (cfg.journal.path !== ':memory:') {
    const p = journalFileProblem(cfg.journal.path);
    if (p) add('journal.path', p);
  }
  if (!o.injected?.logger) {
    const p = writableFileProblem(cfg.log.file);
    if (p) add('log.file', p);
  }

  const s = o.secrets ?? readSecrets();
  if (cfg.chat.telegram.enabled && !s.telegramBotToken)
    add('chat.telegram.enabled', 'true, but TELEGRAM_BOT_TOKEN is not set in the environment');
  if (cfg.chat.telegram.enabled && cfg.chat.telegram.webhook && !s.telegramWebhookSecret)
    add('chat.telegram.webhook', 'set, but TELEGRAM_WEBHOOK_SECRET is not (1–256 characters: A–Z, a–z, 0–9, _ and -)');
  if (cfg.chat.discord.enabled && !s.discordBotToken)
    add('chat.discord.enabled', 'true, but DISCORD_BOT_TOKEN is not set in the environment');
  if (!o.injected?.exchange && cfg.exchange.name !== 'paper' && (!s.exchangeApiKey || !s.exchangeApiSecret)) {
    add('exchange.name', `${cfg.exchange.name} needs EXCHANGE_API_KEY and EXCHANGE_API_SECRET in the environment`);
  }
  return out;
}

/** Throw a ConfigError listing every start-up problem, if there is any. */
export function checkStartup(cfg: Config, file: string, o: StartupOptions = {}): void {
  const problems = startupProblems(cfg, o);
  // Problems of command-line flags only (a bad --replay file) are not blamed on the config file.
  if (problems.length) throw new ConfigError(problems.every((p) => p.startsWith('--')) ? COMMAND_LINE : file, problems);
}

export { COMMAND_LINE };
