//! OPD purchasing: the duties of an OPD's staff (`opd_staff_duties`) and the OPD's approval
//! threshold (`opd_purchasing_settings`), owned by identity; the purchasing record of an OPD's
//! order (`opd_orders`: budget line, who ordered, approved or rejected, billed and signed the
//! BAST) and the tax withheld on it (`tax_withholdings`), owned by order; the PP 55/2022
//! certificates of shops (`merchant_tax_certificates`), owned by merchant. The ledger's
//! `tax_withheld` account takes either sign from now on.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, boolean, integer, text, text_null, timestamp_with_time_zone,
    timestamp_with_time_zone_null,
};

use crate::m0001_identity::{index, unique};

/// City-wide accounts whose guard this migration changes (`peken_ledger::Account::floor_sign`),
/// over `m0016_ledger_stripes::CITY_ACCOUNTS`.
pub const FLOOR_CHANGES: &[(&str, i32)] = &[("tax_withheld", 0)];

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("opd_staff_duties")
                .col(text("user_id"))
                // buyer | ppk | receiver | treasurer
                .col(text("duty"))
                .col(text("granted_by"))
                .col(timestamp_with_time_zone("granted_at"))
                .primary_key(Index::create().col("user_id").col("duty"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("opd_purchasing_settings")
                .col(text("opd_id").primary_key())
                .col(
                    big_integer("approval_threshold").check(Expr::col("approval_threshold").gte(0)),
                )
                .col(text("updated_by"))
                .col(timestamp_with_time_zone("updated_at"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("opd_orders")
                .col(text("order_id").primary_key())
                .col(text("opd_id"))
                .col(text("opd_name"))
                .col(text("sub_kegiatan"))
                .col(text("account_code"))
                .col(text("purpose"))
                .col(text("ordered_by"))
                .col(timestamp_with_time_zone("ordered_at"))
                .col(boolean("approval_required"))
                .col(timestamp_with_time_zone_null("approval_due_at"))
                .col(text_null("approved_by"))
                .col(timestamp_with_time_zone_null("approved_at"))
                .col(text_null("rejected_by"))
                .col(timestamp_with_time_zone_null("rejected_at"))
                .col(text_null("rejection_reason"))
                .col(text_null("billed_by"))
                .col(timestamp_with_time_zone_null("billed_at"))
                .col(text_null("bast_signed_by"))
                .col(timestamp_with_time_zone_null("bast_signed_at"))
                .col(text_null("bast_receipt_date"))
                .col(text_null("bast_note"))
                .to_owned(),
        )
        .await?;
        index(
            m,
            "ix_opd_orders_opd",
            "opd_orders",
            &["opd_id", "ordered_at"],
        )
        .await?;
        m.create_table(
            Table::create()
                .table("tax_withholdings")
                .col(text("id").primary_key())
                .col(text("order_id"))
                .col(text("merchant_id"))
                .col(text("opd_id"))
                .col(text("payment_id"))
                // pph22 | pph_final
                .col(text("kind"))
                .col(integer("rate_bps"))
                .col(big_integer("base_amount"))
                .col(big_integer("amount").check(Expr::col("amount").gt(0)))
                .col(text("slip_number"))
                .col(text_null("certificate_number"))
                .col(timestamp_with_time_zone("created_at"))
                .to_owned(),
        )
        .await?;
        m.create_table(
            Table::create()
                .table("merchant_tax_certificates")
                .col(text("merchant_id").primary_key())
                .col(text("number"))
                .col(text("valid_from"))
                .col(text("valid_until"))
                // submitted | verified | cleared
                .col(text("status"))
                .col(text("submitted_by"))
                .col(timestamp_with_time_zone("submitted_at"))
                .col(text_null("decided_by"))
                .col(timestamp_with_time_zone_null("decided_at"))
                .to_owned(),
        )
        .await?;
        unique(
            m,
            "ux_tax_withholdings_order",
            "tax_withholdings",
            &["order_id"],
        )
        .await?;
        unique(
            m,
            "ux_tax_withholdings_slip",
            "tax_withholdings",
            &["slip_number"],
        )
        .await?;
        index(
            m,
            "ix_tax_withholdings_created",
            "tax_withholdings",
            &["created_at"],
        )
        .await?;
        // Tax withheld takes either sign from now on (a government buyer's withholding is a
        // debit until its order completes).
        for (code, sign) in FLOOR_CHANGES {
            for table in ["ledger_accounts", "ledger_balance_stripes"] {
                m.get_connection()
                    .execute_unprepared(&format!(
                        "UPDATE {table} SET floor_sign = {sign} WHERE code = '{code}'"
                    ))
                    .await?;
            }
        }
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "merchant_tax_certificates",
            "tax_withholdings",
            "opd_orders",
            "opd_purchasing_settings",
            "opd_staff_duties",
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}
