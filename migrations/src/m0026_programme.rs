//! The programme's own reports: a camat user reads one kecamatan (`users.kecamatan_code`), and
//! the last sale of every shop is read from `orders` by `(merchant_id, paid_at)`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::text_null;

use crate::m0001_identity::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.alter_table(
            Table::alter()
                .table("users")
                .add_column(text_null("kecamatan_code"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "ix_orders_merchant_paid",
            "orders",
            &["merchant_id", "paid_at"],
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("ix_orders_merchant_paid")
                .table("orders")
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("users")
                .drop_column("kecamatan_code")
                .to_owned(),
        )
        .await?;
        Ok(())
    }
}
