//! Credits on the bank statement matched to bills. Each `payment_receipts` row is one arrival
//! of money: `source` says what recorded it first (`callback`, `statement`, `manual`),
//! `statement_line_id` is the credit line that confirms it (a line confirms at most one
//! arrival), and `callback_reference` the provider's reference of a callback that arrived after
//! the statement had recorded the money (a callback pairs with at most one arrival). Manual
//! matches of credit lines to bills wait in `credit_match_proposals` for a second treasury user.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    text, text_null, timestamp_with_time_zone, timestamp_with_time_zone_null,
};

use crate::m0001_identity::{index, unique};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // SQLite alters one column a statement.
        m.alter_table(
            Table::alter()
                .table("payment_receipts")
                .add_column(text("source").default("callback"))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("payment_receipts")
                .add_column(text_null("statement_line_id"))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("payment_receipts")
                .add_column(text_null("callback_reference"))
                .to_owned(),
        )
        .await?;
        unique(
            m,
            "ux_payment_receipts_statement_line",
            "payment_receipts",
            &["statement_line_id"],
        )
        .await?;
        unique(
            m,
            "ux_payment_receipts_callback_reference",
            "payment_receipts",
            &["callback_reference"],
        )
        .await?;
        m.create_table(
            Table::create()
                .table("credit_match_proposals")
                .col(text("id").primary_key())
                .col(text("statement_line_id"))
                .col(text("payment_id"))
                .col(text_null("note"))
                // pending | approved | rejected
                .col(text("status"))
                .col(text("proposed_by"))
                .col(timestamp_with_time_zone("proposed_at"))
                .col(text_null("decided_by"))
                .col(timestamp_with_time_zone_null("decided_at"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "ix_credit_match_proposals_status",
            "credit_match_proposals",
            &["status"],
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("credit_match_proposals").to_owned())
            .await?;
        for name in [
            "ux_payment_receipts_callback_reference",
            "ux_payment_receipts_statement_line",
        ] {
            m.drop_index(
                Index::drop()
                    .name(name)
                    .table("payment_receipts")
                    .to_owned(),
            )
            .await?;
        }
        for column in ["callback_reference", "statement_line_id", "source"] {
            m.alter_table(
                Table::alter()
                    .table("payment_receipts")
                    .drop_column(column)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
