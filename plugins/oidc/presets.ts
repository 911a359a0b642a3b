import type { ProviderPreset } from '../../core/index.ts'

/**
 * Presets for the OpenID providers operators use most: what each needs beyond
 * the defaults (scopes, claim paths, options). A provider file names one with
 * `preset`; its own keys win. Each is tested against an emulation of that
 * provider's discovery, tokens and claims (test/plugins/oidc/presets.test.ts).
 */
const host = (issuer: string) => {
  try {
    return new URL(issuer).hostname.toLowerCase()
  } catch {
    return ''
  }
}

export const oidcPresets: readonly ProviderPreset[] = [
  {
    name: 'keycloak',
    strategy: 'oidc',
    doc: "Keycloak: realm roles (realm_access.roles) and this client's roles (resource_access.CLIENT.roles) together.",
    keys: (file) => ({
      scopes: ['openid', 'profile', 'email', 'roles'],
      claims: {
        username: ['preferred_username'],
        roles: 'realm_access.roles',
        additionalRoles: [`resource_access[${JSON.stringify(String(file.clientId ?? ''))}].roles`],
      },
    }),
    recognises: (issuer) => URL.canParse(issuer) && /\/realms\/[^/]+\/?$/.test(new URL(issuer).pathname),
  },
  {
    name: 'entra-id',
    strategy: 'oidc',
    doc: 'Microsoft Entra ID: identities keyed by oid (stable across applications), username from preferred_username (the UPN), app roles from roles, cleared when Entra omits the claim; the full name split when no given and family names are sent.',
    keys: () => ({
      scopes: ['openid', 'profile', 'email'],
      claims: { subject: 'oid', username: ['preferred_username', 'upn', 'email'], roles: 'roles' },
      splitFullName: true,
      absentRoles: 'clear',
    }),
    recognises: (issuer) => ['login.microsoftonline.com', 'sts.windows.net'].includes(host(issuer)),
  },
  {
    name: 'okta',
    strategy: 'oidc',
    doc: 'Okta: the groups scope, groups as roles (cleared when absent), username from preferred_username (the Okta login).',
    keys: () => ({
      scopes: ['openid', 'profile', 'email', 'groups'],
      claims: { username: ['preferred_username', 'email'], roles: 'groups' },
      absentRoles: 'clear',
    }),
    recognises: (issuer) => /\.(okta|oktapreview|okta-emea)\.com$/.test(host(issuer)),
  },
  {
    name: 'google',
    strategy: 'oidc',
    doc: 'Google: no username claim, so the username is the email address; no roles (grant them in OTPKI, or with mappers).',
    keys: () => ({
      scopes: ['openid', 'profile', 'email'],
      claims: { username: ['email'] },
    }),
    recognises: (issuer) => host(issuer) === 'accounts.google.com',
  },
  {
    name: 'auth0',
    strategy: 'oidc',
    doc: 'Auth0: username from nickname when there is no preferred_username; roles from the namespaced claim an Auth0 Action adds (set claims.roles to yours, for example ["https://example.com/roles"]).',
    keys: () => ({
      scopes: ['openid', 'profile', 'email'],
      claims: { username: ['preferred_username', 'nickname', 'email'], roles: '["https://otpki/roles"]' },
    }),
    recognises: (issuer) => /\.auth0\.com$/.test(host(issuer)),
  },
  {
    name: 'cognito',
    strategy: 'oidc',
    doc: 'Amazon Cognito: username from cognito:username, user-pool groups (cognito:groups) as roles, cleared when absent; email from the ID token.',
    keys: () => ({
      scopes: ['openid', 'profile', 'email'],
      claims: { username: ['cognito:username', 'preferred_username'], roles: 'cognito:groups' },
      absentRoles: 'clear',
    }),
    recognises: (issuer) => /^cognito-idp\.[a-z0-9-]+\.amazonaws\.com$/.test(host(issuer)),
  },
  {
    name: 'gatekeeper',
    strategy: 'oidc',
    doc: 'Providers that put roles in groups and send preferred_username, as Keycloak Gatekeeper (Louketo) set-ups do: groups as roles, cleared when absent.',
    keys: () => ({
      scopes: ['openid', 'profile', 'email', 'groups'],
      claims: { username: ['preferred_username'], roles: 'groups' },
      absentRoles: 'clear',
    }),
  },
]
