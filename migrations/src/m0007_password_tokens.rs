//! Single-use tokens that let a user set a password: a forgotten-password reset, or the first
//! password of an ASN imported from the roster.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{text, timestamp_with_time_zone, timestamp_with_time_zone_null};

use crate::m0001_identity::{index, unique};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("password_tokens")
                .col(text("id").primary_key())
                .col(text("user_id"))
                // `reset` or `activation`; both set a password, they differ in expiry and mail.
                .col(text("purpose"))
                // SHA-256 of the token; the token itself exists only in the mail.
                .col(text("token_hash"))
                .col(timestamp_with_time_zone("expires_at"))
                // Set once, by a conditional update, when the token is spent (or superseded by
                // another token of the same user being spent).
                .col(timestamp_with_time_zone_null("used_at"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_password_tokens_user")
                        .from("password_tokens", "user_id")
                        .to("users", "id"),
                )
                .to_owned(),
        )
        .await?;
        unique(
            m,
            "ux_password_tokens_hash",
            "password_tokens",
            &["token_hash"],
        )
        .await?;
        index(
            m,
            "ix_password_tokens_user",
            "password_tokens",
            &["user_id"],
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("password_tokens").to_owned())
            .await
    }
}
