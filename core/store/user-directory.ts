import { X509Certificate } from 'node:crypto'
import type { Clock } from '../clock.ts'
import type { StoredUser } from '../contracts/user-sync.ts'
import { normalizeUsername } from '../identity/username.ts'
import { OtpkiError } from '../errors.ts'
import { CertificateSchema, UserRoleSchema, UserSchema, type User } from './entities.ts'
import type { Orm } from './orm.ts'
import { OrmUserStore } from './user-store.ts'

/** A certificate as the administration routes and CLI show it. */
export interface CertificateInfo {
  fingerprint: string
  subject: string
  issuer: string
  serial: string
  notBefore: string
  notAfter: string
}

/** SHA-256 of the certificate's DER, lowercase hex without separators. */
export function fingerprintOf(cert: X509Certificate): string {
  return cert.fingerprint256.replaceAll(':', '').toLowerCase()
}

/** Parses one PEM certificate; a clear error otherwise. */
export function parsePem(pem: string): X509Certificate {
  try {
    return new X509Certificate(pem)
  } catch (cause) {
    throw new OtpkiError('REQUEST_INVALID', `not a PEM certificate: ${(cause as Error).message}`, {
      publicMessage: 'This is not a PEM certificate.',
      cause,
    })
  }
}

/**
 * Users and their client certificates: lookup by fingerprint, attach and
 * detach, the user list. A certificate belongs to at most one user.
 */
export class UserDirectory {
  private readonly listeners = new Set<(userId: number) => void>()

  constructor(
    private readonly orm: Orm,
    private readonly clock: Clock,
  ) {}

  /** Called with a user's id whenever that user changes: a sign-in synced it, or its certificates changed. Caches drop their answers. */
  onChange(listener: (userId: number) => void): void {
    this.listeners.add(listener)
  }

  /** Announces that a user changed (their names, roles or certificates). */
  changed(userId: number): void {
    for (const listener of this.listeners) listener(userId)
  }

  async findByCertificate(fingerprint: string): Promise<StoredUser | undefined> {
    const em = this.orm.em.fork()
    const row = await em.findOne(CertificateSchema, { fingerprint }, { populate: ['user'] })
    return row ? new OrmUserStore(em, this.clock).findByUsername((row.user as User).username) : undefined
  }

  async findByUsername(username: string): Promise<StoredUser | undefined> {
    return new OrmUserStore(this.orm.em.fork(), this.clock).findByUsername(username)
  }

  /** Users with their roles and certificate count, by username: three queries, whatever the number of users. */
  async list(): Promise<(StoredUser & { certificates: number })[]> {
    const em = this.orm.em.fork()
    const users = await em.find(UserSchema, {}, { orderBy: { username: 'asc' } })
    const roles = new Map<number, string[]>()
    for (const link of await em.find(UserRoleSchema, {}, { populate: ['role'] })) {
      const id = (link.user as User).id
      roles.set(id, [...(roles.get(id) ?? []), link.role.name])
    }
    const counts = new Map<number, number>()
    const rows = (await em
      .getConnection()
      .execute('select user_id as id, count(*) as n from certificates group by user_id')) as { id: number; n: number }[]
    for (const { id, n } of rows) counts.set(Number(id), Number(n))
    return users.map((user) => ({
      id: user.id,
      username: user.username,
      firstName: user.firstName ?? undefined,
      lastName: user.lastName ?? undefined,
      email: user.email ?? undefined,
      emailVerified: user.emailVerified,
      roles: (roles.get(user.id) ?? []).sort(),
      attributes: user.attributes ?? {},
      certificates: counts.get(user.id) ?? 0,
    }))
  }

  async certificates(username: string): Promise<CertificateInfo[]> {
    const user = await this.requireUser(username)
    const rows = await this.orm.em.fork().find(CertificateSchema, { user: user.id }, { orderBy: { createdAt: 'asc' } })
    return rows.map((r) => ({
      fingerprint: r.fingerprint,
      subject: r.subject,
      issuer: r.issuer,
      serial: r.serial,
      notBefore: new Date(r.notBefore).toISOString(),
      notAfter: new Date(r.notAfter).toISOString(),
    }))
  }

  /** Attaches a certificate; one attached to another user is refused. */
  async attach(username: string, pem: string): Promise<CertificateInfo> {
    const user = await this.requireUser(username)
    const cert = parsePem(pem)
    const fingerprint = fingerprintOf(cert)
    const em = this.orm.em.fork()
    const existing = await em.findOne(CertificateSchema, { fingerprint }, { populate: ['user'] })
    if (existing) {
      if ((existing.user as User).id === user.id)
        return (await this.certificates(username)).find((c) => c.fingerprint === fingerprint)!
      throw new OtpkiError('IDENTITY_LINKED', `certificate ${fingerprint} is attached to another user`, {
        publicMessage: 'This certificate is attached to another user.',
      })
    }
    em.create(CertificateSchema, this.row(cert, user.id))
    await em.flush()
    this.changed(user.id)
    return (await this.certificates(username)).find((c) => c.fingerprint === fingerprint)!
  }

  async detach(username: string, fingerprint: string): Promise<void> {
    const user = await this.requireUser(username)
    const normalized = fingerprint.replaceAll(':', '').toLowerCase()
    const deleted = await this.orm.em.fork().nativeDelete(CertificateSchema, { fingerprint: normalized, user: user.id })
    if (deleted === 0)
      throw new OtpkiError('NOT_FOUND', `${username} has no certificate ${normalized}`, {
        publicMessage: 'No such certificate for this user.',
      })
    this.changed(user.id)
  }

  /** Creates a user named after a certificate's CN and attaches it, in one transaction; a taken name is refused. */
  async createWithCertificate(commonName: string, pem: string): Promise<StoredUser> {
    let username: string
    try {
      username = normalizeUsername(commonName, "the certificate's CN")
    } catch (error) {
      const e = error as OtpkiError
      throw new OtpkiError('CERTIFICATE_REFUSED', e.message, {
        publicMessage: `${e.message.replace(/^the certificate's CN "[^"]*"/, "The certificate's common name")}.`,
        cause: e,
      })
    }
    return this.orm.em.fork().transactional(async (em) => {
      const store = new OrmUserStore(em, this.clock)
      if (await store.findByUsername(username)) {
        throw new OtpkiError(
          'CERTIFICATE_REFUSED',
          `username ${username} (the certificate's CN) already belongs to another account`,
          {
            publicMessage: `The certificate's common name "${username}" is the username of an existing account, and this certificate is not attached to it.`,
          },
        )
      }
      const user = await store.createUser({ username })
      const cert = parsePem(pem)
      em.create(CertificateSchema, this.row(cert, user.id))
      await em.flush()
      return user
    })
  }

  /** Whether any user with one of these roles holds a certificate. */
  async anyCertificateHolderWithRole(roles: readonly string[]): Promise<boolean> {
    for (const user of await this.list())
      if (user.certificates > 0 && user.roles.some((r) => roles.includes(r))) return true
    return false
  }

  private row(cert: X509Certificate, userId: number) {
    return {
      fingerprint: fingerprintOf(cert),
      user: userId,
      subject: cert.subject,
      issuer: cert.issuer,
      serial: cert.serialNumber,
      notBefore: Date.parse(cert.validFrom),
      notAfter: Date.parse(cert.validTo),
      pem: cert.toString(),
      createdAt: this.clock.now(),
    }
  }

  private async requireUser(username: string): Promise<StoredUser> {
    const user = await this.findByUsername(username)
    if (!user) throw new OtpkiError('NOT_FOUND', `no user ${username}`, { publicMessage: 'No such user.' })
    return user
  }
}
