import { PortableMigration } from '../portable-migration.ts'

/**
 * Sessions remember their identity and provider session (back-channel logout)
 * and, encrypted, the provider's tokens; sign-in transactions their purpose
 * (sign-in or account linking) and prompt.
 */
export class SessionIdentityAndTokens extends PortableMigration {
  override async up(): Promise<void> {
    this.sql('alter table `sessions` add column `issuer` text null;')
    this.sql('alter table `sessions` add column `subject` text null;')
    this.sql('alter table `sessions` add column `sid` text null;')
    this.sql('alter table `sessions` add column `tokens` text null;')
    this.sql('create index `sessions_issuer_subject_index` on `sessions` (`issuer`, `subject`);')
    this.sql('create index `sessions_issuer_sid_index` on `sessions` (`issuer`, `sid`);')
    this.sql("alter table `auth_transactions` add column `purpose` text not null default 'sign-in';")
    this.sql('alter table `auth_transactions` add column `link_user_id` integer null;')
    this.sql('alter table `auth_transactions` add column `prompt` text null;')
  }
}
