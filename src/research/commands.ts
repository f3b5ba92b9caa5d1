// The research commands as the CLI declares them; their actions (cli.ts) load only when one runs,
// so `skipper run` and the other commands start as fast as before.
import { InvalidArgumentError, type Command } from 'commander';
import { ConfigError } from '../config/errors.ts';
import { OBJECTIVES } from '../core/metric-rules.ts';
import type { BacktestConfigArgs, SelectArgs, StressArgs, SweepArgs } from './cli.ts';

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

export function parseTime(v: string): number {
  const t = /^\d{10,}$/.test(v) ? Number(v) : Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(v) || !/T/.test(v) ? v : `${v}Z`);
  if (!Number.isFinite(t)) throw new InvalidArgumentError('expected a date (2025-06-01, 2025-06-01T12:00) or Unix ms');
  return t;
}

const positiveInt = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer');
  return n;
};

// ---- wiring -----------------------------------------------------------------------------------

/** Run an action; errors become one clear line and exit code 1 (2 for a bad config). */
function guarded<A extends unknown[]>(fn: (...a: A) => Promise<number | void>): (...a: A) => Promise<void> {
  return async (...a: A) => {
    try {
      const code = await fn(...a);
      if (code) process.exitCode = code;
    } catch (e) {
      if (e instanceof ConfigError) {
        process.stderr.write(`Config error in ${e.message}\n`);
        process.exitCode = 2;
        return;
      }
      process.stderr.write(`skipper: ${(e as Error).message}\n`);
      process.exitCode = 1;
    }
  };
}

export function registerResearchCommands(program: Command): void {
  program
    .command('sweep')
    .description('search config values (grid, random, successive halving), optionally walk-forward; results in a SQLite file')
    .requiredOption('-c, --config <file>', 'config file (YAML or JSON)')
    .requiredOption('--data <sym=csv,…>', 'candles per symbol: BTC/USDT=a.csv,ETH/USDT=b.csv')
    .option('--funding <sym=csv,…>', 'funding rates per symbol (perps): timestamp_ms,rate')
    .option('--from <date>', 'start of the window', parseTime)
    .option('--to <date>', 'end of the window (exclusive)', parseTime)
    .option('--param <path=a:b:step|path=v1,v2>', 'a config value to vary (repeat)', collect)
    .option('--random <n>', 'random search: n points of the grid', positiveInt)
    .option('--seed <n>', 'seed of the random search', (v) => Number(v), 1)
    .option('--adaptive', 'successive halving: keep the best 1/eta on ever longer spans of the data')
    .option('--eta <n>', 'halving factor', positiveInt, 3)
    .option('--objective <name>', `one of ${OBJECTIVES.join(', ')} (default: research.objective)`)
    .option('--require <rule>', "constraint, e.g. 'max_drawdown<=0.2' (repeat or comma-separate)", collect)
    .option('--walk-forward <train:test>', 'walk-forward windows, e.g. 6m:1m (h, d, w, m = months, y)')
    .option('--anchored', 'walk-forward train windows all start at the beginning (default: rolling)')
    .option('--results <file>', 'results SQLite file (resumable)', 'sweep-results.db')
    .option('--workers <n>', 'worker threads (default: one per core)', positiveInt)
    .option('--queue <redis-url>', 'run on BullMQ workers (skipper worker) instead of threads')
    .option('--json', 'print one JSON object')
    .option('--out <file.csv>', 'write every run of the sweep as CSV')
    .option('--heatmap <file.png>', 'heat map of the objective over the first two --param')
    .option('--top <n>', 'rows of the ranking to print', positiveInt, 20)
    .action(guarded(async (o: SweepArgs) => (await import('./cli.ts')).sweepCommand(o)));

  program
    .command('stress')
    .description('run the config through the crash windows its data covers and synthetic shocks; one table')
    .option(
      '-c, --config <file>',
      'config file (YAML or JSON); default: $SKIPPER_CONFIG, else embedded defaults',
      process.env.SKIPPER_CONFIG,
    )
    .option('--data-dir <dir>', 'candle CSVs (names like binance_spot_BTCUSDT_1h_….csv)', '../shared/data')
    .option('--require <rule>', "every case must pass, e.g. 'max_drawdown<=0.25' (exit 1 otherwise)", collect)
    .option('--charts <dir>', 'write one equity/drawdown PNG per case')
    .option('--workers <n>', 'worker threads (default: one per core)', positiveInt)
    .option('--json', 'print one JSON object')
    .action(guarded(async (o: StressArgs) => (await import('./cli.ts')).stressCommand(o)));

  program
    .command('select')
    .description('golden rules: which candidates (strategies, parameter sets, models) pass every rule out of sample, ranked')
    .requiredOption('-c, --config <file>', 'base config file (YAML or JSON)')
    .requiredOption('--data <sym=csv,…>', 'candles per symbol')
    .option('--from <date>', 'start of the window', parseTime)
    .option('--to <date>', 'end of the window (exclusive)', parseTime)
    .option('--candidates <dir>', 'a folder of config overlays (*.yaml, *.json) and/or model folders, one candidate each')
    .option('--ensemble-out <file>', 'with model candidates: the ensemble file of the passing models (default: DIR/ensemble.json)')
    .option('--param <path=a:b:step|path=v1,v2>', 'parameter sets to consider (repeat)', collect)
    .option('--rules <rules>', "default research.rules: 'cagr>=0.5,max_drawdown<=0.2,sharpe>=1.5,win_rate>=0.55'")
    .option('--objective <name>', `ranking among passing ones: ${OBJECTIVES.join(', ')} (default: research.objective)`)
    .option('--walk-forward <train:test>', 'choose parameters on train windows, judge on the unseen test windows')
    .option('--anchored', 'anchored walk-forward (default: rolling)')
    .option('--results <file>', 'results SQLite file (resumable)', 'select-results.db')
    .option('--workers <n>', 'worker threads (default: one per core)', positiveInt)
    .option('--queue <redis-url>', 'run on BullMQ workers')
    .option('--json', 'print one JSON object')
    .action(guarded(async (o: SelectArgs) => (await import('./cli.ts')).selectCommand(o)));

  program
    .command('worker')
    .description('execute research runs from a BullMQ queue (skipper sweep --queue …)')
    .requiredOption('--queue <redis-url>', 'redis://host:port')
    .option('--concurrency <n>', 'runs at once (default: one per core)', positiveInt)
    .option('--lock-ms <ms>', 'job lock; a worker silent this long is presumed dead and its run retried', positiveInt, 30_000)
    .action(guarded(async (o: { queue: string; concurrency?: number; lockMs: number }) => (await import('./cli.ts')).workerCommand(o)));
}

/** `skipper backtest --config …`. */
export const runBacktestConfig = guarded(async (o: BacktestConfigArgs) => (await import('./cli.ts')).backtestConfig(o));
