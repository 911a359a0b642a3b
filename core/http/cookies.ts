import type { CookieSerializeOptions } from 'cookie-es'
import type { Cookie } from './respond.ts'

/**
 * Cookie names and attributes. With an https public URL every cookie is
 * Secure, Path=/, without Domain, under the `__Host-` prefix; plain-http
 * localhost development drops Secure and the prefix. With
 * `forwardAuth.cookieDomain`, the session cookie alone is set for that
 * domain, as `__Secure-otpki_session` (the sign-in's own cookies stay the host's).
 */
export class CookieJar {
  readonly secure: boolean
  readonly session: string
  readonly transaction: string
  readonly csrf: string

  private readonly sessionDomain: string | undefined

  constructor(publicUrl: string, sessionDomain?: string) {
    this.secure = new URL(publicUrl).protocol === 'https:'
    const prefix = this.secure ? '__Host-' : ''
    this.sessionDomain = this.secure ? sessionDomain : undefined
    this.session = this.sessionDomain ? '__Secure-otpki_session' : `${prefix}otpki_session`
    this.transaction = `${prefix}otpki_tx`
    this.csrf = `${prefix}otpki_csrf`
  }

  set(name: string, value: string, maxAgeSeconds?: number): Cookie {
    const options: CookieSerializeOptions = { httpOnly: true, sameSite: 'lax', path: '/', secure: this.secure }
    if (maxAgeSeconds !== undefined) options.maxAge = maxAgeSeconds
    if (name === this.session && this.sessionDomain) options.domain = this.sessionDomain
    return { name, value, options }
  }

  /** The same cookie (name, path, domain), emptied and expired. */
  clear(name: string): Cookie {
    return this.set(name, '', 0)
  }
}
