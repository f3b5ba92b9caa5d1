import type { ModelControls } from '../models/wire.ts';
import type { AlertControls } from '../alerts/service.ts';
import type { Clock } from '../core/clock.ts';
import type { Config } from '../config/schema.ts';
import type { ConfigControls } from '../config/reload.ts';
import type { Engine } from '../engine/engine.ts';
import type { Journal } from '../journal/journal.ts';
import type { AlgoExecutor } from '../execution/algo.ts';
import type { GridRunner } from '../grid/manager.ts';
import type { FeedState } from '../market/feed.ts';
import type { DataSource } from '../config/data-source.ts';
import type { CommandSpec } from './command.ts';
import type { Button } from './types.ts';

export interface FeedInfo {
  name: string;
  symbol: string;
  state: FeedState;
}

export interface VenueState {
  up: boolean;
  detail: string;
  since?: number;
}

export type { AlertControls };

/** Trade-confirmation prompts, used by /approvals and the Approve/Reject buttons. */
export interface ApprovalControls {
  mode(): { mode: 'off' | 'always' | 'above'; aboveNotional: number };
  setMode(mode: 'off' | 'always' | 'above', aboveNotional: number | undefined, by: string): void;
  pendingList(): Array<{ id: number; summary: string; expiresAt: number }>;
  /** The pending proposals with Approve / Reject buttons. */
  pendingView(): { text: string; buttons: Button[][] };
  /** Withdraw the pending proposals a command made moot; returns how many. */
  withdraw(filter: ProposalFilter, why: string, by: string): number;
}

/** Which pending proposals a command makes moot. */
export interface ProposalFilter {
  symbol?: string;
  /** entry: proposals that open or add; exit: proposals that reduce or close. */
  kind?: 'entry' | 'exit';
}

export interface ReportControls {
  /** PNG chart of equity or daily PnL over the last `days`. */
  chart(kind: 'equity' | 'pnl', days: number): Promise<Buffer | null>;
}

/** Journal backups, used by /backup. */
export interface BackupControls {
  /** Where backups are kept. */
  readonly dir: string;
  latest(): { file: string; bytes: number; mtimeMs: number } | undefined;
  /** Take one now. */
  run(trigger: 'command'): Promise<{ file: string; bytes: number }>;
}

/** Everything commands may use. Optional parts are absent in headless or backtest contexts. */
export interface Services {
  engine: Engine;
  journal: Journal;
  config: Config;
  /** Wall-clock time for people-facing things (uptime, expiries). */
  clock: Clock;
  startedAt: number;
  feeds(): FeedInfo[];
  /** What really feeds the bot (absent: the config's data section). */
  dataSource?: () => DataSource;
  venue(): VenueState;
  commands(): CommandSpec[];
  logFile?: string;
  alerts?: AlertControls;
  approvals?: ApprovalControls;
  reports?: ReportControls;
  backups?: BackupControls;
  /** Reconcile now; `accept` adopts the venue's balances and positions (after a human checked). */
  reconcile?: (accept?: boolean) => Promise<string>;
  /** Why the journal can no longer be written and what that means, or null while it is fine. */
  journalFault?: () => string | null;
  /** The config file: /config shows where it came from, /reload re-reads it. */
  configControls?: ConfigControls;
  /** TWAP/iceberg parents: /buy … twap, /orders, /cancel <parent>. */
  algos?: AlgoExecutor;
  /** Model/ensemble strategies only: /models. */
  models?: ModelControls;
  /** The grid strategy only: /grid. */
  grid?: GridRunner;
}
