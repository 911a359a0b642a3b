import { PortableMigration } from '../portable-migration.ts'

/** The audit trail, searchable by time, user and provider. */
export class Audit extends PortableMigration {
  override async up(): Promise<void> {
    this.sql(
      'create table `audit_events` (`id` integer not null primary key autoincrement, `at` bigint not null, `kind` text not null, `outcome` text not null, `reason` text null, `username` text null, `provider` text null, `method` text null, `actor` text null, `detail` text null);',
    )
    this.sql('create index `audit_events_at_index` on `audit_events` (`at`);')
    this.sql('create index `audit_events_username_at_index` on `audit_events` (`username`, `at`);')
    this.sql('create index `audit_events_provider_at_index` on `audit_events` (`provider`, `at`);')
  }
}
