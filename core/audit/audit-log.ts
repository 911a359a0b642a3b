import type { Clock } from '../clock.ts'
import type { Logger } from '../logger.ts'
import type { Orm } from '../store/orm.ts'

/** What an audit event is about. */
export type AuditKind = 'sign-in' | 'sign-out' | 'admin' | 'cli' | 'reload'
export const AUDIT_KINDS: readonly AuditKind[] = ['sign-in', 'sign-out', 'admin', 'cli', 'reload']

/** One event of the audit trail, as it is recorded. */
export interface AuditEntry {
  readonly kind: AuditKind
  readonly outcome: 'success' | 'failure'
  /** A failure's error code (`STATE_MISMATCH`), or what was done (`session.end`, `role.grant`). */
  readonly reason?: string | undefined
  /** Whom it concerns. */
  readonly username?: string | undefined
  readonly provider?: string | undefined
  readonly method?: string | undefined
  /** Who did it: an administrator's username, `cli`, or `otpki` (the server itself). */
  readonly actor?: string | undefined
  /** More to know: the mapped identity, before and after, a reload's files. Never a secret or token. */
  readonly detail?: Readonly<Record<string, unknown>> | undefined
}

/** An event as read back. */
export interface AuditRecord extends AuditEntry {
  readonly id: number
  /** Epoch ms. */
  readonly at: number
}

export interface AuditFilter {
  user?: string | undefined
  provider?: string | undefined
  outcome?: 'success' | 'failure' | undefined
  kind?: AuditKind | undefined
  /** Epoch ms, inclusive. */
  since?: number | undefined
  /** Epoch ms, exclusive. */
  until?: number | undefined
  /** Only events older than this id (the next page). */
  before?: number | undefined
  /** At most this many, newest first (default 100, at most 1000). */
  limit?: number | undefined
}

/** Records what happened where the trail is kept: a table, and a structured log line per event. */
export interface AuditRecorder {
  record(entry: AuditEntry): void
}

interface AuditRow {
  id: number
  at: number | string
  kind: AuditKind
  outcome: 'success' | 'failure'
  reason: string | null
  username: string | null
  provider: string | null
  method: string | null
  actor: string | null
  detail: string | null
}

/**
 * The audit trail. Each event is a log line at once (`audit` holds it) and a row
 * in `audit_events`, written in the background: recording never delays or fails
 * the request it describes. Rows older than the retention are purged.
 */
export class AuditLog implements AuditRecorder {
  private readonly pending = new Set<Promise<void>>()
  private readonly listeners = new Set<(entry: AuditEntry) => void>()

  constructor(
    private readonly orm: Orm,
    private readonly clock: Clock,
    private readonly logger: Logger,
    /** How long rows are kept, ms. */
    private readonly retentionMs: number,
  ) {}

  /** Called for every event recorded in this process (metrics count them). */
  onRecord(listener: (entry: AuditEntry) => void): void {
    this.listeners.add(listener)
  }

  record(entry: AuditEntry): void {
    const at = this.clock.now()
    const { kind, outcome, reason, username, provider, method, actor, detail } = entry
    this.logger.info(
      { audit: { kind, outcome, reason, username, provider, method, actor, detail } },
      `audit: ${kind} ${outcome}${reason ? ` (${reason})` : ''}${username ? ` ${username}` : ''}`,
    )
    for (const listener of this.listeners) listener(entry)
    const written = this.orm.em
      .getConnection()
      .execute(
        'insert into audit_events (at, kind, outcome, reason, username, provider, method, actor, detail) values (?, ?, ?, ?, ?, ?, ?, ?, ?)',
        [
          at,
          kind,
          outcome,
          reason ?? null,
          username ?? null,
          provider ?? null,
          method ?? null,
          actor ?? null,
          detail ? JSON.stringify(detail) : null,
        ],
        'run',
      )
      .then(
        () => undefined,
        (error: unknown) => this.logger.error({ err: error, kind }, 'could not write an audit event'),
      )
      .finally(() => this.pending.delete(written))
    this.pending.add(written)
  }

  /** Resolves once every event recorded so far is written (tests, shutdown, the CLI). */
  async flush(): Promise<void> {
    await Promise.all([...this.pending])
  }

  /** Events, newest first, by the filter's indexed columns. */
  async query(filter: AuditFilter = {}): Promise<AuditRecord[]> {
    await this.flush()
    const where: string[] = []
    const params: unknown[] = []
    const add = (sql: string, value: unknown) => {
      where.push(sql)
      params.push(value)
    }
    if (filter.user !== undefined) add('username = ?', filter.user)
    if (filter.provider !== undefined) add('provider = ?', filter.provider)
    if (filter.outcome !== undefined) add('outcome = ?', filter.outcome)
    if (filter.kind !== undefined) add('kind = ?', filter.kind)
    if (filter.since !== undefined) add('at >= ?', filter.since)
    if (filter.until !== undefined) add('at < ?', filter.until)
    if (filter.before !== undefined) add('id < ?', filter.before)
    const limit = Math.min(Math.max(1, Math.trunc(filter.limit ?? 100)), 1000)
    const rows = await this.orm.em
      .getConnection()
      .execute<AuditRow[]>(
        `select * from audit_events${where.length ? ` where ${where.join(' and ')}` : ''} order by id desc limit ${limit}`,
        params,
        'all',
      )
    return rows.map((r) => ({
      id: Number(r.id),
      at: Number(r.at),
      kind: r.kind,
      outcome: r.outcome,
      reason: r.reason ?? undefined,
      username: r.username ?? undefined,
      provider: r.provider ?? undefined,
      method: r.method ?? undefined,
      actor: r.actor ?? undefined,
      detail: r.detail ? (JSON.parse(r.detail) as Record<string, unknown>) : undefined,
    }))
  }

  /** Deletes events older than the retention; answers how many. */
  async purge(): Promise<number> {
    const result = await this.orm.em
      .getConnection()
      .execute<{ affectedRows?: number }>(
        'delete from audit_events where at < ?',
        [this.clock.now() - this.retentionMs],
        'run',
      )
    return Number(result.affectedRows ?? 0)
  }
}
