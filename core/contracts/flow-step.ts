import type { Fields } from '../config/fields.ts'
import type { ClaimMapperInput, MappedIdentity } from './claim-mapper.ts'
import type { StoredUser } from './user-sync.ts'

/** What a flow step sees: the claims, the mapped identity, and the user it would sign in as (if any). */
export interface FlowStepInput extends ClaimMapperInput {
  readonly identity: MappedIdentity
  /** The existing user of this identity; undefined at a first sign-in. */
  readonly user: StoredUser | undefined
  readonly firstLogin: boolean
}

/** A step's decision: let the sign-in go on, stop it with a message for the user, or change the identity. */
export type FlowDecision =
  | { readonly action: 'allow' }
  | { readonly action: 'deny'; readonly message: string }
  | { readonly action: 'amend'; readonly identity: MappedIdentity }

/**
 * One step of a provider's `firstLoginFlow` (first sign-in of an identity)
 * or `postLoginFlow` (every sign-in), run after mapping and before user sync.
 *
 * @example
 * ```ts
 * const officeHours: FlowStep = {
 *   name: 'office-hours',
 *   run: () => (new Date().getHours() < 20 ? { action: 'allow' } : { action: 'deny', message: 'Come back tomorrow.' }),
 * }
 * ```
 */
export interface FlowStep<Options = any> {
  /** The `type` that names this step in a flow. */
  readonly name: string
  readonly optionsSchema?: Fields
  run(input: FlowStepInput, options: Options): Promise<FlowDecision> | FlowDecision
}
