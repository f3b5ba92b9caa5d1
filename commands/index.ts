// Every chat command, one file each. /help lists them in this order.
import { type CommandSpec } from './kit.ts';
import help from './help.ts';
import status from './status.ts';
import positions from './positions.ts';
import orders from './orders.ts';
import pnl from './pnl.ts';
import pause from './pause.ts';
import resume from './resume.ts';
import flatten from './flatten.ts';
import balance from './balance.ts';
import risk from './risk.ts';
import mode from './mode.ts';
import health from './health.ts';
import whoami from './whoami.ts';
import buy from './buy.ts';
import sell from './sell.ts';
import close from './close.ts';
import sl from './sl.ts';
import tp from './tp.ts';
import trail from './trail.ts';
import cancel from './cancel.ts';
import approvals from './approvals.ts';
import alerts from './alerts.ts';
import reconcile from './reconcile.ts';
import logs from './logs.ts';
import audit from './audit.ts';
import daily from './daily.ts';
import weekly from './weekly.ts';
import monthly from './monthly.ts';
import trades from './trades.ts';
import performance from './performance.ts';
import chart from './chart.ts';
import backup from './backup.ts';
import config from './config.ts';
import reload from './reload.ts';
import backtest from './backtest.ts';
import stress from './stress.ts';
import models from './models.ts';
import grid from './grid.ts';

export const COMMANDS: CommandSpec[] = [
  // read-only
  help,
  status,
  positions,
  orders,
  pnl,
  balance,
  risk,
  mode,
  health,
  whoami,
  // reports
  daily,
  weekly,
  monthly,
  trades,
  performance,
  chart,
  // controls
  pause,
  resume,
  buy,
  sell,
  close,
  sl,
  tp,
  trail,
  cancel,
  approvals,
  alerts,
  models,
  grid,
  reconcile,
  flatten,
  // admin
  logs,
  audit,
  backup,
  config,
  reload,
  backtest,
  stress,
];
