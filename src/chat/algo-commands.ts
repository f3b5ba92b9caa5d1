// The /buy … twap|iceberg clause, /orders' parent section and /cancel <parent>: kept here so the
// commands only hook in.
import type { CommandContext } from './command.ts';
import { duration, table, utc } from './format.ts';
import { actor, marketFormat, parseDuration, verdictWords } from './helpers.ts';
import type { Reply } from './types.ts';
import type { Side } from '../core/types.ts';
import type { Services } from './services.ts';
import { engineTimeNote } from '../core/clock.ts';
import { isTerminal } from '../core/order-state.ts';
import type { AlgoExecutor, ParentProgress } from '../execution/algo.ts';
import { ALGO_LIMITS, type Algo } from '../execution/config.ts';

export interface AlgoPlan {
  algo: Algo;
  durationMs?: number;
  qty: number;
}

type Parsed = { ok: true; plan: AlgoPlan | null } | { ok: false; why: string };

/** Which algo a /buy or /sell uses (named, or the configured one above `aboveNotional`), with its checks. */
export function algoPlan(ctx: CommandContext, req: { qty?: number; quoteQty?: number; price?: number }, refPrice: number): Parsed {
  const algos = ctx.services.algos;
  const named = ctx.args.algo as Algo | undefined;
  const over = ctx.args.over as string | undefined;
  const qty = req.qty ?? (req.quoteQty ?? 0) / refPrice;
  if (!algos) return named ? { ok: false, why: 'algo: order splitting is not available here' } : { ok: true, plan: null };
  const algo = named ?? algos.autoAlgo(qty * refPrice);
  if (over !== undefined && !named) return { ok: false, why: 'over: a duration goes after twap or iceberg' };
  if (!algo) return { ok: true, plan: null };
  if (named && req.price !== undefined)
    return { ok: false, why: `price: a ${algo} order takes no price (its children are priced at the time)` };
  if (req.price !== undefined) return { ok: true, plan: null }; // a limit order is not split automatically
  let durationMs: number | undefined;
  if (over !== undefined) {
    const ms = parseDuration(over);
    if (ms === null) return { ok: false, why: `over: "${over}" is not a duration (e.g. 10m, 2h)` };
    if (ms > ALGO_LIMITS.maxDurationSec * 1000) return { ok: false, why: `over: at most ${duration(ALGO_LIMITS.maxDurationSec * 1000)}` };
    durationMs = ms;
  }
  return { ok: true, plan: { algo, qty, ...(durationMs !== undefined ? { durationMs } : {}) } };
}

/** "TWAP 5 slices every 2 min" for the prompt and the reply. */
function scheduleWords(p: ParentProgress['parent']): string {
  return p.algo === 'twap'
    ? `TWAP: ${p.slices} market slices, one every ${duration(p.intervalMs)}`
    : `iceberg: ${p.slices} limit clips${p.limitOffsetBps > 0 ? ` ${p.limitOffsetBps} bps inside the last price` : ' at the last price'}, the next when one is done`;
}

export function algoConfirm(side: Side, symbol: string, plan: AlgoPlan, services: Services): string {
  const { qty } = marketFormat(services, symbol);
  const how = plan.durationMs !== undefined ? ` over ${duration(plan.durationMs)}` : '';
  return `${side.toUpperCase()} ${symbol} ${qty(plan.qty)} as ${plan.algo.toUpperCase()}${how}? Each child order passes the risk checks.`;
}

export function runAlgo(ctx: CommandContext, side: Side, symbol: string, plan: AlgoPlan): Reply {
  const algos = ctx.services.algos as AlgoExecutor;
  const r = algos.start({
    symbol,
    side,
    qty: plan.qty,
    algo: plan.algo,
    by: actor(ctx.user),
    ...(plan.durationMs !== undefined ? { durationMs: plan.durationMs } : {}),
  });
  if (!r.ok)
    return {
      title: 'Not placed',
      text: `${side.toUpperCase()} ${symbol} as ${plan.algo.toUpperCase()}: ${r.reason}\nNothing was placed.`,
      severity: 'warning',
      audit: { outcome: 'refused', reason: r.reason },
    };
  const p = r.parent;
  const { qty } = marketFormat(ctx.services, symbol);
  const first = r.first
    ? `First child ${r.first.clientOrderId}: ${qty(r.first.qty ?? 0)} — ${r.first.status}.`
    : `No child sent: ${p.reason ?? 'waiting'}.`;
  return {
    title: `${p.algo.toUpperCase()} ${p.id}`,
    text:
      `${side.toUpperCase()} ${symbol} ${qty(p.totalQty)} as ${p.id} — ${scheduleWords(p)}.\n` +
      (r.resized ? `Risk: ${verdictWords(r.resized)}\n` : '') +
      `${first}\n` +
      `/orders shows its progress; /cancel ${p.id} stops the rest.`,
  };
}

/** The parents section of /orders (empty when there are none). */
export function parentsTable(services: Services): string {
  const shown = services.algos?.shown() ?? [];
  if (!shown.length) return '';
  const note = engineTimeNote(services.engine.clockKind);
  const rows = shown.map(({ parent: p, filledQty, children }) => {
    const { qty } = marketFormat(services, p.symbol);
    // An iceberg's next clip goes out once the resting one is done, not at a time.
    const resting = p.algo === 'iceberg' ? children.find((o) => !isTerminal(o.status)) : undefined;
    return [
      p.id,
      p.symbol,
      p.side,
      p.algo,
      `${qty(filledQty)}/${qty(p.totalQty)}`,
      `${p.sent}/${p.slices}`,
      p.status !== 'active' ? p.status : resting ? `after ${resting.clientOrderId}` : utc(p.nextAt),
      p.createdBy,
    ];
  });
  return `Parent orders${note}:\n${table(rows, ['id', 'symbol', 'side', 'algo', 'filled', 'slices', 'next slice', 'by'])}`;
}

/**
 * /cancel of a TWAP/iceberg child: what happens next ('' when the order is no active parent's child). The
 * parent places what the child leaves unfilled with its next children; only /cancel <parent> stops it.
 */
export function childCancelNote(services: Services, clientOrderId: string): string {
  const p = services.algos?.parentOf(clientOrderId);
  if (!p || p.status !== 'active') return '';
  const next = p.algo === 'iceberg' ? 'clips' : 'slices';
  return `\nIt is a child of ${p.algo.toUpperCase()} ${p.id} (${p.side} ${p.symbol}, ${p.sent} of ${p.slices} ${next} sent), which goes on: what it leaves unfilled goes to the next ${next}. /cancel ${p.id} stops the parent.`;
}

/** /cancel <parent>: stop its remaining children (null when the id is not a parent). */
export function cancelParent(ctx: CommandContext, id: string): Reply | null {
  const algos = ctx.services.algos;
  const p = algos?.find(id);
  if (!algos || !p) return null;
  if (p.status !== 'active') return { text: `Parent order ${p.id} is already ${p.status}: nothing to cancel.` };
  algos.stop(p.id, `cancelled by ${actor(ctx.user)}`);
  const { filledQty } = algos.progress(p);
  const { qty } = marketFormat(ctx.services, p.symbol);
  return {
    title: 'Cancelled',
    text: `${p.algo.toUpperCase()} ${p.id} (${p.side} ${p.symbol}): no more children; ${p.sent} of ${p.slices} were sent, ${qty(filledQty)} of ${qty(p.totalQty)} filled; a working child is cancelled.`,
  };
}
