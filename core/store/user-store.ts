import type { EntityManager } from '@mikro-orm/sqlite'
import type { Clock } from '../clock.ts'
import type { StoredUser, UserFields, UserStore } from '../contracts/user-sync.ts'
import { normalizeUsername, usernameKey } from '../identity/username.ts'
import { IdentitySchema, RoleSchema, UserRoleSchema, UserSchema, type User } from './entities.ts'

/** The {@link UserStore} over one MikroORM entity manager (one transaction). */
export class OrmUserStore implements UserStore {
  constructor(
    private readonly em: EntityManager,
    private readonly clock: Clock,
  ) {}

  async findByIdentity(issuer: string, subject: string): Promise<StoredUser | undefined> {
    const identity = await this.em.findOne(IdentitySchema, { issuer, subject }, { populate: ['user'] })
    return identity ? this.toStored(identity.user as User) : undefined
  }

  async findByUsername(username: string): Promise<StoredUser | undefined> {
    const user = await this.em.findOne(UserSchema, { usernameKey: usernameKey(username) })
    return user ? this.toStored(user) : undefined
  }

  async createUser(input: UserFields & { username: string }): Promise<StoredUser> {
    const now = this.clock.now()
    const username = normalizeUsername(input.username)
    const user = this.em.create(UserSchema, {
      username,
      usernameKey: usernameKey(username),
      firstName: input.firstName ?? null,
      lastName: input.lastName ?? null,
      email: input.email ?? null,
      emailVerified: input.emailVerified ?? false,
      attributes: input.attributes && Object.keys(input.attributes).length > 0 ? input.attributes : null,
      createdAt: now,
      updatedAt: now,
    })
    await this.em.flush()
    return this.toStored(user)
  }

  async updateUser(id: number, changes: UserFields): Promise<void> {
    const user = await this.em.findOneOrFail(UserSchema, { id })
    if ('firstName' in changes) user.firstName = changes.firstName ?? null
    if ('lastName' in changes) user.lastName = changes.lastName ?? null
    if ('email' in changes) user.email = changes.email ?? null
    if (changes.emailVerified !== undefined) user.emailVerified = changes.emailVerified
    if (changes.attributes && Object.keys(changes.attributes).length > 0)
      user.attributes = { ...user.attributes, ...changes.attributes }
    user.updatedAt = this.clock.now()
    await this.em.flush()
  }

  async linkIdentity(userId: number, identity: { issuer: string; subject: string; provider: string }): Promise<void> {
    const now = this.clock.now()
    this.em.create(IdentitySchema, { user: userId, ...identity, createdAt: now, lastLoginAt: now })
    await this.em.flush()
  }

  async touchIdentity(issuer: string, subject: string): Promise<void> {
    await this.em.nativeUpdate(IdentitySchema, { issuer, subject }, { lastLoginAt: this.clock.now() })
  }

  async setRoles(
    userId: number,
    names: readonly string[],
    options: { createUnknown: boolean; source?: string | undefined },
  ): Promise<string[]> {
    const wanted = [...new Set(names)]
    const known = wanted.length ? await this.em.find(RoleSchema, { name: { $in: wanted } }) : []
    const roles = [...known]
    if (options.createUnknown) {
      const now = this.clock.now()
      const created = wanted
        .filter((name) => !known.some((r) => r.name === name))
        .map((name) => this.em.create(RoleSchema, { name, system: true, createdAt: now }))
      // New roles need their ids before they are linked.
      if (created.length > 0) {
        roles.push(...created)
        await this.em.flush()
      }
    }
    const current = await this.em.find(UserRoleSchema, { user: userId }, { populate: ['role'] })
    const keep = new Set(roles.map((r) => r.id))
    const result = new Set<string>()
    // Scoped to a source: roles from elsewhere (an administrator, another provider) are never removed.
    for (const link of current) {
      if (!keep.has(link.role.id) && (options.source === undefined || link.source === options.source))
        this.em.remove(link)
      else result.add(link.role.name)
    }
    const have = new Set(current.map((l) => l.role.id))
    let changed = current.length > result.size
    for (const role of roles) {
      result.add(role.name)
      if (have.has(role.id)) continue
      changed = true
      this.em.create(UserRoleSchema, {
        user: userId,
        role: role.id,
        source: options.source ?? null,
        createdAt: this.clock.now(),
      })
    }
    if (changed) await this.em.flush()
    return [...result].sort()
  }

  /** Gives a user a role by hand (an administrator's grant: no source). */
  async grantRole(userId: number, name: string): Promise<void> {
    let role = await this.em.findOne(RoleSchema, { name })
    role ??= this.em.create(RoleSchema, { name, system: false, createdAt: this.clock.now() })
    await this.em.flush()
    this.em.create(UserRoleSchema, { user: userId, role: role.id, source: null, createdAt: this.clock.now() })
    await this.em.flush()
  }

  private async toStored(user: User): Promise<StoredUser> {
    const links = await this.em.find(UserRoleSchema, { user: user.id }, { populate: ['role'] })
    return storedUser(
      user,
      links.map((l) => l.role.name),
    )
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
  }
}
