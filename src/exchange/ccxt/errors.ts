/*
 * SECRETS. Keys come only from the options (which come from env) and are registered with
 * registerSecret; errors are logged through clean(), which scrubs secrets and signatures and drops
 * request URLs. Nothing here logs headers.
 */
import { UserError, errorMessage } from '../../core/errors.ts';
import { scrubSecrets } from '../../core/logger.ts';
import type { CcxtModule, Failure, VenueSpec } from './spec.ts';

/** connect() failed because the venue could not be reached (not because it refused us): worth another try later. */
export class VenueUnreachable extends UserError {}

/** Error text safe for logs and chat: secrets and signatures scrubbed, request URLs dropped. */
export function clean(e: unknown): string {
  return scrubSecrets(errorMessage(e))
    .replace(/(signature|apiKey|api_key|X-MBX-APIKEY|listenKey)=[^&\s"']+/gi, '$1=[REDACTED]')
    .replace(/\b(https?|wss?):\/\/\S+/g, '<url>')
    .replace(/\s+/g, ' ')
    .trim();
}

/** The venue's own words: `binance {"code":-2010,"msg":"…"}` / `bybit {"retCode":110007,"retMsg":"…"}` → `… (code -2010)`. */
export function venueWords(e: unknown): string {
  const msg = clean(e);
  const m = /\{"(?:code|retCode)":\s*(-?\d+),\s*"(?:msg|retMsg)":\s*"((?:[^"\\]|\\.)*)"/.exec(msg);
  if (m) return `${m[2]} (code ${m[1]})`;
  return msg.replace(/^\S+ (GET|POST|PUT|DELETE) <url> /, '').replace(/^(binance|binanceusdm|bybit) /, '');
}

/** What a failure means for us (`cx` null: ccxt not loaded yet). */
export function classifyFailure(e: unknown, spec: VenueSpec, cx: CcxtModule | null): Failure {
  if (cx === null) return 'network';
  const msg = errorMessage(e);
  const venue = spec.classify?.(e, msg, cx);
  if (venue !== undefined) return venue;
  if (e instanceof cx.InvalidNonce) return 'clock';
  if (e instanceof cx.DDoSProtection || e instanceof cx.RateLimitExceeded) return 'rate';
  if (e instanceof cx.OrderNotFound) return 'not_found';
  if (e instanceof cx.DuplicateOrderId) return 'duplicate';
  if (e instanceof cx.AuthenticationError) return 'auth';
  // Binance -2021 / -4142 / "Stop price would trigger immediately." (Bybit: its spec's classify)
  if (e instanceof cx.OrderImmediatelyFillable) return 'would_trigger';
  if (e instanceof cx.ExchangeError) return 'refused';
  // NetworkError, RequestTimeout, ExchangeNotAvailable (5xx), OperationFailed (-1000/-1001/-1006
  // "execution status unknown"), BadResponse, and anything else: we do not know what happened.
  return 'network';
}
