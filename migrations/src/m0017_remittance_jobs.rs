//! Remittance advice written after the approval, not in it.
//!
//! Approving a batch for a whole city posted every item and rendered every merchant's advice,
//! with each order it pays, inside the approval's transaction: four seconds for 4,540 merchants
//! and 300,000 orders, nearly all of it the advice. The approval now records one row here in its
//! transaction, and the payout worker writes the batch's advice in a transaction of its own
//! (`peken_payout::batches::send_due_remittances`); the mails' dedupe keys make a second pass
//! write nothing.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{text, timestamp_with_time_zone, timestamp_with_time_zone_null};

use crate::m0001_identity::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("remittance_jobs")
                .col(text("batch_id").primary_key())
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone_null("done_at"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_remittance_jobs_batch")
                        .from("remittance_jobs", "batch_id")
                        .to("payout_batches", "id"),
                )
                .to_owned(),
        )
        .await?;
        index(
            m,
            "ix_remittance_jobs_done",
            "remittance_jobs",
            &["done_at"],
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("remittance_jobs").to_owned())
            .await?;
        Ok(())
    }
}
