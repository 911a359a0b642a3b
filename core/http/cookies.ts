import type { CookieSerializeOptions } from 'cookie-es'
import type { Cookie } from './respond.ts'

/**
 * Cookie names and attributes. With an https public URL every cookie is
 * Secure, Path=/, without Domain, under the `__Host-` prefix; plain-http
 * localhost development drops Secure and the prefix.
 */
export class CookieJar {
  readonly secure: boolean
  readonly session: string
  readonly transaction: string
  readonly csrf: string

  constructor(publicUrl: string) {
    this.secure = new URL(publicUrl).protocol === 'https:'
    const prefix = this.secure ? '__Host-' : ''
    this.session = `${prefix}otpki_session`
    this.transaction = `${prefix}otpki_tx`
    this.csrf = `${prefix}otpki_csrf`
  }

  set(name: string, value: string, maxAgeSeconds?: number): Cookie {
    const options: CookieSerializeOptions = { httpOnly: true, sameSite: 'lax', path: '/', secure: this.secure }
    if (maxAgeSeconds !== undefined) options.maxAge = maxAgeSeconds
    return { name, value, options }
  }

  clear(name: string): Cookie {
    return { name, value: '', options: { httpOnly: true, sameSite: 'lax', path: '/', secure: this.secure, maxAge: 0 } }
  }
}
