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
  clientId: field.string({ doc: 'The client ID registered at the provider.', required: true }),
  clientSecret: field.secret({
    doc: 'The client secret: a string, { "env": "NAME" } or { "file": "/path" }. Never logged or listed.',
  }),
  clientAuthentication: field.enum(['client_secret_basic', 'client_secret_post'], {
    doc: 'How OTPKI authenticates at the token endpoint.',
    default: 'client_secret_basic',
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
