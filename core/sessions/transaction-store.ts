import { inject, injectable } from 'tsyringe'
import type { Clock } from '../clock.ts'
import type { ResolvedConfig } from '../config/main-config.ts'
import { TOKENS } from '../di/tokens.ts'
import { OtpkiError } from '../errors.ts'
import { AuthTransactionSchema } from '../store/entities.ts'
import type { Orm } from '../store/orm.ts'
import { hashId, newId } from './ids.ts'

/** How long an expired sign-in is remembered, to say "expired" rather than "unknown". */
export const EXPIRED_GRACE_MS = 60 * 60 * 1000

/** A started sign-in, as the callback finds it. */
export interface SignInTransaction {
  provider: string
  issuer: string
  generation: number
  returnTo: string
  data: Record<string, string>
  purpose: 'sign-in' | 'link'
  /** For `link`: the signed-in user the identity is attached to. */
  linkUserId?: number | undefined
  prompt?: 'none' | undefined
}

/**
 * Sign-in transactions: stored server-side, found through a browser cookie
 * (so a callback from another browser finds nothing), single-use and short-lived.
 */
@injectable()
export class TransactionStore {
  private readonly maxPending: number

  constructor(
    @inject(TOKENS.Orm) private readonly orm: Orm,
    @inject(TOKENS.Clock) private readonly clock: Clock,
    @inject(TOKENS.Config) config: ResolvedConfig,
  ) {
    this.maxPending = config.rateLimit.maxPendingSignIns
  }

  /**
   * Stores a transaction; returns the id for the browser's cookie. At most
   * `rateLimit.maxPendingSignIns` may be pending at once: past that, expired
   * ones are purged, and if that frees nothing the sign-in is refused (503).
   */
  async create(tx: SignInTransaction, ttlSeconds: number): Promise<string> {
    const id = newId()
    const now = this.clock.now()
    const em = this.orm.em.fork()
    if (
      (await this.pending()) >= this.maxPending &&
      ((await this.purgeExpired(0)) === 0 || (await this.pending()) >= this.maxPending)
    ) {
      throw new OtpkiError('SIGN_IN_BUSY', `${this.maxPending} sign-ins are pending (rateLimit.maxPendingSignIns)`, {
        retryAfter: 60,
        publicMessage: 'Too many sign-ins are in progress right now. Please try again in a minute.',
      })
    }
    // Written straight away: nothing else is in this unit of work to flush.
    await em.insert(AuthTransactionSchema, {
      idHash: hashId(id),
      provider: tx.provider,
      issuer: tx.issuer,
      generation: tx.generation,
      returnTo: tx.returnTo,
      data: JSON.stringify(tx.data),
      purpose: tx.purpose,
      linkUserId: tx.linkUserId ?? null,
      prompt: tx.prompt ?? null,
      createdAt: now,
      expiresAt: now + ttlSeconds * 1000,
    })
    return id
  }

  /** Finds and deletes a transaction. Exactly one caller can consume it. */
  async consume(id: string | undefined): Promise<SignInTransaction> {
    const missing = () =>
      new OtpkiError(
        'TRANSACTION_MISSING',
        'callback without a sign-in transaction (no cookie, replayed, or from another browser)',
        {
          publicMessage: 'This sign-in link is not valid in this browser any more. Please sign in again.',
        },
      )
    if (!id || id.length > 128) throw missing()
    const idHash = hashId(id)
    const em = this.orm.em.fork()
    const row = await em.findOne(AuthTransactionSchema, { idHash })
    if (!row) throw missing()
    const deleted = await em.nativeDelete(AuthTransactionSchema, { idHash })
    if (deleted !== 1) throw missing()
    const now = this.clock.now()
    if (now >= row.expiresAt) {
      const ago = Math.round((now - row.expiresAt) / 1000)
      throw new OtpkiError(
        'TRANSACTION_EXPIRED',
        `sign-in transaction expired ${ago} s ago: it took longer than transactionTtl (${Math.round((row.expiresAt - row.createdAt) / 1000)} s), not a replay`,
        { publicMessage: 'The sign-in took too long. Please sign in again.' },
      )
    }
    return {
      provider: row.provider,
      issuer: row.issuer,
      generation: row.generation,
      returnTo: row.returnTo,
      data: JSON.parse(row.data) as Record<string, string>,
      purpose: row.purpose === 'link' ? 'link' : 'sign-in',
      linkUserId: row.linkUserId ?? undefined,
      prompt: row.prompt === 'none' ? 'none' : undefined,
    }
  }

  /** How many sign-in transactions are stored. */
  pending(): Promise<number> {
    return this.orm.em.fork().count(AuthTransactionSchema, {})
  }

  /**
   * Deletes transactions that can no longer complete. They are kept for
   * `graceMs` past their expiry (an hour by default), so that a callback that
   * comes too late is told it expired, not that it is unknown.
   */
  async purgeExpired(graceMs = EXPIRED_GRACE_MS): Promise<number> {
    return this.orm.em.fork().nativeDelete(AuthTransactionSchema, { expiresAt: { $lte: this.clock.now() - graceMs } })
  }
}
