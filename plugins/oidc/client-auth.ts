import { createPrivateKey, randomUUID } from 'node:crypto'
import { SignJWT } from 'jose'
import * as client from 'openid-client'
import type { OidcProvider } from './options.ts'

/**
 * The client authentication of a provider: client_secret_basic,
 * client_secret_post, client_secret_jwt and private_key_jwt (a client
 * assertion signed with `clientAssertionSigningAlg`), or none.
 */
export function clientAuthentication(provider: OidcProvider): client.ClientAuth {
  switch (provider.options.clientAuthentication) {
    case 'client_secret_basic':
      return secretBasic(provider.options.clientId, provider.options.clientSecret!)
    case 'client_secret_post':
      return client.ClientSecretPost(provider.options.clientSecret)
    case 'none':
      return client.None()
    case 'client_secret_jwt':
      return assertion(provider, new TextEncoder().encode(provider.options.clientSecret), undefined)
    case 'private_key_jwt': {
      const text = provider.options.clientPrivateKey!.trim()
      const jwk = text.startsWith('{') ? (JSON.parse(text) as { kid?: string }) : undefined
      const key = createPrivateKey(jwk ? { key: jwk as never, format: 'jwk' } : text)
      return assertion(provider, key, jwk?.kid)
    }
  }
}

/**
 * client_secret_basic, with the client ID and secret each encoded as
 * application/x-www-form-urlencoded does (RFC 6749 2.3.1): `*-._` and
 * letters and digits stay as they are, a space becomes `+`. Some providers
 * compare the Basic credentials without decoding them, and a secret of
 * base64url characters then still matches.
 */
function secretBasic(clientId: string, clientSecret: string): client.ClientAuth {
  const encode = (value: string) => new URLSearchParams({ v: value }).toString().slice(2)
  const credentials = Buffer.from(`${encode(clientId)}:${encode(clientSecret)}`).toString('base64')
  return (_as, _client, _body, headers) => {
    headers.set('authorization', `Basic ${credentials}`)
  }
}

/** RFC 7523 client assertion: iss = sub = client ID, aud = the issuer, short-lived, unique jti. */
function assertion(
  provider: OidcProvider,
  key: Uint8Array | import('node:crypto').KeyObject,
  kid: string | undefined,
): client.ClientAuth {
  const auth = async (as: client.ServerMetadata, _client: client.ClientMetadata, body: URLSearchParams) => {
    const now = Math.floor(Date.now() / 1000)
    const jwt = await new SignJWT({})
      .setProtectedHeader({ alg: provider.options.clientAssertionSigningAlg!, ...(kid ? { kid } : {}) })
      .setIssuer(provider.options.clientId)
      .setSubject(provider.options.clientId)
      .setAudience(as.issuer)
      .setJti(randomUUID())
      .setIssuedAt(now)
      .setExpirationTime(now + 60)
      .sign(key)
    body.set('client_id', provider.options.clientId)
    body.set('client_assertion_type', 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer')
    body.set('client_assertion', jwt)
  }
  // openid-client awaits a returned promise; its type says void.
  return auth as unknown as client.ClientAuth
}
