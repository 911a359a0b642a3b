import { describe, expect, it } from 'vitest'
import { openDatabase, type SchemaExtensions } from '../../../core/store/orm.ts'
import { CERTIFICATE_MIGRATIONS, CertificateSchema } from '../../../plugins/client-certificate/certificate-store.ts'
import { freshPostgres, needsPostgres } from '../../support/postgres.ts'

const cases: [string, SchemaExtensions][] = [
  ['core', {}],
  ['core and the client-certificate plugin', { entities: [CertificateSchema], migrations: CERTIFICATE_MIGRATIONS }],
]

async function expectNoDifference(orm: Awaited<ReturnType<typeof openDatabase>>): Promise<void> {
  const diff = await orm.getSchemaGenerator().getUpdateSchemaSQL({ wrap: false, safe: false, dropTables: true })
  expect(diff.trim()).toBe('')
}

describe('migrations produce exactly the schema the entities declare', () => {
  it.each(cases)('SQLite: %s', async (_what, extensions) => {
    const orm = await openDatabase(':memory:', extensions)
    try {
      await expectNoDifference(orm)
    } finally {
      await orm.close()
    }
  })

  if (needsPostgres()) {
    it.each(cases)('PostgreSQL: %s', async (_what, extensions) => {
      const db = await freshPostgres()
      try {
        const orm = await openDatabase(db.target, extensions)
        try {
          await expectNoDifference(orm)
        } finally {
          await orm.close()
        }
      } finally {
        await db.drop()
      }
    })

    it('PostgreSQL: instances starting together migrate once', async () => {
      const db = await freshPostgres()
      try {
        const orms = await Promise.all([1, 2, 3].map(() => openDatabase(db.target)))
        try {
          const applied: { name: string }[] = await orms[0]!.em
            .fork()
            .getConnection()
            .execute('select name from mikro_orm_migrations order by id')
          expect(applied.map((r) => r.name)).toEqual([
            '001-initial-schema',
            '002-session-identity-and-tokens',
            '003-attributes-and-role-sources',
            '005-hardening',
            '006-changes',
            '007-audit',
            '008-user-search',
            '009-user-disabled',
          ])
        } finally {
          await Promise.all(orms.map((o) => o.close()))
        }
      } finally {
        await db.drop()
      }
    })
  }
})
