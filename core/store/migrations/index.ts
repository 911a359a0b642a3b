import type { MigrationObject } from '@mikro-orm/core'
import { InitialSchema } from './001-initial-schema.ts'

/** Every schema migration, in order. Names are stable: they are recorded in the database. */
export const migrations: MigrationObject[] = [{ name: '001-initial-schema', class: InitialSchema }]
