//! Public registrations waiting for their e-mail to be confirmed. A registration holds no NIK or
//! e-mail of `users` until it is confirmed, so an unconfirmed one blocks nobody; only the digest
//! of the mailed code is stored.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{text, timestamp_with_time_zone};

use crate::m0001_identity::{index, unique};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("registrations")
                .col(text("id").primary_key())
                .col(text("token_hash"))
                .col(text("nik"))
                .col(text("name"))
                .col(text("email"))
                .col(text("phone"))
                .col(text("password_hash"))
                .col(text("kelurahan_code"))
                .col(timestamp_with_time_zone("expires_at"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        unique(
            m,
            "ux_registrations_token",
            "registrations",
            &["token_hash"],
        )
        .await?;
        index(
            m,
            "ix_registrations_expiry",
            "registrations",
            &["expires_at"],
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("registrations").to_owned())
            .await
    }
}
