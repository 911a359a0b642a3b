import { describe, expect, it } from 'vitest'
import { AuditLog } from '../../core/audit/audit-log.ts'
import { createLogger } from '../../core/logger.ts'
import { openDatabase } from '../../core/store/orm.ts'

describe('audit retention', () => {
  it('purge deletes the events older than the retention and keeps the rest', async () => {
    const orm = await openDatabase(':memory:')
    let now = Date.parse('2026-01-01T00:00:00Z')
    const day = 86_400_000
    const audit = new AuditLog(orm, { now: () => now }, createLogger('silent'), 30 * day)
    try {
      audit.record({ kind: 'cli', outcome: 'success', reason: 'old' })
      now += 20 * day
      audit.record({ kind: 'cli', outcome: 'success', reason: 'recent' })
      now += 15 * day
      await audit.flush()
      // 35 days after the first event, 15 after the second: only the first is past 30 days.
      expect(await audit.purge()).toBe(1)
      expect((await audit.query()).map((e) => e.reason)).toEqual(['recent'])
      expect(await audit.purge()).toBe(0)
    } finally {
      await orm.close()
    }
  })
})
