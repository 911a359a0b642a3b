import { createHash, X509Certificate } from 'node:crypto'
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

/** The reason a forwarded certificate header was refused. */
function refuse(reason: string): OtpkiError {
  return new OtpkiError('CREDENTIAL_REFUSED', `forwarded client certificate refused: ${reason}`, {
    publicMessage: `The forwarded client certificate is not usable: ${reason}.`,
  })
}

/** Strict, canonical base64: the alphabet, padding only at the end, and nothing a decoder would have to ignore. */
function base64(text: string, what: string): Buffer {
  if (text === '' || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]+={0,2}$/.test(text))
    throw refuse(`${what} is not base64`)
  const bytes = Buffer.from(text, 'base64')
  if (bytes.toString('base64') !== text) throw refuse(`${what} is not canonical base64`)
  return bytes
}

/**
 * The bytes are exactly one DER SEQUENCE (a certificate's outer structure),
 * with no trailing data. The certificate itself is parsed by the authenticator.
 */
function oneDer(der: Buffer): Buffer {
  if (der.length < 2 || der[0] !== 0x30) throw refuse('the header does not hold a DER certificate')
  let length = der[1]!
  let offset = 2
  if (length & 0x80) {
    const octets = length & 0x7f
    if (octets === 0 || octets > 4 || der.length < 2 + octets) throw refuse('the certificate has an invalid DER length')
    length = 0
    for (let i = 0; i < octets; i++) length = length * 256 + der[2 + i]!
    offset += octets
  }
  if (offset + length !== der.length)
    throw refuse(
      offset + length < der.length ? 'the header holds data after the certificate' : 'the certificate is truncated',
    )
  return der
}

const PEM = /^-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----$/

/** Exactly one PEM certificate (line breaks, tabs or spaces inside its body), nothing before or after it. */
function pemToDer(text: string): Buffer {
  const match = PEM.exec(text.trim())
  if (!match) throw refuse('the header does not hold exactly one PEM certificate')
  return oneDer(base64(match[1]!.replace(/[ \t\r\n]+/g, ''), 'the PEM body'))
}

function urlDecoded(value: string): string {
  try {
    return decodeURIComponent(value)
  } catch {
    throw refuse('the header is not URL-encoded')
  }
}

/** One `key=value` pair of an XFCC element, the value unescaped. */
interface XfccPair {
  key: string
  value: string
}

/** XFCC keys (Envoy's list); URI and DNS may repeat, the others appear at most once per element. */
const XFCC_KEYS = new Set(['by', 'hash', 'cert', 'chain', 'subject', 'uri', 'dns'])
const XFCC_REPEATABLE = new Set(['uri', 'dns'])
const XFCC_TOKEN = /[^\s",;=\\]/

/**
 * Envoy's `x-forwarded-client-cert` grammar:
 * `element *("," element)`, `element = pair *(";" pair)`, `pair = key "=" value`,
 * `value = token / quoted-string` with backslash escapes inside quotes.
 * Optional white space is allowed around "," only. Anything else refuses the whole header.
 */
export function parseXfcc(value: string): XfccPair[][] {
  const elements: XfccPair[][] = []
  let pairs: XfccPair[] = []
  let i = 0
  const at = () => `at character ${i + 1}`
  const skipSpace = () => {
    while (value[i] === ' ' || value[i] === '\t') i++
  }
  skipSpace()
  for (;;) {
    const keyStart = i
    while (i < value.length && /[A-Za-z]/.test(value[i]!)) i++
    const key = value.slice(keyStart, i).toLowerCase()
    if (key === '') throw refuse(`the x-forwarded-client-cert header does not parse: a key was expected ${at()}`)
    if (!XFCC_KEYS.has(key))
      throw refuse(
        `the x-forwarded-client-cert header has an unknown key ${JSON.stringify(value.slice(keyStart, i).slice(0, 20))}`,
      )
    if (value[i] !== '=') throw refuse(`the x-forwarded-client-cert header does not parse: "=" was expected ${at()}`)
    i++
    let text = ''
    if (value[i] === '"') {
      i++
      for (;;) {
        if (i >= value.length) throw refuse('the x-forwarded-client-cert header has an unbalanced quote')
        const c = value[i]!
        if (c === '"') break
        if (c === '\\') {
          if (i + 1 >= value.length) throw refuse('the x-forwarded-client-cert header ends inside an escape')
          text += value[i + 1]
          i += 2
          continue
        }
        if (c < ' ' && c !== '\t') throw refuse(`the x-forwarded-client-cert header has a control character ${at()}`)
        text += c
        i++
      }
      i++
    } else {
      const start = i
      while (i < value.length && XFCC_TOKEN.test(value[i]!)) i++
      text = value.slice(start, i)
    }
    if (!XFCC_REPEATABLE.has(key) && pairs.some((p) => p.key === key)) {
      throw refuse(
        `an x-forwarded-client-cert element has ${key === 'cert' ? 'two Cert values' : `the key ${key} twice`}`,
      )
    }
    pairs.push({ key, value: text })
    if (i === value.length) break
    if (value[i] === ';') {
      i++
      continue
    }
    skipSpace()
    if (value[i] === ',') {
      i++
      elements.push(pairs)
      pairs = []
      skipSpace()
      continue
    }
    throw refuse(`the x-forwarded-client-cert header does not parse: unexpected ${JSON.stringify(value[i])} ${at()}`)
  }
  elements.push(pairs)
  return elements
}

/**
 * Envoy / Istio XFCC: only the last element counts, the one the trusted hop
 * (the proxy in front of OTPKI) appended; it must carry `Cert`, and a `Hash`
 * beside it must be that certificate's SHA-256.
 */
function fromXfcc(value: string): Buffer {
  const last = parseXfcc(value).at(-1)!
  const cert = last.find((p) => p.key === 'cert')
  if (!cert) throw refuse('the element the trusted proxy added has no Cert')
  const der = pemToDer(urlDecoded(cert.value))
  const hash = last.find((p) => p.key === 'hash')
  if (hash && hash.value.toLowerCase() !== createHash('sha256').update(der).digest('hex')) {
    throw refuse('the Hash of the x-forwarded-client-cert element does not match its Cert')
  }
  return der
}

/**
 * Traefik's `X-Forwarded-Tls-Client-Cert` (passTLSClientCert, pem: true): URL-escaped
 * base64 DER certificates, comma-separated, leaf first. Each further certificate must
 * be the issuer of the one before it: anything else is not a chain but extra data.
 */
function fromTraefik(value: string): Buffer {
  const parts = urlDecoded(value).split(',')
  const ders = parts.map((part, i) => oneDer(base64(part, i === 0 ? 'the certificate' : `certificate ${i + 1}`)))
  if (ders.length > 1) {
    let certs: X509Certificate[]
    try {
      certs = ders.map((der) => new X509Certificate(der))
    } catch {
      throw refuse('a certificate of the forwarded chain cannot be read')
    }
    for (let i = 1; i < certs.length; i++) {
      if (!certs[i - 1]!.checkIssued(certs[i]!) || !certs[i - 1]!.verify(certs[i]!.publicKey)) {
        throw refuse('the header holds certificates that are not one chain')
      }
    }
  }
  return ders[0]!
}

/** RFC 9440 `Client-Cert`: exactly one structured-field byte sequence, no parameters. */
function fromRfc9440(value: string): Buffer {
  const match = /^:([^:]*):$/.exec(value)
  if (!match) throw refuse('the Client-Cert header is not one RFC 9440 byte sequence')
  return oneDer(base64(match[1]!, 'the byte sequence'))
}

/**
 * The forwarded certificate (DER) in a request, per the ingress's format;
 * undefined when the header is absent or empty (no client certificate).
 * Everything else is parsed strictly: a header that does not parse, appears
 * more than once, or holds more than one certificate refuses the request.
 */
export function forwardedCertificate(request: RequestInfo, format: ForwardFormat, header: string): Buffer | undefined {
  const values = request.headerValues(header)
  if (values.length === 0) return undefined
  if (values.length > 1) throw refuse(`the ${header} header appears ${values.length} times`)
  const value = values[0]!.trim()
  if (value === '' || value === '(null)') return undefined
  if (value.length > 65_536) throw refuse(`the ${header} header is too large`)
  switch (format) {
    case 'nginx': // $ssl_client_escaped_cert, ingress-nginx ssl-client-cert: URL-encoded PEM
    case 'aws-alb': // X-Amzn-Mtls-Clientcert-Leaf: URL-encoded PEM
      return pemToDer(urlDecoded(value))
    case 'envoy':
      return fromXfcc(value)
    case 'traefik':
      return fromTraefik(value)
    case 'rfc9440':
      return fromRfc9440(value)
    case 'base64-der': // HAProxy %[ssl_c_der,base64], Caddy {http.request.tls.client.certificate_der_base64}
      return oneDer(base64(value, 'the certificate'))
  }
}
