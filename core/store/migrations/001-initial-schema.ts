import { PortableMigration } from '../portable-migration.ts'

/** Users, roles, identities, sessions and sign-in transactions. */
export class InitialSchema extends PortableMigration {
  override async up(): Promise<void> {
    this.sql(
      'create table `users` (`id` integer not null primary key autoincrement, `username` text not null, `first_name` text null, `last_name` text null, `email` text null, `email_verified` boolean not null, `created_at` bigint not null, `updated_at` bigint not null);',
    )
    this.sql('create unique index `users_username_unique` on `users` (`username`);')
    this.sql(
      'create table `roles` (`id` integer not null primary key autoincrement, `name` text not null, `system` boolean not null, `created_at` bigint not null);',
    )
    this.sql('create unique index `roles_name_unique` on `roles` (`name`);')
    this.sql(
      'create table `user_roles` (`user_id` integer not null, `role_id` integer not null, `created_at` bigint not null, constraint `user_roles_user_id_foreign` foreign key(`user_id`) references `users`(`id`) on delete cascade on update cascade, constraint `user_roles_role_id_foreign` foreign key(`role_id`) references `roles`(`id`) on delete cascade on update cascade, primary key (`user_id`, `role_id`));',
    )
    this.sql('create index `user_roles_user_id_index` on `user_roles` (`user_id`);')
    this.sql('create index `user_roles_role_id_index` on `user_roles` (`role_id`);')
    this.sql(
      'create table `identities` (`id` integer not null primary key autoincrement, `user_id` integer not null, `issuer` text not null, `subject` text not null, `provider` text not null, `created_at` bigint not null, `last_login_at` bigint not null, constraint `identities_user_id_foreign` foreign key(`user_id`) references `users`(`id`) on delete cascade on update cascade);',
    )
    this.sql('create index `identities_user_id_index` on `identities` (`user_id`);')
    this.sql('create unique index `identities_issuer_subject_unique` on `identities` (`issuer`, `subject`);')
    this.sql(
      'create table `sessions` (`id_hash` text not null, `user_id` integer not null, `method` text not null, `provider` text null, `created_at` bigint not null, `last_seen_at` bigint not null, `expires_at` bigint not null, `max_inactive` integer not null, `id_token` text null, constraint `sessions_user_id_foreign` foreign key(`user_id`) references `users`(`id`) on delete cascade on update cascade, primary key (`id_hash`));',
    )
    this.sql('create index `sessions_user_id_index` on `sessions` (`user_id`);')
    this.sql(
      'create table `auth_transactions` (`id_hash` text not null, `provider` text not null, `issuer` text not null, `generation` integer not null, `return_to` text not null, `data` text not null, `created_at` bigint not null, `expires_at` bigint not null, primary key (`id_hash`));',
    )
    this.sql('create index `auth_transactions_expires_at_index` on `auth_transactions` (`expires_at`);')
  }
}
