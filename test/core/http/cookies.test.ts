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
