import type { OidcProvider } from './options.ts'

/** Seconds for any server-to-server call to a provider. */
export const HTTP_TIMEOUT_SECONDS = 10

/**
 * The fetch used for every server-to-server call to a provider. With
 * `backchannelUrl`, a URL under the public issuer (or on its origin) goes to
 * the internal base URL instead; browsers keep the public URLs.
 *
 * @example issuer https://sso.example.com/realms/pki, backchannelUrl
 * http://keycloak.internal:8080/realms/pki: the token endpoint
 * https://sso.example.com/realms/pki/protocol/openid-connect/token is called as
 * http://keycloak.internal:8080/realms/pki/protocol/openid-connect/token.
 */
export function providerFetch(provider: OidcProvider): typeof fetch {
  const internal = provider.options.backchannelUrl
  if (!internal) return (input, init) => fetch(input, withTimeout(init))
  const publicBase = provider.issuer.replace(/\/+$/, '')
  const internalBase = internal.replace(/\/+$/, '')
  const publicOrigin = new URL(provider.issuer).origin
  const internalOrigin = new URL(internal).origin
  return (input, init) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url
    return fetch(rewriteUrl(url, publicBase, internalBase, publicOrigin, internalOrigin), withTimeout(init))
  }
}

function rewriteUrl(
  url: string,
  publicBase: string,
  internalBase: string,
  publicOrigin: string,
  internalOrigin: string,
): string {
  if (url === publicBase || url.startsWith(`${publicBase}/`)) return internalBase + url.slice(publicBase.length)
  if (url.startsWith(`${publicOrigin}/`)) return internalOrigin + url.slice(publicOrigin.length)
  return url
}

function withTimeout(init: RequestInit | undefined): RequestInit {
  return { ...init, signal: init?.signal ?? AbortSignal.timeout(HTTP_TIMEOUT_SECONDS * 1000) }
}

/**
 * The inverse, for URLs a browser must open: some providers build their
 * endpoint URLs from the request's host, so discovery through the internal URL
 * names internal endpoints. Browsers always get the public ones.
 */
export function publicUrlFor(provider: OidcProvider, url: string | undefined): string | undefined {
  if (!url || !provider.options.backchannelUrl) return url
  return rewriteUrl(
    url,
    provider.options.backchannelUrl.replace(/\/+$/, ''),
    provider.issuer.replace(/\/+$/, ''),
    new URL(provider.options.backchannelUrl).origin,
    new URL(provider.issuer).origin,
  )
}
