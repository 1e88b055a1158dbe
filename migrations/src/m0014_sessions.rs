//! Sessions and login locks.
//!
//! `sessions` has one row per login (a refresh-token family): a refresh and a revocation both
//! lock that row first, so a refresh racing a logout or a password reset either finishes before
//! the revocation (which then also ends the token it issued) or sees the revocation and fails.
//!
//! `login_locks` counts wrong passwords per account and client address (the address is stored
//! as a digest): guessing from one address locks that address out of the account, and the
//! account's owner elsewhere can still log in. It replaces the per-account `failed_logins` and
//! `locked_until` on `users`, which let anyone lock any account.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    integer, text, timestamp_with_time_zone, timestamp_with_time_zone_null,
};

use crate::m0001_identity::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("sessions")
                .col(text("id").primary_key())
                .col(text("user_id"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("refreshed_at"))
                .col(timestamp_with_time_zone_null("revoked_at"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_sessions_user")
                        .from("sessions", "user_id")
                        .to("users", "id"),
                )
                .to_owned(),
        )
        .await?;
        index(m, "ix_sessions_user", "sessions", &["user_id"]).await?;
        // Every family of refresh tokens so far is a session; one revoked token means the whole
        // family was revoked (revocation always covered a family or a user).
        m.get_connection()
            .execute_unprepared(
                "INSERT INTO sessions (id, user_id, created_at, revoked_at) \
                 SELECT family_id, MIN(user_id), MIN(created_at), MAX(revoked_at) \
                 FROM refresh_tokens GROUP BY family_id",
            )
            .await?;

        m.create_table(
            Table::create()
                .table("login_locks")
                .col(text("user_id"))
                .col(text("client_digest"))
                .col(integer("failures"))
                .col(timestamp_with_time_zone_null("locked_until"))
                .col(timestamp_with_time_zone("updated_at"))
                .primary_key(Index::create().col("user_id").col("client_digest"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_login_locks_user")
                        .from("login_locks", "user_id")
                        .to("users", "id")
                        .on_delete(ForeignKeyAction::Cascade),
                )
                .to_owned(),
        )
        .await?;
        // SQLite drops one column a statement.
        for column in ["failed_logins", "locked_until"] {
            m.alter_table(Table::alter().table("users").drop_column(column).to_owned())
                .await?;
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("users")
                .add_column(integer("failed_logins").default(0))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("users")
                .add_column(timestamp_with_time_zone_null("locked_until"))
                .to_owned(),
        )
        .await?;
        for table in ["login_locks", "sessions"] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
