//! Monthly summaries for the programme's reports, kept in the transactions that change what
//! they sum, so that a report over years reads a summary row per shop (or buyer) and month
//! instead of the whole journal and every order:
//!
//! - `ledger_turnover_months`: per shop and WIB month of posting, the journal's turnover (gross
//!   at completion, refunds and reversals) and its completed orders; written with
//!   `turnover_years` by every posting that carries turnover.
//! - `buyer_months`: per WIB month of payment, scope and buyer, whether the buyer paid an order
//!   as a civil servant (`asn`) or as a resident (`public`) that month. The scope is `*` for the
//!   whole city, else the kecamatan code of the shop paid; written by every payment.
//!
//! Both are filled here from what is already recorded, by [`backfill`], which the city-sized
//! data generator also runs after loading its rows.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, integer, text};
use sea_orm_migration::sea_orm::ConnectionTrait;

use crate::m0001_identity::index;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("ledger_turnover_months")
                .col(text("merchant_id"))
                .col(text("period"))
                .col(big_integer("gross_amount").default(0))
                .col(big_integer("refunds_amount").default(0))
                .col(big_integer("completed_orders").default(0))
                .primary_key(Index::create().col("merchant_id").col("period"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "ix_ledger_turnover_months_period",
            "ledger_turnover_months",
            &["period", "merchant_id"],
        )
        .await?;
        m.create_table(
            Table::create()
                .table("buyer_months")
                .col(text("period"))
                .col(text("scope"))
                .col(text("buyer_id"))
                .col(integer("asn").default(0))
                .col(integer("public").default(0))
                .primary_key(Index::create().col("period").col("scope").col("buyer_id"))
                .to_owned(),
        )
        .await?;
        backfill(m.get_connection()).await
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.drop_table(Table::drop().table("buyer_months").to_owned())
            .await?;
        m.drop_table(Table::drop().table("ledger_turnover_months").to_owned())
            .await
    }
}

/// Rebuilds both summaries from the journal and the orders (replacing what they hold).
///
/// # Errors
/// When a statement fails.
pub async fn backfill<C: ConnectionTrait>(conn: &C) -> Result<(), DbErr> {
    for statement in [
        "DELETE FROM ledger_turnover_months",
        "INSERT INTO ledger_turnover_months (merchant_id, period, gross_amount, refunds_amount, \
         completed_orders) \
         SELECT merchant_id, period, \
         CAST(COALESCE(SUM(CASE WHEN turnover_amount > 0 THEN turnover_amount ELSE 0 END), 0) AS BIGINT), \
         CAST(COALESCE(SUM(CASE WHEN turnover_amount < 0 THEN -turnover_amount ELSE 0 END), 0) AS BIGINT), \
         COUNT(CASE WHEN kind = 'order_completed' THEN 1 END) \
         FROM ledger_transactions WHERE turnover_amount <> 0 AND merchant_id IS NOT NULL \
         GROUP BY merchant_id, period",
        "DELETE FROM buyer_months",
        "INSERT INTO buyer_months (period, scope, buyer_id, asn, public) \
         SELECT paid_period, '*', buyer_id, \
         MAX(CASE WHEN buyer_role = 'asn' THEN 1 ELSE 0 END), \
         MAX(CASE WHEN buyer_role = 'public' THEN 1 ELSE 0 END) \
         FROM orders WHERE paid_period IS NOT NULL GROUP BY paid_period, buyer_id",
        "INSERT INTO buyer_months (period, scope, buyer_id, asn, public) \
         SELECT o.paid_period, m.kecamatan_code, o.buyer_id, \
         MAX(CASE WHEN o.buyer_role = 'asn' THEN 1 ELSE 0 END), \
         MAX(CASE WHEN o.buyer_role = 'public' THEN 1 ELSE 0 END) \
         FROM orders o JOIN merchants m ON m.id = o.merchant_id \
         WHERE o.paid_period IS NOT NULL GROUP BY o.paid_period, m.kecamatan_code, o.buyer_id",
    ] {
        conn.execute_unprepared(statement).await?;
    }
    Ok(())
}
