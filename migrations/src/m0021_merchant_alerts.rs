//! Low-stock alerts: a listing may carry a threshold (`low_stock_threshold`, units; null is no
//! alert). The low-stock worker mails the shop once when the available stock is at or below it
//! and marks the listing (`low_stock_alerted_at`); the mark is cleared once the stock is above
//! the threshold again, so the next fall alerts again.
//!
//! Both indexes are partial and name neither `stock` nor anything checkout writes: a stock
//! change of a listing keeps its cheap in-place (HOT) update on PostgreSQL, and the worker reads
//! only listings with a threshold (or a mark).

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer_null, timestamp_with_time_zone_null};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        // SQLite alters one column a statement.
        m.alter_table(
            Table::alter()
                .table("listings")
                .add_column(
                    big_integer_null("low_stock_threshold")
                        .check(Expr::col("low_stock_threshold").gte(0)),
                )
                .to_owned(),
        )
        .await?;
        m.alter_table(
            Table::alter()
                .table("listings")
                .add_column(timestamp_with_time_zone_null("low_stock_alerted_at"))
                .to_owned(),
        )
        .await?;
        let conn = m.get_connection();
        conn.execute_unprepared(
            "CREATE INDEX ix_listings_low_stock_watch ON listings (merchant_id, id) \
             WHERE low_stock_threshold IS NOT NULL AND low_stock_alerted_at IS NULL",
        )
        .await?;
        conn.execute_unprepared(
            "CREATE INDEX ix_listings_low_stock_alerted ON listings (id) \
             WHERE low_stock_alerted_at IS NOT NULL",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let conn = m.get_connection();
        conn.execute_unprepared("DROP INDEX IF EXISTS ix_listings_low_stock_alerted")
            .await?;
        conn.execute_unprepared("DROP INDEX IF EXISTS ix_listings_low_stock_watch")
            .await?;
        for column in ["low_stock_alerted_at", "low_stock_threshold"] {
            m.alter_table(
                Table::alter()
                    .table("listings")
                    .drop_column(column)
                    .to_owned(),
            )
            .await?;
        }
        Ok(())
    }
}
