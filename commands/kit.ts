// Everything a command may use, in one module (like grammY's mod.ts): every file in commands/ imports
// from here only (and node built-ins, and its own folder) — test/architecture.test.ts checks. It sits
// in commands/, above src/chat, because commands also use report, research and ops helpers, whose
// folders import src/chat (a kit inside src/chat would close a folder cycle).
export { defineCommand, usage, type CommandContext, type CommandSpec } from '../src/chat/command.ts';
export { suggestCommand } from '../src/chat/suggest.ts';
export { hasRole, roleRefusal, type Reply, type Role, type TransportName } from '../src/chat/types.ts';
export type { Services } from '../src/chat/services.ts';
export { bytes, counted, duration, kv, modeWords, money, pct, percent, price, qty, signedMoney, table, utc } from '../src/chat/format.ts';
export {
  actor,
  assetAmount,
  badArgs,
  isLiveHold,
  marketFormat,
  parseDuration,
  pausedSymbolsLine,
  symbolArg,
  verdictWords,
} from '../src/chat/helpers.ts';
export { MAX_ARG_NUMBER } from '../src/chat/args.ts';
export { approvalsUnseen } from '../src/chat/routes.ts';
export { algoConfirm, algoPlan, cancelParent, childCancelNote, parentsTable, runAlgo } from '../src/chat/algo-commands.ts';
export { levelCommand, tradeArg, tradeOf } from '../src/chat/trade-args.ts';
export { stopFaultHint } from '../src/chat/stop-hint.ts';
export { Desk, deskOf, type RiskView, type VenueReads } from '../src/chat/desk.ts';
export { sampleHealth, startLoopMonitor } from '../src/ops/health.ts';
export { humanLogLine, tailLines } from '../src/ops/logtail.ts';

export { ALERT_TYPES, ALWAYS_CRITICAL } from '../src/core/alerts.ts';
export { clockLabel, DAY_MS, engineTimeNote, utcDayStart, wallTimeNote } from '../src/core/clock.ts';
export { errorMessage } from '../src/core/errors.ts';
export { scrubSecrets } from '../src/core/logger.ts';
export { floorToStep } from '../src/core/num.ts';
export { isTerminal, traderCancel } from '../src/core/order-state.ts';
export { quoteOf, splitSymbol } from '../src/core/symbols.ts';
export { versionLine } from '../src/core/version.ts';
export type { Balance, Order, OrderRequest, Side } from '../src/core/types.ts';

export { dataSourceOf, describeDataSource } from '../src/config/data-source.ts';
export { describeChanges, type ReloadCheck } from '../src/config/reload.ts';
export { renderConfig } from '../src/config/show.ts';
export { isKillSwitch } from '../src/engine/drawdown-guard.ts';
export { parseTrail } from '../src/engine/trade-edits.ts';
export { nativeTrailRefusal } from '../src/engine/native-trail.ts';
export { tradeId } from '../src/engine/trades.ts';
export { ALGOS } from '../src/execution/config.ts';
export { AWAITING_APPROVAL, type GridBook, type GridView } from '../src/grid/manager.ts';
export type { ModelView } from '../src/models/wire.ts';
export { LIMIT_KEYS, limitHelp, limitKey, showLimit } from '../src/risk/limits.ts';
export type { RiskDecision, RiskLimits } from '../src/risk/types.ts';
export { shownParams } from '../src/strategy/registry.ts';

export { buildChartReply, buildHistoryReply, buildTradesReply, fundingRow, reportSourceFor, type ChartKind } from '../src/reports/build.ts';
export { buildPerformanceReply, periodStart, periodTitle, PERIODS, type Period } from '../src/reports/performance.ts';
export { periodFunding } from '../src/reports/stats.ts';
export {
  askerName,
  busyText,
  chatData,
  chatJobsFor,
  configWith,
  DEFAULT_DAYS,
  outcomeReply,
  parseBacktestArgs,
} from '../src/research/chat-jobs.ts';
