import { describe, expect, it } from 'vitest'
import { claimMapperContract, runMappers, testProvider } from '../../../testing/index.ts'
import {
  attributeImporter,
  claimToRole,
  hardcodedAttribute,
  hardcodedRole,
  usernameTemplate,
} from '../../../plugins/claims/built-in-mappers.ts'
import { defaultMapping } from '../../../plugins/claims/default-mapping.ts'
import { mappingInput, runChain } from '../../../core/claims/chain.ts'

claimMapperContract(defaultMapping, { claims: { given_name: 'A' } })
claimMapperContract(attributeImporter, {
  options: { claim: 'department', attribute: 'department' },
  claims: { department: 'Finance' },
})
claimMapperContract(claimToRole, {
  options: { claim: 'isAdmin', value: 'true', role: 'admin' },
  claims: { isAdmin: true },
})
claimMapperContract(hardcodedRole, { options: { role: 'staff' }, claims: {} })
claimMapperContract(hardcodedAttribute, { options: { attribute: 'tier', value: 'gold' }, claims: {} })
claimMapperContract(usernameTemplate, {
  options: { template: '${given_name}.${family_name}' },
  claims: { given_name: 'Ada', family_name: 'Lovelace' },
})

describe('claims of real providers, mapped by configuration', () => {
  it('Keycloak: realm roles, and client roles from resource_access', async () => {
    const claims = {
      realm_access: { roles: ['pki-admin', 'offline_access'] },
      resource_access: { 'otpki-web': { roles: ['issuer'] } },
    }
    const realm = await runMappers([], claims, testProvider({ claims: { roles: 'realm_access.roles' } }))
    expect(realm.roles).toEqual(['pki-admin', 'offline_access'])
    const client = await runMappers(
      [],
      claims,
      testProvider({ claims: { roles: 'resource_access["otpki-web"].roles' } }),
    )
    expect(client.roles).toEqual(['issuer'])
  })

  it('Okta: groups', async () => {
    const identity = await runMappers(
      [],
      { groups: ['Everyone', 'PKI Operators'] },
      testProvider({ claims: { roles: 'groups' } }),
    )
    expect(identity.roles).toEqual(['Everyone', 'PKI Operators'])
  })

  it('Entra ID: app roles in roles, UPN in preferred_username, no email_verified', async () => {
    const identity = await runMappers(
      [],
      { roles: ['PKI.Admin'], preferred_username: 'ada@contoso.com', email: 'ada@contoso.com' },
      testProvider({ trustEmail: true }),
    )
    expect(identity).toMatchObject({ username: 'ada@contoso.com', roles: ['PKI.Admin'], emailVerified: true })
  })

  it('Auth0: a claim named by a URL', async () => {
    const identity = await runMappers(
      [],
      { 'https://example.com/roles': ['auditor'] },
      testProvider({ claims: { roles: '["https://example.com/roles"]' } }),
    )
    expect(identity.roles).toEqual(['auditor'])
  })

  it('Cognito: cognito:groups, and cognito:username as the username', async () => {
    const identity = await runMappers(
      [],
      { 'cognito:groups': ['ops'], 'cognito:username': 'ada', preferred_username: undefined },
      testProvider({ claims: { roles: 'cognito:groups', username: ['cognito:username'] } }),
    )
    expect(identity).toMatchObject({ username: 'ada', roles: ['ops'] })
  })

  it('roles as a space- or comma-separated string', async () => {
    expect((await runMappers([], { roles: 'a b,c' })).roles).toEqual(['a', 'b', 'c'])
  })

  it('claim source: id_token or userinfo only', async () => {
    const provider = testProvider({ claims: { source: 'userinfo' } })
    const result = {
      claims: { iss: provider.issuer, sub: 's', preferred_username: 'merged' },
      idTokenClaims: { iss: provider.issuer, sub: 's', preferred_username: 'from-id-token' },
      userinfo: { sub: 's', preferred_username: 'from-userinfo' },
    }
    const chain = [{ mapper: defaultMapping, options: {}, label: 'otpki-default' }]
    expect((await runChain(chain, mappingInput(provider, result))).username).toBe('from-userinfo')
    const idOnly = testProvider({ claims: { source: 'id_token' } })
    expect((await runChain(chain, mappingInput(idOnly, result))).username).toBe('from-id-token')
    expect((await runChain(chain, mappingInput(testProvider(), result))).username).toBe('merged')
  })
})

describe('built-in mappers', () => {
  it('attribute: a claim into a user attribute, with provenance', async () => {
    const identity = await runMappers([[attributeImporter, { claim: 'org.department', attribute: 'department' }]], {
      org: { department: 'Finance' },
    })
    expect(identity.attributes).toEqual({ department: 'Finance' })
    expect(identity.provenance).toMatchObject({ username: 'otpki-default', 'attributes.department': 'attribute#1' })
  })

  it('claim-to-role: a value or a pattern to a role', async () => {
    expect(
      (await runMappers([[claimToRole, { claim: 'isAdmin', value: 'true', role: 'admin' }]], { isAdmin: true })).roles,
    ).toEqual(['admin'])
    expect(
      (await runMappers([[claimToRole, { claim: 'isAdmin', value: 'true', role: 'admin' }]], { isAdmin: false })).roles,
    ).toBeUndefined()
    const byPattern = await runMappers([[claimToRole, { claim: 'groups', pattern: 'pki-.*', role: 'operator' }]], {
      groups: ['staff', 'pki-ops'],
      roles: ['user'],
    })
    expect(byPattern.roles).toEqual(['user', 'operator'])
    await expect(runMappers([[claimToRole, { claim: 'x', role: 'r' }]], { x: 'y' })).rejects.toThrow(
      /exactly one of value or pattern/,
    )
  })

  it('hardcoded role and attribute', async () => {
    const identity = await runMappers(
      [
        [hardcodedRole, { role: 'staff' }],
        [hardcodedAttribute, { attribute: 'tier', value: 'gold' }],
      ],
      { roles: ['x'] },
    )
    expect(identity).toMatchObject({ roles: ['x', 'staff'], attributes: { tier: 'gold' } })
    expect(identity.provenance).toMatchObject({ roles: 'hardcoded-role#1', 'attributes.tier': 'hardcoded-attribute#2' })
  })

  it('username template: safe substitution from claims', async () => {
    const template = { template: '${given_name}.${family_name}' }
    expect(
      (await runMappers([[usernameTemplate, template]], { given_name: 'Zoë', family_name: "O'Brien / <admin>" }))
        .username,
    ).toBe('zoe.o-brien-admin')
    await expect(runMappers([[usernameTemplate, template]], { given_name: 'Ada' })).rejects.toThrow(
      /username template needs family_name/,
    )
  })
})
