import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type { Migration as MigrationClass } from '@mikro-orm/migrations'

/**
 * MikroORM's `Migration` base class, from its own file: the package's entry
 * also loads the migrator (umzug and a command-line framework), which only a
 * start with pending migrations needs (see `migrateDatabase`).
 */
const require = createRequire(import.meta.url)
const { Migration } = require(join(dirname(require.resolve('@mikro-orm/migrations')), 'Migration.js')) as {
  Migration: typeof MigrationClass
}

/** The databases migrations are written for. */
export type SqlDialect = 'sqlite' | 'postgresql'

/**
 * A schema migration written once for every supported database. Statements
 * are written in SQLite's spelling (backquoted names, `integer not null
 * primary key autoincrement`, `boolean` columns) and turned into the running
 * database's own by {@link toDialect}.
 *
 * @example
 * ```ts
 * class AddWidgets extends PortableMigration {
 *   override async up() {
 *     this.sql('create table `widgets` (`id` integer not null primary key autoincrement, `on` boolean not null);')
 *   }
 * }
 * ```
 */
export abstract class PortableMigration extends Migration {
  /** The database this migration runs on. */
  protected get dialect(): SqlDialect {
    return dialectOf(this.driver.constructor.name)
  }

  /** Adds one statement, in the running database's SQL. */
  protected sql(statement: string): void {
    this.addSql(toDialect(statement, this.dialect))
  }
}

/** The dialect of a MikroORM driver, by its class name. */
export function dialectOf(driverName: string): SqlDialect {
  return driverName.startsWith('PostgreSql') ? 'postgresql' : 'sqlite'
}

/** Turns a statement in SQLite's spelling into `dialect`'s. */
export function toDialect(statement: string, dialect: SqlDialect): string {
  if (dialect === 'sqlite')
    return statement
      .replace(/ boolean not null default false/g, ' integer not null default false')
      .replace(/ boolean not null/g, ' integer not null')
  return statement.replace(/`/g, '"').replace(/ integer not null primary key autoincrement/g, ' serial primary key')
}
