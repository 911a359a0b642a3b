import { defineProvider } from 'otpki'

/**
 * Keycloak: copy to config/providers/keycloak.ts and adapt.
 * In Keycloak, create an OpenID Connect client "otpki" with client
 * authentication on, standard flow on, valid redirect URI
 * https://pki.example.com/auth/callback and valid post logout redirect URI
 * https://pki.example.com/auth/signed-out. The keycloak preset reads realm
 * roles (realm_access.roles) and this client's roles
 * (resource_access.otpki.roles) together, from Keycloak's default "roles"
 * client scope.
 */
export default defineProvider({
  preset: 'keycloak',
  displayName: 'Company SSO',
  displayOrder: 10,
  issuer: 'https://sso.example.com/realms/pki',
  clientId: 'otpki',
  clientSecret: { env: 'KEYCLOAK_CLIENT_SECRET' },
  clientAuthentication: 'client_secret_basic',
  sessionMaxInactive: '30m',
  sessionMaxLength: '10h',
  createUnknownUsers: true,
  createUnknownRoles: false,
})
