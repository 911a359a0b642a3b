import { mkdir } from 'node:fs/promises'
import { dirname } from 'node:path'
import type { EntitySchema, MigrationObject, Options } from '@mikro-orm/core'
import type { MikroORM } from '@mikro-orm/core'
import type { AbstractSqlDriver } from '@mikro-orm/sqlite'
import { entities } from './entities.ts'
import { OtpkiError } from '../errors.ts'
import { migrations } from './migrations/index.ts'
import { loadMigrations, loadPostgresDriver, loadSqliteDriver, mikro } from './mikro.ts'
import { databaseTarget, describeDatabase, pgConnection, type DatabaseTarget } from './database.ts'

export type Orm = MikroORM<AbstractSqlDriver>

/** What plugins add to the schema: their entities and the migrations that create them (run after core's). */
export interface SchemaExtensions {
  entities?: readonly EntitySchema<any, any>[]
  migrations?: readonly MigrationObject[]
}

export interface OpenOptions extends SchemaExtensions {
  debug?: boolean
  /** Run pending migrations (default). Off: the schema must already be current. */
  migrate?: boolean
}

/**
 * Opens the database: an SQLite file (created with its directory on first
 * start) or PostgreSQL; then applies pending schema migrations (on
 * PostgreSQL under an advisory lock, so instances starting together migrate once).
 */
export async function openDatabase(target: DatabaseTarget | string, options: OpenOptions = {}): Promise<Orm> {
  const resolved = typeof target === 'string' ? databaseTarget(target, process.cwd()) : target
  try {
    return await open(resolved, options)
  } catch (cause) {
    throw new OtpkiError(
      'CONFIG_INVALID',
      `cannot open the database ${describeDatabase(resolved)}: ${(cause as Error).message}`,
      { cause },
    )
  }
}

/**
 * Each SQLite connection writes ahead to a log (readers never wait for a writer, and a commit
 * is one append, synced at checkpoints rather than on every commit: a power cut can lose the
 * last commits, never corrupt the file) and waits up to 5 s for another process's write lock
 * (the CLI beside a running server).
 */
function sqlitePragmas(connection: SqliteHandle, done: (error: Error | null, connection: SqliteHandle) => void) {
  connection.exec('pragma journal_mode = WAL; pragma synchronous = NORMAL; pragma busy_timeout = 5000', (error) =>
    done(error, connection),
  )
}

/** The driver's connection, as far as the pragmas need it. */
interface SqliteHandle {
  exec(sql: string, callback: (error: Error | null) => void): void
}

async function open(target: DatabaseTarget, options: OpenOptions): Promise<Orm> {
  const common: Options<AbstractSqlDriver> = {
    entities: [...entities, ...(options.entities ?? [])],
    migrations: {
      migrationsList: [...migrations, ...(options.migrations ?? [])],
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      silent: true,
    },
    debug: options.debug ?? false,
    allowGlobalContext: false,
    discovery: { warnWhenNoEntities: false },
  }
  if (target.kind === 'sqlite') {
    if (target.file !== ':memory:') await mkdir(dirname(target.file), { recursive: true })
    const { SqliteDriver } = loadSqliteDriver()
    const orm = await mikro.MikroORM.init<AbstractSqlDriver>({
      ...common,
      driver: SqliteDriver,
      dbName: target.file,
      pool: { afterCreate: sqlitePragmas },
    })
    if (options.migrate !== false) await migrateDatabase(orm, target)
    return orm
  }
  const connection = pgConnection(target)
  const { PostgreSqlDriver } = loadPostgresDriver()
  const orm = await mikro.MikroORM.init<AbstractSqlDriver>({
    ...common,
    driver: PostgreSqlDriver,
    host: connection.host,
    port: connection.port,
    user: connection.user,
    dbName: connection.database,
    ...(connection.password !== undefined ? { password: connection.password } : {}),
    pool: { min: 0, max: target.poolSize },
    ...(connection.ssl ? { driverOptions: { connection: { ssl: connection.ssl } } } : {}),
  })
  try {
    if (options.migrate !== false) await migrateDatabase(orm, target)
  } catch (cause) {
    await orm.close()
    throw cause
  }
  return orm
}

/**
 * Applies pending migrations (core's, then plugins'); on PostgreSQL under an
 * advisory lock, so instances starting together migrate once. Returns the
 * names of those it applied.
 */
export async function migrateDatabase(orm: Orm, target: DatabaseTarget): Promise<string[]> {
  // The migrator (and what it loads) is needed only when something is pending: most starts find the schema current.
  if (!(await pendingMigrations(orm))) return []
  const { Migrator } = loadMigrations()
  Migrator.register(orm)
  const up = async () => (await orm.getMigrator().up()).map((m) => m.name)
  return target.kind === 'postgresql' ? withMigrationLock(target, up) : up()
}

/** Whether any known migration is not recorded as applied (or nothing is recorded yet). */
async function pendingMigrations(orm: Orm): Promise<boolean> {
  const known = (orm.config.get('migrations').migrationsList ?? []).map((m) => m.name)
  let applied: Set<string>
  try {
    const rows = await orm.em.getConnection().execute<{ name: string }[]>('select name from mikro_orm_migrations')
    applied = new Set(rows.map((r) => r.name))
  } catch {
    return true
  }
  return known.some((name) => !applied.has(name))
}

/** One key for every OTPKI instance on a database: whoever holds it migrates, the others wait, then find nothing to do. */
const MIGRATION_LOCK = 0x6f74706b

async function withMigrationLock<T>(
  target: Extract<DatabaseTarget, { kind: 'postgresql' }>,
  run: () => Promise<T>,
): Promise<T> {
  const { default: pg } = await import('pg')
  const client = new pg.Client(pgConnection(target))
  await client.connect()
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK])
    return await run()
  } finally {
    await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined)
    await client.end()
  }
}
