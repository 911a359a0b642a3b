import { X509Certificate } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { LRUCache } from 'lru-cache'
import { X509Certificate as ParsedName } from '@peculiar/x509'
import {
  addressList,
  OtpkiError,
  type RequestAuthenticator,
  type RequestAuthenticatorServices,
  type RequestInfo,
  type RequestPrincipal,
} from '../../core/index.ts'
import { CertificateStore } from './certificate-store.ts'
import type { ClientCertificateConfig } from './config.ts'
import { DEFAULT_HEADERS, forwardedCertificate } from './formats.ts'

/** A parsed certificate, as cached by its header value or DER. */
interface ParsedCertificate {
  fingerprint: string
  notBefore: number
  notAfter: number
  der: Buffer
  pem: string
  /** Why the chain check failed (caBundle), if it did. */
  untrusted: string | undefined
}

const NOT_ATTACHED = 'This client certificate is not attached to any OTPKI user.'
const DISABLED = 'The OTPKI account of this client certificate is disabled.'

/** How long a certificate-to-user answer is reused before asking the database again. */
const USER_CACHE_MS = 60_000

function refuse(reason: string): OtpkiError {
  return new OtpkiError('CREDENTIAL_REFUSED', reason, { publicMessage: reason })
}

/**
 * The one common name of a certificate's subject, read from the DER (not from a
 * printed form, which cannot tell `CN=a+O=b` from a name holding " + ").
 * Several CNs, or a CN inside a multi-valued RDN, are refused.
 */
export function singleCommonName(der: Buffer): string {
  const rdns = new ParsedName(der).subjectName.toJSON()
  const withCn = rdns.filter((rdn) => 'CN' in rdn)
  const values = withCn.flatMap((rdn) => rdn.CN!)
  if (values.length === 0) throw refuse('The client certificate has no common name (CN) to name a user after.')
  if (values.length > 1)
    throw refuse('The client certificate has several common names (CN); OTPKI cannot tell which names the user.')
  if (Object.keys(withCn[0]!).length > 1)
    throw refuse(
      'The client certificate names its user in a multi-valued RDN (CN joined with another attribute by "+"); OTPKI refuses such a name.',
    )
  return values[0]!
}

function loadBundle(file: string): X509Certificate[] {
  let certs: X509Certificate[]
  try {
    const text = readFileSync(file, 'utf8')
    certs = [...text.matchAll(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g)].map(
      (m) => new X509Certificate(m[0]),
    )
  } catch (cause) {
    throw new OtpkiError(
      'CONFIG_INVALID',
      `clientCertificate.caBundle: cannot read ${file}: ${(cause as NodeJS.ErrnoException).code ?? (cause as Error).message}`,
      { cause },
    )
  }
  if (certs.length === 0)
    throw new OtpkiError('CONFIG_INVALID', `clientCertificate.caBundle: ${file} holds no PEM certificate`)
  return certs
}

/** The certificate the TLS handshake of our own listener received (DER), refused when the handshake did not verify it. */
function tlsPeerCertificate(request: RequestInfo): Buffer | undefined {
  const cert = request.tls?.getPeerCertificate()
  if (!cert?.raw) return undefined
  if (!request.tls!.authorized) {
    const reason = String(request.tls!.authorizationError)
    throw new OtpkiError('CREDENTIAL_REFUSED', `TLS client certificate refused: ${reason}`, {
      publicMessage: `The client certificate was refused: ${reason}.`,
    })
  }
  return cert.raw
}

/**
 * Client-certificate sign-in: from the header the ingress forwards (only when
 * the TCP peer is a trusted proxy), or from the TLS peer of our own mTLS
 * listener. Parsing is cached by header value and the user by fingerprint,
 * so a repeat caller costs a lookup.
 */
export function clientCertificateAuthenticator(
  config: ClientCertificateConfig,
  services: RequestAuthenticatorServices,
): RequestAuthenticator {
  const { users, logger, clock } = services
  const store = new CertificateStore(services)
  const header = (config.header ?? DEFAULT_HEADERS[config.format]).toLowerCase()
  const isTrusted = addressList(config.trustedProxies)
  const bundle = config.caBundle ? loadBundle(config.caBundle) : undefined
  const parsed = new LRUCache<string, ParsedCertificate>({ max: 1_000 })
  const usersByFingerprint = new LRUCache<string, { answer: RequestPrincipal | undefined; at: number }>({
    max: 10_000,
  })
  users.onChange((userId) => {
    for (const [fingerprint, entry] of usersByFingerprint.entries())
      if (userId === undefined || !entry.answer || entry.answer.user.id === userId)
        usersByFingerprint.delete(fingerprint)
  })

  const parse = (key: string, der: Buffer): ParsedCertificate => {
    let entry = parsed.get(key)
    if (!entry) {
      let cert: X509Certificate
      try {
        cert = new X509Certificate(der)
      } catch {
        throw refuse('The client certificate cannot be read.')
      }
      const untrusted =
        bundle && !bundle.some((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey))
          ? 'not issued by a CA in the configured bundle'
          : undefined
      entry = {
        fingerprint: cert.fingerprint256.replaceAll(':', '').toLowerCase(),
        notBefore: Date.parse(cert.validFrom),
        notAfter: Date.parse(cert.validTo),
        der: Buffer.from(der),
        pem: cert.toString(),
        untrusted,
      }
      parsed.set(key, entry)
    }
    return entry
  }

  /**
   * The answer for a certificate whose user is cached and fresh (the same
   * object each time); a refusal when it is known to belong to nobody and
   * users are not created from certificates.
   */
  const cachedAnswer = (cert: ParsedCertificate): RequestPrincipal | undefined => {
    const cached = usersByFingerprint.get(cert.fingerprint)
    if (!cached || clock.now() - cached.at >= USER_CACHE_MS) return undefined
    if (!cached.answer && !config.createUnknownUsers) throw refuse(NOT_ATTACHED)
    return cached.answer
  }

  const answerFor = async (cert: ParsedCertificate): Promise<RequestPrincipal> => {
    const now = clock.now()
    let user = await store.findUser(cert.fingerprint)
    if (!user) {
      if (!config.createUnknownUsers) {
        usersByFingerprint.set(cert.fingerprint, { answer: undefined, at: now })
        throw refuse(NOT_ATTACHED)
      }
      user = await store.createUserWith(singleCommonName(cert.der), cert.pem)
      logger.info({ user: user.username, fingerprint: cert.fingerprint }, 'user created from a client certificate')
    }
    if (user.disabled) {
      usersByFingerprint.set(cert.fingerprint, { answer: undefined, at: now })
      throw refuse(DISABLED)
    }
    const answer = { user, method: 'client-certificate' }
    usersByFingerprint.set(cert.fingerprint, { answer, at: now })
    return answer
  }

  return {
    name: 'client-certificate',
    carries: (request) => request.headers.has(header) || request.tls,
    authenticate(request: RequestInfo) {
      let cert: ParsedCertificate
      const peerCertificate = tlsPeerCertificate(request)
      if (peerCertificate) {
        // Our own listener: the TLS handshake verified the chain against clientCa.
        cert = parse(`tls:${peerCertificate.toString('base64')}`, peerCertificate)
      } else {
        const values = request.headerValues(header)
        if (values.length === 0) return undefined
        if (!isTrusted(request.remoteAddress)) {
          logger.warn(
            { peer: request.remoteAddress, header },
            'client certificate header from an untrusted peer ignored',
          )
          return undefined
        }
        if (config.verifyHeader) {
          const verdicts = request.headerValues(config.verifyHeader)
          if (verdicts.length !== 1 || verdicts[0]!.trim() !== config.verifyValue) {
            throw refuse(
              `The ingress did not verify the client certificate (${config.verifyHeader}: ${(verdicts[0] ?? 'missing').slice(0, 60)}).`,
            )
          }
        }
        // A header value parsed before is the same certificate: its strict parse is not done again.
        const known = values.length === 1 ? parsed.get(values[0]!) : undefined
        if (known) cert = known
        else {
          const der = forwardedCertificate(request, config.format, header)
          if (!der) return undefined
          cert = parse(values[0]!, der)
        }
        if (cert.untrusted) throw refuse(`The client certificate is ${cert.untrusted}.`)
      }
      const now = clock.now()
      if (now < cert.notBefore)
        throw refuse(`The client certificate is not valid before ${new Date(cert.notBefore).toISOString()}.`)
      if (now > cert.notAfter)
        throw refuse(`The client certificate expired at ${new Date(cert.notAfter).toISOString()}.`)
      return cachedAnswer(cert) ?? answerFor(cert)
    },
  }
}
