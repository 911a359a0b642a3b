import { PortableMigration } from '../portable-migration.ts'

/** An administrator can disable an account: it then signs in by no method until enabled again. */
export class UserDisabled extends PortableMigration {
  override async up(): Promise<void> {
    this.sql('alter table `users` add column `disabled` boolean not null default false;')
  }
}
