// The journal: one SQLite file, the truth the bot rebuilds itself from. Split by reader:
//   db.ts         opening, pragmas, migrations, checkpoints, transactions, raw runtime_state rows
//   statements.ts the prepared statements
//   trading.ts    orders, fills, positions, decisions, equity, data events: what the engine uses
//   records.ts    audit trail, alerts and deliveries, proposals, reconciliations, funding
//   state-keys.ts every runtime_state key, typed, with its one reader and writer
//   paper-books.ts the paper venue's own books (a handle, never the database)
//   health.ts     the file watched while the bot runs (lost, replaced, failing writes; the WAL bounded)
import { type JournalDetail } from './db.ts';
import { PaperBooksTable } from './paper-books.ts';
import { RecordsJournal } from './records.ts';

export { MIGRATIONS_DIR, type CountedTable, type JournalDetail, type JournalOptions } from './db.ts';
export type { DataEventRow, DecisionRow, EquityRow, FillRow, OrderRow, PositionRow } from './trading.ts';
export { rowToOrder } from './trading.ts';
export type { AlertDeliveryRow, AlertRow, CommandAudit, CommandRow, FundingRow, ProposalRow } from './records.ts';

export class Journal extends RecordsJournal {
  static memory(detail: JournalDetail = 'full'): Journal {
    return new Journal({ path: ':memory:', detail });
  }

  /** The paper venue's books in this journal. */
  paperBooks(): PaperBooksTable {
    return new PaperBooksTable(this, this.stmts);
  }
}
