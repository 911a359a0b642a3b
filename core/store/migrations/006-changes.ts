import { PortableMigration } from '../portable-migration.ts'

/** Changes that affect authentication, for the other processes on an SQLite database (PostgreSQL announces them by NOTIFY). */
export class Changes extends PortableMigration {
  override async up(): Promise<void> {
    this.sql(
      'create table `changes` (`id` integer not null primary key autoincrement, `origin` text not null, `payload` text not null, `at` bigint not null);',
    )
    this.sql('create index `changes_at_index` on `changes` (`at`);')
  }
}
