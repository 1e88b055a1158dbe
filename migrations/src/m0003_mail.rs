//! The mail outbox: every message is a row written in the same transaction as the event that
//! caused it, and a worker delivers rows later.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    integer, text, text_null, timestamp_with_time_zone, timestamp_with_time_zone_null,
};

use crate::m0001_identity::{index, unique};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("mail_outbox")
                .col(text("id").primary_key())
                // The event's natural key (`order:{id}:paid:buyer`): an event enqueued twice is
                // one row, so it is sent once.
                .col(text("dedupe_key"))
                .col(text("template"))
                .col(text("recipient"))
                .col(text_null("recipient_name"))
                // Rendered when enqueued, so a later template change never alters queued mail.
                .col(text("subject"))
                .col(text("body_text"))
                .col(text("body_html"))
                // `pending`, `sent` or `failed`.
                .col(text("status"))
                .col(integer("attempts").default(0))
                .col(timestamp_with_time_zone("next_attempt_at"))
                // A worker's lease: while it lies in the future, no other worker takes the row.
                .col(timestamp_with_time_zone_null("claimed_until"))
                .col(text_null("claim_token"))
                .col(text_null("last_error"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .col(timestamp_with_time_zone_null("sent_at"))
                .to_owned(),
        )
        .await?;
        unique(m, "ux_mail_outbox_dedupe", "mail_outbox", &["dedupe_key"]).await?;
        index(
            m,
            "ix_mail_outbox_due",
            "mail_outbox",
            &["status", "next_attempt_at"],
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("mail_outbox").to_owned())
            .await
    }
}
