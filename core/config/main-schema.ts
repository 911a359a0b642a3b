import type { PluginSpec } from '../contracts/plugin.ts'
import { field, type InputOf } from './fields.ts'

/**
 * The keys of `otpki.config.ts`. Every scalar key has an `OTPKI_*` variable
 * that overrides the file.
 */
export const mainConfigFields = {
  host: field.string({ doc: 'Address the HTTP server listens on.', env: 'OTPKI_HOST', default: 'localhost' }),
  port: field.int({ doc: 'Port the HTTP server listens on.', env: 'OTPKI_PORT', default: 3000, min: 0, max: 65535 }),
  publicUrl: field.url({
    doc: 'The URL users reach OTPKI at. Redirect URLs derive from it, never from request headers. https makes cookies Secure with the __Host- prefix.',
    env: 'OTPKI_PUBLIC_URL',
    defaultText: 'http://localhost:<port>',
  }),
  database: field.string({
    doc: 'SQLite database file, relative to the config file. Created on first start.',
    env: 'OTPKI_DATABASE',
    default: 'data/otpki.sqlite',
  }),
  providersDir: field.string({
    doc: 'Directory of provider files (name.ts or name.json), relative to the config file. Watched for changes.',
    env: 'OTPKI_PROVIDERS_DIR',
    default: 'config/providers',
  }),
  templatesDir: field.string({
    doc: 'Directory of your own page templates; a template found there replaces the built-in one of the same name.',
    env: 'OTPKI_TEMPLATES_DIR',
  }),
  logLevel: field.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], {
    doc: 'Log level.',
    env: 'OTPKI_LOG_LEVEL',
    default: 'info',
  }),
  secret: field.secret({
    doc: 'Key for CSRF tokens. Set it (the same on every instance) when running several instances; otherwise a random key is made at start.',
    env: 'OTPKI_SECRET',
  }),
  tokenEncryptionKey: field.secret({
    doc: 'Key that encrypts provider tokens stored with sessions (storeTokens). Without one, a random key is made and kept in token-encryption.key beside the database.',
    env: 'OTPKI_TOKEN_ENCRYPTION_KEY',
  }),
  sessionMaxInactive: field.duration({
    doc: 'Default idle timeout of a session, for providers that do not set their own.',
    env: 'OTPKI_SESSION_MAX_INACTIVE',
    default: '30m',
  }),
  sessionMaxLength: field.duration({
    doc: 'Default absolute lifetime of a session, for providers that do not set their own.',
    env: 'OTPKI_SESSION_MAX_LENGTH',
    default: '10h',
  }),
  transactionTtl: field.duration({
    doc: 'How long a started sign-in may take before it must be started again.',
    env: 'OTPKI_TRANSACTION_TTL',
    default: '10m',
  }),
  adminRoles: field.stringArray({
    doc: 'Roles whose members may administer users and their certificates (the /admin routes).',
    default: ['admin'],
  }),
  clientCertificate: field.object(
    {
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
    },
    { doc: 'Client-certificate sign-in: forwarded by the ingress, or received by our own mTLS listener.' },
  ),
  rateLimit: field.object(
    {
      signInPerMinute: field.int({
        doc: 'Sign-in starts a client address may make per minute (bursts up to the same number); 0: no limit.',
        env: 'OTPKI_RATE_LIMIT_SIGN_IN',
        default: 120,
        min: 0,
      }),
      callbackPerMinute: field.int({
        doc: 'Callbacks (returns from a provider) per client address and minute; 0: no limit.',
        env: 'OTPKI_RATE_LIMIT_CALLBACK',
        default: 120,
        min: 0,
      }),
      failedAuthPerMinute: field.int({
        doc: 'Refused bearer-token or client-certificate attempts per client address and minute; past it, every such attempt from that address gets 429 until the budget refills. 0: no limit.',
        env: 'OTPKI_RATE_LIMIT_FAILED_AUTH',
        default: 300,
        min: 0,
      }),
      maxPendingSignIns: field.int({
        doc: 'Sign-ins started and not yet finished, across all clients; past it, new sign-ins get 503 until some finish or expire (transactionTtl).',
        env: 'OTPKI_MAX_PENDING_SIGN_INS',
        default: 10_000,
        min: 1,
      }),
      trustedProxies: field.stringArray({
        doc: 'Addresses or CIDRs of proxies in front of OTPKI whose X-Forwarded-For names the client (besides clientCertificate.trustedProxies). Without them, the TCP peer is the client.',
        default: [],
      }),
    },
    { doc: 'Per-client-address rate limits (429 with Retry-After) and the bound on pending sign-ins.' },
  ),
  plugins: field.anyArray<PluginSpec>({
    doc: 'Plugins to load: plugin objects, relative module paths (.ts or .js) or npm package names.',
    default: [],
  }),
}

/** What `otpki.config.ts` may contain. */
export type MainConfigInput = InputOf<typeof mainConfigFields>

/**
 * Types `otpki.config.ts`; returns its argument unchanged.
 *
 * @example
 * ```ts
 * import { defineConfig } from 'otpki'
 * export default defineConfig({ port: 8080, publicUrl: 'https://pki.example.com' })
 * ```
 */
export function defineConfig(config: MainConfigInput): MainConfigInput {
  return config
}
