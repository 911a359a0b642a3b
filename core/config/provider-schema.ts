import { field, type InputOf } from './fields.ts'

/**
 * The envelope of a provider file (`config/providers/NAME.ts` or `NAME.json`):
 * the keys every strategy shares. The strategy named by `strategy` owns the
 * other keys of the file (its options schema). Names mirror the operator
 * documentation.
 */
export const envelopeFields = {
  name: field.string({
    doc: 'Unique name of the provider, used in URLs (?provider=name) and logs. Defaults to the file name.',
    pattern: '^[a-z0-9][a-z0-9_-]{0,62}$',
    defaultText: 'the file name without extension',
  }),
  strategy: field.string({
    doc: 'The auth method that serves this provider; the other keys of the file are its options.',
    pattern: '^[a-z][a-z0-9-]{0,62}$',
    defaultText: 'the default strategy (oidc with the built-in plugins)',
  }),
  preset: field.string({
    doc: 'Settings for a kind of provider (keycloak, entra-id, okta, google, auth0, cognito, gatekeeper): scopes, claim paths and options it needs. Keys the file sets itself win; otpki explain shows what came from the preset.',
    pattern: '^[a-z][a-z0-9-]{0,62}$',
  }),
  displayName: field.string({ doc: 'Label on the sign-in page.', max: 100, defaultText: 'the name' }),
  displayOrder: field.int({ doc: 'Position on the sign-in page; lower comes first.', default: 0 }),
  icon: field.string({
    doc: "An image shown beside the provider's name on the sign-in page: a file path (relative to this file) or an https URL, read at each load (a URL at most once an hour); PNG, JPEG, GIF, WebP, ICO or SVG, at most 64 KB. One that cannot be read is logged and left out; the provider works without it.",
    max: 2048,
  }),
  enabled: field.boolean({ doc: 'A disabled provider is invisible and unusable.', default: true }),
  hideOnLoginPage: field.boolean({
    doc: 'Not listed on the sign-in page, but usable with /auth/sign-in?provider=name.',
    default: false,
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
  claims: field.object(
    {
      source: field.enum(['merged', 'id_token', 'userinfo'], {
        doc: 'Which claims the mapping reads: the ID token merged with userinfo, or only one of them.',
        default: 'merged',
      }),
      subject: field.string({
        doc: 'Claim path of the identifier that keys an identity at this provider, with the issuer: it must never change or be reused for another person (Entra ID: oid). Changing it makes every user of the provider a new identity.',
        default: 'sub',
      }),
      username: field.stringArray({
        doc: 'Claim paths for the username, first present wins.',
        default: ['username', 'preferred_username'],
      }),
      firstName: field.string({ doc: 'Claim path of the first name.', default: 'given_name' }),
      lastName: field.string({ doc: 'Claim path of the last name.', default: 'family_name' }),
      fullName: field.string({
        doc: 'Claim path of the full name, split into first and last name with splitFullName.',
        default: 'name',
      }),
      email: field.string({ doc: 'Claim path of the email.', default: 'email' }),
      emailVerified: field.string({ doc: 'Claim path saying the email is verified.', default: 'email_verified' }),
      roles: field.string({
        doc: 'Claim path of the roles (an array, or a string separated by spaces or commas).',
        default: 'roles',
      }),
      additionalRoles: field.stringArray({
        doc: 'More claim paths whose roles are added to those of roles (Keycloak: client roles beside realm roles).',
        default: [],
      }),
    },
    { doc: 'Where the default mapping finds each field (claim paths, see the README).' },
  ),
  splitFullName: field.boolean({
    doc: 'When the provider sends neither first nor last name, take them from the full name (claims.fullName): the last word is the last name, the rest the first name.',
    default: false,
  }),
  absentRoles: field.enum(['keep', 'clear'], {
    doc: "What a sign-in without the roles claim means: keep the user's roles as they are, or clear them (providers such as Entra ID omit the claim for a user who has no roles, so revoked roles would otherwise stay).",
    default: 'keep',
  }),
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
}

/** The envelope as the core reads it: validated, defaults applied. */
export type EnvelopeInput = InputOf<typeof envelopeFields>

/**
 * The options each strategy adds to a provider file, by strategy name. A
 * strategy plugin declares its own by augmenting this interface, so
 * `defineProvider` types the whole file:
 *
 * @example
 * ```ts
 * declare module 'otpki' {
 *   interface ProviderStrategies { saml: { entityId: string } }
 * }
 * ```
 */
// biome-ignore lint/suspicious/noEmptyInterface: filled by declaration merging
export interface ProviderStrategies {}

type StrategyInput<S extends keyof ProviderStrategies> = Omit<EnvelopeInput, 'strategy'> & {
  strategy?: S
} & ProviderStrategies[S]

/** What a provider file may contain: the envelope plus one strategy's options. */
export type ProviderInput = [keyof ProviderStrategies] extends [never]
  ? EnvelopeInput & Record<string, unknown>
  : { [S in keyof ProviderStrategies]: StrategyInput<S> }[keyof ProviderStrategies]

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
