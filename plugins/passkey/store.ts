import { createHash, randomBytes } from 'node:crypto'
import { defineEntity, OtpkiError, p, PortableMigration, type PluginServices, UserSchema } from 'otpki'

/** Passkeys (WebAuthn credentials) registered by users, found by the credential ID an assertion names. */
export const PasskeySchema = defineEntity({
  name: 'Passkey',
  tableName: 'passkeys',
  properties: {
    /** The credential ID, base64url. */
    id: p.text().primary(),
    user: () => p.manyToOne(UserSchema).deleteRule('cascade').index(),
    /** The WebAuthn user handle the credential was made for (one per user), base64url. */
    userHandle: p.text(),
    name: p.text(),
    /** The COSE public key, base64url. */
    publicKey: p.text(),
    /** The signature counter last seen: an assertion must go beyond it (a cloned authenticator falls behind). */
    counter: p.bigint('number'),
    /** Comma-separated transports the authenticator reported (`internal`, `usb`, `hybrid`, ...). */
    transports: p.text(),
    /** Whether it may be synced between devices (a multi-device credential). */
    backedUp: p.boolean(),
    createdAt: p.bigint('number'),
    lastUsedAt: p.bigint('number').nullable(),
  },
})

/** Registration challenges: single-use, short-lived, bound to the user they were made for. */
export const PasskeyChallengeSchema = defineEntity({
  name: 'PasskeyChallenge',
  tableName: 'passkey_challenges',
  properties: {
    /** SHA-256 of the challenge, hex: the challenge itself is never stored. */
    hash: p.text().primary(),
    user: () => p.manyToOne(UserSchema).deleteRule('cascade').index(),
    /** The user handle the options carried: the new passkey's. */
    userHandle: p.text(),
    expiresAt: p.bigint('number'),
  },
})

/** Creates the passkey tables. Their names are recorded in databases: keep them. */
export class Passkeys extends PortableMigration {
  override async up(): Promise<void> {
    this.sql(
      'create table `passkeys` (`id` text not null, `user_id` integer not null, `user_handle` text not null, `name` text not null, `public_key` text not null, `counter` bigint not null, `transports` text not null, `backed_up` boolean not null, `created_at` bigint not null, `last_used_at` bigint null, constraint `passkeys_user_id_foreign` foreign key(`user_id`) references `users`(`id`) on delete cascade on update cascade, primary key (`id`));',
    )
    this.sql('create index `passkeys_user_id_index` on `passkeys` (`user_id`);')
    this.sql(
      'create table `passkey_challenges` (`hash` text not null, `user_id` integer not null, `user_handle` text not null, `expires_at` bigint not null, constraint `passkey_challenges_user_id_foreign` foreign key(`user_id`) references `users`(`id`) on delete cascade on update cascade, primary key (`hash`));',
    )
    this.sql('create index `passkey_challenges_user_id_index` on `passkey_challenges` (`user_id`);')
  }
}

export const PASSKEY_MIGRATIONS = [{ name: '010-passkeys', class: Passkeys }]

/** A passkey as pages, the console, the routes and the CLI show it (never its key). */
export interface PasskeyInfo {
  id: string
  name: string
  createdAt: string
  lastUsedAt: string | null
  backedUp: boolean
  transports: string[]
}

/** A stored passkey, as a sign-in verifies against it. */
export interface StoredPasskey {
  id: string
  userId: number
  userHandle: string
  publicKey: Uint8Array
  counter: number
  transports: string[]
}

/** A passkey name as a user typed it: trimmed, printable, at most 64 characters. */
export function passkeyName(value: unknown): string {
  const name = typeof value === 'string' ? value.replace(/\p{C}/gu, '').trim().slice(0, 64) : ''
  return name === '' ? 'Passkey' : name
}

/** Registration challenges a user may have pending at once; a new one replaces the oldest. */
const PENDING_CHALLENGES = 5

const hashOf = (challenge: string) => createHash('sha256').update(challenge).digest('hex')

/** Passkeys and their registration challenges. */
export class PasskeyStore {
  constructor(private readonly services: PluginServices) {}

  async list(userId: number): Promise<PasskeyInfo[]> {
    const rows = await this.services.em().find(PasskeySchema, { user: userId }, { orderBy: { createdAt: 'asc' } })
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      createdAt: new Date(r.createdAt).toISOString(),
      lastUsedAt: r.lastUsedAt ? new Date(r.lastUsedAt).toISOString() : null,
      backedUp: r.backedUp,
      transports: r.transports ? r.transports.split(',') : [],
    }))
  }

  async find(id: string): Promise<StoredPasskey | undefined> {
    const row = await this.services.em().findOne(PasskeySchema, { id })
    if (!row) return undefined
    return {
      id: row.id,
      userId: row.user.id,
      userHandle: row.userHandle,
      publicKey: new Uint8Array(Buffer.from(row.publicKey, 'base64url')),
      counter: row.counter,
      transports: row.transports ? row.transports.split(',') : [],
    }
  }

  /** The user's WebAuthn user handle: the one their passkeys carry, or a new random one. */
  async userHandle(userId: number): Promise<string> {
    const row = await this.services.em().findOne(PasskeySchema, { user: userId }, { fields: ['userHandle'] })
    return row?.userHandle ?? randomBytes(32).toString('base64url')
  }

  /** Keeps a registration challenge for the user until `expiresAt`. */
  async keepChallenge(userId: number, challenge: string, userHandle: string, expiresAt: number): Promise<void> {
    const em = this.services.em()
    // Expired challenges go as new ones come; a user keeps a few pending at most (one per open tab, say).
    await em.nativeDelete(PasskeyChallengeSchema, { expiresAt: { $lt: this.services.clock.now() } })
    const pending = await em.find(PasskeyChallengeSchema, { user: userId }, { orderBy: { expiresAt: 'desc' } })
    const stale = pending.slice(PENDING_CHALLENGES - 1).map((c) => c.hash)
    if (stale.length > 0) await em.nativeDelete(PasskeyChallengeSchema, { hash: { $in: stale } })
    await em.insert(PasskeyChallengeSchema, { hash: hashOf(challenge), user: userId, userHandle, expiresAt })
  }

  /** Uses a registration challenge: once, for the user it was made for, before it expires. */
  async useChallenge(
    userId: number,
    challenge: string,
  ): Promise<{ state: 'used'; userHandle: string } | { state: 'expired' | 'unknown' }> {
    const em = this.services.em()
    const row = await em.findOne(PasskeyChallengeSchema, { hash: hashOf(challenge), user: userId })
    if (!row) return { state: 'unknown' }
    // Of two concurrent uses, one deletes it.
    if ((await em.nativeDelete(PasskeyChallengeSchema, { hash: row.hash })) !== 1) return { state: 'unknown' }
    return row.expiresAt < this.services.clock.now()
      ? { state: 'expired' }
      : { state: 'used', userHandle: row.userHandle }
  }

  async add(passkey: {
    id: string
    userId: number
    userHandle: string
    name: string
    publicKey: Uint8Array
    counter: number
    transports: readonly string[]
    backedUp: boolean
  }): Promise<PasskeyInfo> {
    const em = this.services.em()
    if (await em.findOne(PasskeySchema, { id: passkey.id }, { fields: ['id'] })) {
      throw new OtpkiError('IDENTITY_LINKED', `passkey ${passkey.id} is registered already`, {
        publicMessage: 'This passkey is registered already.',
      })
    }
    await em.insert(PasskeySchema, {
      id: passkey.id,
      user: passkey.userId,
      userHandle: passkey.userHandle,
      name: passkey.name,
      publicKey: Buffer.from(passkey.publicKey).toString('base64url'),
      counter: passkey.counter,
      transports: passkey.transports.join(','),
      backedUp: passkey.backedUp,
      createdAt: this.services.clock.now(),
      lastUsedAt: null,
    })
    return (await this.list(passkey.userId)).find((p) => p.id === passkey.id)!
  }

  /**
   * Records a sign-in with the passkey: its new counter and when. Only one of
   * two concurrent uses of one counter value wins; false for the other.
   */
  async used(id: string, seen: number, counter: number): Promise<boolean> {
    const updated = await this.services
      .em()
      .nativeUpdate(PasskeySchema, { id, counter: seen }, { counter, lastUsedAt: this.services.clock.now() })
    return updated === 1
  }

  async remove(user: { id: number; username: string }, id: string): Promise<PasskeyInfo> {
    const found = (await this.list(user.id)).find((p) => p.id === id)
    if (!found || (await this.services.em().nativeDelete(PasskeySchema, { id, user: user.id })) === 0) {
      throw new OtpkiError('NOT_FOUND', `${user.username} has no passkey ${id.slice(0, 100)}`, {
        publicMessage: 'No such passkey for this user.',
      })
    }
    return found
  }

  /** Passkeys per user: of every user, or of `userIds` only. */
  async counts(userIds?: readonly number[]): Promise<Map<number, number>> {
    return this.services.users.rowsPerUser('passkeys', userIds)
  }
}
