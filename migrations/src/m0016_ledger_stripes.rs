//! City-wide ledger balances kept in stripes.
//!
//! Every payment moves the two city-wide accounts `collection` and `buyer_funds_held`; with one
//! balance row each, every payment locked the same two rows until it committed and payments
//! passed one at a time. Each city-wide account now keeps its balance in
//! `ledger_balance_stripes`: sixteen rows, each holding part of the balance under the same guard
//! as the account (`floor_sign * balance >= 0`), so the sum keeps it too. A posting adds to the
//! stripe its payment (or payout item, order, key) hashes to; a posting that would take a stripe
//! past its floor rebalances the account's stripes under a lock of all of them
//! (`peken_ledger::post`). The account's own `balance` stays as a base (zero once rebalanced),
//! and `ledger_account_balances` is the balance every reader sees: base plus stripes.
//!
//! The city-wide accounts are created here, with their stripes, so a posting never has to create
//! them. Merchant payables keep their balance on their own row, which only their merchant's
//! postings touch.

use sea_orm_migration::prelude::*;
use sea_orm_migration::schema::{big_integer, integer, text};

#[derive(DeriveMigrationName)]
pub struct Migration;

/// The city-wide accounts and their guards (`peken_ledger::Account::floor_sign`).
pub const CITY_ACCOUNTS: [(&str, i32); 7] = [
    ("collection", 0),
    ("buyer_funds_held", -1),
    ("payout_in_transit", -1),
    ("platform_fee", -1),
    ("tax_withheld", -1),
    ("refunds_payable", -1),
    ("suspense", 0),
];

/// Stripes per city-wide account (`peken_ledger::post::STRIPES`).
pub const STRIPES: i32 = 16;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, m: &SchemaManager) -> Result<(), DbErr> {
        m.create_table(
            Table::create()
                .table("ledger_balance_stripes")
                .col(text("code"))
                .col(integer("stripe"))
                .col(integer("floor_sign"))
                .col(big_integer("balance").default(0))
                .primary_key(Index::create().col("code").col("stripe"))
                .check(Expr::cust("floor_sign * balance >= 0"))
                .foreign_key(
                    ForeignKey::create()
                        .name("fk_ledger_balance_stripes_account")
                        .from("ledger_balance_stripes", "code")
                        .to("ledger_accounts", "code"),
                )
                .to_owned(),
        )
        .await?;
        let db = m.get_connection();
        for (code, floor_sign) in CITY_ACCOUNTS {
            db.execute_unprepared(&format!(
                "INSERT INTO ledger_accounts (code, kind, merchant_id, floor_sign, balance, seq) \
                 VALUES ('{code}', '{code}', NULL, {floor_sign}, 0, 0) ON CONFLICT (code) DO NOTHING"
            ))
            .await?;
            let rows: Vec<String> = (0..STRIPES)
                .map(|s| format!("('{code}', {s}, {floor_sign}, 0)"))
                .collect();
            db.execute_unprepared(&format!(
                "INSERT INTO ledger_balance_stripes (code, stripe, floor_sign, balance) VALUES {}",
                rows.join(", ")
            ))
            .await?;
        }
        db.execute_unprepared(
            "CREATE VIEW ledger_account_balances AS \
             SELECT a.code, a.kind, a.merchant_id, a.floor_sign, a.seq, \
             CAST(a.balance + COALESCE(s.total, 0) AS BIGINT) AS balance \
             FROM ledger_accounts a LEFT JOIN \
             (SELECT code, SUM(balance) AS total FROM ledger_balance_stripes GROUP BY code) s \
             ON s.code = a.code",
        )
        .await?;
        Ok(())
    }

    async fn down(&self, m: &SchemaManager) -> Result<(), DbErr> {
        let db = m.get_connection();
        db.execute_unprepared("DROP VIEW ledger_account_balances")
            .await?;
        // The stripes' balances go back to their accounts' own rows.
        db.execute_unprepared(
            "UPDATE ledger_accounts SET balance = balance + COALESCE((SELECT SUM(s.balance) \
             FROM ledger_balance_stripes s WHERE s.code = ledger_accounts.code), 0)",
        )
        .await?;
        m.drop_table(Table::drop().table("ledger_balance_stripes").to_owned())
            .await?;
        Ok(())
    }
}
