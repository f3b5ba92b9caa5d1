// Only commander and light modules load up front (`skipper --help` stays fast); each action imports
// the stacks it needs (config: zod + yaml, journal: drizzle, the bot: chat and venues).
import { Command, InvalidArgumentError } from 'commander';
import { writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { COMMAND_LINE, ConfigError } from '../config/errors.ts';
import { errorMessage } from '../core/errors.ts';
import { cagrText, reportedCagr, spanDays } from '../engine/cagr-span.ts';
import { TIMEFRAME_MS, TIMEFRAMES, type Timeframe } from '../core/types.ts';
import type { Bot } from '../app/bot.ts';
import { addModelCommands } from './models.ts';
import { shownParams, STRATEGIES } from '../strategy/registry.ts';
import { parseTime, registerResearchCommands, runBacktestConfig } from '../research/commands.ts';
import { counted } from '../core/format.ts';
import { VERSION } from '../core/version.ts';

const loadConfig = async (file?: string) => (await import('../config/load.ts')).loadConfig(file);

const program = new Command();
program
  .name('skipper')
  .description('A crypto trading bot you run on one box and steer from chat.')
  .version(VERSION, '-V, --version', 'print the version')
  // Root options only before a subcommand: `models train --version 3` is the model's version, not ours.
  .enablePositionalOptions()
  .showHelpAfterError();

const speedArg = (v: string): number | 'max' => {
  if (v === 'max') return 'max';
  const n = Number(v);
  if (!(n > 0)) throw new InvalidArgumentError('expected a positive number or "max"');
  return n;
};

const positive = (v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number');
  return n;
};

const nonNegative = (v: string): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('expected a number ≥ 0');
  return n;
};

function fail(e: unknown): never {
  if (e instanceof ConfigError) {
    process.stderr.write(`${e.file === COMMAND_LINE ? 'Error in' : 'Config error in'} ${e.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`skipper: ${errorMessage(e)}\n`);
  process.exit(1);
}

/**
 * Streamed candles are promoted to old space, and V8 lets old space grow 4× its live size (~25 MB)
 * before it collects. Growing it by half each time keeps RSS flat: a 2 M-candle backtest 126–129 MB
 * instead of 195–202 (~7 % more time, bench/backtest-memory.ts); a 1 M-candle replay peaks at
 * 194–198 MB instead of 241–258 (/usr/bin/time, no slower).
 */
function steadyHeap(): void {
  setFlagsFromString('--heap-growing-percent=50');
}

program
  .command('run', { isDefault: true })
  .description('run the bot (paper exchange by default)')
  .option('-c, --config <file>', 'config file (YAML or JSON); default: $SKIPPER_CONFIG, else embedded defaults', process.env.SKIPPER_CONFIG)
  .option('--replay <csv>', 'replay candles from a CSV instead of the live feed')
  .option('--speed <n|max>', 'replay speed: a multiple of real time, or max', speedArg)
  .option('--exit-when-done', 'exit when the replay has finished (scripts, benchmarks)')
  .option('--confirm-live', 'live mode: start trading without waiting for the Go live button in chat')
  .action(async (o: { config?: string; replay?: string; speed?: number | 'max'; exitWhenDone?: boolean; confirmLive?: boolean }) => {
    let bot: Bot;
    steadyHeap();
    try {
      const config = await loadConfig(o.config);
      const { Bot } = await import('../app/bot.ts');
      bot = new Bot({
        config,
        configFile: o.config ?? '(defaults)',
        ...(o.replay ? { replay: o.replay } : {}),
        ...(o.speed !== undefined ? { speed: o.speed } : {}),
        ...(o.confirmLive ? { confirmLive: true } : {}),
      });
      await bot.start();
    } catch (e) {
      fail(e);
    }
    // Headless (stdin closed) with a finished replay nothing else holds the event loop open: the bot
    // runs until it is stopped.
    setInterval(() => {}, 2 ** 30);
    let stopping = false;
    const stop = (sig: string) => {
      if (stopping) return;
      stopping = true;
      process.stdout.write(`\n${sig}: stopping…\n`);
      bot.stop().catch((e: unknown) => process.stderr.write(`skipper: stop failed: ${errorMessage(e)}\n`));
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
    if (o.exitWhenDone) void bot.feedsDone().then(() => stop(bot.journalHealth.fault ? 'journal fault' : 'replay finished'));
    // However it stops (a signal, the end of a replay, or on its own after losing its journal).
    void bot.done.then(() => {
      const fault = bot.journalHealth.fault;
      if (fault) process.stderr.write(`skipper: stopped after a journal fault: ${fault.reason}\n`);
      process.exit(bot.exitCode);
    });
  });

const bt = program
  .command('backtest')
  .description('run a strategy over historical candles at full speed (same engine as paper/live)')
  .requiredOption('--data <csv>', 'candles CSV: timestamp_ms,open,high,low,close,volume (with --config: SYM=csv,…)')
  .option('-c, --config <file>', 'backtest this config (risk, stops, perps, symbols) instead of the reference setup')
  .option('--from <date>', 'with --config: start of the window', parseTime)
  .option('--to <date>', 'with --config: end of the window (exclusive)', parseTime)
  .option('--funding <sym=csv,…>', 'with --config: funding rates per symbol (perps): timestamp_ms,rate')
  .option('--report <file.html>', 'with --config: write a standalone HTML report')
  .option('--chart <file.png>', 'with --config: write the equity/drawdown chart')
  .option('--strategy <name>', `one of ${Object.keys(STRATEGIES).join(', ')}`, 'sma-cross')
  .option('--model <dir>', 'with --strategy model: the model folder')
  .option('--models <a,b,…>', 'with --strategy ensemble: member folders (default: models/ensemble.json)')
  .option('--vote <mode>', 'with --strategy ensemble: vote or weighted')
  .option('--min-confidence <p>', 'model strategies: no entry below this confidence (0–1)', nonNegative)
  .option('--symbol <symbol>', 'symbol (default: from the file name, else BTC/USDT)')
  .option('--timeframe <tf>', "the file's timeframe (default: detected from its candles; a different one is refused)")
  .option('--fee <fraction>', 'fee per fill as a fraction of notional', nonNegative, 0.001)
  .option('--cash <amount>', 'starting cash (quote)', positive, 10_000)
  .option('--qty-step <step>', 'quantity step', positive, 0.00000001)
  .option('--slippage-bps <bps>', 'market order slippage in basis points', nonNegative, 0)
  .option('--fills-out <file>', 'write fills as CSV: timestamp_ms,side,price,size,fee')
  .option('--journal <file>', 'keep the journal in this SQLite file (default: in memory)')
  .option('--journal-detail <level>', 'fills (default) or full', 'fills')
  .option('--json', 'print one JSON object on stdout');

const paramNames = [...new Set(Object.values(STRATEGIES).flatMap((s) => Object.keys(s.defaults)))];
const kebab = (s: string) => s.replace(/[A-Z]/g, (m) => `-${m.toLowerCase()}`);
for (const p of paramNames)
  bt.option(`--${kebab(p)} <n>`, `strategy parameter ${p}`, (v: string) => {
    const n = Number(v);
    if (!Number.isFinite(n)) throw new InvalidArgumentError('expected a number');
    return n;
  });

/** What `backtest --config` reads from the command line; every other setting is the config file's. */
const CONFIG_BACKTEST_OPTIONS = new Set(['config', 'data', 'from', 'to', 'funding', 'report', 'chart', 'json']);

bt.action(async (o: Record<string, unknown>) => {
  if (o.config) {
    // An option the config run would ignore (--journal, --fee, --strategy…) is refused, not dropped silently.
    const ignored = Object.keys(o).filter((k) => !CONFIG_BACKTEST_OPTIONS.has(k) && bt.getOptionValueSource(k) === 'cli');
    if (ignored.length)
      fail(
        new ConfigError(
          COMMAND_LINE,
          ignored.map((k) => `--${kebab(k)}: not used by backtest --config (it runs the config file's settings, its journal in memory)`),
        ),
      );
    return runBacktestConfig(o as never);
  }
  try {
    const file = String(o.data);
    const strategy = String(o.strategy);
    const factory = STRATEGIES[strategy];
    const { isModelStrategy, MODEL_STRATEGIES } = await import('../models/wire.ts');
    if (!factory && !isModelStrategy(strategy))
      throw new Error(`unknown strategy "${strategy}"; available: ${[...Object.keys(STRATEGIES), ...MODEL_STRATEGIES].join(', ')}`);
    const params: Record<string, number> = {};
    for (const p of Object.keys(factory?.defaults ?? {})) if (typeof o[p] === 'number') params[p] = o[p] as number;
    const { loadCandles, readCandleBatches } = await import('../market/csv.ts');
    const { fileTimeframe, guessFromName } = await import('../research/data.ts');
    const { runBacktest, runBacktestPerCandle, REFERENCE_LIMITS } = await import('../app/backtest.ts');
    // Models see the whole series up front (batched inference); a plain strategy streams the file,
    // so memory stays flat whatever its size. The first batch (≥ 4,096 candles) tells the timeframe.
    const modelRun = isModelStrategy(strategy);
    steadyHeap();
    const reader = modelRun ? null : readCandleBatches(file);
    const first = reader?.next();
    const candles = reader === null ? loadCandles(file) : first?.done ? [] : (first?.value ?? []);
    const tf = backtestTimeframe(file, o.timeframe as string | undefined, () => fileTimeframe(file, candles));
    const symbol = (o.symbol as string | undefined) ?? guessFromName(file).symbol ?? 'BTC/USDT';
    const detail = o.journalDetail === 'full' ? 'full' : 'fills';
    const models = modelRun
      ? await (await import('../models/backtest.ts')).modelBacktestStrategy(o, symbol, TIMEFRAME_MS[tf], candles)
      : undefined;
    const run = models !== undefined && models.perCandle.length > 0 ? runBacktestPerCandle : runBacktest;
    const r = await run({
      batches: thenRest(candles, reader),
      symbol,
      timeframe: tf,
      strategy,
      params,
      cash: o.cash as number,
      fee: o.fee as number,
      slippageBps: o.slippageBps as number,
      qtyStep: o.qtyStep as number,
      limits: REFERENCE_LIMITS,
      ...(o.journal ? { journalPath: String(o.journal) } : {}),
      journalDetail: detail,
      ...(models ? { strategyImpl: models.strategy } : {}),
    });
    await models?.close();
    if (o.fillsOut) {
      const lines = ['timestamp_ms,side,price,size,fee', ...r.fillRows.map((f) => `${f.ts},${f.side},${f.price},${f.qty},${f.fee}`)];
      writeFileSync(String(o.fillsOut), lines.join('\n') + '\n');
    }
    const out = {
      symbol,
      timeframe: tf,
      strategy,
      params: shownParams(strategy, params),
      ...(models ? { models: models.members, vote: models.mode } : {}),
      ...(models?.perCandle.length ? { per_candle: models.perCandle } : {}),
      bars: r.bars,
      rejected_bars: r.rejected_bars,
      fills: r.fills,
      final_equity: r.final_equity,
      metrics: { ...r.metrics, cagr: reportedCagr(r.metrics.cagr, spanDays(r.metrics.days, TIMEFRAME_MS[tf])) },
      data_issues: r.data_issues,
      elapsed_ms: Number(r.elapsed_ms.toFixed(3)),
      bars_per_sec: Math.round(r.bars_per_sec),
    };
    if (o.json) process.stdout.write(JSON.stringify(out) + '\n');
    else {
      const m = r.metrics;
      const { num, paramsText, pct } = await import('../research/print.ts'); // the research output's formats
      const { dataIssuesText } = await import('../market/data-issues.ts');
      const data = dataIssuesText(r.data_issues, tf);
      process.stdout.write(
        [
          `${symbol} ${tf} ${strategy} ${paramsText(out.params)} on ${basename(file)}`,
          `bars ${r.bars} (${r.rejected_bars} rejected), fills ${r.fills}, trades ${m.trades}`,
          ...(data === null ? [] : [data]),
          `final equity ${r.final_equity.toFixed(2)} (total return ${pct(m.total_return)}, ${cagrText(out.metrics.cagr)})`,
          `sharpe ${num(m.sharpe)}, sortino ${num(m.sortino)}, max drawdown ${pct(m.max_drawdown)}`,
          `win rate ${pct(m.win_rate, 1)}, profit factor ${num(m.profit_factor)}, expectancy ${num(m.expectancy)}, exposure ${pct(m.exposure, 1)}, fees ${num(m.fees)}`,
          `${r.elapsed_ms.toFixed(1)} ms, ${Math.round(r.bars_per_sec).toLocaleString('en-US')} bars/s`,
        ].join('\n') + '\n',
      );
    }
  } catch (e) {
    fail(e);
  }
});

/** The first batch, then the rest of the reader's. */
function* thenRest<T>(first: T, rest: Iterator<T> | null): Generator<T> {
  yield first;
  for (let b = rest?.next(); b && !b.done; b = rest!.next()) yield b.value;
}

/**
 * The reference backtest's timeframe: the file's (its candles' spacing). A --timeframe that differs is
 * refused: the reference setup runs the file's own candles, and 1h candles are not 4h bars.
 */
function backtestTimeframe(file: string, given: string | undefined, ofFile: () => Timeframe): Timeframe {
  if (given !== undefined && !(TIMEFRAMES as readonly string[]).includes(given))
    throw new Error(`--timeframe ${given}: one of ${TIMEFRAMES.join(', ')}`);
  let detected: Timeframe;
  try {
    detected = ofFile();
  } catch (e) {
    if (given !== undefined) return given as Timeframe;
    throw new Error(`${errorMessage(e)}; pass --timeframe`);
  }
  if (given === undefined || given === detected) return detected;
  const coarser = TIMEFRAME_MS[given as Timeframe] > TIMEFRAME_MS[detected];
  throw new Error(
    `${file} holds ${detected} candles, not ${given}: leave --timeframe out to run them as ${detected} bars` +
      (coarser
        ? `; for ${given} bars made from them, run skipper backtest --config with market.timeframe: ${given} (it resamples a finer file up)`
        : `; ${given} bars cannot be made from ${detected} candles`),
  );
}

const config = program.command('config').description('configuration tools');
config
  .command('check [file]')
  .description('validate a config file as start-up does (strategy, schedules, files, secrets) and print every problem with its key')
  .action(async (file?: string) => {
    try {
      const c = await loadConfig(file);
      (await import('../config/preflight.ts')).checkStartup(c, file ?? '(defaults)');
      process.stdout.write(
        `${file ?? '(embedded defaults)'}: OK — ${c.mode} mode, ${c.exchange.name} exchange, ${c.market.symbols.join(', ')} ${c.market.timeframe}, strategy ${c.strategy.name}\n`,
      );
    } catch (e) {
      fail(e);
    }
  });

const db = program.command('db').description('journal database tools');
db.command('init')
  .description('create a new, empty journal (a new account); refuses to touch one that holds data')
  .option('-c, --config <file>', 'config file')
  .option('--path <db>', 'journal file (overrides the config)')
  .action(async (o: { config?: string; path?: string }) => {
    try {
      const path = o.path ?? (await loadConfig(o.config)).journal.path;
      const { initJournal } = await import('../journal/init.ts');
      process.stdout.write(`${initJournal(path)}\n`);
    } catch (e) {
      fail(e);
    }
  });
db.command('migrate')
  .description('apply pending migrations to the journal')
  .option('-c, --config <file>', 'config file')
  .option('--path <db>', 'journal file (overrides the config)')
  .action(async (o: { config?: string; path?: string }) => {
    try {
      const c = await loadConfig(o.config);
      const { Journal } = await import('../journal/journal.ts');
      const j = new Journal({ path: o.path ?? c.journal.path });
      j.close();
      process.stdout.write(`${o.path ?? c.journal.path}: migrations applied\n`);
    } catch (e) {
      fail(e);
    }
  });

db.command('backup [file]')
  .description('back up the journal now (safe while the bot runs); default: a new file in the backup folder, rotated')
  .option('-c, --config <file>', 'config file (default: $SKIPPER_CONFIG)', process.env.SKIPPER_CONFIG)
  .option('--path <db>', 'journal file (overrides the config)')
  .option('--force', 'replace FILE if it exists (never the journal itself)')
  .action(async (file: string | undefined, o: { config?: string; path?: string; force?: boolean }) => {
    try {
      const c = await loadConfig(o.config);
      const { dbBackup } = await import('../ops/cli.ts');
      const r = await dbBackup(c, o.path ?? c.journal.path, file, Date.now(), { force: o.force ?? false });
      process.stdout.write(`${r.out}\n`);
    } catch (e) {
      fail(e);
    }
  });

db.command('restore <file>')
  .description('replace the journal with a backup (refused while a bot runs on it; the backup is checked first)')
  .option('-c, --config <file>', 'config file (default: $SKIPPER_CONFIG)', process.env.SKIPPER_CONFIG)
  .option('--path <db>', 'journal file (overrides the config)')
  .action(async (file: string, o: { config?: string; path?: string }) => {
    try {
      const c = await loadConfig(o.config);
      const { dbRestore } = await import('../ops/cli.ts');
      const r = await dbRestore(file, o.path ?? c.journal.path, Date.now());
      process.stdout.write(`${r.out}\n`);
    } catch (e) {
      fail(e);
    }
  });

program
  .command('health')
  .description("the running bot's health, from the journal's heartbeat and its process")
  .option('-c, --config <file>', 'config file (default: $SKIPPER_CONFIG)', process.env.SKIPPER_CONFIG)
  .option('--path <db>', 'journal file (overrides the config)')
  .option('--check', 'exit 0 when healthy, 1 when not (Docker HEALTHCHECK)')
  .option('--max-age <sec>', 'a heartbeat older than this is unhealthy', positive, 60)
  .action(async (o: { config?: string; path?: string; check?: boolean; maxAge: number }) => {
    try {
      const c = await loadConfig(o.config);
      const { healthCheck } = await import('../ops/cli.ts');
      const r = healthCheck(o.path ?? c.journal.path, Date.now(), o.maxAge * 1000);
      process.stdout.write(`${r.out}\n`);
      if (o.check) process.exitCode = r.code;
    } catch (e) {
      fail(e);
    }
  });

const discordCmd = program.command('discord').description('Discord tools');
discordCmd
  .command('register')
  .description('register the slash commands in every configured guild (chat.discord.guildIds) without starting the bot')
  .option('-c, --config <file>', 'config file')
  .action(async (o: { config?: string }) => {
    try {
      const { readSecrets } = await import('../config/env.ts');
      const { discordRest, registerSlashCommands } = await import('../chat/discord.ts');
      const { COMMANDS } = await import('../../commands/index.ts');
      const c = await loadConfig(o.config);
      const secrets = readSecrets();
      if (!secrets.discordBotToken) throw new Error('DISCORD_BOT_TOKEN is not set');
      const rest = discordRest(secrets.discordBotToken, secrets.discordApiRoot);
      const d = c.chat.discord;
      const done = await registerSlashCommands(rest, { applicationId: d.applicationId, guildIds: d.guildIds, commands: COMMANDS });
      for (const r of done) {
        const scope = r.guildId ? `guild ${r.guildId}` : 'global (no chat.discord.guildIds configured)';
        process.stdout.write(`${scope}: ${r.names.map((n) => `/${n}`).join(' ')}\n`);
      }
      process.stdout.write(`${counted(done.length, 'registration')}, ${done[0]?.names.length ?? 0} commands each\n`);
      rest.clearHashSweeper();
      rest.clearHandlerSweeper();
    } catch (e) {
      fail(e);
    }
  });

addModelCommands(program, fail);
registerResearchCommands(program);

await program.parseAsync(process.argv);
