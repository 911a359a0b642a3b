import { OtpkiError, claimStrings, field, readClaim, type ClaimMapper, type Claims } from '../../core/index.ts'
import { text } from './default-mapping.ts'

/** `{ type: 'attribute', claim, attribute }`: a claim's value into a user attribute. */
export const attributeImporter: ClaimMapper<{ claim: string; attribute: string }> = {
  name: 'attribute',
  optionsSchema: {
    claim: field.string({ doc: 'Claim path to read.', required: true }),
    attribute: field.string({ doc: 'User attribute to set.', required: true, pattern: '^[A-Za-z][\\w.-]{0,63}$' }),
  },
  map({ claims }, identity, { claim, attribute }) {
    const value = readClaim(claims, claim)
    if (value === undefined) return identity
    return { ...identity, attributes: { ...identity.attributes, [attribute]: value } }
  },
}

/**
 * `{ type: 'claim-to-role', claim, value | pattern, role }`: grants `role` when
 * the claim (or any element of it) equals `value` or matches `pattern` (a
 * regular expression matched whole). `isAdmin=true` -> `admin`:
 * `{ claim: 'isAdmin', value: 'true', role: 'admin' }`.
 */
export const claimToRole: ClaimMapper<{ claim: string; value?: string; pattern?: string; role: string }> = {
  name: 'claim-to-role',
  optionsSchema: {
    claim: field.string({ doc: 'Claim path to test.', required: true }),
    value: field.string({ doc: 'The role is granted when the claim (or one of its elements) equals this.' }),
    pattern: field.string({ doc: 'Or when it matches this regular expression (whole value).' }),
    role: field.string({ doc: 'The OTPKI role granted.', required: true }),
  },
  map({ claims }, identity, { claim, value, pattern, role }) {
    if ((value === undefined) === (pattern === undefined)) {
      throw new OtpkiError('CLAIM_INVALID', 'claim-to-role needs exactly one of value or pattern')
    }
    const regex = pattern !== undefined ? new RegExp(`^(?:${pattern})$`) : undefined
    const values = claimStrings(readClaim(claims, claim)) ?? []
    const hit = values.some((v) => (regex ? regex.test(v) : v === value))
    if (!hit) return identity
    return { ...identity, roles: [...new Set([...(identity.roles ?? []), role])] }
  },
}

/** `{ type: 'hardcoded-role', role }`: every user of this provider gets `role`. */
export const hardcodedRole: ClaimMapper<{ role: string }> = {
  name: 'hardcoded-role',
  optionsSchema: { role: field.string({ doc: 'The OTPKI role every user of this provider gets.', required: true }) },
  map(_input, identity, { role }) {
    return { ...identity, roles: [...new Set([...(identity.roles ?? []), role])] }
  },
}

/** `{ type: 'hardcoded-attribute', attribute, value }`: every user of this provider gets the attribute. */
export const hardcodedAttribute: ClaimMapper<{ attribute: string; value: string }> = {
  name: 'hardcoded-attribute',
  optionsSchema: {
    attribute: field.string({ doc: 'User attribute to set.', required: true, pattern: '^[A-Za-z][\\w.-]{0,63}$' }),
    value: field.string({ doc: 'Its value.', required: true }),
  },
  map(_input, identity, { attribute, value }) {
    return { ...identity, attributes: { ...identity.attributes, [attribute]: value } }
  },
}

const PLACEHOLDER = /\$\{([^}]+)\}/g

/**
 * `{ type: 'username-template', template }`: the username built from claims,
 * `${claim path}` substituted, e.g. `'${given_name}.${family_name}'`. Values
 * are lowercased and reduced to letters, digits, `.`, `_` and `-`; a template
 * whose claims are missing refuses the sign-in, naming them.
 */
export const usernameTemplate: ClaimMapper<{ template: string }> = {
  name: 'username-template',
  optionsSchema: {
    template: field.string({
      doc: 'Template with ${claim path} placeholders.',
      required: true,
      pattern: '\\$\\{[^}]+\\}',
    }),
  },
  map({ claims, provider }, identity, { template }) {
    const missing: string[] = []
    const username = template.replace(PLACEHOLDER, (_, path: string) => {
      const value = text(claims as Claims, path.trim())
      if (value === undefined) missing.push(path.trim())
      return safe(value ?? '')
    })
    if (missing.length > 0) {
      throw new OtpkiError('CLAIM_MISSING', `${provider.name}: username template needs ${missing.join(', ')}`, {
        publicMessage: `The identity provider did not send ${missing.map((m) => `"${m}"`).join(', ')}, which OTPKI needs for your username. Please contact an administrator.`,
      })
    }
    const cleaned = username.replace(/^[.\-_]+|[.\-_]+$/g, '')
    if (cleaned === '')
      throw new OtpkiError('CLAIM_INVALID', `${provider.name}: username template gave an empty username`)
    return { ...identity, username: cleaned }
  },
}

/** Safe substitution: no separators, markup or control characters from a claim end up in a username. */
function safe(value: string): string {
  return value
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .slice(0, 64)
}

export const builtInMappers: ClaimMapper[] = [
  attributeImporter,
  claimToRole,
  hardcodedRole,
  hardcodedAttribute,
  usernameTemplate,
]
