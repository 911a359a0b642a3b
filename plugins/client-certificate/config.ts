import { resolve } from 'node:path'
import { checkAddresses, field, OtpkiError, type InputOf } from '../../core/index.ts'

/** The main configuration's `clientCertificate` section, owned by this plugin. */
export const clientCertificateFields = {
  enabled: field.boolean({
    doc: 'Sign in scripts and automation with client certificates.',
    env: 'OTPKI_CLIENT_CERT_ENABLED',
    default: false,
  }),
  format: field.enum(['nginx', 'envoy', 'traefik', 'rfc9440', 'base64-der', 'aws-alb'], {
    doc: 'How the ingress forwards the certificate (see the ingress recipes).',
    env: 'OTPKI_CLIENT_CERT_FORMAT',
    default: 'nginx',
  }),
  header: field.string({
    doc: 'Header name, where the format allows another than its usual one.',
    env: 'OTPKI_CLIENT_CERT_HEADER',
    defaultText: "the format's usual header",
  }),
  verifyHeader: field.string({
    doc: 'A header in which the ingress reports its verification; anything but verifyValue is refused.',
    env: 'OTPKI_CLIENT_CERT_VERIFY_HEADER',
  }),
  verifyValue: field.string({
    doc: 'The value of verifyHeader that means verified.',
    env: 'OTPKI_CLIENT_CERT_VERIFY_VALUE',
    default: 'SUCCESS',
  }),
  trustedProxies: field.stringArray({
    doc: 'Addresses or CIDRs of the ingress: the header counts only when the TCP peer is one of these.',
    default: [],
  }),
  createUnknownUsers: field.boolean({
    doc: 'A certificate attached to no user creates one named after its common name (never a taken name).',
    env: 'OTPKI_CLIENT_CERT_CREATE_UNKNOWN_USERS',
    default: false,
  }),
  ingressVerifies: field.boolean({
    doc: 'The ingress itself refuses client certificates it could not verify, so forwarded certificates are trusted without verifyHeader or caBundle. Required to say so when neither is set.',
    env: 'OTPKI_CLIENT_CERT_INGRESS_VERIFIES',
    default: false,
  }),
  caBundle: field.string({
    doc: 'PEM CA bundle to verify the chain in OTPKI, for ingresses that pass certificates through unverified.',
    env: 'OTPKI_CLIENT_CERT_CA_BUNDLE',
  }),
  listen: field.boolean({
    doc: 'Listen with TLS on listenPort, asking for client certificates (for deployments without an ingress).',
    env: 'OTPKI_MTLS_LISTEN',
    default: false,
  }),
  listenHost: field.string({
    doc: 'Address of the mTLS listener.',
    env: 'OTPKI_MTLS_HOST',
    defaultText: 'the main host',
  }),
  listenPort: field.int({
    doc: 'Port of the mTLS listener.',
    env: 'OTPKI_MTLS_PORT',
    default: 8443,
    min: 0,
    max: 65535,
  }),
  serverKey: field.string({ doc: 'PEM key file of the mTLS listener.', env: 'OTPKI_MTLS_SERVER_KEY' }),
  serverCert: field.string({ doc: 'PEM certificate file of the mTLS listener.', env: 'OTPKI_MTLS_SERVER_CERT' }),
  clientCa: field.string({
    doc: 'PEM CA bundle the listener verifies client certificates with.',
    env: 'OTPKI_MTLS_CLIENT_CA',
  }),
}

/** What `clientCertificate: {...}` in `otpki.config.ts` may contain. */
export type ClientCertificateInput = InputOf<typeof clientCertificateFields>

declare module '../../core/config/main-schema.ts' {
  interface ConfigSections {
    clientCertificate: ClientCertificateInput
  }
}

/** The `clientCertificate` section, resolved: paths absolute. */
export interface ClientCertificateConfig {
  readonly enabled: boolean
  readonly format: 'nginx' | 'envoy' | 'traefik' | 'rfc9440' | 'base64-der' | 'aws-alb'
  readonly header: string | undefined
  readonly verifyHeader: string | undefined
  readonly verifyValue: string
  readonly trustedProxies: readonly string[]
  readonly createUnknownUsers: boolean
  readonly caBundle: string | undefined
  readonly ingressVerifies: boolean
  readonly listen: boolean
  readonly listenHost: string | undefined
  readonly listenPort: number
  readonly serverKey: string | undefined
  readonly serverCert: string | undefined
  readonly clientCa: string | undefined
}

/**
 * The section as validated (defaults applied), resolved against `baseDir` and
 * checked as a whole: addresses, the listener's files, and that something
 * verifies a forwarded certificate.
 */
export function resolveClientCertificateConfig(raw: Record<string, unknown>, baseDir: string): ClientCertificateConfig {
  const path = (key: string) => (typeof raw[key] === 'string' ? resolve(baseDir, raw[key] as string) : undefined)
  const config: ClientCertificateConfig = {
    enabled: raw.enabled === true,
    format: raw.format as ClientCertificateConfig['format'],
    header: raw.header as string | undefined,
    verifyHeader: raw.verifyHeader as string | undefined,
    verifyValue: raw.verifyValue as string,
    trustedProxies: (raw.trustedProxies as string[] | undefined) ?? [],
    createUnknownUsers: raw.createUnknownUsers === true,
    caBundle: path('caBundle'),
    ingressVerifies: raw.ingressVerifies === true,
    listen: raw.listen === true,
    listenHost: raw.listenHost as string | undefined,
    listenPort: raw.listenPort as number,
    serverKey: path('serverKey'),
    serverCert: path('serverCert'),
    clientCa: path('clientCa'),
  }
  const invalid = (reason: string) => new OtpkiError('CONFIG_INVALID', `clientCertificate${reason}`)
  checkAddresses(config.trustedProxies, 'clientCertificate.trustedProxies')
  if (config.listen && (!config.serverKey || !config.serverCert || !config.clientCa)) {
    throw invalid(': listen needs serverKey, serverCert and clientCa')
  }
  if (
    config.enabled &&
    config.trustedProxies.length > 0 &&
    !config.verifyHeader &&
    !config.caBundle &&
    !config.ingressVerifies
  ) {
    throw invalid(
      ": certificates forwarded by trustedProxies would be accepted with nothing verifying them: set verifyHeader (the ingress's verification result), caBundle (OTPKI checks the chain), or ingressVerifies: true (the ingress refuses unverified certificates itself)",
    )
  }
  return config
}

/** The section's one-line description, for the published JSON Schema. */
export const CLIENT_CERTIFICATE_DOC =
  'Client-certificate sign-in: forwarded by the ingress, or received by our own mTLS listener.'
