import { field, type InputOf } from './fields.ts'

/**
 * The keys of a provider file (`config/providers/NAME.ts` or `NAME.json`).
 * Names mirror the operator documentation.
 */
export const providerFields = {
  name: field.string({
    doc: 'Unique name of the provider, used in URLs (?provider=name) and logs. Defaults to the file name.',
    pattern: '^[a-z0-9][a-z0-9_-]{0,62}$',
    defaultText: 'the file name without extension',
  }),
  displayName: field.string({ doc: 'Label on the sign-in page.', max: 100, defaultText: 'the name' }),
  displayOrder: field.int({ doc: 'Position on the sign-in page; lower comes first.', default: 0 }),
  enabled: field.boolean({ doc: 'A disabled provider is invisible and unusable.', default: true }),
  hideOnLoginPage: field.boolean({
    doc: 'Not listed on the sign-in page, but usable with /auth/sign-in?provider=name.',
    default: false,
  }),
  issuer: field.url({
    doc: 'The issuer identifier; discovery is fetched from ISSUER/.well-known/openid-configuration and its issuer must match. https, except for loopback hosts.',
    required: true,
  }),
  discovery: field.boolean({
    doc: 'Read the endpoints from ISSUER/.well-known/openid-configuration (its issuer must equal issuer). Off: give them in endpoints.',
    default: true,
  }),
  endpoints: field.object(
    {
      authorization: field.url({ doc: 'Authorization endpoint (required when discovery is off).' }),
      token: field.url({ doc: 'Token endpoint (required when discovery is off).' }),
      userinfo: field.url({ doc: 'Userinfo endpoint.' }),
      endSession: field.url({ doc: 'End-session (RP-initiated logout) endpoint.' }),
      jwks: field.url({ doc: 'JWKS URL of the signing keys.' }),
      introspection: field.url({ doc: 'Token introspection endpoint (RFC 7662).' }),
    },
    {
      doc: 'Endpoints given by hand, when discovery is off. With discovery on, a value here overrides the discovered one.',
    },
  ),
  backchannelUrl: field.url({
    doc: 'Internal base URL for server-to-server calls (discovery, JWKS, token, userinfo, introspection). URLs under the issuer are sent here instead; browsers and issuer validation keep the public issuer.',
  }),
  clientId: field.string({ doc: 'The client ID registered at the provider.', required: true }),
  clientSecret: field.secret({
    doc: 'The client secret: a string, { "env": "NAME" } or { "file": "/path" }. Never logged or listed. Required for client_secret_basic, client_secret_post and client_secret_jwt.',
  }),
  clientAuthentication: field.enum(
    ['client_secret_basic', 'client_secret_post', 'client_secret_jwt', 'private_key_jwt', 'none'],
    {
      doc: 'How OTPKI authenticates at the token and introspection endpoints. none: a public client (PKCE is then mandatory).',
      default: 'client_secret_basic',
    },
  ),
  clientAssertionSigningAlg: field.enum(
    [
      'RS256',
      'RS384',
      'RS512',
      'PS256',
      'PS384',
      'PS512',
      'ES256',
      'ES384',
      'ES512',
      'EdDSA',
      'HS256',
      'HS384',
      'HS512',
    ],
    {
      doc: 'Signing algorithm of the client assertion (client_secret_jwt: HS*; private_key_jwt: one the key allows).',
      defaultText: 'RS256 for private_key_jwt, HS256 for client_secret_jwt',
    },
  ),
  clientPrivateKey: field.secret({
    doc: 'Private key for private_key_jwt, as PEM (PKCS#8) or a JWK (JSON text; its kid is sent), through a secret reference.',
  }),
  redirectUrl: field.url({
    doc: 'The redirect URL registered at the provider.',
    defaultText: '<publicUrl>/auth/callback',
  }),
  postLogoutUrl: field.url({
    doc: 'Where the provider sends the browser after sign-out (register it at the provider).',
    defaultText: '<publicUrl>/auth/signed-out',
  }),
  scopes: field.stringArray({ doc: 'Scopes requested; must include openid.', default: ['openid', 'profile', 'email'] }),
  prompt: field.enum(['none', 'login', 'consent', 'select_account'], {
    doc: 'The prompt parameter sent with every authorization request.',
  }),
  acceptsPromptNoneForward: field.boolean({
    doc: 'When OTPKI sign-in is asked with prompt=none (silent re-authentication), forward it to this provider; off: answer login_required at once.',
    default: false,
  }),
  pkce: field.enum(['S256', 'off'], {
    doc: 'PKCE method. off only for providers that cannot do PKCE (logged as a warning); never with clientAuthentication none.',
    default: 'S256',
  }),
  validateSignatures: field.boolean({
    doc: 'Verify ID token signatures. Off is accepted only for ID tokens received directly from the token endpoint over TLS; logged as a warning at every load; every claim check still applies.',
    default: true,
  }),
  useJwksUrl: field.boolean({
    doc: "Verify with the provider's JWKS (cached; an unknown kid causes one rate-limited refetch). Off: validatingPublicKey.",
    default: true,
  }),
  validatingPublicKey: field.string({
    doc: 'PEM public key (or certificate) that signs the tokens, when useJwksUrl is off.',
  }),
  validatingPublicKeyId: field.string({ doc: "With validatingPublicKey: the token's kid must equal this." }),
  signatureAlgorithms: field.stringArray({
    doc: "Accepted token signature algorithms. Default: the provider's id_token_signing_alg_values_supported, else RS256. none is always refused.",
  }),
  sessionMaxInactive: field.duration({
    doc: 'Idle timeout of sessions from this provider.',
    defaultText: 'the main sessionMaxInactive (30m)',
  }),
  sessionMaxLength: field.duration({
    doc: 'Absolute lifetime of sessions from this provider.',
    defaultText: 'the main sessionMaxLength (10h)',
  }),
  createUnknownUsers: field.boolean({
    doc: 'Create an OTPKI user at the first sign-in of an identity; when off, unknown identities are refused.',
    default: true,
  }),
  createUnknownRoles: field.boolean({
    doc: 'Create roles named in the roles claim that OTPKI does not know (system roles, no permissions); when off they are ignored.',
    default: false,
  }),
  trustEmail: field.boolean({
    doc: 'Store emails from this provider as verified. Off: an email is verified only when the email_verified claim says so.',
    default: false,
  }),
  accountLinkingOnly: field.boolean({
    doc: 'The provider cannot sign anyone in or create users; a signed-in user can link an identity from it to their own account.',
    default: false,
  }),
  storeTokens: field.boolean({
    doc: "Keep the provider's access, refresh and ID tokens with the session, encrypted at rest.",
    default: false,
  }),
  storedTokensReadable: field.boolean({
    doc: 'The signed-in user may read their own stored tokens at GET /auth/tokens (refreshed when expired).',
    default: false,
  }),
  backchannelLogout: field.boolean({
    doc: 'Accept OIDC Back-Channel Logout tokens from this provider at POST /auth/backchannel-logout (register that URL at the provider).',
    default: false,
  }),
  bearerAudience: field.stringArray({
    doc: 'Bearer JWT access tokens from this provider are accepted when their aud holds one of these.',
    defaultText: '[clientId]',
  }),
  claims: field.object(
    {
      source: field.enum(['merged', 'id_token', 'userinfo'], {
        doc: 'Which claims the mapping reads: the ID token merged with userinfo, or only one of them.',
        default: 'merged',
      }),
      username: field.stringArray({
        doc: 'Claim paths for the username, first present wins.',
        default: ['username', 'preferred_username'],
      }),
      firstName: field.string({ doc: 'Claim path of the first name.', default: 'given_name' }),
      lastName: field.string({ doc: 'Claim path of the last name.', default: 'family_name' }),
      email: field.string({ doc: 'Claim path of the email.', default: 'email' }),
      emailVerified: field.string({ doc: 'Claim path saying the email is verified.', default: 'email_verified' }),
      roles: field.string({
        doc: 'Claim path of the roles (an array, or a string separated by spaces or commas).',
        default: 'roles',
      }),
    },
    { doc: 'Where the default mapping finds each field (claim paths, see the README).' },
  ),
  mappers: field.anyArray({
    doc: 'Claim mappers applied in order after the default mapping: [{ "type": "attribute", ... }, ...]. Each may set its own syncMode.',
    default: [],
  }),
  syncMode: field.enum(['force', 'import', 'legacy'], {
    doc: 'force: names, roles and attributes refreshed at every sign-in; import: set at the first sign-in only; legacy: names and attributes at the first sign-in, roles at every one.',
    default: 'force',
  }),
  roleSyncScope: field.enum(['all', 'provider'], {
    doc: "all: a roles claim sets exactly the user's roles; provider: only the roles that came from this provider change (for users who also hold roles from an administrator or another provider).",
    default: 'all',
  }),
  usernameCollision: field.enum(['refuse', 'suffix'], {
    doc: 'A new identity whose username belongs to another account: refuse the sign-in, or create the user as username-2, -3, ... Never signed in as the existing user.',
    default: 'refuse',
  }),
  firstLoginFlow: field.anyArray({
    doc: 'Flow steps run at the first sign-in of an identity, before the user is created.',
    default: [],
  }),
  postLoginFlow: field.anyArray({ doc: 'Flow steps run at every sign-in, before user sync.', default: [] }),
  clockTolerance: field.duration({
    doc: "How far a token's iat, nbf and auth_time may lie in the future, and exp in the past, because clocks differ (ID tokens, logout tokens, bearer tokens). At most 5m.",
    default: '30s',
  }),
  introspectionCacheTtl: field.duration({
    doc: 'How long an opaque bearer token accepted by introspection is reused before it is introspected again: a token revoked at the provider stops working within this time.',
    default: '10s',
  }),
  introspectTokens: field.boolean({
    doc: 'Introspect opaque bearer tokens at this provider (RFC 7662). At most one provider may, so a token is never sent to another.',
    default: false,
  }),
}

/** What a provider file may contain. */
export type ProviderInput = InputOf<typeof providerFields>

/**
 * Types a provider file; returns its argument unchanged.
 *
 * @example
 * ```ts
 * // config/providers/keycloak.ts
 * import { defineProvider } from 'otpki'
 * export default defineProvider({
 *   displayName: 'Company SSO',
 *   issuer: 'https://sso.example.com/realms/pki',
 *   clientId: 'otpki',
 *   clientSecret: { env: 'KEYCLOAK_CLIENT_SECRET' },
 * })
 * ```
 */
export function defineProvider(provider: ProviderInput): ProviderInput {
  return provider
}
