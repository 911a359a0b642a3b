import { randomBytes } from 'node:crypto'
import type pg from 'pg'
import type { Clock } from '../clock.ts'
import type { Logger } from '../logger.ts'
import { pgConnection, type DatabaseTarget } from './database.ts'
import { ChangeSchema } from './entities.ts'
import type { Orm } from './orm.ts'

/** A change that affects authentication, as every instance's caches hear it. */
export type Change =
  /** A user's names, roles, state or credentials changed. */
  | { readonly kind: 'user'; readonly id: number }
  /** A session ended (by the hash of its id). */
  | { readonly kind: 'session'; readonly hash: string }
  /** Every session through a provider ended. */
  | { readonly kind: 'provider'; readonly name: string }
  /** A back-channel logout ended an issuer's sessions, by provider session id or by subject. */
  | { readonly kind: 'logout'; readonly issuer: string; readonly sid?: string; readonly sub?: string }
  /** Something may have been missed: drop every cached answer. */
  | { readonly kind: 'reset' }

/** The PostgreSQL channel changes are announced on. */
export const CHANGE_CHANNEL = 'otpki_changes'
/** How often an SQLite instance looks for changes others made (a single indexed read). */
export const CHANGE_POLL_MS = 200
/** How long change rows are kept on SQLite. */
const CHANGE_RETENTION_MS = 60 * 60_000

/**
 * Carries changes that affect authentication between every process on one
 * database: the running instances, and the CLI. A change is applied to this
 * process's caches at once, and announced: on PostgreSQL by NOTIFY (a
 * listening connection hears the others', and drops every cache after a
 * reconnect, when one may have been missed); on SQLite as a row in `changes`,
 * which the running server reads every {@link CHANGE_POLL_MS}. Caches stay: a
 * request never waits for the database.
 */
export class ChangeFeed {
  /** Tells this process's changes from others'. */
  readonly origin = randomBytes(9).toString('base64url')
  private readonly handlers = new Set<(change: Change) => void>()
  private stopped = false
  private timer: NodeJS.Timeout | undefined
  private lastSeen = 0
  private listener: pg.Client | undefined
  private reconnectDelay = 500
  private readonly pending = new Set<Promise<void>>()
  /** Announced changes, and when they arrived (tests and the benchmark read them). */
  readonly received: { change: Change; at: number }[] = []

  constructor(
    private readonly orm: Orm,
    private readonly db: DatabaseTarget,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /** Called for every change: this process's and every other's. */
  subscribe(handler: (change: Change) => void): () => void {
    this.handlers.add(handler)
    return () => this.handlers.delete(handler)
  }

  /** Applies a change here and announces it to every other process on the database. */
  publish(change: Change): Promise<void> {
    this.apply(change)
    const sent = this.announce(change).finally(() => this.pending.delete(sent))
    this.pending.add(sent)
    return sent
  }

  private async announce(change: Change): Promise<void> {
    const payload = JSON.stringify({ o: this.origin, c: change })
    try {
      const connection = this.orm.em.fork().getConnection()
      if (this.db.kind === 'postgresql') await connection.execute('select pg_notify(?, ?)', [CHANGE_CHANNEL, payload])
      else
        await this.orm.em
          .fork()
          .insert(ChangeSchema, { origin: this.origin, payload: JSON.stringify(change), at: this.clock.now() })
    } catch (error) {
      // The change itself is written; others see it when their caches expire (at most a minute).
      this.logger.error({ err: error, change: change.kind }, 'could not announce a change to other instances')
    }
  }

  /** Starts hearing the others' changes (the running server; the CLI only publishes). */
  async listen(): Promise<void> {
    if (this.db.kind === 'postgresql') {
      await this.connectListener()
      return
    }
    const last = await this.orm.em
      .fork()
      .getConnection()
      .execute<{ id: number | null }[]>('select max(id) as id from changes')
    this.lastSeen = Number(last[0]?.id ?? 0)
    const tick = async () => {
      if (this.stopped) return
      try {
        await this.poll()
      } catch (error) {
        this.logger.warn({ err: error }, 'could not read changes made by other processes')
      }
      if (!this.stopped) this.timer = setTimeout(tick, CHANGE_POLL_MS).unref()
    }
    this.timer = setTimeout(tick, CHANGE_POLL_MS).unref()
  }

  /** Stops listening, once every change this process made is announced. */
  async close(): Promise<void> {
    await Promise.all(this.pending)
    this.stopped = true
    clearTimeout(this.timer)
    const listener = this.listener
    this.listener = undefined
    await listener?.end().catch(() => undefined)
  }

  /** Deletes change rows no process needs any more (SQLite). */
  async purge(): Promise<void> {
    if (this.db.kind === 'sqlite')
      await this.orm.em.fork().nativeDelete(ChangeSchema, { at: { $lt: this.clock.now() - CHANGE_RETENTION_MS } })
  }

  private async poll(): Promise<void> {
    const rows = await this.orm.em
      .fork()
      .find(ChangeSchema, { id: { $gt: this.lastSeen } }, { orderBy: { id: 'asc' }, limit: 1000 })
    if (rows.length > 0 && rows[0]!.id > this.lastSeen + 1 && this.lastSeen > 0) {
      // Rows were purged before this process read them: it cannot know what it missed.
      this.apply({ kind: 'reset' })
    }
    for (const row of rows) {
      this.lastSeen = row.id
      if (row.origin !== this.origin) this.receive(row.payload)
    }
  }

  private async connectListener(): Promise<void> {
    if (this.db.kind !== 'postgresql' || this.stopped) return
    const { default: postgres } = await import('pg')
    const client = new postgres.Client({ ...pgConnection(this.db), connectionTimeoutMillis: 5000 })
    const lost = (error?: Error) => {
      if (this.listener !== client) return
      this.listener = undefined
      client.end().catch(() => undefined)
      if (this.stopped) return
      this.logger.warn(
        { reason: error?.message },
        'lost the change notifications; every cache is dropped until they are back',
      )
      this.apply({ kind: 'reset' })
      setTimeout(() => void this.reconnect(), this.reconnectDelay).unref()
    }
    client.on('error', lost)
    client.on('end', () => lost())
    client.on('notification', (message) => {
      if (message.channel !== CHANGE_CHANNEL || !message.payload) return
      try {
        const { o, c } = JSON.parse(message.payload) as { o: string; c: Change }
        if (o !== this.origin) this.deliver(c)
      } catch {
        this.apply({ kind: 'reset' })
      }
    })
    await client.connect()
    await client.query(`listen ${CHANGE_CHANNEL}`)
    this.listener = client
  }

  private async reconnect(): Promise<void> {
    try {
      await this.connectListener()
      this.reconnectDelay = 500
      // Whatever was announced while nobody listened is unknown: drop every cache once more.
      this.apply({ kind: 'reset' })
      this.logger.info('change notifications are back')
    } catch (error) {
      this.reconnectDelay = Math.min(this.reconnectDelay * 2, 10_000)
      this.logger.warn({ reason: (error as Error).message }, 'cannot listen for changes yet; trying again')
      if (!this.stopped) setTimeout(() => void this.reconnect(), this.reconnectDelay).unref()
    }
  }

  private receive(payload: string): void {
    try {
      this.deliver(JSON.parse(payload) as Change)
    } catch {
      this.apply({ kind: 'reset' })
    }
  }

  private deliver(change: Change): void {
    this.received.push({ change, at: this.clock.now() })
    if (this.received.length > 1000) this.received.splice(0, this.received.length - 1000)
    this.apply(change)
  }

  private apply(change: Change): void {
    for (const handler of this.handlers) {
      try {
        handler(change)
      } catch (error) {
        this.logger.error({ err: error, change: change.kind }, 'a cache could not apply a change')
      }
    }
  }
}
