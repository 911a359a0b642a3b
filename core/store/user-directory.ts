import type { EntityManager } from '@mikro-orm/core'
import type { Clock } from '../clock.ts'
import type { StoredUser } from '../contracts/user-sync.ts'
import { OtpkiError } from '../errors.ts'
import { normalizeUsername, usernameKey } from '../identity/username.ts'
import { UserRoleSchema, UserSchema, type User } from './entities.ts'
import type { ChangeFeed } from './change-feed.ts'
import type { Orm } from './orm.ts'
import { inTransaction } from './transaction.ts'
import { OrmUserStore, storedUser } from './user-store.ts'

/**
 * The users, as plugins and administration see them: lookup, the user list,
 * creation outside a sign-in, and the signal that a user changed.
 */
export class UserDirectory {
  private readonly listeners = new Set<(userId: number | undefined) => void>()

  constructor(
    private readonly orm: Orm,
    private readonly clock: Clock,
    private readonly feed: ChangeFeed,
  ) {
    feed.subscribe((change) => {
      if (change.kind === 'user') for (const listener of this.listeners) listener(change.id)
      else if (change.kind === 'reset') for (const listener of this.listeners) listener(undefined)
    })
  }

  /**
   * Called with a user's id whenever that user changes, in this process or
   * any other on the database (a sign-in synced it, its credentials changed);
   * with undefined when any user may have changed. Caches drop their answers.
   */
  onChange(listener: (userId: number | undefined) => void): void {
    this.listeners.add(listener)
  }

  /** Announces that a user changed (their names, roles or credentials), here and to every other process. */
  changed(userId: number): void {
    void this.feed.publish({ kind: 'user', id: userId })
  }

  async findByUsername(username: string): Promise<StoredUser | undefined> {
    return new OrmUserStore(this.orm.em.fork(), this.clock).findByUsername(username)
  }

  async findById(id: number): Promise<StoredUser | undefined> {
    const em = this.orm.em.fork()
    const user = await em.findOne(UserSchema, { id })
    return user ? new OrmUserStore(em, this.clock).findByUsername(user.username) : undefined
  }

  /** A user by name, or NOT_FOUND. */
  async requireUser(username: string): Promise<StoredUser> {
    const user = await this.findByUsername(username)
    if (!user) throw new OtpkiError('NOT_FOUND', `no user ${username}`, { publicMessage: 'No such user.' })
    return user
  }

  /** Users with their roles, by username: two queries, whatever the number of users. */
  async list(): Promise<StoredUser[]> {
    const em = this.orm.em.fork()
    const users = await em.find(UserSchema, {}, { orderBy: { username: 'asc' } })
    const roles = new Map<number, string[]>()
    for (const link of await em.find(UserRoleSchema, {}, { populate: ['role'] })) {
      const id = (link.user as User).id
      roles.set(id, [...(roles.get(id) ?? []), link.role.name])
    }
    return users.map((user) => storedUser(user, roles.get(user.id) ?? []))
  }

  /**
   * Creates a user outside a sign-in (a plugin's credential names it) and runs
   * `within` in the same transaction, so the user and what the plugin stores
   * with it are written together or not at all. The username is normalised and
   * checked; a taken one (in any case) is refused with USERNAME_TAKEN.
   */
  async createUser(
    username: string,
    within: (em: EntityManager, user: StoredUser) => Promise<void>,
  ): Promise<StoredUser> {
    const name = normalizeUsername(username)
    return inTransaction(this.orm, async (em) => {
      const store = new OrmUserStore(em, this.clock)
      if (await store.findByUsername(name)) {
        throw new OtpkiError('USERNAME_TAKEN', `username ${name} already belongs to another account`)
      }
      const user = await store.createUser({ username: name })
      await within(em, user)
      return user
    })
  }

  /**
   * How many rows each user has in a table with a `user_id` column (a
   * plugin's certificates or passkeys): of every user, or of `userIds` only
   * (a console page: an indexed read).
   */
  async rowsPerUser(table: string, userIds?: readonly number[]): Promise<Map<number, number>> {
    if (!/^[a-z_][a-z0-9_]*$/.test(table)) throw new OtpkiError('INTERNAL', `not a table name: ${table.slice(0, 64)}`)
    if (userIds?.length === 0) return new Map()
    const only = userIds ? ` where user_id in (${userIds.map(() => '?').join(', ')})` : ''
    const rows = (await this.orm.em
      .fork()
      .getConnection()
      .execute(
        `select user_id as id, cast(count(*) as integer) as n from ${table}${only} group by user_id`,
        userIds ? [...userIds] : [],
      )) as { id: number; n: number }[]
    return new Map(rows.map(({ id, n }) => [Number(id), Number(n)]))
  }

  /** Whether any user with one of these roles is among `userIds`. */
  async anyWithRole(userIds: Iterable<number>, roles: readonly string[]): Promise<boolean> {
    const ids = [...userIds]
    if (ids.length === 0) return false
    const links = await this.orm.em.fork().find(UserRoleSchema, { user: { $in: ids } }, { populate: ['role'] })
    return links.some((l) => roles.includes(l.role.name))
  }

  /**
   * A page of users by username, for the console: those whose username or email
   * starts with `q` (any case for usernames), after the username key `after`.
   * Indexed ranges, so a page costs the same with 100,000 users as with 1,000.
   */
  async search(options: { q?: string; after?: string; limit?: number }): Promise<{
    users: StoredUser[]
    next: string | undefined
  }> {
    const limit = Math.min(Math.max(1, Math.trunc(options.limit ?? 50)), 500)
    const where: string[] = []
    const params: unknown[] = []
    const q = options.q?.normalize('NFKC').trim()
    if (q) {
      const key = usernameKey(q)
      where.push('((u.username_key >= ? and u.username_key < ?) or (u.email >= ? and u.email < ?))')
      params.push(key, `${key}\u{10FFFF}`, q, `${q}\u{10FFFF}`)
    }
    if (options.after) {
      where.push('u.username_key > ?')
      params.push(options.after)
    }
    const em = this.orm.em.fork()
    const page = await em
      .getConnection()
      .execute<{ id: number; username_key: string }[]>(
        `select u.id, u.username_key from users u${where.length ? ` where ${where.join(' and ')}` : ''} order by u.username_key limit ${limit + 1}`,
        params,
        'all',
      )
    const shown = page.slice(0, limit)
    const users = await this.byIds(shown.map((r) => Number(r.id)))
    return { users, next: page.length > limit ? shown.at(-1)!.username_key : undefined }
  }

  /** Users by id, with their roles, in the order given. */
  async byIds(ids: readonly number[]): Promise<StoredUser[]> {
    if (ids.length === 0) return []
    const em = this.orm.em.fork()
    const users = await em.find(UserSchema, { id: { $in: [...ids] } })
    const links = await em.find(UserRoleSchema, { user: { $in: [...ids] } }, { populate: ['role'] })
    const roles = new Map<number, string[]>()
    for (const link of links) {
      const id = (link.user as User).id
      roles.set(id, [...(roles.get(id) ?? []), link.role.name])
    }
    const byId = new Map(users.map((u) => [u.id, u]))
    return ids.flatMap((id) => {
      const user = byId.get(id)
      return user ? [storedUser(user, (roles.get(id) ?? []).sort())] : []
    })
  }

  /** A user's roles with where each came from (null: granted by hand), and linked identities. */
  async details(userId: number): Promise<{
    roles: { name: string; source: string | null }[]
    identities: {
      id: number
      provider: string
      issuer: string
      subject: string
      createdAt: number
      lastLoginAt: number
    }[]
  }> {
    const connection = this.orm.em.getConnection()
    const roles = await connection.execute<{ name: string; source: string | null }[]>(
      'select r.name, ur.source from user_roles ur join roles r on r.id = ur.role_id where ur.user_id = ? order by r.name',
      [userId],
      'all',
    )
    const identities = await connection.execute<
      { id: number; provider: string; issuer: string; subject: string; created_at: number; last_login_at: number }[]
    >(
      'select id, provider, issuer, subject, created_at, last_login_at from identities where user_id = ? order by created_at',
      [userId],
      'all',
    )
    return {
      roles: roles.map((r) => ({ name: r.name, source: r.source })),
      identities: identities.map((i) => ({
        id: Number(i.id),
        provider: i.provider,
        issuer: i.issuer,
        subject: i.subject,
        createdAt: Number(i.created_at),
        lastLoginAt: Number(i.last_login_at),
      })),
    }
  }

  /** Grants a role by hand (kept by sign-in sync as `roleSyncScope` says); answers false when the user had it. */
  async grantRole(userId: number, role: string): Promise<boolean> {
    const name = role.trim()
    if (!/^[\w.:@-]{1,64}$/.test(name))
      throw new OtpkiError('REQUEST_INVALID', `bad role name ${JSON.stringify(name.slice(0, 70))}`, {
        publicMessage: 'A role name is 1 to 64 letters, digits and . _ : @ -.',
      })
    const granted = await inTransaction(this.orm, async (em) => {
      const [held] = await em
        .getConnection()
        .execute<{ n: number | string }[]>(
          'select count(*) as n from user_roles ur join roles r on r.id = ur.role_id where ur.user_id = ? and r.name = ?',
          [userId, name],
          'all',
          em.getTransactionContext(),
        )
      if (Number(held?.n ?? 0) > 0) return false
      await new OrmUserStore(em, this.clock).grantRole(userId, name)
      return true
    })
    if (granted) this.changed(userId)
    return granted
  }

  /** Revokes a role however it came; answers false when the user did not hold it. */
  async revokeRole(userId: number, role: string): Promise<boolean> {
    const revoked =
      (await this.run('delete from user_roles where user_id = ? and role_id in (select id from roles where name = ?)', [
        userId,
        role,
      ])) > 0
    if (revoked) this.changed(userId)
    return revoked
  }

  /** Unlinks one of a user's identities; answers the provider it was of, or undefined. */
  async unlink(userId: number, identityId: number): Promise<string | undefined> {
    const connection = this.orm.em.getConnection()
    const [row] = await connection.execute<{ provider: string }[]>(
      'select provider from identities where id = ? and user_id = ?',
      [identityId, userId],
      'all',
    )
    if (!row) return undefined
    await connection.execute('delete from identities where id = ? and user_id = ?', [identityId, userId], 'run')
    this.changed(userId)
    return row.provider
  }

  /** Deletes a user with everything that is theirs (sessions, identities, roles, credentials). */
  async deleteUser(userId: number): Promise<boolean> {
    const deleted = (await this.run('delete from users where id = ?', [userId])) > 0
    if (deleted) this.changed(userId)
    return deleted
  }

  /** Disables or enables an account; answers whether it changed. Caches of the user drop it everywhere. */
  async setDisabled(userId: number, disabled: boolean): Promise<boolean> {
    const changed =
      (await this.run('update users set disabled = ?, updated_at = ? where id = ? and disabled = ?', [
        disabled,
        this.clock.now(),
        userId,
        !disabled,
      ])) > 0
    if (changed) this.changed(userId)
    return changed
  }

  /** Runs a statement; answers how many rows it changed. */
  private async run(sql: string, params: unknown[]): Promise<number> {
    const result = await this.orm.em.getConnection().execute<{ affectedRows?: number }>(sql, params, 'run')
    return Number(result.affectedRows ?? 0)
  }
}
