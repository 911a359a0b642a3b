import { PortableMigration } from '../portable-migration.ts'

/**
 * Usernames unique regardless of case; used back-channel logout tokens
 * (single use); ID tokens are no longer kept in plain text, so those stored
 * before are dropped (sign-out then goes without `id_token_hint`).
 */
export class Hardening extends PortableMigration {
  override async up(): Promise<void> {
    this.sql('alter table `users` add column `username_key` text null;')
    this.sql('update `users` set `username_key` = lower(`username`);')
    this.sql('create unique index `users_username_key_unique` on `users` (`username_key`);')
    this.sql(
      'create table `logout_tokens` (`id` integer not null primary key autoincrement, `issuer` text not null, `jti` text not null, `expires_at` bigint not null);',
    )
    this.sql('create unique index `logout_tokens_issuer_jti_unique` on `logout_tokens` (`issuer`, `jti`);')
    this.sql('create index `logout_tokens_expires_at_index` on `logout_tokens` (`expires_at`);')
    this.sql("update `sessions` set `id_token` = null where `id_token` is not null and `id_token` not like 'v2.%';")
  }
}
