import { OtpkiError, type RequestInfo } from '../../core/index.ts'

export type ForwardFormat = 'nginx' | 'envoy' | 'traefik' | 'rfc9440' | 'base64-der' | 'aws-alb'

/** The header each format uses unless configured otherwise. */
export const DEFAULT_HEADERS: Record<ForwardFormat, string> = {
  nginx: 'ssl-client-cert',
  envoy: 'x-forwarded-client-cert',
  traefik: 'x-forwarded-tls-client-cert',
  rfc9440: 'client-cert',
  'base64-der': 'x-ssl-client-cert',
  'aws-alb': 'x-amzn-mtls-clientcert-leaf',
}

function refuse(reason: string): OtpkiError {
  return new OtpkiError('REQUEST_INVALID', reason, { status: 401, publicMessage: `The forwarded client certificate is not usable: ${reason}.` })
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/

/** PEM (with or without delimiters, tabs or spaces for newlines) or base64 DER, to DER. */
function toDer(text: string): Buffer {
  const body = text
    .replace(/-----(BEGIN|END) CERTIFICATE-----/g, '')
    .replace(/\s+/g, '')
  if (body === '' || !BASE64.test(body)) throw refuse('the header does not hold a certificate')
  return Buffer.from(body, 'base64')
}

function urlDecoded(value: string): string {
  try {
    return decodeURIComponent(value)
  } catch {
    throw refuse('the header is not URL-encoded')
  }
}

/** Splits on `sep` outside double quotes. */
function splitOutsideQuotes(value: string, sep: string): string[] {
  const parts: string[] = []
  let current = ''
  let quoted = false
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!
    if (c === '\\' && quoted && i + 1 < value.length) {
      current += c + value[i + 1]
      i++
    } else if (c === '"') {
      quoted = !quoted
      current += c
    } else if (c === sep && !quoted) {
      parts.push(current)
      current = ''
    } else current += c
  }
  parts.push(current)
  return parts.map((p) => p.trim()).filter(Boolean)
}

/**
 * Envoy / Istio XFCC: `By=...;Hash=...;Cert="<URL-encoded PEM>";Subject="...";URI=...`,
 * one element per hop, comma-separated. Only the last element counts: the one
 * the trusted hop (the proxy in front of OTPKI) added.
 */
function fromXfcc(value: string): Buffer | undefined {
  const elements = splitOutsideQuotes(value, ',')
  const last = elements.at(-1)
  if (!last) return undefined
  for (const pair of splitOutsideQuotes(last, ';')) {
    const eq = pair.indexOf('=')
    if (eq < 0) continue
    if (pair.slice(0, eq).trim().toLowerCase() !== 'cert') continue
    const raw = pair.slice(eq + 1).trim().replace(/^"|"$/g, '')
    return toDer(urlDecoded(raw))
  }
  return undefined
}

/**
 * The forwarded certificate (DER) in a request, per the ingress's format; undefined
 * when the header is absent. A header that appears more than once is refused.
 */
export function forwardedCertificate(request: RequestInfo, format: ForwardFormat, header: string): Buffer | undefined {
  const values = request.headerValues(header)
  if (values.length === 0) return undefined
  if (values.length > 1) throw refuse(`the ${header} header appears ${values.length} times`)
  const value = values[0]!.trim()
  if (value === '' || value === '(null)') return undefined
  switch (format) {
    case 'nginx': // $ssl_client_escaped_cert, ingress-nginx ssl-client-cert: URL-encoded PEM
    case 'aws-alb': // X-Amzn-Mtls-Clientcert-Leaf: URL-encoded PEM
      return toDer(urlDecoded(value))
    case 'envoy':
      return fromXfcc(value)
    case 'traefik': {
      // X-Forwarded-Tls-Client-Cert: URL-escaped base64 DER of each certificate, comma-separated, leaf first
      const [leaf] = urlDecoded(value).split(',')
      return toDer(leaf ?? '')
    }
    case 'rfc9440': {
      // Client-Cert: a structured-field byte sequence, :base64:
      const match = /^:([A-Za-z0-9+/]+={0,2}):$/.exec(value)
      if (!match) throw refuse('the Client-Cert header is not an RFC 9440 byte sequence')
      return Buffer.from(match[1]!, 'base64')
    }
    case 'base64-der': // HAProxy %[ssl_c_der,base64], Caddy {http.request.tls.client.certificate_der_base64}
      return toDer(value)
  }
}
