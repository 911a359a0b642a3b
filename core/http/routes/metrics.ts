import { timingSafeEqual } from 'node:crypto'
import type { Metrics } from '../../observability/metrics.ts'
import type { Handler } from '../http-context.ts'

/** Whether the request carries `Authorization: Bearer <token>`, compared in constant time. */
function carriesToken(header: string | null, token: string): boolean {
  if (!header?.startsWith('Bearer ')) return false
  const given = Buffer.from(header.slice(7).trim())
  const wanted = Buffer.from(token)
  return given.length === wanted.length && timingSafeEqual(given, wanted)
}

/** `GET /metrics`: the Prometheus exposition; with a token configured, only for a request that carries it. */
export function metricsRoute(metrics: Metrics, token: string | undefined): Handler {
  return async (event) => {
    if (token !== undefined && !carriesToken(event.req.headers.get('authorization'), token)) {
      return new Response('metrics need the configured bearer token\n', {
        status: 401,
        headers: { 'www-authenticate': 'Bearer realm="otpki-metrics"', 'content-type': 'text/plain; charset=utf-8' },
      })
    }
    const { body, contentType } = await metrics.text()
    return new Response(body, { headers: { 'content-type': contentType, 'cache-control': 'no-store' } })
  }
}
