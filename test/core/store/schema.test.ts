import { describe, expect, it } from 'vitest'
import { openDatabase, type SchemaExtensions } from '../../../core/store/orm.ts'
import { CERTIFICATE_MIGRATIONS, CertificateSchema } from '../../../plugins/client-certificate/certificate-store.ts'

describe('migrations', () => {
  it.each<[string, SchemaExtensions]>([
    ['core', {}],
    ['core and the client-certificate plugin', { entities: [CertificateSchema], migrations: CERTIFICATE_MIGRATIONS }],
  ])('produce exactly the schema the entities declare: %s (SQLite)', async (_what, extensions) => {
    const orm = await openDatabase(':memory:', extensions)
    try {
      const diff = await orm.getSchemaGenerator().getUpdateSchemaSQL({ wrap: false, safe: false, dropTables: true })
      expect(diff.trim()).toBe('')
    } finally {
      await orm.close()
    }
  })
})
