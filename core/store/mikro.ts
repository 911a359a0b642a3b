import { createRequire } from 'node:module'
import type * as MikroCore from '@mikro-orm/core'

const require = createRequire(import.meta.url)

/**
 * `@mikro-orm/core`, loaded with `require`. Importing a CommonJS package from
 * ESM makes Node scan its index and every file it re-exports for export names;
 * MikroORM's index re-exports most of the package, and that scan was a tenth of
 * the start-up. Plugins get the same copy through `defineEntity` and `p` from `otpki`.
 */
export const mikro = require('@mikro-orm/core') as typeof MikroCore

/** The SQLite driver, loaded only when the database is SQLite. */
export const loadSqliteDriver = () => require('@mikro-orm/sqlite') as typeof import('@mikro-orm/sqlite')

/** The PostgreSQL driver, loaded only when the database is PostgreSQL. */
export const loadPostgresDriver = () => require('@mikro-orm/postgresql') as typeof import('@mikro-orm/postgresql')

/** The migrator, loaded only when a migration is pending. */
export const loadMigrations = () => require('@mikro-orm/migrations') as typeof import('@mikro-orm/migrations')

/** `defineEntity` and the property builder `p` of the MikroORM OTPKI runs on, for plugins' own tables. */
export const { defineEntity, p } = mikro
