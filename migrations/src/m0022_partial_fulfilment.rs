//! Partial fulfilment: a shop accepts an order with some units it cannot supply.
//! `order_items.short_quantity` is how many of the line's ordered units the shop did not
//! accept (the accepted quantity is `quantity - short_quantity`); `orders.short_amount` is what
//! those units cost the buyer, refunded at acceptance. `total_amount` stays what was paid, so
//! what the shop is owed at completion is `total_amount - short_amount`.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, text};

use crate::m0001_identity::unique;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // SQLite alters one column a statement.
        m.alter_table(
            Table::alter()
                .table("order_items")
                .add_column(big_integer("short_quantity").default(0))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("orders")
                .add_column(big_integer("short_amount").default(0))
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("refunds")
                .add_column(text("kind").default("order"))
                .to_owned(),
        )
        .await?;
        m.drop_index(
            Index::drop()
                .name("ux_refunds_order")
                .table("refunds")
                .to_owned(),
        )
        .await?;
        unique(m, "ux_refunds_order_kind", "refunds", &["order_id", "kind"]).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_index(
            Index::drop()
                .name("ux_refunds_order_kind")
                .table("refunds")
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("refunds")
                .drop_column("kind")
                .to_owned(),
        )
        .await?;
        unique(m, "ux_refunds_order", "refunds", &["order_id"]).await?;
        m.alter_table(
            Table::alter()
                .table("orders")
                .drop_column("short_amount")
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("order_items")
                .drop_column("short_quantity")
                .to_owned(),
        )
        .await
    }
}
