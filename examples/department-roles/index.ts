/**
 * Example plugin: maps a `department` claim to OTPKI roles.
 *
 * In otpki.config.ts:   plugins: ['./examples/department-roles/index.ts']
 * In a provider file:   mappers: [{ type: 'department-roles', claim: 'department', departments: ['Finance=auditor', 'IT=pki-operator'] }]
 */
import { claimStrings, definePlugin, field, readClaim, type ClaimMapper } from 'otpki'

export interface DepartmentRolesOptions {
  /** Claim path holding the department(s). */
  claim: string
  /** `DEPARTMENT=ROLE` pairs. */
  departments: string[]
  /** Role for a department not in the list (none when unset). */
  otherwise?: string
}

export const departmentRoles: ClaimMapper<DepartmentRolesOptions> = {
  name: 'department-roles',
  optionsSchema: {
    claim: field.string({ doc: 'Claim path holding the department(s).', required: true }),
    departments: field.stringArray({ doc: 'DEPARTMENT=ROLE pairs.', default: [] }),
    otherwise: field.string({ doc: 'Role for a department not in the list.' }),
  },
  map({ claims }, identity, { claim, departments, otherwise }) {
    const table = new Map(departments.map((pair) => pair.split('=', 2) as [string, string]))
    const found = claimStrings(readClaim(claims, claim)) ?? []
    const roles = found.map((d) => table.get(d) ?? otherwise).filter((r): r is string => r !== undefined)
    if (roles.length === 0) return identity
    return { ...identity, roles: [...new Set([...(identity.roles ?? []), ...roles])] }
  },
}

export default definePlugin({
  name: 'department-roles',
  kind: 'claim-mapper',
  register(ctx) {
    ctx.registerClaimMapper(departmentRoles)
  },
})
