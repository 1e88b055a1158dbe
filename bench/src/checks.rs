//! The invariants checked after generating data and after the checkout benchmark: no listing
//! oversold, stock equal to the sum of its movements, the journal balanced per transaction and
//! in total, balances equal to their entries, no payment recorded twice.

use peken_kernel::sql;
use sea_orm::{DatabaseConnection, Value};
use serde::Serialize;

/// How many listings of the hot commodity the seed leaves with little stock.
pub const HOT_LISTINGS: usize = 20;

#[derive(Serialize)]
pub struct Check {
    pub name: &'static str,
    pub pass: bool,
    pub detail: String,
}

#[derive(Default, Serialize)]
pub struct Report {
    pub checks: Vec<Check>,
}

impl Report {
    pub fn all_pass(&self) -> bool {
        self.checks.iter().all(|c| c.pass)
    }

    pub fn print(&self) {
        for c in &self.checks {
            println!(
                "  {} {:<34} {}",
                if c.pass { "PASS" } else { "FAIL" },
                c.name,
                c.detail
            );
        }
    }

    fn push(&mut self, name: &'static str, pass: bool, detail: String) {
        self.checks.push(Check { name, pass, detail });
    }
}

pub async fn count(db: &DatabaseConnection, sql_text: &str) -> anyhow::Result<i64> {
    Ok(sql::query_one(db, sql_text, vec![])
        .await?
        .map(|r| r.try_get_by_index::<i64>(0))
        .transpose()?
        .unwrap_or(0))
}

/// Checks the invariants; stock only over `listings` when given (the ones a run touched),
/// else over every listing.
pub async fn consistency(
    db: &DatabaseConnection,
    listings: Option<&[String]>,
) -> anyhow::Result<Report> {
    let mut report = Report::default();
    let (checked, negative, drifted) = stock(db, listings).await?;
    report.push(
        "no listing oversold (stock >= 0)",
        negative == 0,
        format!("{negative} of {checked} listings below zero"),
    );
    report.push(
        "stock equals sum of movements",
        drifted == 0,
        format!("{drifted} of {checked} listings differ"),
    );

    let journal = peken_ledger::read::check(db).await?;
    report.push(
        "journal sums to zero",
        journal.entries_total == 0 && journal.unbalanced_transactions.is_empty(),
        format!(
            "total {}, {} of {} transactions unbalanced",
            journal.entries_total,
            journal.unbalanced_transactions.len(),
            journal.transactions
        ),
    );
    report.push(
        "balances equal their entries",
        journal.balances_total == 0 && journal.drifted_accounts.is_empty(),
        format!(
            "sum of balances {}, {} accounts drifted",
            journal.balances_total,
            journal.drifted_accounts.len()
        ),
    );

    let misnumbered = count(
        db,
        "SELECT COUNT(*) FROM ledger_accounts a WHERE a.kind = 'merchant_payable' AND a.seq <> \
         (SELECT COUNT(*) FROM ledger_payable_movements m WHERE m.merchant_id = a.merchant_id)",
    )
    .await?;
    report.push(
        "payable movements numbered 1..n",
        misnumbered == 0,
        format!("{misnumbered} merchant payables whose last number is not their count"),
    );

    let twice = count(
        db,
        "SELECT COUNT(*) FROM (SELECT payment_id FROM ledger_transactions \
         WHERE kind = 'payment_confirmed' AND payment_id IS NOT NULL \
         GROUP BY payment_id HAVING COUNT(*) > 1) x",
    )
    .await?;
    let receipts_twice = count(
        db,
        "SELECT COUNT(*) FROM (SELECT payment_id FROM payment_receipts \
         WHERE outcome = 'applied' GROUP BY payment_id HAVING COUNT(*) > 1) x",
    )
    .await?;
    let unposted = count(
        db,
        "SELECT COUNT(*) FROM payments p WHERE p.status = 'paid' AND NOT EXISTS \
         (SELECT 1 FROM ledger_transactions t WHERE t.natural_key = 'payment:' || p.id || ':confirmed')",
    )
    .await?;
    let paid = count(db, "SELECT COUNT(*) FROM payments WHERE status = 'paid'").await?;
    report.push(
        "no payment recorded twice",
        twice == 0 && receipts_twice == 0 && unposted == 0,
        format!(
            "{paid} paid; {twice} posted twice, {receipts_twice} applied twice, {unposted} not posted"
        ),
    );
    Ok(report)
}

/// The references the seed writes, child column then parent key: the foreign keys of the loaded
/// tables, and the links between orders, payments and the journal that have no constraint.
const REFERENCES: [(&str, &str, &str, &str); 14] = [
    ("users", "opd_id", "opds", "id"),
    ("merchants", "kelurahan_code", "regions", "code"),
    ("listings", "merchant_id", "merchants", "id"),
    ("listings", "commodity_id", "commodities", "id"),
    ("stock_movements", "listing_id", "listings", "id"),
    ("orders", "payment_id", "payments", "id"),
    ("orders", "merchant_id", "merchants", "id"),
    ("orders", "buyer_id", "users", "id"),
    ("order_items", "order_id", "orders", "id"),
    ("order_events", "order_id", "orders", "id"),
    ("payment_receipts", "payment_id", "payments", "id"),
    ("ledger_entries", "txn_id", "ledger_transactions", "id"),
    ("ledger_entries", "account", "ledger_accounts", "code"),
    (
        "ledger_payable_movements",
        "txn_id",
        "ledger_transactions",
        "id",
    ),
];

/// Every reference of [`REFERENCES`] resolves: what the foreign keys would have checked row by
/// row during the load, checked once.
pub async fn references(db: &DatabaseConnection) -> anyhow::Result<Report> {
    let mut dangling = Vec::new();
    for (child, column, parent, key) in REFERENCES {
        let n = count(
            db,
            &format!(
                "SELECT COUNT(*) FROM {child} c WHERE c.{column} IS NOT NULL AND NOT EXISTS \
                 (SELECT 1 FROM {parent} p WHERE p.{key} = c.{column})"
            ),
        )
        .await?;
        if n > 0 {
            dangling.push(format!("{child}.{column}: {n}"));
        }
    }
    let mut report = Report::default();
    report.push(
        "every reference resolves",
        dangling.is_empty(),
        if dangling.is_empty() {
            format!("{} references checked", REFERENCES.len())
        } else {
            format!("dangling: {}", dangling.join(", "))
        },
    );
    Ok(report)
}

/// `(listings checked, below zero, differing from their movements)`.
async fn stock(
    db: &DatabaseConnection,
    listings: Option<&[String]>,
) -> anyhow::Result<(usize, usize, usize)> {
    let Some(ids) = listings else {
        let total = count(db, "SELECT COUNT(*) FROM listings").await?;
        let negative = count(db, "SELECT COUNT(*) FROM listings WHERE stock < 0").await?;
        let drifted = count(
            db,
            "SELECT COUNT(*) FROM listings l LEFT JOIN (SELECT listing_id, \
             CAST(SUM(quantity_delta) AS BIGINT) AS moved FROM stock_movements \
             GROUP BY listing_id) m ON m.listing_id = l.id WHERE l.stock <> COALESCE(m.moved, 0)",
        )
        .await?;
        return Ok((total as usize, negative as usize, drifted as usize));
    };
    let mut negative = 0;
    let mut drifted = 0;
    for chunk in ids.chunks(500) {
        let values: Vec<Value> = chunk.iter().map(|id| id.clone().into()).collect();
        let rows = sql::query(
            db,
            format!(
                "SELECT l.stock, (SELECT CAST(COALESCE(SUM(m.quantity_delta), 0) AS BIGINT) \
                 FROM stock_movements m WHERE m.listing_id = l.id) AS moved \
                 FROM listings l WHERE l.id IN ({})",
                sql::list(chunk.len(), 1)
            ),
            values,
        )
        .await?;
        for row in rows {
            let stock: i64 = row.try_get("", "stock")?;
            let moved: i64 = row.try_get("", "moved")?;
            negative += usize::from(stock < 0);
            drifted += usize::from(stock != moved);
        }
    }
    Ok((ids.len(), negative, drifted))
}
