import { existsSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import type { PluginSpec } from '../contracts/plugin.ts'
import { OtpkiError } from '../errors.ts'
import { durationToSeconds } from './duration.ts'
import { checkAddresses } from '../http/rate-limit.ts'
import { describeIssue, forbiddenKeys, resolveOptions } from './fields.ts'
import { mainConfigFields } from './main-schema.ts'
import { loadConfigModule } from './module-loader.ts'
import { resolveSecret } from './secrets.ts'
import { databaseTarget, describeDatabase, type DatabaseTarget } from '../store/database.ts'

/** The main configuration in force: defaults applied, paths absolute, durations in seconds. */
export interface ResolvedConfig {
  /** The config file read, if any. */
  readonly file: string | undefined
  /** Relative paths in the config are resolved against this directory. */
  readonly baseDir: string
  readonly host: string
  readonly port: number
  readonly publicUrl: string
  /** The database for messages: the SQLite file, or the PostgreSQL URL without its password. */
  readonly database: string
  /** Where the data lives, with its connection settings. */
  readonly db: DatabaseTarget
  readonly providersDir: string
  readonly templatesDir: string | undefined
  readonly logLevel: string
  readonly secret: string | undefined
  readonly tokenEncryptionKey: string | undefined
  readonly sessionMaxInactive: number
  readonly sessionMaxLength: number
  readonly sessionCacheSize: number
  readonly transactionTtl: number
  /** Seconds audit events are kept. */
  readonly auditRetention: number
  readonly plugins: readonly PluginSpec[]
  readonly adminRoles: readonly string[]
  readonly rateLimit: RateLimitConfig
  /** Roles per permission, adminRoles included in each. */
  readonly permissions: Readonly<Record<Permission, readonly string[]>>
  /** Whether the console may write, replace and remove files in providersDir. */
  readonly providerFilesWritable: boolean
  readonly metrics: { readonly enabled: boolean; readonly token: string | undefined; readonly port: number }
  readonly forwardAuth: ForwardAuthConfig
  /** Keys no core key claims, raw: the sections plugins own (`clientCertificate`, say), validated when they register. */
  readonly sections: Readonly<Record<string, unknown>>
}

/** Forward authentication: where `/auth/verify` may send visitors back to, the shared cookie, the identity headers. */
export interface ForwardAuthConfig {
  /** Host names, exact or `*.domain` (publicUrl's host included). */
  readonly allowedHosts: readonly string[]
  readonly cookieDomain: string | undefined
  readonly headers: Readonly<Record<'user' | 'email' | 'name' | 'roles' | 'method' | 'provider', string>>
}

/** What a role may do in the console and the /admin routes. */
export type Permission =
  | 'readProviders'
  | 'changeProviders'
  | 'manageUsers'
  | 'manageCertificates'
  | 'manageSessions'
  | 'readAudit'
export const PERMISSIONS: readonly Permission[] = [
  'readProviders',
  'changeProviders',
  'manageUsers',
  'manageCertificates',
  'manageSessions',
  'readAudit',
]

/** The `rateLimit` section. */
export interface RateLimitConfig {
  readonly signInPerMinute: number
  readonly callbackPerMinute: number
  readonly failedAuthPerMinute: number
  readonly maxPendingSignIns: number
  /** Proxies whose X-Forwarded-For names the client (plugins may add theirs). */
  readonly trustedProxies: readonly string[]
}

/** The config file: `--config`, else `OTPKI_CONFIG`, else `otpki.config.ts` in the working directory if present. */
export function findConfigFile(
  explicit: string | undefined,
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
): string | undefined {
  const named = explicit ?? env.OTPKI_CONFIG
  if (named) {
    const file = resolve(cwd, named)
    if (!existsSync(file)) throw new OtpkiError('CONFIG_INVALID', `${file}: the config file does not exist`)
    return file
  }
  const fallback = resolve(cwd, 'otpki.config.ts')
  return existsSync(fallback) ? fallback : undefined
}

/**
 * Reads and validates the main configuration. `overrides` (tests, `otpki dev`)
 * apply over the file; `OTPKI_*` variables apply over both.
 */
export async function loadMainConfig(
  file: string | undefined,
  options: { env?: NodeJS.ProcessEnv; overrides?: Record<string, unknown>; cwd?: string } = {},
): Promise<ResolvedConfig> {
  const env = options.env ?? process.env
  const label = file ?? '(defaults)'
  let input: unknown = {}
  if (file) {
    try {
      input = await loadConfigModule(file)
    } catch (cause) {
      throw new OtpkiError('CONFIG_INVALID', `${file}: ${cause instanceof Error ? cause.message : String(cause)}`, {
        cause,
      })
    }
  }
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new OtpkiError(
      'CONFIG_INVALID',
      `${label}: must export a configuration object (export default defineConfig({...}))`,
    )
  }
  const merged = { ...(input as Record<string, unknown>), ...options.overrides }
  const forbidden = forbiddenKeys(merged)
  if (forbidden.length > 0)
    throw new OtpkiError('CONFIG_INVALID', forbidden.map((i) => `${label}: ${i.key}: ${i.reason}`).join('\n'))
  // Core keys are validated here; the others are plugin sections, validated when their plugin registers.
  const core: Record<string, unknown> = {}
  const sections: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(merged)) (key in mainConfigFields ? core : sections)[key] = value
  const { value: v, issues } = resolveOptions(mainConfigFields, core, env)
  if (issues.length > 0) {
    throw new OtpkiError('CONFIG_INVALID', issues.map((i) => describeIssue(mainConfigFields, i, label, env)).join('\n'))
  }
  const baseDir = file ? dirname(file) : (options.cwd ?? process.cwd())
  const secret = (key: 'secret' | 'tokenEncryptionKey' | 'databasePassword' | 'metrics.token'): string | undefined => {
    const value = key === 'metrics.token' ? v.metrics.token : v[key]
    try {
      return value ? resolveSecret(value, key) : undefined
    } catch (cause) {
      throw new OtpkiError('CONFIG_INVALID', `${label}: ${(cause as Error).message}`, { cause })
    }
  }
  const port = v.port
  const db = labelled(label, () =>
    databaseTarget(v.database, baseDir, {
      password: secret('databasePassword'),
      tls: v.databaseTls,
      caFile: v.databaseCaFile,
      poolSize: v.databasePoolSize,
    }),
  )
  if (db.kind === 'postgresql') {
    // Every instance must sign and decrypt what the others wrote.
    const missing = (['secret', 'tokenEncryptionKey'] as const).filter((k) => !v[k])
    if (missing.length > 0)
      throw new OtpkiError(
        'CONFIG_INVALID',
        `${label}: ${missing.join(' and ')} must be set when the database is PostgreSQL (the same value on every instance; ${missing.map((k) => (k === 'secret' ? 'OTPKI_SECRET' : 'OTPKI_TOKEN_ENCRYPTION_KEY')).join(', ')})`,
      )
  }
  const rateLimit = v.rateLimit
  const publicUrl = (v.publicUrl ?? `http://localhost:${port}`).replace(/\/+$/, '')
  return {
    file,
    baseDir,
    host: v.host,
    port,
    publicUrl,
    database: describeDatabase(db),
    db,
    providersDir: resolve(baseDir, v.providersDir),
    templatesDir: v.templatesDir ? resolve(baseDir, v.templatesDir) : undefined,
    logLevel: v.logLevel,
    secret: secret('secret'),
    tokenEncryptionKey: secret('tokenEncryptionKey'),
    sessionMaxInactive: durationToSeconds(v.sessionMaxInactive),
    sessionMaxLength: durationToSeconds(v.sessionMaxLength),
    sessionCacheSize: v.sessionCacheSize,
    transactionTtl: durationToSeconds(v.transactionTtl),
    auditRetention: durationToSeconds(v.auditRetention),
    plugins: v.plugins ?? [],
    adminRoles: v.adminRoles,
    permissions: Object.fromEntries(
      PERMISSIONS.map((p) => [p, [...new Set([...v.adminRoles, ...v.permissions[p]])]]),
    ) as Record<Permission, string[]>,
    providerFilesWritable: v.providerFilesWritable,
    metrics: { enabled: v.metrics.enabled, token: secret('metrics.token'), port: v.metrics.port },
    forwardAuth: labelled(label, () => forwardAuthConfig(v.forwardAuth, publicUrl)),
    sections,
    rateLimit: {
      signInPerMinute: rateLimit.signInPerMinute,
      callbackPerMinute: rateLimit.callbackPerMinute,
      failedAuthPerMinute: rateLimit.failedAuthPerMinute,
      maxPendingSignIns: rateLimit.maxPendingSignIns,
      trustedProxies: labelled(label, () => checkAddresses(rateLimit.trustedProxies, 'rateLimit.trustedProxies')),
    },
  }
}

const HOST_NAME = /^(\*\.)?(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/
const HEADER_NAME = /^[A-Za-z0-9!#$%&'*+.^_`|~-]+$/

function forwardAuthConfig(
  v: { allowedHosts: string[]; cookieDomain?: string | undefined; headers: ForwardAuthConfig['headers'] },
  publicUrl: string,
): ForwardAuthConfig {
  const publicHost = new URL(publicUrl).hostname.toLowerCase()
  const allowedHosts = v.allowedHosts.map((h) => h.trim().toLowerCase())
  for (const host of allowedHosts)
    if (!HOST_NAME.test(host))
      throw new OtpkiError(
        'CONFIG_INVALID',
        `forwardAuth.allowedHosts: "${host}" is not a host name (app.example.com, or *.example.com)`,
      )
  for (const [key, name] of Object.entries(v.headers))
    if (name !== '' && !HEADER_NAME.test(name))
      throw new OtpkiError('CONFIG_INVALID', `forwardAuth.headers.${key}: "${name}" is not a header name`)
  let cookieDomain: string | undefined
  if (v.cookieDomain) {
    cookieDomain = v.cookieDomain.trim().toLowerCase().replace(/^\./, '')
    if (!HOST_NAME.test(cookieDomain) || cookieDomain.startsWith('*.') || !cookieDomain.includes('.'))
      throw new OtpkiError(
        'CONFIG_INVALID',
        `forwardAuth.cookieDomain: "${cookieDomain}" is not a domain (example.com)`,
      )
    if (!publicUrl.startsWith('https:'))
      throw new OtpkiError(
        'CONFIG_INVALID',
        'forwardAuth.cookieDomain: needs an https publicUrl (the cookie is Secure)',
      )
    if (publicHost !== cookieDomain && !publicHost.endsWith(`.${cookieDomain}`))
      throw new OtpkiError(
        'CONFIG_INVALID',
        `forwardAuth.cookieDomain: publicUrl's host ${publicHost} is not in ${cookieDomain}`,
      )
  }
  return { allowedHosts: [...new Set([publicHost, ...allowedHosts])], cookieDomain, headers: v.headers }
}

/** Whether `host` is one of `allowed` (exact names, or `*.domain` for its subdomains). */
export function hostAllowed(host: string, allowed: readonly string[]): boolean {
  const h = host.toLowerCase()
  return allowed.some((a) => (a.startsWith('*.') ? h.endsWith(a.slice(1)) && h.length > a.length - 1 : h === a))
}

/** Runs a check whose error then names the config file too. */
function labelled<T>(label: string, check: () => T): T {
  try {
    return check()
  } catch (error) {
    if (error instanceof OtpkiError) throw new OtpkiError(error.code, `${label}: ${error.message}`, { cause: error })
    throw error
  }
}

/** Keys whose value differs between two configurations (all need a restart). */
export function changedKeys(a: ResolvedConfig, b: ResolvedConfig): string[] {
  const keys = Object.keys(mainConfigFields) as (keyof ResolvedConfig)[]
  const sections = [...new Set([...Object.keys(a.sections), ...Object.keys(b.sections)])]
  return [
    ...keys.filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k])),
    ...sections.filter((k) => JSON.stringify(a.sections[k]) !== JSON.stringify(b.sections[k])),
  ]
}
