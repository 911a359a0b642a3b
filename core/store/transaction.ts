import type { Orm } from './orm.ts'

/**
 * Runs `work` in one database transaction on a fresh entity manager: flushed
 * and committed when it resolves, rolled back when it throws.
 *
 * Unlike `em.transactional`, it sets no `AsyncLocalStorage` context: on Node
 * 20 the first such context turns on a promise hook for the whole process,
 * which every promise of every request pays for from then on.
 */
export async function inTransaction<T>(orm: Orm, work: (em: ReturnType<Orm['em']['fork']>) => Promise<T>): Promise<T> {
  const em = orm.em.fork()
  await em.begin()
  try {
    const result = await work(em)
    await em.commit()
    return result
  } catch (error) {
    await em.rollback().catch(() => undefined)
    throw error
  }
}
