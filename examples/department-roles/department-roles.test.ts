import { describe, expect, it } from 'vitest'
import { claimMapperContract, runMappers } from 'otpki/testing'
import { departmentRoles } from './index.ts'

const options = { claim: 'department', departments: ['Finance=auditor', 'IT=pki-operator'] }

claimMapperContract(departmentRoles, { options, claims: { department: 'Finance' } })

describe('department-roles', () => {
  it('maps a department to its role, after the roles the provider sent', async () => {
    const identity = await runMappers([[departmentRoles, options]], { department: 'Finance', roles: ['user'] })
    expect(identity.roles).toEqual(['user', 'auditor'])
    expect(identity.provenance?.roles).toBe('department-roles#1')
  })

  it('reads several departments, and a fallback role', async () => {
    const identity = await runMappers([[departmentRoles, { ...options, otherwise: 'staff' }]], {
      department: ['IT', 'Sales'],
    })
    expect(identity.roles).toEqual(['pki-operator', 'staff'])
  })

  it('leaves the identity alone without the claim', async () => {
    const identity = await runMappers([[departmentRoles, options]], {})
    expect(identity.roles).toBeUndefined()
  })

  it('refuses bad options, naming the key', async () => {
    await expect(runMappers([[departmentRoles, { departments: 'Finance=auditor' }]], {})).rejects.toThrow(
      /option claim: is required[\s\S]*option departments: must be an array/,
    )
  })
})
