/**
 * What failed when a request to another server failed, in one line an
 * operator can act on: connection refused at ADDRESS, name not resolved,
 * a TLS error, a time-out, or the HTTP status that came back. Reads the
 * cause chain that fetch (undici) and openid-client attach; anything else
 * keeps its own message.
 */
export function describeNetworkFailure(error: unknown, url?: string): string {
  const at = url ? ` (${url})` : ''
  const chain: unknown[] = []
  for (let e: unknown = error; e && chain.length < 6; e = (e as { cause?: unknown }).cause) chain.push(e)
  for (const e of chain) {
    if (typeof Response !== 'undefined' && e instanceof Response)
      return `HTTP ${e.status}${e.statusText ? ` ${e.statusText}` : ''} from ${e.url || url || 'the server'}`
    const { code, message, address, port, hostname, name } = e as {
      code?: unknown
      message?: unknown
      address?: unknown
      port?: unknown
      hostname?: unknown
      name?: unknown
    }
    const text = typeof message === 'string' ? message : ''
    switch (code) {
      case 'ECONNREFUSED':
        return `connection refused at ${typeof address === 'string' ? `${address}:${String(port)}` : (url ?? 'the server')}`
      case 'ENOTFOUND':
      case 'EAI_AGAIN':
        return `name not resolved: ${typeof hostname === 'string' ? hostname : (url ?? text)}${code === 'EAI_AGAIN' ? ' (temporary DNS failure)' : ''}`
      case 'ECONNRESET':
        return `connection reset by the server${at}`
      case 'EHOSTUNREACH':
      case 'ENETUNREACH':
        return `host unreachable${typeof address === 'string' ? ` at ${address}` : at}`
      case 'ETIMEDOUT':
      case 'UND_ERR_CONNECT_TIMEOUT':
      case 'UND_ERR_HEADERS_TIMEOUT':
      case 'UND_ERR_BODY_TIMEOUT':
      case 'OAUTH_TIMEOUT':
        return `timed out${at}`
    }
    if (name === 'TimeoutError') return `timed out${at}`
    if (typeof code === 'string' && TLS_CODE.test(code)) return `TLS error: ${text || code}${at}`
    if (text === 'bad port') return `the port is one fetch refuses to use${at}`
  }
  return error instanceof Error ? error.message : String(error)
}

const TLS_CODE = /^(ERR_TLS_|ERR_SSL_|CERT_|UNABLE_TO_|DEPTH_ZERO_|SELF_SIGNED_|HOSTNAME_MISMATCH|ERR_OSSL_)/
