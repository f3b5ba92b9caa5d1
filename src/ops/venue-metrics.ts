// Venue request metrics: every REST call ccxt makes goes through its instance's `fetch`, which
// also turns error replies into ccxt's typed errors; wrapping it there counts each request once
// with its endpoint, outcome and latency, and sees every rate-limit refusal.

export type VenueOutcome = 'ok' | 'rate_limited' | 'timeout' | 'network' | 'auth' | 'refused' | 'error';

export interface VenueObserver {
  venueRequest(venue: string, method: string, endpoint: string, outcome: VenueOutcome, seconds: number): void;
  rateLimited(venue: string): void;
}

/** ccxt error class (or an ancestor) → outcome. Checked along the prototype chain, nearest first. */
const OUTCOMES: Record<string, VenueOutcome> = {
  RateLimitExceeded: 'rate_limited',
  DDoSProtection: 'rate_limited',
  RequestTimeout: 'timeout',
  AuthenticationError: 'auth',
  NetworkError: 'network',
  ExchangeError: 'refused',
};

export function classify(e: unknown): VenueOutcome {
  for (let p = e !== null && typeof e === 'object' ? Object.getPrototypeOf(e) : null; p; p = Object.getPrototypeOf(p)) {
    const name = (p as { constructor?: { name?: string } }).constructor?.name;
    const hit = name ? OUTCOMES[name] : undefined;
    if (hit) return hit;
  }
  return 'error';
}

/** A bounded label for a request URL: its path, with id-like segments folded. */
export function endpointOf(url: string): string {
  let path: string;
  try {
    path = new URL(url).pathname;
  } catch {
    return 'invalid';
  }
  const parts = path
    .split('/')
    .filter(Boolean)
    .map((seg) => (/^\d+$|^[0-9a-f-]{16,}$/i.test(seg) || seg.length > 40 ? ':id' : seg));
  return `/${parts.slice(0, 6).join('/')}`;
}

type Fetch = (url: string, method?: string, headers?: unknown, body?: unknown) => Promise<unknown>;

/** Wrap a ccxt exchange instance's HTTP calls (idempotent). */
export function instrumentCcxt(ex: object, venue: string, obs: VenueObserver): void {
  const target = ex as { fetch: Fetch; __skipperInstrumented?: boolean };
  if (target.__skipperInstrumented) return;
  target.__skipperInstrumented = true;
  const original = target.fetch.bind(ex);
  target.fetch = async (url, method = 'GET', headers, body) => {
    const t0 = performance.now();
    const endpoint = endpointOf(url);
    try {
      const r = await original(url, method, headers, body);
      obs.venueRequest(venue, method, endpoint, 'ok', (performance.now() - t0) / 1000);
      return r;
    } catch (e) {
      const outcome = classify(e);
      obs.venueRequest(venue, method, endpoint, outcome, (performance.now() - t0) / 1000);
      if (outcome === 'rate_limited') obs.rateLimited(venue);
      throw e;
    }
  };
}
