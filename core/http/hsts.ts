import type { IncomingMessage, ServerResponse } from 'node:http'

/** One year, the usual HSTS lifetime. */
export const HSTS = 'max-age=31536000; includeSubDomains'

type NodeHandler = (req: IncomingMessage, res: ServerResponse) => unknown

/**
 * Adds `Strict-Transport-Security` to every response of `handler` (pages,
 * JSON, redirects, errors h3 answers itself). Headers reach Node as one list
 * at `writeHead`, so the header joins that list; nothing is set per route.
 */
export function withHsts(handler: NodeHandler): NodeHandler {
  return (req, res) => {
    const writeHead = res.writeHead
    res.writeHead = function (this: ServerResponse, status: number, ...rest: unknown[]) {
      const last = rest.at(-1)
      if (Array.isArray(last)) {
        if (Array.isArray(last[0])) last.push(['strict-transport-security', HSTS])
        else last.push('strict-transport-security', HSTS)
      } else if (last && typeof last === 'object') (last as Record<string, string>)['strict-transport-security'] = HSTS
      else rest.push({ 'strict-transport-security': HSTS })
      return (writeHead as (...args: unknown[]) => ServerResponse).call(this, status, ...rest)
    } as ServerResponse['writeHead']
    return handler(req, res)
  }
}
