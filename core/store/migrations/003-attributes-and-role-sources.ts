import { PortableMigration } from '../portable-migration.ts'

/** User attributes (set by attribute mappers), and which provider gave a user a role. */
export class AttributesAndRoleSources extends PortableMigration {
  override async up(): Promise<void> {
    this.sql('alter table `users` add column `attributes` text null;')
    this.sql('alter table `user_roles` add column `source` text null;')
  }
}
