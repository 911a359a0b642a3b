import type { EntityManager } from '@mikro-orm/sqlite'
import type { Clock } from '../clock.ts'
import type { StoredUser, UserFields, UserStore } from '../contracts/user-sync.ts'
import { normalizeUsername, usernameKey } from '../identity/username.ts'
import type { User } from './entities.ts'

/** A user with its role names, one row per role (one row with a null role when it has none). */
interface UserRow {
  id: number
  username: string
  first_name: string | null
  last_name: string | null
  email: string | null
  email_verified: boolean | number
  attributes: string | null
  disabled: boolean | number
  role: string | null
}

const USER_WITH_ROLES = `select u.id, u.username, u.first_name, u.last_name, u.email, u.email_verified, u.attributes, u.disabled, r.name as role
  from users u left join user_roles ur on ur.user_id = u.id left join roles r on r.id = ur.role_id`

/**
 * The {@link UserStore} over one MikroORM entity manager (one transaction).
 * Its statements are written out: a sign-in runs them all, and building them
 * through the unit of work cost more CPU than the provider spends on the whole sign-in.
 */
export class OrmUserStore implements UserStore {
  /** The users this store has read, as read: an update writes only what differs from them. */
  private readonly seen = new Map<number, StoredUser>()
  /** Whether this store changed a user (fields, roles, identities): caches of that user must drop it. */
  wrote = false

  constructor(
    private readonly em: EntityManager,
    private readonly clock: Clock,
  ) {}

  private remember(user: StoredUser | undefined): StoredUser | undefined {
    if (user) this.seen.set(user.id, user)
    return user
  }

  private query<T>(sql: string, params: unknown[]): Promise<T[]> {
    return this.em.execute<T[]>(sql, params, 'all')
  }

  async findByIdentity(issuer: string, subject: string): Promise<StoredUser | undefined> {
    const rows = await this.query<UserRow>(
      `${USER_WITH_ROLES} where u.id = (select user_id from identities where issuer = ? and subject = ?)`,
      [issuer, subject],
    )
    return this.remember(fromRows(rows))
  }

  async findByUsername(username: string): Promise<StoredUser | undefined> {
    const rows = await this.query<UserRow>(`${USER_WITH_ROLES} where u.username_key = ?`, [usernameKey(username)])
    return this.remember(fromRows(rows))
  }

  async createUser(input: UserFields & { username: string }): Promise<StoredUser> {
    const now = this.clock.now()
    const username = normalizeUsername(input.username)
    const attributes = input.attributes && Object.keys(input.attributes).length > 0 ? input.attributes : undefined
    const [row] = await this.query<{ id: number }>(
      'insert into users (username, username_key, first_name, last_name, email, email_verified, attributes, created_at, updated_at) values (?, ?, ?, ?, ?, ?, ?, ?, ?) returning id',
      [
        username,
        usernameKey(username),
        input.firstName ?? null,
        input.lastName ?? null,
        input.email ?? null,
        input.emailVerified ?? false,
        attributes ? JSON.stringify(attributes) : null,
        now,
        now,
      ],
    )
    this.wrote = true
    return {
      id: Number(row!.id),
      username,
      firstName: input.firstName ?? undefined,
      lastName: input.lastName ?? undefined,
      email: input.email ?? undefined,
      emailVerified: input.emailVerified ?? false,
      roles: [],
      attributes: attributes ?? {},
    }
  }

  async updateUser(id: number, changes: UserFields): Promise<void> {
    const known = this.seen.get(id)
    const sets: string[] = []
    const params: unknown[] = []
    const set = (column: string, value: unknown, current: unknown) => {
      if (known && value === current) return
      sets.push(`${column} = ?`)
      params.push(value)
    }
    if ('firstName' in changes) set('first_name', changes.firstName ?? null, known?.firstName ?? null)
    if ('lastName' in changes) set('last_name', changes.lastName ?? null, known?.lastName ?? null)
    if ('email' in changes) set('email', changes.email ?? null, known?.email ?? null)
    if (changes.emailVerified !== undefined) set('email_verified', changes.emailVerified, known?.emailVerified)
    if (changes.attributes && Object.keys(changes.attributes).length > 0) {
      const current =
        known?.attributes ??
        parseAttributes(
          (await this.query<{ attributes: string | null }>('select attributes from users where id = ?', [id]))[0]
            ?.attributes ?? null,
        )
      const merged = JSON.stringify({ ...current, ...changes.attributes })
      set('attributes', merged, known ? JSON.stringify(current) : undefined)
    }
    // Nothing differs: the row, and its updated_at, stay as they are.
    if (sets.length === 0) return
    sets.push('updated_at = ?')
    params.push(this.clock.now())
    await this.em.execute(`update users set ${sets.join(', ')} where id = ?`, [...params, id], 'run')
    this.seen.delete(id)
    this.wrote = true
  }

  async linkIdentity(userId: number, identity: { issuer: string; subject: string; provider: string }): Promise<void> {
    const now = this.clock.now()
    await this.em.execute(
      'insert into identities (user_id, issuer, subject, provider, created_at, last_login_at) values (?, ?, ?, ?, ?, ?)',
      [userId, identity.issuer, identity.subject, identity.provider, now, now],
      'run',
    )
    this.wrote = true
  }

  async touchIdentity(issuer: string, subject: string): Promise<void> {
    await this.em.execute(
      'update identities set last_login_at = ? where issuer = ? and subject = ?',
      [this.clock.now(), issuer, subject],
      'run',
    )
  }

  async setRoles(
    userId: number,
    names: readonly string[],
    options: { createUnknown: boolean; source?: string | undefined; recordSource?: string | undefined },
  ): Promise<string[]> {
    const wanted = new Set(names)
    const current = await this.query<{ role_id: number; source: string | null; name: string }>(
      'select ur.role_id, ur.source, r.name from user_roles ur join roles r on r.id = ur.role_id where ur.user_id = ?',
      [userId],
    )
    // Scoped to a source: roles from elsewhere (an administrator, another provider) are never removed.
    const removed = current.filter(
      (l) => !wanted.has(l.name) && (options.source === undefined || l.source === options.source),
    )
    const have = new Set(current.map((l) => l.name))
    const missing = [...wanted].filter((name) => !have.has(name))
    const result = new Set(current.filter((l) => !removed.includes(l)).map((l) => l.name))
    if (removed.length > 0) {
      this.wrote = true
      await this.em.execute(
        `delete from user_roles where user_id = ? and role_id in (${removed.map(() => '?').join(', ')})`,
        [userId, ...removed.map((l) => l.role_id)],
        'run',
      )
    }
    if (missing.length > 0) {
      const roles = new Map(
        (
          await this.query<{ id: number; name: string }>(
            `select id, name from roles where name in (${missing.map(() => '?').join(', ')})`,
            missing,
          )
        ).map((r) => [r.name, Number(r.id)]),
      )
      const now = this.clock.now()
      for (const name of missing) {
        let roleId = roles.get(name)
        if (roleId === undefined) {
          if (!options.createUnknown) continue
          const [created] = await this.query<{ id: number }>(
            'insert into roles (name, system, created_at) values (?, ?, ?) returning id',
            [name, true, now],
          )
          roleId = Number(created!.id)
        }
        await this.em.execute(
          'insert into user_roles (user_id, role_id, source, created_at) values (?, ?, ?, ?)',
          [userId, roleId, options.source ?? options.recordSource ?? null, now],
          'run',
        )
        this.wrote = true
        result.add(name)
      }
    }
    return [...result].sort()
  }

  /** Gives a user a role by hand (an administrator's grant: no source). */
  async grantRole(userId: number, name: string): Promise<void> {
    const now = this.clock.now()
    let [role] = await this.query<{ id: number }>('select id from roles where name = ?', [name])
    role ??= (
      await this.query<{ id: number }>('insert into roles (name, system, created_at) values (?, ?, ?) returning id', [
        name,
        false,
        now,
      ])
    )[0]
    await this.em.execute(
      'insert into user_roles (user_id, role_id, source, created_at) values (?, ?, ?, ?)',
      [userId, Number(role!.id), null, now],
      'run',
    )
    this.wrote = true
  }
}

function parseAttributes(text: string | null): Record<string, unknown> {
  if (!text) return {}
  const value: unknown = JSON.parse(text)
  return value && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {}
}

function fromRows(rows: UserRow[]): StoredUser | undefined {
  const first = rows[0]
  if (!first) return undefined
  return {
    id: Number(first.id),
    username: first.username,
    firstName: first.first_name ?? undefined,
    lastName: first.last_name ?? undefined,
    email: first.email ?? undefined,
    emailVerified: Boolean(first.email_verified),
    roles: rows.flatMap((r) => (r.role === null ? [] : [r.role])).sort(),
    attributes: parseAttributes(first.attributes),
    disabled: Boolean(first.disabled),
  }
}

/** A user row and its role names as user sync and plugins see them. */
export function storedUser(user: User, roles: readonly string[]): StoredUser {
  return {
    id: user.id,
    username: user.username,
    firstName: user.firstName ?? undefined,
    lastName: user.lastName ?? undefined,
    email: user.email ?? undefined,
    emailVerified: user.emailVerified,
    roles: [...roles].sort(),
    attributes: user.attributes ?? {},
    disabled: user.disabled,
  }
}
