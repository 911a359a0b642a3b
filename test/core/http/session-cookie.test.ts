import type { H3Event } from 'h3'
import { describe, expect, it } from 'vitest'
import { CookieJar } from '../../../core/http/cookies.ts'
import { sessionCookie, type HttpContext } from '../../../core/http/http-context.ts'

const ctx = { cookies: new CookieJar('https://pki.example.com') } as HttpContext
const read = (cookie: string | undefined) =>
  sessionCookie(ctx, { req: { headers: new Headers(cookie === undefined ? {} : { cookie }) } } as unknown as H3Event)

describe('reading the session cookie on the auth path', () => {
  it.each([
    ['__Host-otpki_session=abc_DEF-123', 'abc_DEF-123'],
    ['a=1; __Host-otpki_session=abc; b=2', 'abc'],
    ['a=1;__Host-otpki_session=abc', 'abc'],
    ['x__Host-otpki_session=evil; __Host-otpki_session=good', 'good'],
    ['__Host-otpki_sessionx=evil', undefined],
    ['__Host-otpki_session=bad value', undefined],
    ['__Host-otpki_session=%41', undefined],
    ['other=1', undefined],
    [undefined, undefined],
  ])('%j -> %j', (header, expected) => {
    expect(read(header)).toBe(expected)
  })
})
