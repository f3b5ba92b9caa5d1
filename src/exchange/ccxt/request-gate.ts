/*
 * One gate for every HTTP request a ccxt instance makes — our reads, order calls, ccxt's own calls
 * (markets, listen keys of the order streams) — installed on the instance itself, so no code path can
 * go around it:
 *  - while the venue has told us to back off (Binance 418 ban / 429, Bybit 403 ban / 10006 / 10018,
 *    Retry-After), a request waits before it is signed (a wait never makes its timestamp stale);
 *  - every answer is seen before ccxt reads it: a rate-limit answer closes the gate for as long as
 *    that answer asked (its own headers, never another response's), and a 2xx answer that is not
 *    well-formed fails the request instead of being read as data.
 * ccxt offers no request middleware, so the three methods it routes every REST call through are
 * wrapped: fetch2 (before throttling and signing), throttle (after the rate limiter's queue) and
 * handleErrors (every answer, with its status, headers and body).
 */
import type { Exchange } from 'ccxt';

/** One HTTP answer as it arrived. */
export interface RawAnswer {
  status: number;
  method: string;
  /** URL path, without host or query. */
  path: string;
  headers: Record<string, string | undefined>;
  body: string;
  /** The body parsed as JSON; undefined when it is not JSON. */
  json: unknown;
}

/** A rate-limit answer, read by the venue's spec. */
export interface Backoff {
  /** For titles and logs: '429', '418', '10006'… */
  code: string;
  label: string;
  /** An IP ban rather than a slow-down. */
  critical: boolean;
  /** What the venue asked for, when it said. */
  waitMs?: number;
  defaultMs: number;
}

export interface GateHooks {
  /** Resolves once requests may go out (at once when the gate is open). */
  wait(): Promise<void>;
  /** A rate-limit answer: close the gate. Undefined when `a` is not one. */
  backoff(a: RawAnswer): Backoff | undefined;
  onBackoff(b: Backoff, a: RawAnswer): void;
  /** Why a 2xx answer is not a well-formed one (null: it is). The request then fails with `malformed(reason)`. */
  check(a: RawAnswer): string | null;
  malformed(reason: string): Error;
}

type Fn = (...args: unknown[]) => unknown;

export function installRequestGate(ex: Exchange, hooks: GateHooks): void {
  const x = ex as unknown as Record<'fetch2' | 'throttle' | 'handleErrors', Fn>;
  const fetch2 = x.fetch2.bind(ex);
  x.fetch2 = async (...args: unknown[]) => {
    await hooks.wait();
    return fetch2(...args);
  };
  const throttle = x.throttle.bind(ex);
  x.throttle = async (...args: unknown[]) => {
    await throttle(...args);
    await hooks.wait(); // a ban heard while this request sat in the rate limiter's queue
  };
  const handleErrors = x.handleErrors.bind(ex);
  x.handleErrors = (...args: unknown[]) => {
    const [status, , url, method, headers, body, json] = args as [number, string, string, string, Record<string, string>, string, unknown];
    const a: RawAnswer = { status, method, path: pathOf(url), headers: headers ?? {}, body: body ?? '', json };
    const b = hooks.backoff(a);
    if (b !== undefined) hooks.onBackoff(b, a);
    const r = handleErrors(...args); // the venue's own error mapping throws first
    if (status >= 200 && status < 300) {
      const bad = hooks.check(a);
      if (bad !== null) throw hooks.malformed(`${method} ${a.path}: ${bad}`);
    }
    return r;
  };
}

function pathOf(url: string): string {
  try {
    return new URL(url).pathname;
  } catch {
    return url.split('?')[0] ?? url;
  }
}

/** When requests may go out again, on the adapter's clock. */
export class BackoffState {
  until = 0;
  last: (Backoff & { at: number; ms: number }) | undefined;

  /** Close the gate for what `b` asked (never shorter than it already is). Returns the wait. */
  close(b: Backoff, now: number): number {
    const ms = b.waitMs ?? b.defaultMs;
    this.until = Math.max(this.until, now + ms);
    this.last = { ...b, at: now, ms };
    return ms;
  }

  isClosed(now: number): boolean {
    return now < this.until;
  }
}
