import { describe, expect, it } from 'vitest'
import { openDatabase } from '../../../core/store/orm.ts'

describe('migrations', () => {
  it('produce exactly the schema the entities declare (SQLite)', async () => {
    const orm = await openDatabase(':memory:')
    try {
      const diff = await orm.getSchemaGenerator().getUpdateSchemaSQL({ wrap: false, safe: false, dropTables: true })
      expect(diff.trim()).toBe('')
    } finally {
      await orm.close()
    }
  })
})
