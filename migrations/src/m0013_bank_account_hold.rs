//! A merchant's new bank account is held: `bank_account_hold_until` is when payouts to it may
//! start (the change plus `PEKEN_BANK_ACCOUNT_COOLING_OFF_SECONDS`), cleared when an admin
//! confirms the account; `bank_account_confirmed_by` is that admin.

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
                .table("merchants")
                .add_column(timestamp_with_time_zone_null("bank_account_hold_until"))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("merchants")
                .add_column(text_null("bank_account_confirmed_by"))
                .to_owned(),
        )
        .await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for column in ["bank_account_confirmed_by", "bank_account_hold_until"] {
            m.alter_table(
                Table::alter()
                    .table("merchants")
                    .drop_column(column)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
