import type { ProviderInput } from '../../../core/index.ts'

/** The development provider started by `otpki dev` (see plugins/dev-provider). */
const development: ProviderInput = {
  name: 'development',
  displayName: 'Development provider',
  issuer: `http://localhost:${process.env.OTPKI_DEV_PROVIDER_PORT ?? 3001}`,
  clientId: 'otpki-dev',
  clientSecret: 'otpki-dev-secret',
  scopes: ['openid', 'profile', 'email', 'roles'],
  createUnknownRoles: true,
}

export default development
