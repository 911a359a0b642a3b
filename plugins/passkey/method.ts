import { randomBytes } from 'node:crypto'
import type { AuthenticationResponseJSON } from '@simplewebauthn/server'
import { verifyAuthenticationResponse } from '@simplewebauthn/server'
import {
  OtpkiError,
  type AuthMethod,
  type CallbackRequest,
  type FinishResult,
  type PendingSignIn,
  type PluginServices,
  type ProviderDefinition,
  type StartResult,
} from 'otpki'
import type { PasskeyConfig } from './config.ts'
import { PasskeyStore } from './store.ts'

/** Whose identities passkey providers vouch for: users' passkeys are kept by OTPKI itself. */
export const PASSKEY_ISSUER = 'urn:otpki:passkey'

/** The page that runs the sign-in ceremony in the browser. */
export const SIGN_IN_PAGE = '/auth/passkeys/sign-in'

/** The largest assertion a browser sends (its JSON), in characters. */
const ASSERTION_LIMIT = 16_384

const refused = (reason: string, publicMessage: string, cause?: unknown) =>
  new OtpkiError('CREDENTIAL_REFUSED', reason, { publicMessage, cause })

const invalid = (reason: string) =>
  new OtpkiError('AUTH_RESPONSE_INVALID', reason, {
    publicMessage: 'The passkey sign-in could not be completed. Please try again.',
  })

/** The assertion a browser posted to /auth/callback, in the shape WebAuthn's JSON encoding gives it. */
function assertionOf(request: CallbackRequest): AuthenticationResponseJSON {
  const form = request.form
  if (!form) throw invalid('a passkey callback without a form')
  const failure = form.get('error')
  if (failure) {
    throw new OtpkiError('AUTH_PROVIDER_ERROR', `the browser reported: ${failure.slice(0, 200)}`, {
      publicMessage: 'The browser did not sign in with a passkey (it was cancelled, or no passkey was chosen).',
    })
  }
  const raw = form.get('credential')
  if (!raw || raw.length > ASSERTION_LIMIT) throw invalid('a passkey callback without an assertion')
  let value: unknown
  try {
    value = JSON.parse(raw)
  } catch {
    throw invalid('the assertion is not JSON')
  }
  const v = value as Partial<AuthenticationResponseJSON> | null
  const r = v?.response as Partial<AuthenticationResponseJSON['response']> | undefined
  if (
    typeof v?.id !== 'string' ||
    !/^[\w-]{1,1400}$/.test(v.id) ||
    v.type !== 'public-key' ||
    typeof r?.clientDataJSON !== 'string' ||
    typeof r.authenticatorData !== 'string' ||
    typeof r.signature !== 'string'
  ) {
    throw invalid('the assertion is not a WebAuthn public-key credential')
  }
  return { ...(v as AuthenticationResponseJSON), rawId: v.id, clientExtensionResults: v.clientExtensionResults ?? {} }
}

/**
 * The passkey auth method: a provider of strategy `passkey` offers "Sign in
 * with a passkey". `start` makes a challenge and sends the browser to the
 * ceremony page; the page posts the assertion to /auth/callback, where
 * `finish` verifies it against the stored credential (origin, relying-party
 * ID, user verification, signature, counter). The challenge lives in the
 * sign-in transaction: single-use, short-lived, bound to the browser.
 */
export function passkeyMethod(
  config: PasskeyConfig,
  services: () => PluginServices,
): AuthMethod<object, Record<string, unknown>> {
  return {
    strategy: 'passkey',
    ownButton: true,
    optionsSchema: {},
    issuerOf: () => PASSKEY_ISSUER,
    describe: () => ({ rpId: config.rpId }),
    // Nothing to reach: a passkey sign-in works while every identity provider is down.
    initialize: async () => ({}),
    // No session elsewhere to end: signing out of OTPKI is all of it.
    signOutByServer: async () => true,
    async start(_context, provider): Promise<StartResult> {
      const challenge = randomBytes(32).toString('base64url')
      const url = new URL(SIGN_IN_PAGE, config.origin)
      url.searchParams.set('challenge', challenge)
      url.searchParams.set('provider', provider.name)
      return { url, data: { challenge } }
    },
    async finish(
      _context,
      provider: ProviderDefinition<Record<string, unknown>>,
      request: CallbackRequest,
      pending: PendingSignIn,
    ): Promise<FinishResult> {
      const assertion = assertionOf(request)
      const expectedChallenge = pending.data.challenge
      if (!expectedChallenge) throw invalid('the sign-in holds no passkey challenge')
      const live = services()
      const store = new PasskeyStore(live)
      const passkey = await store.find(assertion.id)
      if (!passkey) {
        throw refused(
          `passkey ${assertion.id.slice(0, 64)} is not registered (never, or removed)`,
          'This passkey is not registered with OTPKI (it may have been removed). Sign in another way, then register it again.',
        )
      }
      // The user handle the authenticator keeps with a discoverable credential is the one it was made for.
      const handle = assertion.response.userHandle
      if (handle !== undefined && handle !== passkey.userHandle)
        throw refused(
          `passkey ${passkey.id.slice(0, 64)} answered for another user handle`,
          'The passkey sign-in was refused.',
        )
      const user = await live.users.findById(passkey.userId)
      if (!user)
        throw refused(`the user of passkey ${passkey.id.slice(0, 64)} is gone`, 'This passkey belongs to no account.')
      if (user.disabled) {
        throw new OtpkiError('USER_DISABLED', `user ${user.username} is disabled`, {
          publicMessage: 'Your OTPKI account is disabled. Please contact an administrator.',
        })
      }
      let verified: Awaited<ReturnType<typeof verifyAuthenticationResponse>>
      try {
        verified = await verifyAuthenticationResponse({
          response: assertion,
          expectedChallenge,
          expectedOrigin: config.origin,
          expectedRPID: config.rpId,
          requireUserVerification: true,
          credential: {
            id: passkey.id,
            publicKey: passkey.publicKey as Uint8Array<ArrayBuffer>,
            counter: passkey.counter,
            transports: passkey.transports as never,
          },
        })
      } catch (cause) {
        const message = cause instanceof Error ? cause.message : String(cause)
        if (/counter value/i.test(message)) {
          // The counter went backwards or stood still: another copy of the key signed since (a clone).
          live.logger.warn(
            { plugin: 'passkey', username: user.username, passkey: passkey.id.slice(0, 64), counter: passkey.counter },
            `passkey of ${user.username} refused: its signature counter did not advance (${message}); the authenticator may have been cloned`,
          )
          throw refused(
            `passkey counter did not advance: ${message}`,
            'This passkey was refused: it may have been copied. Please contact an administrator.',
            cause,
          )
        }
        throw refused(
          `passkey assertion refused: ${message}`,
          'The passkey sign-in was refused. Please try again.',
          cause,
        )
      }
      if (!verified.verified) throw refused('passkey signature does not verify', 'The passkey sign-in was refused.')
      const { newCounter } = verified.authenticationInfo
      if (!(await store.used(passkey.id, passkey.counter, newCounter))) {
        throw refused('the passkey was used concurrently with the same counter', 'The passkey sign-in was refused.')
      }
      const result = {
        // The user as stored: a sync (whatever the provider file's syncMode) changes nothing.
        claims: {
          iss: PASSKEY_ISSUER,
          sub: String(user.id),
          preferred_username: user.username,
          ...(user.firstName ? { given_name: user.firstName } : {}),
          ...(user.lastName ? { family_name: user.lastName } : {}),
        },
        idTokenClaims: undefined,
        userinfo: undefined,
      }
      // The identity the sign-in finds the user by; linked once (never to another account).
      if (!(await live.identities.find(PASSKEY_ISSUER, String(user.id))))
        await live.identities.link(provider, result, user.id)
      return { result: { ...result, idToken: undefined } }
    },
  }
}
