import type { RegistrationResponseJSON } from '@simplewebauthn/server'
import { generateRegistrationOptions, verifyRegistrationResponse } from '@simplewebauthn/server'
import { OtpkiError, type PluginServices, type StoredUser } from 'otpki'
import { mayRegister, type PasskeyConfig } from './config.ts'
import { type PasskeyInfo, PasskeyStore, passkeyName } from './store.ts'

const refused = (reason: string, publicMessage: string, cause?: unknown) =>
  new OtpkiError('CREDENTIAL_REFUSED', reason, { publicMessage, cause })

/** Refuses a user whose roles may not register passkeys (`passkeys.registerRoles`). */
export function requireMayRegister(config: PasskeyConfig, user: StoredUser): void {
  if (!mayRegister(config, user.roles)) {
    throw new OtpkiError('FORBIDDEN', `${user.username} holds none of passkeys.registerRoles`, {
      publicMessage: 'Your roles do not allow registering passkeys.',
    })
  }
}

/**
 * The options `navigator.credentials.create` takes: a discoverable credential
 * with user verification, for this relying party, none of the user's
 * passkeys again. The challenge is kept, single-use, for this user.
 */
export async function registrationOptions(config: PasskeyConfig, services: PluginServices, user: StoredUser) {
  requireMayRegister(config, user)
  const store = new PasskeyStore(services)
  const handle = await store.userHandle(user.id)
  const options = await generateRegistrationOptions({
    rpName: config.rpName,
    rpID: config.rpId,
    userName: user.username,
    userID: new Uint8Array(Buffer.from(handle, 'base64url')),
    userDisplayName: [user.firstName, user.lastName].filter(Boolean).join(' ') || user.username,
    timeout: config.timeoutMs,
    attestationType: config.attestation,
    excludeCredentials: (await store.list(user.id)).map((p) => ({ id: p.id })),
    authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
  })
  await store.keepChallenge(user.id, options.challenge, handle, services.clock.now() + config.timeoutMs)
  return options
}

/** The challenge a browser's response answers, from its client data. */
function challengeOf(response: RegistrationResponseJSON): string {
  try {
    const client = JSON.parse(Buffer.from(response.response.clientDataJSON, 'base64url').toString('utf8')) as {
      challenge?: unknown
    }
    if (typeof client.challenge === 'string') return client.challenge
  } catch {
    // answered below
  }
  throw new OtpkiError('REQUEST_INVALID', 'the registration response has no client data', {
    publicMessage: 'This is not a passkey registration response.',
  })
}

/** The registration response a browser posted, in WebAuthn's JSON encoding. */
function responseOf(value: unknown): RegistrationResponseJSON {
  const v = value as Partial<RegistrationResponseJSON> | null
  const r = v?.response as Partial<RegistrationResponseJSON['response']> | undefined
  if (
    typeof v?.id !== 'string' ||
    !/^[\w-]{1,1400}$/.test(v.id) ||
    v.type !== 'public-key' ||
    typeof r?.clientDataJSON !== 'string' ||
    typeof r.attestationObject !== 'string'
  ) {
    throw new OtpkiError('REQUEST_INVALID', 'not a WebAuthn registration response', {
      publicMessage: 'Send JSON: { "name": "...", "credential": <the PublicKeyCredential as JSON> }.',
    })
  }
  return { ...(v as RegistrationResponseJSON), rawId: v.id, clientExtensionResults: v.clientExtensionResults ?? {} }
}

/**
 * Verifies a registration response (its challenge used once, for this user,
 * before it expired; origin, relying-party ID, user verification, the
 * attestation) and stores the passkey.
 */
export async function registerPasskey(
  config: PasskeyConfig,
  services: PluginServices,
  user: StoredUser,
  body: Record<string, unknown>,
): Promise<PasskeyInfo> {
  requireMayRegister(config, user)
  const response = responseOf(body.credential)
  const challenge = challengeOf(response)
  const store = new PasskeyStore(services)
  const use = await store.useChallenge(user.id, challenge)
  if (use.state === 'unknown') {
    throw refused(
      `registration challenge unknown, used, or made for another user (${user.username})`,
      'This passkey registration was not started here, or was completed already. Please try again.',
    )
  }
  if (use.state !== 'used')
    throw refused('registration challenge expired', 'This passkey registration took too long. Please try again.')
  let verified: Awaited<ReturnType<typeof verifyRegistrationResponse>>
  try {
    verified = await verifyRegistrationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: config.origin,
      expectedRPID: config.rpId,
      requireUserVerification: true,
    })
  } catch (cause) {
    const message = cause instanceof Error ? cause.message : String(cause)
    throw refused(`passkey registration refused: ${message}`, `The passkey was refused: ${message}`, cause)
  }
  if (!verified.verified) throw refused('passkey registration does not verify', 'The passkey was refused.')
  const { credential, credentialBackedUp } = verified.registrationInfo
  const added = await store.add({
    id: credential.id,
    userId: user.id,
    userHandle: use.userHandle,
    name: passkeyName(body.name),
    publicKey: credential.publicKey,
    counter: credential.counter,
    transports: credential.transports ?? [],
    backedUp: credentialBackedUp,
  })
  services.users.changed(user.id)
  return added
}
