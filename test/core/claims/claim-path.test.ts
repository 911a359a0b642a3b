import { describe, expect, it } from 'vitest'
import { claimStrings, parseClaimPath, readClaim } from '../../../core/claims/claim-path.ts'

const claims = {
  sub: 's',
  'cognito:groups': ['ops', 'pki'],
  'https://example.com/roles': ['auditor'],
  'given.name': 'Dot',
  realm_access: { roles: ['admin', 'offline_access'] },
  resource_access: { 'otpki-web': { roles: ['issuer'] }, account: { roles: ['view'] } },
  groups: [{ name: 'a' }, { name: 'b' }],
  scp: 'read write,admin',
}

describe('claim paths', () => {
  it.each([
    ['sub', 's'],
    ['cognito:groups', ['ops', 'pki']],
    ['["https://example.com/roles"]', ['auditor']],
    ['["given.name"]', 'Dot'],
    ['realm_access.roles', ['admin', 'offline_access']],
    ['resource_access["otpki-web"].roles', ['issuer']],
    ['resource_access.account.roles[0]', 'view'],
    ['groups[*].name', ['a', 'b']],
    ['groups[1].name', 'b'],
    ['missing', undefined],
    ['realm_access.missing.deeper', undefined],
    ['sub.length', undefined],
  ])('%s', (path, expected) => {
    expect(readClaim(claims, path)).toEqual(expected)
  })

  it.each(['', 'a.', 'a..b', '["unterminated', 'a[x]', 'a"b'])('refuses %j with the position', (path) => {
    expect(() => parseClaimPath(path)).toThrow(/claim path .* at position \d+|empty path/)
  })

  it('reads roles as an array, or a string separated by spaces or commas', () => {
    expect(claimStrings(['a', 'b', 'a'])).toEqual(['a', 'b'])
    expect(claimStrings('read write,admin')).toEqual(['read', 'write', 'admin'])
    expect(claimStrings('single')).toEqual(['single'])
    expect(claimStrings(undefined)).toBeUndefined()
    expect(claimStrings([['nested'], 'x'])).toEqual(['nested', 'x'])
  })
})
