import { PortableMigration } from '../portable-migration.ts'

/** The console searches users by email prefix too. */
export class UserSearch extends PortableMigration {
  override async up(): Promise<void> {
    this.sql('create index `users_email_index` on `users` (`email`);')
  }
}
