// GET /metrics for Prometheus, optionally behind a bearer token (METRICS_TOKEN).
import { bearer, listen, secretMatches, send, type Listening } from './http-listener.ts';

const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export function serveMetrics(
  host: string,
  port: number,
  token: string | undefined,
  scrape: () => Promise<string>,
): Promise<Listening | { error: string }> {
  return listen(
    host,
    port,
    (req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'method not allowed\n', { allow: 'GET, HEAD' });
      if (path !== '/metrics') return send(res, 404, 'not found: metrics are at /metrics\n');
      if (token !== undefined && !secretMatches(bearer(req), token))
        return send(res, 401, 'unauthorized\n', { 'www-authenticate': 'Bearer realm="skipper"' });
      scrape().then(
        (body) => send(res, 200, body, { 'content-type': CONTENT_TYPE }),
        () => send(res, 500, 'metrics unavailable\n'),
      );
    },
    `metrics endpoint on ${host}:${port}`,
  );
}
