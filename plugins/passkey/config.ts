import { durationToSeconds, field, type InputOf, type OutputOf } from 'otpki'

/** The main configuration's `passkeys` section, owned by this plugin. */
export const passkeyFields = {
  registerRoles: field.stringArray({
    doc: 'Roles whose members may register passkeys; empty: every signed-in user may.',
    default: [],
  }),
  requireForRoles: field.stringArray({
    doc: 'Roles whose members are asked, on the signed-in page, to register a passkey while they have none (your adminRoles, so that administrators keep a way in when every identity provider is down).',
    default: [],
  }),
  rpName: field.string({
    doc: 'The name authenticators show for this site when a passkey is registered.',
    env: 'OTPKI_PASSKEYS_RP_NAME',
    default: 'OTPKI',
    max: 64,
  }),
  timeout: field.duration({
    doc: 'How long a registration or sign-in ceremony may take in the browser; a registration challenge expires then.',
    env: 'OTPKI_PASSKEYS_TIMEOUT',
    default: '5m',
  }),
  attestation: field.enum(['none', 'direct'], {
    doc: "none: the authenticator's make and model are not asked for (the privacy-preserving default); direct: its attestation statement is asked for and verified.",
    env: 'OTPKI_PASSKEYS_ATTESTATION',
    default: 'none',
  }),
} as const

export const PASSKEY_DOC =
  'Passkeys (WebAuthn): which users may register them, and how the ceremonies run. The relying-party ID is the host of publicUrl and the origin is its origin.'

export type PasskeyConfigInput = InputOf<typeof passkeyFields>

declare module 'otpki' {
  interface ConfigSections {
    passkeys: PasskeyConfigInput
  }
}

/** The section as the plugin works with it: the relying party derived from publicUrl. */
export interface PasskeyConfig {
  readonly registerRoles: readonly string[]
  readonly requireForRoles: readonly string[]
  readonly rpName: string
  readonly rpId: string
  readonly origin: string
  readonly timeoutMs: number
  readonly attestation: 'none' | 'direct'
}

export function resolvePasskeyConfig(section: OutputOf<typeof passkeyFields>, publicUrl: string): PasskeyConfig {
  const url = new URL(publicUrl)
  return {
    registerRoles: section.registerRoles,
    requireForRoles: section.requireForRoles,
    rpName: section.rpName,
    rpId: url.hostname,
    origin: url.origin,
    timeoutMs: durationToSeconds(section.timeout) * 1000,
    attestation: section.attestation,
  }
}

/** Whether a user with these roles may register a passkey. */
export function mayRegister(config: PasskeyConfig, roles: readonly string[]): boolean {
  return config.registerRoles.length === 0 || roles.some((r) => config.registerRoles.includes(r))
}
