import { serialize } from 'cookie-es'
import { describe, expect, it } from 'vitest'
import { CookieJar } from '../../../core/http/cookies.ts'

const header = (jar: CookieJar, name: string) => {
  const c = jar.set(name, 'v')
  return serialize(c.name, c.value, c.options)
}

describe('cookie attributes', () => {
  it('use the __Host- prefix, Secure, HttpOnly, SameSite=Lax and Path=/ with an https public URL', () => {
    const jar = new CookieJar('https://pki.example.com')
    expect(jar.session).toBe('__Host-otpki_session')
    const value = header(jar, jar.session)
    for (const part of ['__Host-otpki_session=v', 'Path=/', 'HttpOnly', 'Secure', 'SameSite=Lax'])
      expect(value).toContain(part)
    expect(value).not.toContain('Domain')
  })

  it('drop Secure and the prefix for plain-http localhost development only', () => {
    const jar = new CookieJar('http://localhost:3000')
    expect(jar.session).toBe('otpki_session')
    expect(header(jar, jar.session)).not.toContain('Secure')
  })
})

describe('a session cookie shared with protected applications (forwardAuth.cookieDomain)', () => {
  it('is __Secure-, for the domain; the sign-in cookies stay the host’s', () => {
    const jar = new CookieJar('https://sso.example.com', 'example.com')
    expect(jar.session).toBe('__Secure-otpki_session')
    const value = header(jar, jar.session)
    for (const part of ['Domain=example.com', 'Secure', 'HttpOnly', 'SameSite=Lax', 'Path=/'])
      expect(value).toContain(part)
    const cleared = jar.clear(jar.session)
    expect(serialize(cleared.name, cleared.value, cleared.options)).toContain('Domain=example.com')
    expect(jar.transaction).toBe('__Host-otpki_tx')
    expect(header(jar, jar.transaction)).not.toContain('Domain')
  })
})
