import { defineProvider } from 'otpki'

/**
 * Keycloak: copy to config/providers/keycloak.ts and adapt.
 * In Keycloak, create an OpenID Connect client "otpki" with client
 * authentication on, standard flow on, valid redirect URI
 * https://pki.example.com/auth/callback and valid post logout redirect URI
 * https://pki.example.com/auth/signed-out. Add a "roles" client scope with a
 * User Realm Role mapper whose token claim name is "roles" (multivalued), or
 * map your own claim.
 */
export default defineProvider({
  displayName: 'Company SSO',
  displayOrder: 10,
  issuer: 'https://sso.example.com/realms/pki',
  clientId: 'otpki',
  clientSecret: { env: 'KEYCLOAK_CLIENT_SECRET' },
  clientAuthentication: 'client_secret_basic',
  scopes: ['openid', 'profile', 'email', 'roles'],
  sessionMaxInactive: '30m',
  sessionMaxLength: '10h',
  createUnknownUsers: true,
  createUnknownRoles: false,
})
