import type { ClaimMapper, ClaimMapperInput, MappedIdentity, SyncMode } from '../contracts/claim-mapper.ts'
import type { FlowStep, FlowStepInput } from '../contracts/flow-step.ts'
import type { Claims, ExtensionEntry, ProviderDefinition } from '../contracts/provider.ts'
import { OtpkiError } from '../errors.ts'

/** The name of the built-in mapper that always runs first. */
export const DEFAULT_MAPPER = 'otpki-default'

/** One mapper of a chain, with its options and its own sync mode. */
export interface ChainLink {
  readonly mapper: ClaimMapper
  readonly options: Record<string, unknown>
  readonly syncMode?: SyncMode | undefined
  /** How explain names it: the type, and its place in `mappers` (`claim-to-role#2`). */
  readonly label: string
}

/** The chain a provider's sign-ins run: the default mapping, then its `mappers` in order. */
export function providerChain(provider: ProviderDefinition, registered: ReadonlyMap<string, ClaimMapper>): ChainLink[] {
  const defaultMapper = registered.get(DEFAULT_MAPPER)
  if (!defaultMapper) throw new OtpkiError('INTERNAL', `no "${DEFAULT_MAPPER}" claim mapper is registered`)
  return [
    { mapper: defaultMapper, options: {}, label: DEFAULT_MAPPER },
    ...provider.mappers.map((entry, i) => {
      const mapper = registered.get(entry.type)
      if (!mapper) throw new OtpkiError('INTERNAL', `provider ${provider.name}: mapper ${entry.type} is not registered`)
      return { mapper, options: options(entry), syncMode: entry.syncMode, label: `${entry.type}#${i + 1}` }
    }),
  ]
}

function options(entry: ExtensionEntry): Record<string, unknown> {
  const { type: _type, syncMode: _syncMode, ...rest } = entry
  return rest
}

/** The claims the mapping reads, per `claims.source`; `iss` and `sub` are always the ID token's. */
export function mappingInput(
  provider: ProviderDefinition,
  result: {
    claims: Claims
    idTokenClaims: Claims | undefined
    userinfo: Claims | undefined
    issuer?: string | undefined
  },
): ClaimMapperInput {
  const source = provider.claims.source
  const chosen =
    source === 'id_token'
      ? (result.idTokenClaims ?? result.claims)
      : source === 'userinfo'
        ? (result.userinfo ?? {})
        : result.claims
  const claims = { ...chosen, iss: result.claims.iss, sub: result.claims.sub }
  return {
    claims,
    idTokenClaims: result.idTokenClaims,
    userinfo: result.userinfo,
    provider,
    issuer: result.issuer ?? provider.issuer,
  }
}

const FIELDS = ['issuer', 'subject', 'username', 'firstName', 'lastName', 'email', 'emailVerified', 'roles'] as const

/**
 * Runs the mappers in order. Records, per field, which mapper set it last
 * (`provenance`) and that mapper's own sync mode (`syncModes`), by comparing
 * the identity before and after each one.
 */
export async function runChain(chain: readonly ChainLink[], input: ClaimMapperInput): Promise<MappedIdentity> {
  let identity: Partial<MappedIdentity> = { attributes: {} }
  const provenance: Record<string, string> = {}
  const syncModes: Record<string, SyncMode> = {}
  for (const link of chain) {
    const before = identity
    const after = await link.mapper.map(input, structuredClone(before), link.options)
    if (after === null || typeof after !== 'object')
      throw new OtpkiError('INTERNAL', `claim mapper ${link.label} returned no identity`)
    const changed: string[] = FIELDS.filter((f) => JSON.stringify(before[f]) !== JSON.stringify(after[f]))
    const attributes = { ...before.attributes, ...after.attributes }
    for (const key of Object.keys(attributes)) {
      if (JSON.stringify(before.attributes?.[key]) !== JSON.stringify(after.attributes?.[key]))
        changed.push(`attributes.${key}`)
    }
    for (const field of changed) {
      provenance[field] = link.label
      if (link.syncMode) syncModes[field] = link.syncMode
      else delete syncModes[field]
    }
    identity = { ...after, attributes: after.attributes ?? before.attributes ?? {} }
  }
  for (const key of ['issuer', 'subject', 'username'] as const) {
    if (typeof identity[key] !== 'string' || identity[key] === '') {
      throw new OtpkiError('CLAIM_MISSING', `the mapped identity has no ${key}`, {
        publicMessage: `The identity provider did not send what OTPKI needs (${key}). Please contact an administrator.`,
      })
    }
  }
  return {
    issuer: identity.issuer!,
    subject: identity.subject!,
    username: identity.username!,
    firstName: identity.firstName,
    lastName: identity.lastName,
    email: identity.email,
    emailVerified: identity.emailVerified ?? false,
    roles: identity.roles,
    attributes: identity.attributes ?? {},
    syncModes,
    provenance,
  }
}

/**
 * Runs a flow: each step may allow, deny (the sign-in stops with its message)
 * or amend the identity for the steps after it and for user sync.
 */
export async function runFlow(
  steps: readonly { step: FlowStep; options: Record<string, unknown>; label: string }[],
  input: Omit<FlowStepInput, 'identity'>,
  identity: MappedIdentity,
): Promise<MappedIdentity> {
  let current = identity
  for (const { step, options, label } of steps) {
    const decision = await step.run({ ...input, identity: current }, options)
    if (decision.action === 'deny') {
      throw new OtpkiError('FLOW_DENIED', `flow step ${label} denied the sign-in: ${decision.message}`, {
        publicMessage: decision.message,
      })
    }
    if (decision.action === 'amend')
      current = { ...decision.identity, provenance: { ...current.provenance, ...decision.identity.provenance } }
  }
  return current
}

/** The steps of a provider's flow, resolved by type. */
export function providerFlow(
  provider: ProviderDefinition,
  which: 'firstLoginFlow' | 'postLoginFlow',
  registered: ReadonlyMap<string, FlowStep>,
) {
  return provider[which].map((entry, i) => {
    const step = registered.get(entry.type)
    if (!step) throw new OtpkiError('INTERNAL', `provider ${provider.name}: flow step ${entry.type} is not registered`)
    return { step, options: options(entry), label: `${which}[${i}] ${entry.type}` }
  })
}
