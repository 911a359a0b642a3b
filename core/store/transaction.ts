import type { Orm } from './orm.ts'

type Em = ReturnType<Orm['em']['fork']>

/**
 * Runs `work` in one database transaction on a fresh entity manager: flushed
 * and committed when it resolves, rolled back when it throws.
 *
 * Unlike `em.transactional`, it sets no `AsyncLocalStorage` context; and a
 * transaction that wrote only by statements (nothing for the unit of work to
 * flush) commits without a flush, whose `AsyncLocalStorage` would do the same.
 * On Node 20 the first such context turns on async hooks for the whole
 * process, which every promise and socket of every request pays for from then on.
 */
export async function inTransaction<T>(orm: Orm, work: (em: Em) => Promise<T>): Promise<T> {
  const em = orm.em.fork()
  await em.begin()
  try {
    const result = await work(em)
    if (hasUnitOfWork(em)) await em.commit()
    else {
      await em.getConnection('write').commit(em.getTransactionContext()!)
      em.resetTransactionContext()
    }
    return result
  } catch (error) {
    await em.rollback().catch(() => undefined)
    throw error
  }
}

/** Whether anything was created, removed or loaded through the unit of work (a loaded entity may have changed). */
function hasUnitOfWork(em: Em): boolean {
  const uow = em.getUnitOfWork()
  return uow.getPersistStack().size > 0 || uow.getRemoveStack().size > 0 || uow.getIdentityMap().keys().length > 0
}
