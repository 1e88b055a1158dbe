//! The ASN mandate: minimum spend policies per position class, the history of each ASN's OPD
//! (a month counts an ASN in the OPD it belonged to at the month's end), and reminder runs.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, text, text_null, timestamp_with_time_zone};

use crate::m0001_identity::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("mandate_policies")
                .col(text("position_class"))
                // The first WIB month (YYYY-MM) the minimum applies to.
                .col(text("effective_from"))
                .col(big_integer("min_amount"))
                .col(text_null("set_by"))
                .col(timestamp_with_time_zone("updated_at"))
                .primary_key(Index::create().col("position_class").col("effective_from"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("asn_opd_history")
                .col(text("user_id"))
                .col(text("opd_id"))
                .col(timestamp_with_time_zone("valid_from"))
                .primary_key(Index::create().col("user_id").col("valid_from"))
                .to_owned(),
        )
        .await?;
        index(m, "ix_asn_opd_history_opd", "asn_opd_history", &["opd_id"]).await?;
        m.create_table(
            Table::create()
                .table("mandate_reminder_runs")
                .col(text("period").primary_key())
                .col(big_integer("reminded"))
                .col(timestamp_with_time_zone("completed_at"))
                .to_owned(),
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "mandate_reminder_runs",
            "asn_opd_history",
            "mandate_policies",
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
