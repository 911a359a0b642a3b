/**
 * Counts the requests still being answered, so that a shutdown closes the
 * database only after them: a client that hangs up does not end its
 * request's work, and closing the database under it fails that work.
 */
export class InFlight {
  private count = 0
  private waiters: (() => void)[] = []

  /** Counts `work` until it settles; answers it. */
  track<T>(work: Promise<T>): Promise<T> {
    this.count++
    return work.finally(() => {
      if (--this.count === 0) for (const wake of this.waiters.splice(0)) wake()
    })
  }

  /** Resolves once nothing is in flight, or after `limitMs` at the latest. */
  idle(limitMs: number): Promise<void> {
    if (this.count === 0) return Promise.resolve()
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, limitMs)
      timer.unref()
      this.waiters.push(() => {
        clearTimeout(timer)
        resolve()
      })
    })
  }
}
