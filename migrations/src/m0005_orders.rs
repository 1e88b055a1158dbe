//! Checkout, payments, orders, their items and history, idempotency keys, rationing counters,
//! refunds and ASN monthly spend.

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
        // One row per (caller, key), written in the same transaction as the effect.
        m.create_table(
            Table::create()
                .table("idempotency_keys")
                .col(text("caller_id"))
                .col(text("key"))
                .col(text("request_hash"))
                .col(integer("status_code"))
                .col(text("response_body"))
                .col(timestamp_with_time_zone("created_at"))
                .primary_key(Index::create().col("caller_id").col("key"))
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("payments")
                .col(text("id").primary_key())
                .col(text("checkout_id"))
                .col(text("buyer_id"))
                .col(text("method"))
                .col(big_integer("amount"))
                // pending | paid | expired
                .col(text("status"))
                .col(text_null("va_number"))
                .col(text_null("qris_payload"))
                .col(timestamp_with_time_zone("expires_at"))
                .col(text_null("provider_reference"))
                .col(timestamp_with_time_zone_null("paid_at"))
                .col(timestamp_with_time_zone_null("confirmed_at"))
                // none | submitted | approved | rejected
                .col(text("proof_status"))
                .col(text_null("proof_reference"))
                .col(timestamp_with_time_zone_null("proof_paid_at"))
                .col(text_null("proof_verified_by"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;
        unique(m, "ux_payments_checkout", "payments", &["checkout_id"]).await?;
        unique(m, "ux_payments_va_number", "payments", &["va_number"]).await?;
        index(
            m,
            "ix_payments_status_expiry",
            "payments",
            &["status", "expires_at"],
        )
        .await?;
        index(m, "ix_payments_buyer", "payments", &["buyer_id"]).await?;

        // Every notification of money received, keyed by the provider's reference so a replayed
        // callback can never count twice. `outcome` says whether it paid the bill or is owed back.
        m.create_table(
            Table::create()
                .table("payment_receipts")
                .col(text("id").primary_key())
                .col(text("payment_id"))
                .col(text("provider_reference"))
                .col(big_integer("amount"))
                .col(timestamp_with_time_zone("paid_at"))
                // applied | refund_due
                .col(text("outcome"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        unique(
            m,
            "ux_payment_receipts_reference",
            "payment_receipts",
            &["provider_reference"],
        )
        .await?;
        index(
            m,
            "ix_payment_receipts_payment",
            "payment_receipts",
            &["payment_id"],
        )
        .await?;

        m.create_table(
            Table::create()
                .table("orders")
                .col(text("id").primary_key())
                .col(text("checkout_id"))
                .col(text("payment_id"))
                .col(text("buyer_id"))
                .col(text("buyer_role"))
                .col(text("merchant_id"))
                .col(text("status"))
                .col(big_integer("total_amount"))
                .col(text("fulfilment_method"))
                .col(text_null("address"))
                .col(timestamp_with_time_zone_null("paid_at"))
                // The WIB month of the payment confirmation: the ASN month it counts for.
                .col(text_null("paid_period"))
                .col(timestamp_with_time_zone_null("accepted_at"))
                .col(timestamp_with_time_zone_null("shipped_at"))
                .col(timestamp_with_time_zone_null("completed_at"))
                .col(timestamp_with_time_zone_null("cancelled_at"))
                .col(timestamp_with_time_zone_null("refunded_at"))
                .col(text_null("status_reason"))
                .col(timestamp_with_time_zone("created_at"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;
        index(m, "ix_orders_buyer", "orders", &["buyer_id", "created_at"]).await?;
        index(
            m,
            "ix_orders_merchant",
            "orders",
            &["merchant_id", "created_at"],
        )
        .await?;
        index(m, "ix_orders_payment", "orders", &["payment_id"]).await?;
        index(
            m,
            "ix_orders_status_shipped",
            "orders",
            &["status", "shipped_at"],
        )
        .await?;
        index(
            m,
            "ix_orders_paid_period",
            "orders",
            &["paid_period", "buyer_id"],
        )
        .await?;

        m.create_table(
            Table::create()
                .table("order_items")
                .col(text("id").primary_key())
                .col(text("order_id"))
                .col(text("listing_id"))
                .col(text("commodity_id"))
                .col(text("name"))
                .col(text("unit"))
                .col(big_integer("quantity"))
                .col(big_integer("price"))
                .col(big_integer("line_total"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_order_items_order")
                        .from("order_items", "order_id")
                        .to("orders", "id"),
                )
                .to_owned(),
        )
        .await?;
        index(m, "ix_order_items_order", "order_items", &["order_id"]).await?;

        m.create_table(
            Table::create()
                .table("order_events")
                .col(text("id").primary_key())
                .col(text("order_id"))
                .col(text_null("from_status"))
                .col(text("to_status"))
                .col(text_null("actor_id"))
                .col(text("actor_role"))
                .col(text_null("note"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "ix_order_events_order",
            "order_events",
            &["order_id", "created_at"],
        )
        .await?;

        // Units bought per buyer, commodity and WIB day, for per-buyer daily limits.
        m.create_table(
            Table::create()
                .table("buyer_daily_quantities")
                .col(text("buyer_id"))
                .col(text("commodity_id"))
                .col(text("day"))
                .col(big_integer("quantity"))
                .primary_key(
                    Index::create()
                        .col("buyer_id")
                        .col("commodity_id")
                        .col("day"),
                )
                .to_owned(),
        )
        .await?;

        m.create_table(
            Table::create()
                .table("refunds")
                .col(text("id").primary_key())
                .col(text("payment_id"))
                .col(text_null("order_id"))
                .col(text("buyer_id"))
                .col(big_integer("amount"))
                .col(text("reason"))
                // due | paid
                .col(text("status"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        unique(m, "ux_refunds_order", "refunds", &["order_id"]).await?;
        index(m, "ix_refunds_status", "refunds", &["status"]).await?;

        // What each ASN spent per WIB month: paid orders of that month less what was later
        // cancelled or refunded. Kept in the same transactions as those events.
        m.create_table(
            Table::create()
                .table("asn_monthly_spend")
                .col(text("user_id"))
                .col(text("period"))
                .col(big_integer("spent_amount"))
                .primary_key(Index::create().col("user_id").col("period"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "ix_asn_monthly_spend_period",
            "asn_monthly_spend",
            &["period"],
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "asn_monthly_spend",
            "refunds",
            "buyer_daily_quantities",
            "order_events",
            "order_items",
            "orders",
            "payment_receipts",
            "payments",
            "idempotency_keys",
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
