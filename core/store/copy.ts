import type { EntityMetadata } from '@mikro-orm/core'
import type { DatabaseTarget } from './database.ts'
import type { Orm } from './orm.ts'

/** Tables that are not data: the migrations applied (each database has its own) and changes in flight. */
const NOT_COPIED = new Set(['mikro_orm_migrations', 'changes'])
const BATCH = 500

/** Every table of the schema, each after the tables it refers to. */
function tablesInOrder(orm: Orm): EntityMetadata[] {
  const all = Object.values(orm.getMetadata().getAll()).filter(
    (m) => !m.abstract && !m.virtual && m.tableName && !NOT_COPIED.has(m.tableName),
  )
  const ordered: EntityMetadata[] = []
  const visit = (meta: EntityMetadata, path: Set<string>) => {
    if (ordered.includes(meta) || path.has(meta.className)) return
    path.add(meta.className)
    for (const prop of Object.values(meta.properties)) {
      if ((prop.kind === 'm:1' || prop.kind === '1:1') && prop.targetMeta) visit(prop.targetMeta, path)
    }
    ordered.push(meta)
  }
  for (const meta of all) visit(meta, new Set())
  return ordered
}

/**
 * Copies every row of every table (users, identities, roles, sessions,
 * pending sign-ins, used logout tokens, and the tables plugins add) from one
 * database to another whose schema is current and which holds no users.
 * Returns the rows copied per table.
 */
export async function copyDatabase(
  from: Orm,
  to: Orm,
  target: DatabaseTarget,
): Promise<{ table: string; rows: number }[]> {
  const source = from.em.getKnex()
  const destination = to.em.getKnex()
  const [{ n }] = (await destination('users').count({ n: '*' })) as [{ n: number | string }]
  if (Number(n) > 0) throw new Error('the target database already holds users: copy only into a new, empty database')
  const copied: { table: string; rows: number }[] = []
  await destination.transaction(async (trx) => {
    for (const meta of tablesInOrder(from)) {
      const table = meta.tableName
      const booleans = Object.values(meta.properties)
        .filter((p) => p.runtimeType === 'boolean')
        .flatMap((p) => p.fieldNames ?? [])
      const rows = (await source(table).select('*')) as Record<string, unknown>[]
      for (let i = 0; i < rows.length; i += BATCH) {
        const batch = rows.slice(i, i + BATCH).map((row) => {
          const out = { ...row }
          // SQLite keeps true/false as 1/0; PostgreSQL wants booleans.
          for (const column of booleans)
            if (out[column] !== null && out[column] !== undefined)
              out[column] = Boolean(Number(out[column]) || out[column] === true)
          return out
        })
        await trx(table).insert(batch)
      }
      copied.push({ table, rows: rows.length })
      const serial = Object.values(meta.properties).find((p) => p.primary && p.autoincrement)
      if (target.kind === 'postgresql' && serial && rows.length > 0) {
        const column = serial.fieldNames[0]!
        // The next id continues after the copied ones.
        await trx.raw(`select setval(pg_get_serial_sequence(?, ?), (select max("${column}") from "${table}"))`, [
          table,
          column,
        ])
      }
    }
  })
  return copied
}
