import type { MigrationObject } from '@mikro-orm/core'
import { InitialSchema } from './001-initial-schema.ts'
import { SessionIdentityAndTokens } from './002-session-identity-and-tokens.ts'
import { AttributesAndRoleSources } from './003-attributes-and-role-sources.ts'
import { Hardening } from './005-hardening.ts'
import { Changes } from './006-changes.ts'
import { Audit } from './007-audit.ts'
import { UserSearch } from './008-user-search.ts'
import { UserDisabled } from './009-user-disabled.ts'

/** Every schema migration, in order. Names are stable: they are recorded in the database. */
export const migrations: MigrationObject[] = [
  { name: '001-initial-schema', class: InitialSchema },
  { name: '002-session-identity-and-tokens', class: SessionIdentityAndTokens },
  { name: '003-attributes-and-role-sources', class: AttributesAndRoleSources },
  { name: '005-hardening', class: Hardening },
  { name: '006-changes', class: Changes },
  { name: '007-audit', class: Audit },
  { name: '008-user-search', class: UserSearch },
  { name: '009-user-disabled', class: UserDisabled },
]
