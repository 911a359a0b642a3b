import { X509Certificate } from 'node:crypto'
import type { EntityManager } from '@mikro-orm/core'
import {
  defineEntity,
  p,
  isOtpkiError,
  OtpkiError,
  PortableMigration,
  type PluginServices,
  type StoredUser,
  UserSchema,
} from '../../core/index.ts'

/** Client certificates attached to users, matched by the SHA-256 fingerprint of their DER. */
export const CertificateSchema = defineEntity({
  name: 'Certificate',
  tableName: 'certificates',
  properties: {
    /** SHA-256 of the DER, hex: how a certificate is matched (never by its subject alone). */
    fingerprint: p.text().primary(),
    user: () => p.manyToOne(UserSchema).deleteRule('cascade').index(),
    subject: p.text(),
    issuer: p.text(),
    serial: p.text(),
    notBefore: p.bigint('number'),
    notAfter: p.bigint('number'),
    pem: p.text(),
    createdAt: p.bigint('number'),
  },
})

/** Creates the certificates table. Its name is recorded in databases: keep it. */
export class Certificates extends PortableMigration {
  override async up(): Promise<void> {
    this.sql(
      'create table `certificates` (`fingerprint` text not null, `user_id` integer not null, `subject` text not null, `issuer` text not null, `serial` text not null, `not_before` bigint not null, `not_after` bigint not null, `pem` text not null, `created_at` bigint not null, constraint `certificates_user_id_foreign` foreign key(`user_id`) references `users`(`id`) on delete cascade on update cascade, primary key (`fingerprint`));',
    )
    this.sql('create index `certificates_user_id_index` on `certificates` (`user_id`);')
  }
}

export const CERTIFICATE_MIGRATIONS = [{ name: '004-certificates', class: Certificates }]

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

/** Certificates and the users they belong to. A certificate belongs to at most one user. */
export class CertificateStore {
  constructor(private readonly services: PluginServices) {}

  async findUser(fingerprint: string): Promise<StoredUser | undefined> {
    const row = await this.services.em().findOne(CertificateSchema, { fingerprint })
    return row ? this.services.users.findById(row.user.id) : undefined
  }

  async certificates(username: string): Promise<CertificateInfo[]> {
    const user = await this.services.users.requireUser(username)
    const rows = await this.services.em().find(CertificateSchema, { user: user.id }, { orderBy: { createdAt: 'asc' } })
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
    const user = await this.services.users.requireUser(username)
    const cert = parsePem(pem)
    const fingerprint = fingerprintOf(cert)
    const em = this.services.em()
    const existing = await em.findOne(CertificateSchema, { fingerprint })
    if (existing && existing.user.id !== user.id) {
      throw new OtpkiError('IDENTITY_LINKED', `certificate ${fingerprint} is attached to another user`, {
        publicMessage: 'This certificate is attached to another user.',
      })
    }
    if (!existing) {
      await em.insert(CertificateSchema, this.row(cert, user.id))
      this.services.users.changed(user.id)
    }
    return (await this.certificates(username)).find((c) => c.fingerprint === fingerprint)!
  }

  async detach(username: string, fingerprint: string): Promise<void> {
    const user = await this.services.users.requireUser(username)
    const normalized = fingerprint.replaceAll(':', '').toLowerCase()
    const deleted = await this.services.em().nativeDelete(CertificateSchema, { fingerprint: normalized, user: user.id })
    if (deleted === 0) {
      throw new OtpkiError('NOT_FOUND', `${username} has no certificate ${normalized}`, {
        publicMessage: 'No such certificate for this user.',
      })
    }
    this.services.users.changed(user.id)
  }

  /** Creates a user named after a certificate's CN and attaches it, in one transaction; a taken or invalid name is refused. */
  async createUserWith(commonName: string, pem: string): Promise<StoredUser> {
    const cert = parsePem(pem)
    try {
      return await this.services.users.createUser(commonName, async (em: EntityManager, user) => {
        await em.insert(CertificateSchema, this.row(cert, user.id))
      })
    } catch (error) {
      if (isOtpkiError(error, 'USERNAME_TAKEN')) {
        throw new OtpkiError(
          'CREDENTIAL_REFUSED',
          `username ${commonName} (the certificate's CN) already belongs to another account`,
          {
            publicMessage: `The certificate's common name "${commonName}" is the username of an existing account, and this certificate is not attached to it.`,
            cause: error,
          },
        )
      }
      if (isOtpkiError(error, 'USERNAME_INVALID')) {
        throw new OtpkiError('CREDENTIAL_REFUSED', `the certificate's CN: ${error.message}`, {
          publicMessage: `The certificate's common name cannot be a username: it ${error.message.replace(/^.*?" /, '')}.`,
          cause: error,
        })
      }
      throw error
    }
  }

  /** Certificates per user: of every user, or of `userIds` only (a console page: an indexed read). */
  async counts(userIds?: readonly number[]): Promise<Map<number, number>> {
    return this.services.users.rowsPerUser('certificates', userIds)
  }

  /** Whether any user with one of these roles holds a certificate. */
  async anyHolderWithRole(roles: readonly string[]): Promise<boolean> {
    return this.services.users.anyWithRole((await this.counts()).keys(), roles)
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
      createdAt: this.services.clock.now(),
    }
  }
}
