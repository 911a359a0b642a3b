/**
 * Example auth method: a user named in a header by an authenticating proxy in
 * front of OTPKI (oauth2-proxy's `X-Forwarded-User`, an Apache or nginx
 * `auth_request` setup). One folder, loaded by one line; it touches no core file.
 *
 * In otpki.config.ts:
 *   plugins: ['./examples/trusted-header/index.ts'],
 *   trustedHeader: { trustedProxies: ['10.0.0.5'], createUnknownUsers: true },
 *
 * The header counts only from `trustedProxies` (the TCP peer). A user is
 * signed in only through an identity this method created, never because a
 * username matches: an existing account of another method is not taken over.
 */
import { defineEntity, p } from '@mikro-orm/core'
import {
  addressList,
  checkAddresses,
  definePlugin,
  field,
  isOtpkiError,
  OtpkiError,
  PortableMigration,
  type PluginServices,
  type RequestAuthenticator,
  UserSchema,
} from 'otpki'

/** The `trustedHeader` section of otpki.config.ts. */
export const trustedHeaderFields = {
  enabled: field.boolean({
    doc: 'Sign in users the proxy names in the header.',
    env: 'OTPKI_TRUSTED_HEADER_ENABLED',
    default: true,
  }),
  header: field.string({
    doc: 'The header holding the username.',
    env: 'OTPKI_TRUSTED_HEADER_NAME',
    default: 'x-forwarded-user',
  }),
  trustedProxies: field.stringArray({
    doc: 'Addresses or CIDRs of the proxy: the header counts only from these TCP peers.',
    default: [],
  }),
  createUnknownUsers: field.boolean({
    doc: 'A name seen for the first time creates its user (never a taken name).',
    default: false,
  }),
}

interface TrustedHeaderConfig {
  enabled: boolean
  header: string
  trustedProxies: string[]
  createUnknownUsers: boolean
}

/** Which user each proxy-asserted name signs in as: created by this method, never matched by username. */
export const TrustedHeaderIdentity = defineEntity({
  name: 'TrustedHeaderIdentity',
  tableName: 'trusted_header_identities',
  properties: {
    name: p.text().primary(),
    user: () => p.manyToOne(UserSchema).deleteRule('cascade').index(),
  },
})

class CreateTrustedHeaderIdentities extends PortableMigration {
  override async up(): Promise<void> {
    this.sql(
      'create table `trusted_header_identities` (`name` text not null, `user_id` integer not null, constraint `trusted_header_identities_user_id_foreign` foreign key(`user_id`) references `users`(`id`) on delete cascade on update cascade, primary key (`name`));',
    )
    this.sql('create index `trusted_header_identities_user_id_index` on `trusted_header_identities` (`user_id`);')
  }
}

export const TRUSTED_HEADER_MIGRATIONS = [{ name: 'example-trusted-header-001', class: CreateTrustedHeaderIdentities }]

const refuse = (reason: string) =>
  new OtpkiError('CREDENTIAL_REFUSED', `trusted header refused: ${reason}`, { publicMessage: reason })

/** The request authenticator: the header from a trusted proxy names the user. */
export function trustedHeaderAuthenticator(
  config: TrustedHeaderConfig,
  services: PluginServices,
): RequestAuthenticator {
  const header = config.header.toLowerCase()
  const trusted = addressList(config.trustedProxies, 'trustedHeader.trustedProxies')
  return {
    name: 'trusted-header',
    carries: ({ headers }) => headers.has(header),
    async authenticate(request) {
      const values = request.headerValues(header)
      if (values.length === 0) return undefined
      if (!trusted(request.remoteAddress)) {
        services.logger.warn({ peer: request.remoteAddress, header }, 'trusted header from an untrusted peer ignored')
        return undefined
      }
      if (values.length > 1) throw refuse(`The ${header} header appears ${values.length} times.`)
      const name = values[0]!.trim()
      if (name === '') throw refuse(`The ${header} header is empty.`)
      const em = services.em()
      const known = await em.findOne(TrustedHeaderIdentity, { name })
      if (known) {
        const user = await services.users.findById(known.user.id)
        if (user) return { user, method: 'trusted-header' }
      }
      if (!config.createUnknownUsers)
        throw refuse(`No OTPKI account is linked to ${JSON.stringify(name.slice(0, 64))}.`)
      try {
        const user = await services.users.createUser(name, async (tx, created) => {
          tx.create(TrustedHeaderIdentity, { name, user: created.id })
          await tx.flush()
        })
        return { user, method: 'trusted-header' }
      } catch (error) {
        if (isOtpkiError(error, 'USERNAME_TAKEN') || isOtpkiError(error, 'USERNAME_INVALID'))
          throw refuse(error.message)
        throw error
      }
    },
  }
}

export default definePlugin({
  name: 'trusted-header',
  kind: 'auth-method',
  config: {
    key: 'trustedHeader',
    fields: trustedHeaderFields,
    doc: 'Users named in a header by an authenticating proxy.',
  },
  register(ctx) {
    const config = ctx.config as unknown as TrustedHeaderConfig
    ctx.entities([TrustedHeaderIdentity], TRUSTED_HEADER_MIGRATIONS)
    if (!config.enabled) return
    checkAddresses(config.trustedProxies, 'trustedHeader.trustedProxies')
    ctx.addTrustedProxies(config.trustedProxies)
    ctx.registerRequestAuthenticator((services) => trustedHeaderAuthenticator(config, services))
  },
})
