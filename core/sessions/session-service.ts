import { LRUCache } from 'lru-cache'
import { inject, injectable } from 'tsyringe'
import type { Clock } from '../clock.ts'
import type { ResolvedConfig } from '../config/main-config.ts'
import type { LogoutSubject, ProviderTokens } from '../contracts/auth-method.ts'
import type { StoredUser } from '../contracts/user-sync.ts'
import { TOKENS } from '../di/tokens.ts'
import type { Logger } from '../logger.ts'
import type { Change, ChangeFeed } from '../store/change-feed.ts'
import type { EntityManager } from '@mikro-orm/core'
import { mikro } from '../store/mikro.ts'
import { LogoutTokenSchema, SessionSchema } from '../store/entities.ts'
import type { Orm } from '../store/orm.ts'
import { hashId, newId } from './ids.ts'
import type { TokenVault } from './token-vault.ts'

/** Who is signed in, as `/auth/me` and the pages show it. */
export interface Principal {
  readonly user: {
    readonly id: number
    readonly username: string
    readonly firstName: string | null
    readonly lastName: string | null
    readonly email: string | null
    readonly roles: readonly string[]
  }
  readonly method: string
  readonly provider: string | null
}

/** The principal of a user (a stored row or a StoredUser), signed in by `method` through `provider`. */
export function principalOf(
  user: {
    id: number
    username: string
    firstName?: string | null | undefined
    lastName?: string | null | undefined
    email?: string | null | undefined
    roles: readonly string[]
  },
  method: string,
  provider: string | null,
): Principal {
  const { id, username, firstName, lastName, email, roles } = user
  return {
    user: { id, username, firstName: firstName ?? null, lastName: lastName ?? null, email: email ?? null, roles },
    method,
    provider,
  }
}

/** A session as the console lists it. */
export interface SessionSummary {
  readonly idHash: string
  readonly username: string
  readonly method: string
  readonly provider: string | null
  readonly createdAt: number
  readonly lastSeenAt: number
  /** When it ends unless used again (idle) or at the latest. */
  readonly expiresAt: number
}

export interface ActiveSession {
  readonly idHash: string
  readonly principal: Principal
  /** Epoch ms at which the session ends unless used again (idle) or at the latest (absolute). */
  readonly expiresAt: number
  /** Its idle limit: how long it may go unused, ms. */
  readonly maxInactiveMs: number
  /** Its absolute end, epoch ms, however much it is used. */
  readonly endsAt: number
}

/** A session in the cache: one object per session, its methods on the prototype (the cache may hold 100,000). */
class CachedSession {
  persistedLastSeenAt: number
  constructor(
    readonly idHash: string,
    readonly issuer: string | null,
    readonly subject: string | null,
    readonly sid: string | null,
    /** When the session began (clock ms). */
    readonly createdAt: number,
    /** When this entry was read from the database (clock ms). */
    readonly loadedAt: number,
    /** Shared by every cached session with the same content (see {@link Principals}). */
    readonly principal: Principal,
    readonly expiresAt: number,
    readonly maxInactiveMs: number,
    public lastSeenAt: number,
  ) {
    this.persistedLastSeenAt = lastSeenAt
  }

  get userId(): number {
    return this.principal.user.id
  }

  active(now: number): ActiveSession {
    return {
      idHash: this.idHash,
      principal: this.principal,
      expiresAt: Math.min(this.expiresAt, now + this.maxInactiveMs),
      maxInactiveMs: this.maxInactiveMs,
      endsAt: this.expiresAt,
    }
  }
}

/**
 * One principal object for every cached session of the same user, method,
 * provider and content, counted so that it goes with the last of them. Many
 * sessions of one user then cost one principal (and one answer JSON).
 */
class Principals {
  /** What makes two principals the same: who, how, through which provider, and all that the answer shows. */
  private static contentKey(principal: Principal): string {
    const { user, method, provider } = principal
    return [user.id, method, provider, user.username, user.firstName, user.lastName, user.email, ...user.roles].join(
      '\u0000',
    )
  }

  private readonly byKey = new Map<string, { principal: Principal; count: number }>()

  take(principal: Principal): Principal {
    const key = Principals.contentKey(principal)
    const held = this.byKey.get(key)
    if (held) {
      held.count++
      return held.principal
    }
    this.byKey.set(key, { principal, count: 1 })
    return principal
  }

  release(principal: Principal): void {
    const key = Principals.contentKey(principal)
    const held = this.byKey.get(key)
    if (held && held.principal === principal && --held.count === 0) this.byKey.delete(key)
  }
}

/** How long a cached session is trusted before it is read again from the database. */
const CACHE_TTL_MS = 60_000

/** Read from the database too long ago: read it again (a revocation elsewhere is then seen). */
const isStale = (c: CachedSession, now: number) => now - c.loadedAt > CACHE_TTL_MS
/** Past its absolute end, or idle for longer than allowed. */
const isExpired = (c: CachedSession, now: number) => now >= c.expiresAt || now - c.lastSeenAt >= c.maxInactiveMs
/** Time to record the idle timer in the database (at most a quarter of the idle timeout late). */
const persistDue = (c: CachedSession, now: number) =>
  now - c.persistedLastSeenAt >= Math.min(60_000, c.maxInactiveMs / 4)

/**
 * Server-side sessions: opaque ids (stored hashed), idle and absolute expiry,
 * revocation. Lookups are answered from a bounded cache, so the per-request
 * auth check needs no database round trip; sign-out, expiry and user changes
 * invalidate it.
 */
@injectable()
export class SessionService {
  private readonly cache: LRUCache<string, CachedSession>
  private readonly principals = new Principals()
  /** Cookie value by session hash: what other processes name when a session ends. */
  private readonly idsByHash = new Map<string, string>()
  /**
   * When each revoked provider was revoked: its sessions begun until then are
   * refused at once, before the database delete that ends them for good has
   * finished (or while a lookup that read them before the delete comes back).
   */
  private readonly providerRevokedAt = new Map<string, number>()
  /** Loads in flight, by cookie value: concurrent requests for one session read it once. */
  private readonly loading = new Map<string, Promise<CachedSession | undefined>>()
  /** Sessions waiting for the next batch read. */
  private readonly queued = new Map<string, Waiter>()
  private readsInFlight = 0
  private readonly maxReadsInFlight: number
  private readScheduled = false
  /** Counts the changes applied: a load during which one arrived may have read what it made stale. */
  private changesApplied = 0
  /** Idle timers not yet written, by session hash: written together, in one statement per batch. */
  private readonly unsavedSeen = new Map<string, number>()
  private saveTimer: NodeJS.Timeout | undefined
  private saving: Promise<void> = Promise.resolve()
  /** Lookups answered from the cache, and sessions read from the database (the metrics read them). */
  readonly stats = { hits: 0, misses: 0 }

  constructor(
    @inject(TOKENS.Orm) private readonly orm: Orm,
    @inject(TOKENS.Clock) private readonly clock: Clock,
    @inject(TOKENS.Logger) private readonly logger: Logger,
    @inject(TOKENS.TokenVault) private readonly vault: TokenVault,
    @inject(TOKENS.ChangeFeed) private readonly feed: ChangeFeed,
    @inject(TOKENS.Config) config: Pick<ResolvedConfig, 'sessionCacheSize' | 'db'>,
  ) {
    // SQLite answers one query at a time: one batch read in flight, the others gather into the next.
    this.maxReadsInFlight = config.db.kind === 'sqlite' ? 1 : 4
    this.cache = new LRUCache<string, CachedSession>({
      max: config.sessionCacheSize,
      dispose: (entry, id) => {
        if (this.idsByHash.get(entry.idHash) === id) this.idsByHash.delete(entry.idHash)
        this.principals.release(entry.principal)
      },
      disposeAfter: (entry, _id, reason) => {
        if (reason === 'evict' && entry.lastSeenAt > entry.persistedLastSeenAt) this.persistLastSeen(entry)
      },
    })
    feed.subscribe((change) => this.apply(change))
  }

  /** A change made here or by another process: drop what it makes stale. */
  private apply(change: Change): void {
    this.changesApplied++
    switch (change.kind) {
      case 'session': {
        const id = this.idsByHash.get(change.hash)
        if (id !== undefined) this.cache.delete(id)
        return
      }
      case 'provider':
        this.providerRevokedAt.set(change.name, this.clock.now())
        for (const [id, entry] of this.cache.entries())
          if (entry.principal.provider === change.name) this.cache.delete(id)
        return
      case 'logout':
        for (const [id, entry] of this.cache.entries()) {
          if (entry.issuer === change.issuer && (change.sid ? entry.sid === change.sid : entry.subject === change.sub))
            this.cache.delete(id)
        }
        return
      case 'user':
        this.invalidateUser(change.id)
        return
      case 'reset':
        // Keep the idle timers of what is dropped, then read every session anew.
        void this.flush().catch(() => undefined)
        this.cache.clear()
        return
    }
  }

  /** Starts a session for a user who just signed in. Always a fresh id. */
  async create(input: {
    user: StoredUser
    method: string
    provider: string | null
    maxInactive: number
    maxLength: number
    idToken?: string | undefined
    /** The identity and provider session, for back-channel logout. */
    issuer?: string | undefined
    subject?: string | undefined
    sid?: string | undefined
    /** Provider tokens to keep, encrypted (storeTokens). */
    tokens?: ProviderTokens | undefined
    /** The transaction to write it in (the sign-in's, so user sync and session are all or nothing); flushed by its owner. */
    em?: EntityManager | undefined
  }): Promise<{ id: string; expiresAt: number }> {
    const id = newId()
    const idHash = hashId(id)
    const now = this.clock.now()
    const expiresAt = now + input.maxLength * 1000
    const em = input.em ?? this.orm.em.fork()
    // A statement, not the unit of work: no flush (see inTransaction).
    await em.insert(SessionSchema, {
      idHash,
      user: input.user.id,
      method: input.method,
      provider: input.provider,
      createdAt: now,
      lastSeenAt: now,
      expiresAt,
      maxInactive: input.maxInactive,
      idToken: input.idToken ? this.vault.seal(input.idToken, { session: idHash, kind: 'id_token' }) : null,
      issuer: input.issuer ?? null,
      subject: input.subject ?? null,
      sid: input.sid ?? null,
      tokens: input.tokens ? this.vault.seal(input.tokens, { session: idHash, kind: 'tokens' }) : null,
    })
    return { id, expiresAt: Math.min(expiresAt, now + input.maxInactive * 1000) }
  }

  /**
   * The cache-hit path of {@link lookup}, without a promise: the session when
   * the cache can answer alone, else undefined (then call `lookup`).
   */
  peek(id: string | undefined): ActiveSession | undefined {
    const cached = id ? this.cache.get(id) : undefined
    if (!cached) return undefined
    const now = this.clock.now()
    if (isStale(cached, now) || isExpired(cached, now) || persistDue(cached, now) || this.isRevoked(cached))
      return undefined
    cached.lastSeenAt = now
    this.stats.hits++
    return cached.active(now)
  }

  /** Sessions in this instance's cache. */
  get cached(): number {
    return this.cache.size
  }

  /**
   * The active session for a cookie value, or undefined. Refreshes the idle
   * timer. The in-memory cache is keyed by the cookie value itself (process
   * memory only, like the request that carries it); the database only ever
   * sees its hash. A cache hit costs no hashing and no database round trip.
   */
  async lookup(id: string | undefined): Promise<ActiveSession | undefined> {
    if (!id || id.length > 128) return undefined
    const hit = this.peek(id)
    if (hit) return hit
    const now = this.clock.now()
    let cached = this.cache.get(id)
    if (!cached || isStale(cached, now)) {
      // Read again now and then, so a session revoked or changed elsewhere is seen.
      const fresh = await this.loadOnce(id)
      if (fresh && cached) fresh.lastSeenAt = Math.max(fresh.lastSeenAt, cached.lastSeenAt)
      cached = fresh
    }
    if (!cached) return undefined
    if (this.isRevoked(cached)) {
      this.cache.delete(id)
      return undefined
    }
    if (isExpired(cached, now)) {
      await this.end(id, 'expired')
      return undefined
    }
    cached.lastSeenAt = now
    if (persistDue(cached, now)) this.persistLastSeen(cached)
    return cached.active(now)
  }

  /** Begun through a provider that was revoked since: ended, whether or not the database has caught up. */
  private isRevoked(entry: CachedSession): boolean {
    if (this.providerRevokedAt.size === 0 || entry.principal.provider === null) return false
    const revokedAt = this.providerRevokedAt.get(entry.principal.provider)
    return revokedAt !== undefined && entry.createdAt <= revokedAt
  }

  /** Ends a session for good, by its cookie value. Returns what sign-out at the provider needs. */
  async revoke(id: string): Promise<{ provider: string | null; idToken: string | undefined } | undefined> {
    const em = this.orm.em.fork()
    const idHash = hashId(id)
    const row = await em.findOne(SessionSchema, { idHash })
    await this.end(id, 'sign-out')
    return row
      ? {
          provider: row.provider ?? null,
          idToken: row.idToken ? this.openSealed<string>(row.idToken, idHash, 'id_token') : undefined,
        }
      : undefined
  }

  /** A sealed value of this session, or undefined (logged) when it does not open: sign-out and refresh go on without it. */
  private openSealed<T>(sealed: string, session: string, kind: 'tokens' | 'id_token'): T | undefined {
    try {
      return this.vault.open<T>(sealed, { session, kind })
    } catch (error) {
      this.logger.warn(
        { session: session.slice(0, 12), kind, reason: (error as Error).message },
        `stored ${kind} cannot be decrypted (another key, or not this session's); ignored`,
      )
      return undefined
    }
  }

  /** The provider tokens stored with a session, if any. */
  async storedTokens(idHash: string): Promise<ProviderTokens | undefined> {
    const row = await this.orm.em.fork().findOne(SessionSchema, { idHash }, { fields: ['tokens'] })
    return row?.tokens ? this.openSealed<ProviderTokens>(row.tokens, idHash, 'tokens') : undefined
  }

  async replaceTokens(idHash: string, tokens: ProviderTokens): Promise<void> {
    await this.orm.em.fork().nativeUpdate(
      SessionSchema,
      { idHash },
      {
        tokens: this.vault.seal(tokens, { session: idHash, kind: 'tokens' }),
        ...(tokens.idToken ? { idToken: this.vault.seal(tokens.idToken, { session: idHash, kind: 'id_token' }) } : {}),
      },
    )
  }

  /**
   * Back-channel logout: ends the sessions of an issuer's session id, or of
   * an issuer's subject. Returns how many ended.
   */
  async endByLogout(issuer: string, subject: LogoutSubject): Promise<number> {
    const where = subject.sid ? { issuer, sid: subject.sid } : { issuer, subject: subject.sub! }
    const ended = await this.orm.em.fork().nativeDelete(SessionSchema, where)
    await this.feed.publish({
      kind: 'logout',
      issuer,
      ...(subject.sid ? { sid: subject.sid } : { sub: subject.sub! }),
    })
    return ended
  }

  /**
   * Records a back-channel logout token as used, until it expires. False when
   * it was used before (a replay): the caller then ends nothing.
   */
  async useLogoutToken(issuer: string, jti: string, expiresAt: number): Promise<boolean> {
    const em = this.orm.em.fork()
    try {
      await em.insert(LogoutTokenSchema, { issuer, jti, expiresAt })
      return true
    } catch (error) {
      if (error instanceof mikro.UniqueConstraintViolationException) return false
      throw error
    }
  }

  /**
   * Ends every session signed in through a provider (removed, disabled, or its
   * issuer changed). Returns how many ended.
   */
  async endByProvider(provider: string): Promise<number> {
    this.apply({ kind: 'provider', name: provider })
    const ended = await this.orm.em.fork().nativeDelete(SessionSchema, { provider })
    // Also drops what a lookup read before the delete.
    await this.feed.publish({ kind: 'provider', name: provider })
    return ended
  }

  /** Ends one session by its hash (an administrator's action); answers whether it existed. */
  async endByHash(idHash: string): Promise<boolean> {
    const ended = await this.orm.em.fork().nativeDelete(SessionSchema, { idHash })
    await this.feed.publish({ kind: 'session', hash: idHash })
    return ended > 0
  }

  /** Ends every session of a user ("sign out everywhere"); answers how many. */
  async endByUser(userId: number): Promise<number> {
    const ended = await this.orm.em.fork().nativeDelete(SessionSchema, { user: userId })
    await this.feed.publish({ kind: 'user', id: userId })
    return ended
  }

  /** Active sessions, most recently used first (as far as the database knows: last use is written in batches). */
  async list(options: { userId?: number; idHash?: string; limit?: number } = {}): Promise<SessionSummary[]> {
    const now = this.clock.now()
    const limit = Math.min(Math.max(1, Math.trunc(options.limit ?? 100)), 1000)
    const where = ['s.expires_at > ?']
    const params: unknown[] = [now]
    if (options.userId !== undefined) {
      where.push('s.user_id = ?')
      params.push(options.userId)
    }
    if (options.idHash !== undefined) {
      where.push('s.id_hash = ?')
      params.push(options.idHash)
    }
    const rows = await this.orm.em.getConnection().execute<
      {
        id_hash: string
        username: string
        method: string
        provider: string | null
        created_at: number | string
        last_seen_at: number | string
        expires_at: number | string
        max_inactive: number
      }[]
    >(
      `select s.id_hash, u.username, s.method, s.provider, s.created_at, s.last_seen_at, s.expires_at, s.max_inactive
        from sessions s join users u on u.id = s.user_id
        where ${where.join(' and ')}
        order by s.last_seen_at desc limit ${limit}`,
      params,
      'all',
    )
    return rows
      .map((r) => {
        const lastSeenAt = Math.max(Number(r.last_seen_at), this.unsavedSeen.get(r.id_hash) ?? 0)
        return {
          idHash: r.id_hash,
          username: r.username,
          method: r.method,
          provider: r.provider,
          createdAt: Number(r.created_at),
          lastSeenAt,
          expiresAt: Math.min(Number(r.expires_at), lastSeenAt + r.max_inactive * 1000),
        }
      })
      .filter((s) => s.expiresAt > now)
  }

  /** Drops cached sessions of a user whose data changed, so the next request reads it anew. */
  invalidateUser(userId: number): void {
    for (const [id, entry] of this.cache.entries()) if (entry.userId === userId) this.cache.delete(id)
  }

  /** Writes pending idle timestamps (at shutdown, and before every cache is dropped). */
  async flush(): Promise<void> {
    for (const entry of this.cache.values())
      if (entry.lastSeenAt > entry.persistedLastSeenAt) this.persistLastSeen(entry)
    await this.saveSeen()
  }

  /** Deletes sessions past their absolute end, and logout tokens past their expiry. */
  async purgeExpired(): Promise<number> {
    const now = this.clock.now()
    await this.orm.em.fork().nativeDelete(LogoutTokenSchema, { expiresAt: { $lte: now } })
    return this.orm.em.fork().nativeDelete(SessionSchema, { expiresAt: { $lte: now } })
  }

  private async end(id: string, reason: string): Promise<void> {
    this.cache.delete(id)
    const idHash = hashId(id)
    await this.orm.em.fork().nativeDelete(SessionSchema, { idHash })
    await this.feed.publish({ kind: 'session', hash: idHash })
    this.logger.debug({ session: idHash.slice(0, 12), reason }, 'session ended')
  }

  /** One read of a session at a time: concurrent lookups share it. */
  private loadOnce(id: string): Promise<CachedSession | undefined> {
    let loading = this.loading.get(id)
    if (!loading) {
      this.stats.misses++
      loading = new Promise<CachedSession | undefined>((resolve, reject) => {
        this.queued.set(id, { resolve, reject })
      }).finally(() => this.loading.delete(id))
      this.loading.set(id, loading)
      this.scheduleReads()
    }
    return loading
  }

  /** Starts a batch read when a slot is free; requests that come meanwhile wait for the next batch. */
  private scheduleReads(): void {
    if (this.readsInFlight >= this.maxReadsInFlight || this.readScheduled || this.queued.size === 0) return
    this.readScheduled = true
    setImmediate(() => {
      this.readScheduled = false
      const batch = new Map([...this.queued].slice(0, READ_BATCH))
      for (const id of batch.keys()) this.queued.delete(id)
      this.readsInFlight++
      this.load(batch)
        .finally(() => {
          this.readsInFlight--
          this.scheduleReads()
        })
        .catch(() => undefined)
      this.scheduleReads()
    })
  }

  /**
   * Reads sessions with their users and roles, one query for the batch, and
   * caches them. A change that arrives during the read (a sign-out elsewhere,
   * say) may concern what was read: the batch is read again, and not cached
   * if changes keep coming.
   */
  private async load(batch: ReadonlyMap<string, Waiter>): Promise<void> {
    const hashes = new Map([...batch.keys()].map((id) => [hashId(id), id]))
    try {
      for (let attempt = 1; ; attempt++) {
        const before = this.changesApplied
        const rows = await this.orm.em
          .getConnection()
          .execute<SessionRow[]>(sessionQuery(hashes.size), [...hashes.keys()])
        const settled = this.changesApplied === before
        if (!settled && attempt < 3) continue
        const byHash = new Map<string, SessionRow[]>()
        for (const row of rows) {
          const list = byHash.get(row.id_hash)
          if (list) list.push(row)
          else byHash.set(row.id_hash, [row])
        }
        const now = this.clock.now()
        for (const [idHash, id] of hashes) {
          const found = byHash.get(idHash)
          if (!found) {
            this.cache.delete(id)
            batch.get(id)!.resolve(undefined)
            continue
          }
          const principal = principalOfRows(found)
          const entry = cachedSession(idHash, found[0]!, now, settled ? this.principals.take(principal) : principal)
          if (settled) {
            this.cache.set(id, entry)
            this.idsByHash.set(idHash, id)
          }
          batch.get(id)!.resolve(entry)
        }
        return
      }
    } catch (error) {
      for (const waiter of batch.values()) waiter.reject(error)
    }
  }

  /** Records a session's idle timer; written with others within {@link SAVE_DELAY_MS}. */
  private persistLastSeen(entry: CachedSession): void {
    entry.persistedLastSeenAt = entry.lastSeenAt
    this.unsavedSeen.set(entry.idHash, Math.max(this.unsavedSeen.get(entry.idHash) ?? 0, entry.lastSeenAt))
    this.saveTimer ??= setTimeout(() => void this.saveSeen(), SAVE_DELAY_MS).unref()
  }

  /** Writes the idle timers recorded so far, a batch per statement; a timer only ever moves forward. */
  private saveSeen(): Promise<void> {
    clearTimeout(this.saveTimer)
    this.saveTimer = undefined
    const batch = [...this.unsavedSeen]
    this.unsavedSeen.clear()
    this.saving = this.saving.then(async () => {
      for (let i = 0; i < batch.length; i += SAVE_BATCH) {
        const part = batch.slice(i, i + SAVE_BATCH)
        try {
          await this.orm.em
            .getConnection()
            .execute(
              `update sessions set last_seen_at = v.t from (select column1 as h, column2 as t from (values ${part.map(() => '(?, cast(? as bigint))').join(', ')}) as x) as v where sessions.id_hash = v.h and sessions.last_seen_at < v.t`,
              part.flat(),
            )
        } catch (error) {
          this.logger.warn({ err: error, sessions: part.length }, 'could not record session activity')
        }
      }
    })
    return this.saving
  }
}

/** How long idle timers wait to be written together. */
const SAVE_DELAY_MS = 1000
const SAVE_BATCH = 500

/** How many sessions one batch read reads, at most. */
const READ_BATCH = 200

interface Waiter {
  resolve(entry: CachedSession | undefined): void
  reject(error: unknown): void
}

/** Sessions with their users, one row per role (one row without a role when the user has none). */
const sessionQuery = (
  count: number,
) => `select s.id_hash, s.user_id, s.method, s.provider, s.created_at, s.last_seen_at, s.expires_at,
  s.max_inactive, s.issuer, s.subject, s.sid, u.username, u.first_name, u.last_name, u.email, r.name as role
  from sessions s join users u on u.id = s.user_id
  left join user_roles ur on ur.user_id = u.id left join roles r on r.id = ur.role_id
  where u.disabled = false and s.id_hash in (${Array.from({ length: count }, () => '?').join(', ')})`

interface SessionRow {
  id_hash: string
  user_id: number | string
  method: string
  provider: string | null
  created_at: number | string
  last_seen_at: number | string
  expires_at: number | string
  max_inactive: number | string
  issuer: string | null
  subject: string | null
  sid: string | null
  username: string
  first_name: string | null
  last_name: string | null
  email: string | null
  role: string | null
}

/** The principal of a session's rows (one per role). */
function principalOfRows(rows: readonly SessionRow[]): Principal {
  const row = rows[0]!
  return principalOf(
    {
      id: Number(row.user_id),
      username: row.username,
      firstName: row.first_name,
      lastName: row.last_name,
      email: row.email,
      roles: rows.flatMap((r) => (r.role === null ? [] : [r.role])).sort(),
    },
    row.method,
    row.provider,
  )
}

/** The cache entry of a session read from the database (PostgreSQL answers bigints as strings). */
function cachedSession(idHash: string, row: SessionRow, now: number, principal: Principal): CachedSession {
  return new CachedSession(
    idHash,
    row.issuer,
    row.subject,
    row.sid,
    Number(row.created_at),
    now,
    principal,
    Number(row.expires_at),
    Number(row.max_inactive) * 1000,
    Number(row.last_seen_at),
  )
}
