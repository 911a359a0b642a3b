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
    doc: 'An SQLite database file, relative to the config file (created on first start; :memory: for none), or a PostgreSQL URL: postgres://user@host:5432/name. Any other URL is an error.',
    env: 'OTPKI_DATABASE',
    default: 'data/otpki.sqlite',
  }),
  databasePassword: field.secret({
    doc: "PostgreSQL: the password, as a secret value (a string, { env } or { file }); overrides one in the URL's.",
    env: 'OTPKI_DATABASE_PASSWORD',
  }),
  databaseTls: field.enum(['off', 'require', 'verify-full'], {
    doc: "PostgreSQL: TLS to the server. require: encrypted; verify-full: encrypted, the server's certificate and name verified (databaseCaFile, else the system's authorities).",
    env: 'OTPKI_DATABASE_TLS',
    defaultText: "the URL's sslmode, else off",
  }),
  databaseCaFile: field.string({
    doc: 'PostgreSQL: PEM file of the authorities that sign the server certificate, relative to the config file.',
    env: 'OTPKI_DATABASE_CA_FILE',
  }),
  databasePoolSize: field.int({
    doc: 'PostgreSQL: connections per instance, at most.',
    env: 'OTPKI_DATABASE_POOL_SIZE',
    default: 10,
    min: 1,
    max: 1000,
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
  sessionCacheSize: field.int({
    doc: 'Sessions each instance keeps in memory, so that a request needs no database round trip; past it, the least recently used is read from the database again when it next comes.',
    env: 'OTPKI_SESSION_CACHE_SIZE',
    default: 10_000,
    min: 1,
    max: 10_000_000,
  }),
  transactionTtl: field.duration({
    doc: 'How long a started sign-in may take before it must be started again.',
    env: 'OTPKI_TRANSACTION_TTL',
    default: '10m',
  }),
  auditRetention: field.duration({
    doc: 'How long audit events are kept in the database (each is also a log line, kept as long as the logs are).',
    env: 'OTPKI_AUDIT_RETENTION',
    default: '90d',
  }),
  adminRoles: field.stringArray({
    doc: 'Roles whose members hold every permission of the console and the /admin routes.',
    default: ['admin'],
  }),
  permissions: field.object(
    {
      readProviders: field.stringArray({
        doc: 'Roles that may see the identity providers, their status and effective configuration (secrets masked).',
        default: [],
      }),
      changeProviders: field.stringArray({
        doc: 'Roles that may create, edit and delete provider files in the console (also needs readProviders or adminRoles to see them).',
        default: [],
      }),
      manageUsers: field.stringArray({
        doc: 'Roles that may list and search users, grant and revoke roles, unlink identities, disable, enable and delete users.',
        default: [],
      }),
      manageCertificates: field.stringArray({
        doc: "Roles that may attach and detach users' client certificates.",
        default: [],
      }),
      manageSessions: field.stringArray({
        doc: 'Roles that may list sessions and end any of them.',
        default: [],
      }),
      readAudit: field.stringArray({ doc: 'Roles that may read the audit trail.', default: [] }),
    },
    {
      doc: 'Which roles hold each permission of the console and the /admin routes, besides adminRoles (which hold all).',
    },
  ),
  providerFilesWritable: field.boolean({
    doc: 'Let the console write provider files: Create, Edit and Delete then save into providersDir (else they only produce the file to commit).',
    env: 'OTPKI_PROVIDER_FILES_WRITABLE',
    default: false,
  }),
  forwardAuth: field.object(
    {
      allowedHosts: field.stringArray({
        doc: "Hosts GET /auth/verify may send a visitor back to after sign-in (Traefik, Caddy), and that returnTo may then name: app.example.com, or *.example.com for every subdomain. publicUrl's own host is always allowed.",
        default: [],
      }),
      cookieDomain: field.string({
        doc: "Share the sign-in with applications on other hosts under this domain (example.com): the session cookie is set for it (as __Secure-otpki_session). Needs an https publicUrl whose host is in the domain. Unset: the cookie is publicUrl's host's only.",
        env: 'OTPKI_FORWARD_AUTH_COOKIE_DOMAIN',
      }),
      headers: field.object(
        {
          user: field.string({ doc: 'Header with the username; empty: not sent.', default: 'X-Auth-Request-User' }),
          email: field.string({
            doc: 'Header with the email address; empty: not sent.',
            default: 'X-Auth-Request-Email',
          }),
          name: field.string({ doc: 'Header with the full name; empty: not sent.', default: 'X-Auth-Request-Name' }),
          roles: field.string({
            doc: 'Header with the roles, comma-separated; empty: not sent.',
            default: 'X-Auth-Request-Groups',
          }),
          method: field.string({
            doc: 'Header with how the visitor signed in (oidc, client-certificate, ...); empty: not sent.',
            default: 'X-Auth-Request-Method',
          }),
          provider: field.string({
            doc: "Header with the identity provider's name; empty: not sent.",
            default: 'X-Auth-Request-Provider',
          }),
        },
        { doc: 'The identity headers GET /auth/verify answers with.' },
      ),
    },
    {
      doc: 'Forward authentication (GET /auth/verify) for nginx auth_request, Traefik ForwardAuth and Caddy forward_auth.',
    },
  ),
  metrics: field.object(
    {
      enabled: field.boolean({ doc: 'Serve Prometheus metrics at GET /metrics.', env: 'OTPKI_METRICS', default: true }),
      token: field.secret({
        doc: 'When set, /metrics answers only requests with Authorization: Bearer <token> (a secret value).',
        env: 'OTPKI_METRICS_TOKEN',
      }),
      port: field.int({
        doc: 'Serve /metrics on this port of host instead (its own listener; the public one then has no /metrics). 0: the public listener.',
        env: 'OTPKI_METRICS_PORT',
        default: 0,
        min: 0,
        max: 65535,
      }),
    },
    { doc: 'Prometheus metrics.' },
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
        doc: 'Addresses or CIDRs of proxies in front of OTPKI whose X-Forwarded-For names the client (besides those a plugin names, such as clientCertificate.trustedProxies). Without them, the TCP peer is the client.',
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

/**
 * The sections of the main configuration plugins own, by key. A plugin with a
 * `config` section declares its input by augmenting this interface, so
 * `defineConfig` types it:
 *
 * @example
 * ```ts
 * declare module 'otpki' {
 *   interface ConfigSections { trustedHeader: { enabled?: boolean } }
 * }
 * ```
 * A section no plugin declares is checked when the plugin registers (an
 * unknown key is refused then).
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by declaration merging
export interface ConfigSections {}

/** What `otpki.config.ts` may contain: the core keys, and the sections of plugins. */
export type MainConfigInput = InputOf<typeof mainConfigFields> &
  Partial<ConfigSections> & { readonly [section: string]: unknown }

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
