import { describeNetworkFailure, type ImportOptions } from '../../core/index.ts'
import { HTTP_TIMEOUT_SECONDS } from './backchannel-fetch.ts'

const WELL_KNOWN = '/.well-known/openid-configuration'

/** Client authentications by a secret, in the order OTPKI picks among those the provider supports (the most widely supported first). */
const AUTH_PREFERENCE = ['client_secret_basic', 'client_secret_post', 'client_secret_jwt']

/**
 * `otpki providers import`: an OIDC provider file from the provider's
 * discovery document: an issuer (its `/.well-known/openid-configuration` is
 * read), the metadata URL itself, or a saved metadata file. A document read
 * from the issuer's own well-known URL keeps discovery on; any other source
 * turns it off and writes the endpoints. The signing algorithms and the
 * client authentication come from what the provider says it supports.
 */
export async function importOidcProvider(
  source: string,
  options: ImportOptions,
): Promise<{ keys: Record<string, unknown>; notes: string[] }> {
  const notes: string[] = []
  const isUrl = /^https?:\/\//i.test(source)
  let text: string
  let fetchedFrom: string | undefined
  if (isUrl) {
    fetchedFrom = source.includes(WELL_KNOWN) ? source : `${source.replace(/\/+$/, '')}${WELL_KNOWN}`
    let response: Response
    try {
      response = await fetch(fetchedFrom, {
        headers: { accept: 'application/json' },
        redirect: 'error',
        signal: AbortSignal.timeout(HTTP_TIMEOUT_SECONDS * 1000),
      })
    } catch (cause) {
      throw new Error(`cannot read ${fetchedFrom}: ${describeNetworkFailure(cause, fetchedFrom)}`, { cause })
    }
    if (!response.ok) throw new Error(`cannot read ${fetchedFrom}: HTTP ${response.status} ${response.statusText}`)
    text = await response.text()
  } else {
    text = await options.readFile(source)
  }
  let metadata: Record<string, unknown>
  try {
    metadata = JSON.parse(text) as Record<string, unknown>
  } catch (cause) {
    throw new Error(`${fetchedFrom ?? source} is not JSON: ${(cause as Error).message}`, { cause })
  }
  if (!metadata || typeof metadata !== 'object' || Array.isArray(metadata))
    throw new Error(`${fetchedFrom ?? source} is not a discovery document (a JSON object)`)
  const str = (key: string) => (typeof metadata[key] === 'string' ? (metadata[key] as string) : undefined)
  const list = (key: string) =>
    Array.isArray(metadata[key]) ? (metadata[key] as unknown[]).filter((v): v is string => typeof v === 'string') : []
  const issuer = str('issuer')
  if (!issuer) throw new Error(`${fetchedFrom ?? source} has no issuer: not an OpenID Connect discovery document`)
  for (const key of ['authorization_endpoint', 'token_endpoint'])
    if (!str(key)) throw new Error(`${fetchedFrom ?? source} has no ${key}`)
  // Discovery stays on only when the document is the one OTPKI will read itself, and it names that issuer.
  const discovery = fetchedFrom === `${issuer.replace(/\/+$/, '')}${WELL_KNOWN}`
  if (fetchedFrom && !discovery)
    notes.push(
      `the document at ${fetchedFrom} is not the issuer's own (${issuer}${WELL_KNOWN}): discovery is off and the endpoints are written out`,
    )

  const supported = list('token_endpoint_auth_methods_supported')
  // OIDC Discovery: without the list, client_secret_basic is the default.
  const methods = supported.length > 0 ? supported : ['client_secret_basic']
  const auth = AUTH_PREFERENCE.find((m) => methods.includes(m))
  const keys: Record<string, unknown> = {
    displayName: options.name,
    issuer,
    clientId: options.clientId ?? 'CHANGE-ME',
  }
  if (!options.clientId) notes.push('set clientId to the client ID registered at the provider')
  if (auth) {
    const variable = `${options.name.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}_CLIENT_SECRET`
    keys.clientSecret = { env: variable }
    if (auth !== 'client_secret_basic') keys.clientAuthentication = auth
    notes.push(`the client secret is read from the environment variable ${variable}`)
  } else if (methods.includes('private_key_jwt')) {
    const keyFile = `/etc/otpki/${options.name}-client-key.pem`
    keys.clientAuthentication = 'private_key_jwt'
    keys.clientPrivateKey = { file: keyFile }
    notes.push(
      `the provider accepts no client secret: create a key pair, register its public key at the provider, and put the private key in ${keyFile}`,
    )
  } else {
    throw new Error(`the provider supports no client authentication OTPKI can do (${methods.join(', ')})`)
  }
  const algorithms = list('id_token_signing_alg_values_supported').filter((a) => a !== 'none')
  if (algorithms.length > 0) keys.signatureAlgorithms = algorithms
  const scopes = list('scopes_supported')
  if (scopes.length > 0) {
    const wanted = ['openid', 'profile', 'email'].filter((s) => scopes.includes(s))
    if (!wanted.includes('openid')) wanted.unshift('openid')
    keys.scopes = wanted
  }
  if (!discovery) {
    keys.discovery = false
    const endpoints: Record<string, string> = {}
    const pairs: [string, string][] = [
      ['authorization', 'authorization_endpoint'],
      ['token', 'token_endpoint'],
      ['userinfo', 'userinfo_endpoint'],
      ['endSession', 'end_session_endpoint'],
      ['jwks', 'jwks_uri'],
      ['introspection', 'introspection_endpoint'],
    ]
    for (const [key, meta] of pairs) {
      const value = str(meta)
      if (value) endpoints[key] = value
    }
    keys.endpoints = endpoints
  }
  if (metadata.backchannel_logout_supported === true)
    notes.push(
      'the provider supports back-channel logout: register <publicUrl>/auth/backchannel-logout and set backchannelLogout: true to use it',
    )
  return { keys, notes }
}
