// What the trader is told when the bot starts: the console banner, and the same facts in the chats
// (as Freqtrade's Telegram says it started): what runs, the account, and whether entries are blocked.
import type { AlertInput } from '../core/alerts.ts';
import type { Config } from '../config/schema.ts';
import { describeDataSource, type DataSource } from '../config/data-source.ts';
import { money, counted } from '../core/format.ts';
import { quoteOf } from '../core/symbols.ts';
import { VERSION } from '../core/version.ts';
import type { EngineStatus } from '../engine/engine-types.ts';
import { transportLine, type TransportSummary } from '../chat/transports-summary.ts';

export interface StartFacts {
  config: Config;
  status: EngineStatus;
  journalPath: string;
  data: DataSource;
  /** The start-up reconciliation's summary. */
  reconciliation: string;
  /** Trade proposals left pending by the last run: their buttons still answer. */
  pendingProposals: number;
  /** TWAP/iceberg parents the last run left active: what each has done, and whether it resumes or was stopped. */
  parents: string[];
}

const modeWords = (st: EngineStatus, short: boolean): string =>
  st.mode === 'live' ? 'LIVE' : short ? 'paper' : 'paper trading (simulated money)';

const account = (f: StartFacts): string =>
  `Equity ${money(f.status.equity, quoteOf(f.config.market.symbols))}, ${counted(f.status.positions.length, 'open position')}`;

/** The parents left active by the last run, one per line ('' when none). */
const parentLines = (f: StartFacts): string =>
  f.parents.length ? `Parent orders left active by the last run:\n${f.parents.map((l) => `  ${l}\n`).join('')}` : '';

/** The console's first lines. */
export function startBanner(f: StartFacts, chat: TransportSummary): string {
  const c = f.config;
  return (
    `Skipper ${VERSION} — ${modeWords(f.status, false)} on ${f.status.venue}; ${c.market.symbols.join(', ')} ${c.market.timeframe}; ` +
    `strategy ${c.strategy.name}; journal ${f.journalPath}\n` +
    `Data: ${describeDataSource(f.data)}\n` +
    `${transportLine(chat)}\n${chat.warnings.map((w) => `Warning: ${w}\n`).join('')}` +
    `${account(f)}. Reconciliation: ${f.reconciliation}.${f.parents.length ? `\n${parentLines(f)}` : ' '}Type /help for commands.`
  );
}

/**
 * The chats' notice. A breaker or a halt survives a restart: then it is a warning that says so, so a
 * bot restarted in the night is not taken for one that trades.
 */
export function startAlert(f: StartFacts): AlertInput {
  const st = f.status;
  const c = f.config;
  // At start a stop may still be on its way to the venue, or be lifted while an exit works: say which.
  const unprotected = st.unprotected.length
    ? ` Not yet covered as promised: ${st.unprotected.map((g) => `${g.symbol} (${g.detail})`).join('; ')}; see /status.`
    : '';
  return {
    type: 'engine',
    severity: st.blocked ? 'warning' : 'info',
    title: st.blocked ? 'Skipper started: entries blocked' : 'Skipper started',
    data: { version: VERSION }, // the journal says which version ran from when
    message:
      `${modeWords(st, true)} on ${st.venue}; ${c.market.symbols.join(', ')} ${c.market.timeframe}; strategy ${c.strategy.name}. ` +
      `${account(f)}.${unprotected} Reconciliation: ${f.reconciliation}.${st.blocked ? ` Entries blocked: ${st.blocked}.` : ''}` +
      (f.pendingProposals ? ` ${counted(f.pendingProposals, 'trade proposal')} waiting for an answer: /approvals.` : '') +
      (f.parents.length ? `\n${parentLines(f).trimEnd()}` : ''),
  };
}
