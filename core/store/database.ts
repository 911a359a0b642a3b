import { readFileSync } from 'node:fs'
import { isAbsolute, resolve } from 'node:path'
import { OtpkiError } from '../errors.ts'

/** TLS to PostgreSQL: none, encrypted, or encrypted with the server's certificate and name verified. */
export type DatabaseTls = 'off' | 'require' | 'verify-full'

/** Where the data lives: an SQLite file (the embedded default), or a PostgreSQL server. */
export type DatabaseTarget =
  | { readonly kind: 'sqlite'; readonly file: string }
  | {
      readonly kind: 'postgresql'
      /** The URL without its password, fit for logs. */
      readonly url: string
      readonly host: string
      readonly port: number
      readonly user: string
      readonly database: string
      readonly password: string | undefined
      readonly tls: DatabaseTls
      /** PEM of the certificate authorities that may sign the server's certificate (verify-full). */
      readonly ca: string | undefined
      readonly poolSize: number
    }

export interface DatabaseSettings {
  password?: string | undefined
  tls?: DatabaseTls | undefined
  caFile?: string | undefined
  poolSize?: number | undefined
}

const URL_SCHEME = /^([a-z][a-z0-9+.-]*):\/\//i

/**
 * Reads the `database` setting: a file path (relative to `baseDir`) or
 * `:memory:` for SQLite, or a `postgres://` / `postgresql://` URL. Any other
 * URL is an error, never a file name.
 */
export function databaseTarget(value: string, baseDir: string, settings: DatabaseSettings = {}): DatabaseTarget {
  const scheme = URL_SCHEME.exec(value)?.[1]?.toLowerCase()
  if (scheme === undefined) {
    if (/^[a-z][a-z0-9+.-]*:[^\\/]/i.test(value) && value !== ':memory:' && !/^[a-z]:[\\/]/i.test(value))
      throw new OtpkiError(
        'CONFIG_INVALID',
        `database: "${value.slice(0, 40)}" is neither a file path nor a supported URL (postgres://...)`,
      )
    return { kind: 'sqlite', file: value === ':memory:' ? value : isAbsolute(value) ? value : resolve(baseDir, value) }
  }
  if (scheme !== 'postgres' && scheme !== 'postgresql')
    throw new OtpkiError(
      'CONFIG_INVALID',
      `database: ${scheme}:// is not a supported database (a file path for SQLite, or postgres://user@host:5432/name)`,
    )
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new OtpkiError('CONFIG_INVALID', 'database: is not a valid postgres:// URL')
  }
  const database = decodeURIComponent(url.pathname.replace(/^\//, ''))
  if (!url.hostname || !database)
    throw new OtpkiError(
      'CONFIG_INVALID',
      'database: a postgres:// URL names a host and a database (postgres://user@host:5432/name)',
    )
  const password = settings.password ?? (url.password ? decodeURIComponent(url.password) : undefined)
  const sslmode = url.searchParams.get('sslmode')
  const tls: DatabaseTls =
    settings.tls ?? (sslmode === 'verify-full' ? 'verify-full' : sslmode === 'require' ? 'require' : 'off')
  let ca: string | undefined
  if (settings.caFile) {
    try {
      ca = readFileSync(resolve(baseDir, settings.caFile), 'utf8')
    } catch (cause) {
      throw new OtpkiError(
        'CONFIG_INVALID',
        `databaseCaFile: cannot read ${settings.caFile}: ${(cause as Error).message}`,
      )
    }
  }
  const safe = new URL(url.href)
  safe.password = ''
  safe.search = ''
  return {
    kind: 'postgresql',
    url: safe.href,
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: url.port ? Number(url.port) : 5432,
    user: decodeURIComponent(url.username) || 'postgres',
    database,
    password,
    tls,
    ca,
    poolSize: settings.poolSize ?? 10,
  }
}

/** The target for logs and messages: the file, or the URL without its password. */
export function describeDatabase(target: DatabaseTarget): string {
  return target.kind === 'sqlite' ? target.file : target.url
}

/** The `pg` connection settings of a PostgreSQL target (for MikroORM and the change listener alike). */
export function pgConnection(target: Extract<DatabaseTarget, { kind: 'postgresql' }>) {
  return {
    host: target.host,
    port: target.port,
    user: target.user,
    database: target.database,
    ...(target.password !== undefined ? { password: target.password } : {}),
    ...(target.tls === 'off'
      ? {}
      : { ssl: { rejectUnauthorized: target.tls === 'verify-full', ...(target.ca ? { ca: target.ca } : {}) } }),
  }
}
