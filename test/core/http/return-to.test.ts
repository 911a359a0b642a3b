import { describe, expect, it } from 'vitest'
import { safeReturnTo } from '../../../core/http/return-to.ts'

const base = 'https://pki.example.com'

describe('returnTo', () => {
  it('keeps same-origin paths', () => {
    expect(safeReturnTo('/certificates?page=2#top', base)).toBe('/certificates?page=2#top')
    expect(safeReturnTo('/', base)).toBe('/')
  })

  it.each([
    '//evil.example',
    '///evil.example',
    '/\\evil.example',
    '\\\\evil.example',
    '/%2F%2Fevil.example',
    '/%2f/evil.example',
    '/%5Cevil.example',
    '%2F%2Fevil.example',
    'https://evil.example/',
    'javascript:alert(1)',
    'data:text/html,x',
    '/\t/evil.example',
    '/\n/evil.example',
    'evil',
    '',
  ])('refuses %j', (value) => {
    expect(safeReturnTo(value, base)).toBe('/')
  })

  it('refuses non-strings and huge values', () => {
    expect(safeReturnTo(['/a'], base)).toBe('/')
    expect(safeReturnTo(`/${'a'.repeat(3000)}`, base)).toBe('/')
  })
})

describe('returnTo with forward authentication (allowed hosts)', () => {
  const allowed = ['pki.example.com', 'app.example.com', '*.apps.example.com']
  it.each([
    ['https://app.example.com/reports?y=2026#top', 'https://app.example.com/reports?y=2026#top'],
    ['https://billing.apps.example.com/', 'https://billing.apps.example.com/'],
    ['https://APP.example.com/x', 'https://app.example.com/x'],
  ])('accepts %s', (value, expected) => expect(safeReturnTo(value, base, allowed)).toBe(expected))
  it.each([
    'https://evil.example/',
    'https://apps.example.com/',
    'https://app.example.com.evil.example/',
    'https://user:pw@app.example.com/',
    'https://evil.example\\@app.example.com/',
    'http://app.example.com/',
    'https://app.example.com /',
    'javascript://app.example.com/%0aalert(1)',
    'ftp://app.example.com/',
  ])('refuses %s', (value) => expect(safeReturnTo(value, base, allowed)).toBe('/'))
  it('without allowed hosts, an absolute URL is refused as before', () =>
    expect(safeReturnTo('https://app.example.com/', base)).toBe('/'))
})
