import { Migration } from '@mikro-orm/migrations'

/** Client certificates attached to users, matched by the SHA-256 fingerprint of their DER. */
export class Certificates extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      'create table `certificates` (`fingerprint` text not null, `user_id` integer not null, `subject` text not null, `issuer` text not null, `serial` text not null, `not_before` bigint not null, `not_after` bigint not null, `pem` text not null, `created_at` bigint not null, constraint `certificates_user_id_foreign` foreign key(`user_id`) references `users`(`id`) on delete cascade on update cascade, primary key (`fingerprint`));',
    )
    this.addSql('create index `certificates_user_id_index` on `certificates` (`user_id`);')
  }
}
