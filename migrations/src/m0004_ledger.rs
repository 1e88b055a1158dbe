//! The double-entry journal, merchant turnover, payout batches, bank statements and
//! reconciliation.
//!
//! The journal is append-only: `ledger_transactions` and `ledger_entries` rows are inserted and
//! never updated or deleted. `ledger_accounts.balance` is the running sum of an account's entries,
//! kept in the same database transaction as the entries, and its CHECK refuses a balance on the
//! wrong side of zero for accounts that must not go negative.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{
    big_integer, big_integer_null, integer, text, text_null, timestamp_with_time_zone,
    timestamp_with_time_zone_null,
};

use crate::m0001_identity::{index, unique};

#[derive(DeriveMigrationName)]
pub struct Migration;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        journal(m).await?;
        turnover(m).await?;
        payouts(m).await?;
        statements(m).await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            "daily_closes",
            "payout_match_proposals",
            "payout_matches",
            "bank_statement_lines",
            "bank_statements",
            "payout_holds",
            "payout_items",
            "payout_batches",
            "turnover_alerts",
            "turnover_years",
            "payable_watermarks",
            "ledger_payable_movements",
            "ledger_entries",
            "ledger_transactions",
            "ledger_accounts",
        ] {
            m.drop_table(Table::drop().table(table).to_owned()).await?;
        }
        Ok(())
    }
}

async fn journal(m: &SchemaManager<'_>) -> Result<(), DbErr> {
    m.create_table(
        Table::create()
            .table("ledger_accounts")
            // `collection`, `merchant_payable:{merchant id}`, …
            .col(text("code").primary_key())
            .col(text("kind"))
            .col(text_null("merchant_id"))
            // 1: the balance may not go below zero; -1: not above zero; 0: unguarded.
            .col(integer("floor_sign"))
            // Sum of the account's entries; debits positive, credits negative.
            .col(big_integer("balance").default(0))
            // Payable movements numbered so far (merchant payables only).
            .col(big_integer("seq").default(0))
            .check(Expr::cust("floor_sign * balance >= 0"))
            .to_owned(),
    )
    .await?;
    index(m, "ix_ledger_accounts_kind", "ledger_accounts", &["kind"]).await?;

    m.create_table(
        Table::create()
            .table("ledger_transactions")
            .col(text("id").primary_key())
            // The natural key (`order:{id}:completed`): unique, so nothing posts twice.
            .col(text("natural_key"))
            .col(text("kind"))
            .col(timestamp_with_time_zone("occurred_at"))
            // WIB month of `occurred_at`, `YYYY-MM`.
            .col(text("period"))
            .col(text_null("memo"))
            .col(text_null("order_id"))
            .col(text_null("merchant_id"))
            .col(text_null("payment_id"))
            .col(text_null("payout_item_id"))
            .col(text_null("reverses_id"))
            // The headline amount: what was paid, completed, refunded or paid out.
            .col(big_integer("amount").default(0))
            // The change this transaction makes to the merchant's turnover (gross sales).
            .col(big_integer("turnover_amount").default(0))
            .col(timestamp_with_time_zone("recorded_at"))
            .to_owned(),
    )
    .await?;
    unique(
        m,
        "ux_ledger_transactions_key",
        "ledger_transactions",
        &["natural_key"],
    )
    .await?;
    // A transaction is reversed at most once.
    unique(
        m,
        "ux_ledger_transactions_reverses",
        "ledger_transactions",
        &["reverses_id"],
    )
    .await?;
    index(
        m,
        "ix_ledger_transactions_merchant_period",
        "ledger_transactions",
        &["merchant_id", "period"],
    )
    .await?;
    index(
        m,
        "ix_ledger_transactions_period",
        "ledger_transactions",
        &["period"],
    )
    .await?;
    index(
        m,
        "ix_ledger_transactions_order",
        "ledger_transactions",
        &["order_id"],
    )
    .await?;

    m.create_table(
        Table::create()
            .table("ledger_entries")
            .col(text("txn_id"))
            .col(integer("line_no"))
            .col(text("account"))
            .col(text("account_kind"))
            .col(text_null("merchant_id"))
            // Debits positive, credits negative; never zero.
            .col(big_integer("amount").check(Expr::col("amount").ne(0)))
            .col(timestamp_with_time_zone("occurred_at"))
            .primary_key(Index::create().col("txn_id").col("line_no"))
            .foreign_key(
                ForeignKey::create()
                    .name("fk_ledger_entries_txn")
                    .from("ledger_entries", "txn_id")
                    .to("ledger_transactions", "id"),
            )
            .foreign_key(
                ForeignKey::create()
                    .name("fk_ledger_entries_account")
                    .from("ledger_entries", "account")
                    .to("ledger_accounts", "code"),
            )
            .to_owned(),
    )
    .await?;
    index(
        m,
        "ix_ledger_entries_account",
        "ledger_entries",
        &["account", "txn_id"],
    )
    .await?;
    index(
        m,
        "ix_ledger_entries_account_time",
        "ledger_entries",
        &["account", "occurred_at"],
    )
    .await?;

    // Every change of a merchant's payable other than a payout itself, one row per transaction
    // and merchant, numbered per merchant by `seq` (taken from the merchant's account row under
    // its lock, so numbers follow commit order). A payout item claims the range
    // `(seq_after, seq_to]` of its merchant and moves the merchant's watermark to `seq_to`, so an
    // amount can be in one live payout only; a failed payout returns its money as a new row.
    m.create_table(
        Table::create()
            .table("ledger_payable_movements")
            .col(text("txn_id"))
            .col(text("merchant_id"))
            .col(big_integer("seq"))
            .col(text("kind"))
            .col(big_integer("amount"))
            .col(timestamp_with_time_zone("occurred_at"))
            // When the buyer received the goods: the start of the payout service level.
            .col(timestamp_with_time_zone_null("receipt_at"))
            .primary_key(Index::create().col("txn_id").col("merchant_id"))
            .foreign_key(
                ForeignKey::create()
                    .name("fk_ledger_payable_movements_txn")
                    .from("ledger_payable_movements", "txn_id")
                    .to("ledger_transactions", "id"),
            )
            .to_owned(),
    )
    .await?;
    unique(
        m,
        "ux_ledger_payable_movements_seq",
        "ledger_payable_movements",
        &["merchant_id", "seq"],
    )
    .await?;
    // Per merchant, the last movement claimed by a live payout item.
    m.create_table(
        Table::create()
            .table("payable_watermarks")
            .col(text("merchant_id").primary_key())
            .col(big_integer("seq"))
            .to_owned(),
    )
    .await?;
    Ok(())
}

async fn turnover(m: &SchemaManager<'_>) -> Result<(), DbErr> {
    // Cumulative turnover per merchant and WIB year, kept with each posting so that crossing a
    // threshold is seen by exactly one transaction.
    m.create_table(
        Table::create()
            .table("turnover_years")
            .col(text("merchant_id"))
            .col(integer("year"))
            .col(big_integer("amount").default(0))
            .primary_key(Index::create().col("merchant_id").col("year"))
            .to_owned(),
    )
    .await?;
    m.create_table(
        Table::create()
            .table("turnover_alerts")
            .col(text("merchant_id"))
            .col(integer("year"))
            .col(big_integer("threshold_amount"))
            .col(big_integer("turnover_amount"))
            .col(text("txn_id"))
            .col(timestamp_with_time_zone("crossed_at"))
            .primary_key(
                Index::create()
                    .col("merchant_id")
                    .col("year")
                    .col("threshold_amount"),
            )
            .to_owned(),
    )
    .await?;
    index(
        m,
        "ix_turnover_alerts_crossed",
        "turnover_alerts",
        &["crossed_at"],
    )
    .await?;
    Ok(())
}

async fn payouts(m: &SchemaManager<'_>) -> Result<(), DbErr> {
    m.create_table(
        Table::create()
            .table("payout_batches")
            .col(text("id").primary_key())
            .col(timestamp_with_time_zone("cutoff"))
            // draft | approved | cancelled
            .col(text("status"))
            .col(integer("item_count"))
            .col(big_integer("total_amount"))
            .col(text("created_by"))
            .col(timestamp_with_time_zone("created_at"))
            .col(text_null("approved_by"))
            .col(timestamp_with_time_zone_null("approved_at"))
            .col(text_null("cancelled_by"))
            .col(timestamp_with_time_zone_null("cancelled_at"))
            .to_owned(),
    )
    .await?;
    index(
        m,
        "ix_payout_batches_created",
        "payout_batches",
        &["created_at"],
    )
    .await?;

    m.create_table(
        Table::create()
            .table("payout_items")
            .col(text("id").primary_key())
            .col(text("batch_id"))
            .col(text("merchant_id"))
            .col(big_integer("amount").check(Expr::col("amount").gt(0)))
            // Unique; the bank must carry it in the transfer remark.
            .col(text("reference"))
            .col(text("bank_code"))
            .col(text("account_number"))
            .col(text("account_name"))
            // BIFAST | SKN | RTGS
            .col(text("rail"))
            // draft | approved | paid | failed | cancelled
            .col(text("status"))
            .col(timestamp_with_time_zone_null("oldest_receipt_at"))
            // The merchant's payable movements this item pays: `(seq_after, seq_to]`.
            .col(big_integer("seq_after"))
            .col(big_integer("seq_to"))
            .col(timestamp_with_time_zone_null("approved_at"))
            .col(timestamp_with_time_zone_null("settled_at"))
            .col(timestamp_with_time_zone_null("failed_at"))
            .col(text_null("failed_by"))
            .col(text_null("failure_reason"))
            .col(timestamp_with_time_zone("created_at"))
            .foreign_key(
                ForeignKey::create()
                    .name("fk_payout_items_batch")
                    .from("payout_items", "batch_id")
                    .to("payout_batches", "id"),
            )
            .to_owned(),
    )
    .await?;
    unique(
        m,
        "ux_payout_items_batch_merchant",
        "payout_items",
        &["batch_id", "merchant_id"],
    )
    .await?;
    unique(
        m,
        "ux_payout_items_reference",
        "payout_items",
        &["reference"],
    )
    .await?;
    index(
        m,
        "ix_payout_items_status_amount",
        "payout_items",
        &["status", "amount"],
    )
    .await?;
    index(
        m,
        "ix_payout_items_merchant",
        "payout_items",
        &["merchant_id"],
    )
    .await?;

    m.create_table(
        Table::create()
            .table("payout_holds")
            .col(text("id").primary_key())
            .col(text("merchant_id"))
            .col(text("reason"))
            .col(text_null("payout_item_id"))
            .col(text("created_by"))
            .col(timestamp_with_time_zone("created_at"))
            .col(text_null("cleared_by"))
            .col(timestamp_with_time_zone_null("cleared_at"))
            .col(text_null("clear_note"))
            .to_owned(),
    )
    .await?;
    index(
        m,
        "ix_payout_holds_merchant",
        "payout_holds",
        &["merchant_id", "cleared_at"],
    )
    .await?;
    // A failed item holds its merchant once, however often the failure is reported.
    unique(
        m,
        "ux_payout_holds_item",
        "payout_holds",
        &["payout_item_id"],
    )
    .await?;
    Ok(())
}

async fn statements(m: &SchemaManager<'_>) -> Result<(), DbErr> {
    m.create_table(
        Table::create()
            .table("bank_statements")
            .col(text("id").primary_key())
            // Digest of the statement's canonical content: the same statement imported again,
            // in either format, is recognised.
            .col(text("content_hash"))
            // csv | mt940
            .col(text("format"))
            .col(text_null("account"))
            .col(text_null("statement_ref"))
            .col(big_integer_null("opening_balance"))
            .col(big_integer_null("closing_balance"))
            .col(text_null("closing_date"))
            .col(integer("line_count"))
            .col(integer("new_lines"))
            .col(integer("duplicates"))
            .col(integer("matched"))
            .col(text("imported_by"))
            .col(timestamp_with_time_zone("imported_at"))
            .to_owned(),
    )
    .await?;
    unique(
        m,
        "ux_bank_statements_content",
        "bank_statements",
        &["content_hash"],
    )
    .await?;
    index(
        m,
        "ix_bank_statements_closing",
        "bank_statements",
        &["closing_date"],
    )
    .await?;

    m.create_table(
        Table::create()
            .table("bank_statement_lines")
            .col(text("id").primary_key())
            .col(text("statement_id"))
            // Digest of the line's content and its occurrence number among identical lines of
            // its statement: re-importing a file adds nothing.
            .col(text("content_hash"))
            .col(integer("line_no"))
            .col(text("value_date"))
            // debit | credit
            .col(text("direction"))
            .col(big_integer("amount").check(Expr::col("amount").gte(0)))
            .col(text("description"))
            .col(big_integer_null("balance"))
            .col(text_null("account"))
            .col(text("raw"))
            // unmatched | matched
            .col(text("status"))
            .col(timestamp_with_time_zone("created_at"))
            .foreign_key(
                ForeignKey::create()
                    .name("fk_bank_statement_lines_statement")
                    .from("bank_statement_lines", "statement_id")
                    .to("bank_statements", "id"),
            )
            .to_owned(),
    )
    .await?;
    unique(
        m,
        "ux_bank_statement_lines_content",
        "bank_statement_lines",
        &["content_hash"],
    )
    .await?;
    index(
        m,
        "ix_bank_statement_lines_status",
        "bank_statement_lines",
        &["status", "direction", "value_date"],
    )
    .await?;
    index(
        m,
        "ix_bank_statement_lines_statement",
        "bank_statement_lines",
        &["statement_id"],
    )
    .await?;

    // The effective matches: a statement line pays at most one item and an item is paid by at
    // most one line.
    m.create_table(
        Table::create()
            .table("payout_matches")
            .col(text("id").primary_key())
            .col(text("statement_line_id"))
            .col(text("payout_item_id"))
            // reference | amount_date_account | manual
            .col(text("method"))
            .col(text_null("proposed_by"))
            .col(text_null("approved_by"))
            .col(timestamp_with_time_zone("created_at"))
            .foreign_key(
                ForeignKey::create()
                    .name("fk_payout_matches_line")
                    .from("payout_matches", "statement_line_id")
                    .to("bank_statement_lines", "id"),
            )
            .foreign_key(
                ForeignKey::create()
                    .name("fk_payout_matches_item")
                    .from("payout_matches", "payout_item_id")
                    .to("payout_items", "id"),
            )
            .to_owned(),
    )
    .await?;
    unique(
        m,
        "ux_payout_matches_line",
        "payout_matches",
        &["statement_line_id"],
    )
    .await?;
    unique(
        m,
        "ux_payout_matches_item",
        "payout_matches",
        &["payout_item_id"],
    )
    .await?;

    m.create_table(
        Table::create()
            .table("payout_match_proposals")
            .col(text("id").primary_key())
            .col(text("statement_line_id"))
            .col(text("payout_item_id"))
            .col(text_null("note"))
            // pending | approved | rejected
            .col(text("status"))
            .col(text("proposed_by"))
            .col(timestamp_with_time_zone("proposed_at"))
            .col(text_null("decided_by"))
            .col(timestamp_with_time_zone_null("decided_at"))
            .to_owned(),
    )
    .await?;
    index(
        m,
        "ix_payout_match_proposals_status",
        "payout_match_proposals",
        &["status"],
    )
    .await?;

    m.create_table(
        Table::create()
            .table("daily_closes")
            .col(text("id").primary_key())
            .col(text("close_date"))
            .col(big_integer("ledger_amount"))
            .col(big_integer_null("statement_amount"))
            .col(big_integer_null("difference_amount"))
            // balanced | difference | no_statement
            .col(text("status"))
            .col(text_null("statement_id"))
            .col(text("closed_by"))
            .col(timestamp_with_time_zone("closed_at"))
            .to_owned(),
    )
    .await?;
    index(
        m,
        "ix_daily_closes_date",
        "daily_closes",
        &["close_date", "closed_at"],
    )
    .await?;
    Ok(())
}
