import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { databaseTarget, type DatabaseTarget } from '../../core/store/database.ts'
import { needs } from './needs.ts'

/** The server the tests use: the development and CI machines' PostgreSQL (trust authentication). */
export const POSTGRES_URL = process.env.OTPKI_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

/** Whether PostgreSQL answers (within 3 s). */
export async function postgresAvailable(): Promise<boolean> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 })
  try {
    await client.connect()
    await client.query('select 1')
    return true
  } catch {
    return false
  } finally {
    await client.end().catch(() => undefined)
  }
}

const available = await postgresAvailable()

/**
 * For tests that need PostgreSQL: true when it answers; otherwise registers a
 * skip saying how to start it (a failure under OTPKI_REQUIRE_ALL_TESTS=1).
 */
export function needsPostgres(): boolean {
  return needs(
    'PostgreSQL',
    available,
    'start it with `pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start`, or set OTPKI_TEST_POSTGRES_URL',
  )
}

/** A database of its own for one test, dropped by `drop` (connections to it are ended first). */
export async function freshPostgres(): Promise<{ url: string; target: DatabaseTarget; drop(): Promise<void> }> {
  const name = `otpki_test_${randomBytes(6).toString('hex')}`
  const admin = new pg.Client({ connectionString: POSTGRES_URL })
  await admin.connect()
  try {
    await admin.query(`create database ${name}`)
  } finally {
    await admin.end()
  }
  const url = new URL(POSTGRES_URL)
  url.pathname = `/${name}`
  return {
    url: url.href,
    target: databaseTarget(url.href, process.cwd()),
    async drop() {
      const client = new pg.Client({ connectionString: POSTGRES_URL })
      await client.connect()
      try {
        await client.query(`drop database if exists ${name} with (force)`)
      } finally {
        await client.end()
      }
    },
  }
}

/** The databases a test can run against. */
export type TestDatabase = 'sqlite' | 'postgres'

/**
 * The databases store and session tests run against: SQLite, and PostgreSQL
 * where it answers (where it does not, a skip that says so, or in CI a failure).
 */
export function testDatabases(): TestDatabase[] {
  return needsPostgres() ? ['sqlite', 'postgres'] : ['sqlite']
}
