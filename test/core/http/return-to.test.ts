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
