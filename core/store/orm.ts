import { mkdir } from 'node:fs/promises'
import { dirname } from 'node:path'
import { Migrator } from '@mikro-orm/migrations'
import type { EntitySchema, MigrationObject } from '@mikro-orm/core'
import { MikroORM, SqliteDriver } from '@mikro-orm/sqlite'
import { entities } from './entities.ts'
import { OtpkiError } from '../errors.ts'
import { migrations } from './migrations/index.ts'

export type Orm = MikroORM

/**
 * Opens the SQLite database (creating the file and its directory on first
 * start) and applies pending schema migrations.
 */
/** What plugins add to the schema: their entities and the migrations that create them (run after core's). */
export interface SchemaExtensions {
  entities?: readonly EntitySchema<any, any>[]
  migrations?: readonly MigrationObject[]
}

export async function openDatabase(file: string, options: { debug?: boolean } & SchemaExtensions = {}): Promise<Orm> {
  try {
    return await open(file, options)
  } catch (cause) {
    throw new OtpkiError('CONFIG_INVALID', `cannot open the database ${file}: ${(cause as Error).message}`, { cause })
  }
}

async function open(file: string, options: { debug?: boolean } & SchemaExtensions): Promise<Orm> {
  if (file !== ':memory:') await mkdir(dirname(file), { recursive: true })
  const orm = await MikroORM.init({
    driver: SqliteDriver,
    dbName: file,
    entities: [...entities, ...(options.entities ?? [])],
    extensions: [Migrator],
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
  })
  await orm.getMigrator().up()
  return orm
}
