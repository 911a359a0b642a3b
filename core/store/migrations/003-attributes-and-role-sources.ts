import { Migration } from '@mikro-orm/migrations'

/** User attributes (set by attribute mappers), and which provider gave a user a role. */
export class AttributesAndRoleSources extends Migration {
  override async up(): Promise<void> {
    this.addSql('alter table `users` add column `attributes` text null;')
    this.addSql('alter table `user_roles` add column `source` text null;')
  }
}
