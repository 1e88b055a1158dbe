//! Refunds paid by bank transfer like payouts: a buyer's refund account (`refund_accounts`,
//! owned by the order crate), refund batches with four-eyes approval and a transfer file
//! (`refund_batches`, `refund_items`), refund debits matched on the statement
//! (`refund_matches`), and a refund paid by hand proposed by one treasury user and confirmed by
//! another (`refunds.payment_reference`, `proposed_by`, `proposed_at`, `paid_by`, `paid_at`).
//!
//! Refund statuses: `due → batched` (in a draft batch) `→ in_transit` (approved) `→ paid`
//! (seen on the statement), back to `due` when a draft is cancelled or an item fails; and
//! `due → payment_proposed → paid` (or back to `due` on rejection) by hand.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, integer, text, text_null, timestamp_with_time_zone, timestamp_with_time_zone_null,
};

use crate::m0001_identity::{index, unique};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("refund_accounts")
                .col(text("buyer_id").primary_key())
                .col(text("bank_code"))
                .col(text("account_number"))
                .col(text("account_name"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;
        // SQLite alters one column a statement.
        for column in ["payment_reference", "proposed_by", "paid_by"] {
            m.alter_table(
                Table::alter()
                    .table("refunds")
                    .add_column(text_null(column))
                    .to_owned(),
            )
            .await?;
        }
        for column in ["proposed_at", "paid_at"] {
            m.alter_table(
                Table::alter()
                    .table("refunds")
                    .add_column(timestamp_with_time_zone_null(column))
                    .to_owned(),
            )
            .await?;
        }

        m.create_table(
            Table::create()
                .table("refund_batches")
                .col(text("id").primary_key())
                .col(timestamp_with_time_zone("cutoff"))
                // draft | approved | cancelled
                .col(text("status"))
                .col(integer("item_count"))
                .col(big_integer("total_amount"))
                .col(text("created_by"))
                .col(timestamp_with_time_zone("created_at"))
                .col(text_null("approved_by"))
                .col(timestamp_with_time_zone_null("approved_at"))
                .col(text_null("cancelled_by"))
                .col(timestamp_with_time_zone_null("cancelled_at"))
                .to_owned(),
        )
        .await?;
        index(m, "ix_refund_batches_status", "refund_batches", &["status"]).await?;
        m.create_table(
            Table::create()
                .table("refund_items")
                .col(text("id").primary_key())
                .col(text("batch_id"))
                .col(text("refund_id"))
                .col(text("buyer_id"))
                .col(text_null("order_id"))
                .col(big_integer("amount").check(Expr::col("amount").gt(0)))
                .col(text("reference"))
                .col(text("bank_code"))
                .col(text("account_number"))
                .col(text("account_name"))
                .col(text("rail"))
                // draft | approved | paid | failed | cancelled
                .col(text("status"))
                .col(timestamp_with_time_zone_null("approved_at"))
                .col(timestamp_with_time_zone_null("settled_at"))
                .col(timestamp_with_time_zone_null("failed_at"))
                .col(text_null("failed_by"))
                .col(text_null("failure_reason"))
                .col(timestamp_with_time_zone("created_at"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_refund_items_batch")
                        .from("refund_items", "batch_id")
                        .to("refund_batches", "id"),
                )
                .to_owned(),
        )
        .await?;
        unique(
            m,
            "ux_refund_items_reference",
            "refund_items",
            &["reference"],
        )
        .await?;
        index(m, "ix_refund_items_batch", "refund_items", &["batch_id"]).await?;
        index(
            m,
            "ix_refund_items_status_amount",
            "refund_items",
            &["status", "amount"],
        )
        .await?;
        // A refund is in at most one live (draft or approved) or paid item: a failed or
        // cancelled item leaves room for the next batch, never for a second payment.
        m.get_connection()
            .execute_unprepared(
                "CREATE UNIQUE INDEX ux_refund_items_live ON refund_items (refund_id) \
                 WHERE status IN ('draft', 'approved', 'paid')",
            )
            .await?;

        m.create_table(
            Table::create()
                .table("refund_matches")
                .col(text("id").primary_key())
                .col(text("statement_line_id"))
                .col(text("refund_item_id"))
                .col(text("method"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        unique(
            m,
            "ux_refund_matches_line",
            "refund_matches",
            &["statement_line_id"],
        )
        .await?;
        unique(
            m,
            "ux_refund_matches_item",
            "refund_matches",
            &["refund_item_id"],
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "refund_matches",
            "refund_items",
            "refund_batches",
            "refund_accounts",
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        for column in [
            "payment_reference",
            "proposed_by",
            "paid_by",
            "proposed_at",
            "paid_at",
        ] {
            m.alter_table(
                Table::alter()
                    .table("refunds")
                    .drop_column(column)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
