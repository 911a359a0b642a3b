import type { EntityManager } from '@mikro-orm/core'
import type { Clock } from '../clock.ts'
import type { StoredUser } from '../contracts/user-sync.ts'
import { OtpkiError } from '../errors.ts'
import { normalizeUsername } from '../identity/username.ts'
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

  /** Whether any user with one of these roles is among `userIds`. */
  async anyWithRole(userIds: Iterable<number>, roles: readonly string[]): Promise<boolean> {
    const ids = [...userIds]
    if (ids.length === 0) return false
    const links = await this.orm.em.fork().find(UserRoleSchema, { user: { $in: ids } }, { populate: ['role'] })
    return links.some((l) => roles.includes(l.role.name))
  }
}
