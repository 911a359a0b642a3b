import type { IncomingMessage, ServerResponse } from 'node:http'

type NodeHandler = (req: IncomingMessage, res: ServerResponse) => unknown

/** Requests held while the application starts; beyond this many, a request is asked to come back. */
const MAX_HELD = 1_000

/**
 * What answers on the port while the application starts (the database opens,
 * migrations run, the ORM loads). `GET /healthz` (liveness) answers 200 at once;
 * every other request, `/readyz` included, waits and is handled when the
 * application is ready, so a client that connects early is served, only later.
 * If the start fails, the held requests get 503.
 */
export class StartGate {
  private handler: NodeHandler | undefined
  private failed = false
  private held: (() => void)[] = []

  readonly listener: NodeHandler = (req, res) => {
    if (this.handler) return this.handler(req, res)
    if (isLiveness(req)) return answer(res, 200, '{"status":"ok"}')
    if (this.failed || this.held.length >= MAX_HELD)
      return answer(res, 503, '{"error":"starting"}', { 'retry-after': '1' })
    this.held.push(() => this.listener(req, res))
  }

  /** The application is ready: it handles every request from now on, the held ones first. */
  open(handler: NodeHandler): void {
    this.handler = handler
    for (const resume of this.held.splice(0)) resume()
  }

  /** The start failed: the held requests are answered 503. */
  fail(): void {
    this.failed = true
    for (const resume of this.held.splice(0)) resume()
  }
}

function isLiveness(req: IncomingMessage): boolean {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false
  const url = req.url ?? ''
  return url === '/healthz' || url.startsWith('/healthz?')
}

function answer(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'x-content-type-options': 'nosniff',
    'cache-control': 'no-store',
    ...headers,
  })
  res.end(res.req.method === 'HEAD' ? undefined : body)
}
