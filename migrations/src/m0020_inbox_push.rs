//! The in-app inbox and push notifications.
//!
//! `notifications` is each user's inbox: an entry is written in the same transaction as the mail
//! of the event it reports (`peken_mail::enqueue`), with the mail's dedupe key, so a replayed
//! event writes it once and a rolled-back one never. `push_devices` are the phones (and browsers)
//! a user registered for push; a token belongs to one device row, and so to one user. `push_outbox`
//! is the push twin of `mail_outbox`: one row per notification and device, written in the same
//! transaction and delivered by the push worker with a lease, backoff and a final `failed`.

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
                .table("notifications")
                .col(text("id").primary_key())
                .col(text("user_id"))
                // The mail's dedupe key: one entry per event and person.
                .col(text("dedupe_key"))
                // The mail template it accompanies, e.g. `order_paid`.
                .col(text("kind"))
                .col(text("title"))
                .col(text("body"))
                // A JSON object the app opens, e.g. `{"order_id": "…"}`.
                .col(text("target"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("read_at"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_notifications_user")
                        .from("notifications", "user_id")
                        .to("users", "id"),
                )
                .to_owned(),
        )
        .await?;
        unique(
            m,
            "ux_notifications_dedupe",
            "notifications",
            &["dedupe_key"],
        )
        .await?;
        // The inbox newest first, and the unread count.
        index(
            m,
            "ix_notifications_user",
            "notifications",
            &["user_id", "id"],
        )
        .await?;
        index(
            m,
            "ix_notifications_unread",
            "notifications",
            &["user_id", "read_at"],
        )
        .await?;

        m.create_table(
            Table::create()
                .table("push_devices")
                .col(text("id").primary_key())
                .col(text("user_id"))
                // `android`, `ios` or `web`.
                .col(text("platform"))
                // The FCM registration token: one row per token, whoever registered it last.
                .col(text("token"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_push_devices_user")
                        .from("push_devices", "user_id")
                        .to("users", "id"),
                )
                .to_owned(),
        )
        .await?;
        unique(m, "ux_push_devices_token", "push_devices", &["token"]).await?;
        index(m, "ix_push_devices_user", "push_devices", &["user_id"]).await?;

        m.create_table(
            Table::create()
                .table("push_outbox")
                .col(text("id").primary_key())
                // `{notification dedupe key}:{device id}`: a device hears of an event once.
                .col(text("dedupe_key"))
                .col(text("notification_id"))
                .col(text("user_id"))
                // No foreign key: a device removed later leaves its rows, which end `dropped`.
                .col(text("device_id"))
                .col(text("title"))
                .col(text("body"))
                // The message's `data`: a JSON object of strings.
                .col(text("data"))
                // `pending`, `sent`, `failed` or `dropped`.
                .col(text("status"))
                .col(integer("attempts").default(0))
                .col(timestamp_with_time_zone("next_attempt_at"))
                .col(timestamp_with_time_zone_null("claimed_until"))
                .col(text_null("claim_token"))
                .col(text_null("last_error"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .col(timestamp_with_time_zone_null("sent_at"))
                .to_owned(),
        )
        .await?;
        unique(m, "ux_push_outbox_dedupe", "push_outbox", &["dedupe_key"]).await?;
        index(
            m,
            "ix_push_outbox_due",
            "push_outbox",
            &["status", "next_attempt_at"],
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in ["push_outbox", "push_devices", "notifications"] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
