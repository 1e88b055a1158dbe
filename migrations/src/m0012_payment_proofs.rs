//! Transfer proofs that end and need two treasury users: `proof_wait_until` is when a bill with
//! a proof waiting expires if treasury has not acted (`PEKEN_PAYMENT_PROOF_WAIT_SECONDS` after
//! the proof); `proof_proposed_by` is the treasury user who proposed approving it, whom a
//! second one must follow.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{text_null, timestamp_with_time_zone_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // SQLite alters one column a statement.
        m.alter_table(
            Table::alter()
                .table("payments")
                .add_column(timestamp_with_time_zone_null("proof_wait_until"))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("payments")
                .add_column(text_null("proof_proposed_by"))
                .to_owned(),
        )
        .await?;
        // A proof already waiting gets the default wait from now, so it ends too.
        let wait_until = chrono::Utc::now() + chrono::Duration::days(2);
        m.exec_stmt(
            Query::update()
                .table("payments")
                .value("proof_wait_until", wait_until)
                .and_where(Expr::col("proof_status").eq("submitted"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for column in ["proof_proposed_by", "proof_wait_until"] {
            m.alter_table(
                Table::alter()
                    .table("payments")
                    .drop_column(column)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
