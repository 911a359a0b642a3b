import { describe, expect, it } from 'vitest'
import { validateProvider } from '../../../core/config/provider-loader.ts'
import { providerDefaults } from '../../support/provider-defaults.ts'
import { field, type ClaimMapper } from '../../../core/index.ts'
import { claimMapperContract, runMappers } from '../../../testing/index.ts'

/** A mapper whose code relies on an optional option's declared default (a TypeError without it). */
const prefixedRole: ClaimMapper<{ claim: string; prefix: string }> = {
  name: 'prefixed-role',
  optionsSchema: {
    claim: field.string({ doc: 'Claim path of the value.', required: true }),
    prefix: field.string({ doc: 'Put before the value.', default: 'dept-' }),
  },
  map({ claims }, identity, { claim, prefix }) {
    const value = claims[claim]
    return typeof value === 'string'
      ? { ...identity, roles: [...(identity.roles ?? []), `${prefix.toLowerCase()}${value}`] }
      : identity
  },
}

describe('declared option defaults are applied before extension code runs', () => {
  it('in a provider file: a mapper entry without the optional option gets its default', () => {
    const extensions = { mappers: new Map([[prefixedRole.name, prefixedRole]]), flowSteps: new Map() }
    const result = validateProvider(
      {
        issuer: 'https://sso.example.com',
        clientId: 'c',
        clientSecret: 's',
        mappers: [{ type: 'prefixed-role', claim: 'department', syncMode: 'import' }],
      },
      '/x/p.json',
      { ...providerDefaults, sessionMaxInactive: 60, sessionMaxLength: 600, extensions },
    )
    expect(result.ok && result.provider.mappers).toEqual([
      { type: 'prefixed-role', syncMode: 'import', claim: 'department', prefix: 'dept-' },
    ])
  })

  it('in the testing kit, as at a sign-in', async () => {
    expect((await runMappers([[prefixedRole, { claim: 'department' }]], { department: 'finance' })).roles).toEqual([
      'dept-finance',
    ])
  })

  claimMapperContract(prefixedRole, { options: { claim: 'department' }, claims: { department: 'finance' } })
})
