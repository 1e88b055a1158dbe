//! The payout benchmark: a month for the whole city (5,000 merchants, 300,000 completed orders by
//! default), then the three treasury steps that touch all of it, each timed: building the payout
//! batch, approving it, and importing and matching a statement with one debit line per payout.
//!
//! Seeding goes through the real posting API (`post_many`) in large chunks, so the journal,
//! balances and payable movements are exactly what production would hold.

use std::fmt::Write as _;
use std::time::{Duration, Instant};

use anyhow::Context;
use chrono::{DateTime, TimeZone, Utc};
use peken_kernel::period::wib_date;
use peken_kernel::sql;
use peken_ledger::{Account, NewTransaction, Refs, TxnKind, post_many};
use sea_orm::{DatabaseConnection, TransactionTrait, Value};

use peken_payout::{batches, reconcile};

/// What was measured.
#[derive(Debug, Clone)]
pub struct BenchReport {
    pub merchants: usize,
    pub orders: usize,
    pub seed: Duration,
    pub build: Duration,
    pub items: usize,
    pub approve: Duration,
    /// The payout worker's pass that writes the approved batch's remittance advice.
    pub remittance: Duration,
    pub statement_lines: usize,
    pub parse: Duration,
    pub import_and_match: Duration,
    pub matched: usize,
    /// Bills the statement's credits are for; half were paid by a callback before.
    pub bills: usize,
    pub credits_confirmed: usize,
    pub credits_paid: usize,
}

impl std::fmt::Display for BenchReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "seed {} merchants, {} completed orders: {:.2?}",
            self.merchants, self.orders, self.seed
        )?;
        writeln!(
            f,
            "build payout batch ({} items): {:.3?}",
            self.items, self.build
        )?;
        writeln!(f, "approve payout batch: {:.3?}", self.approve)?;
        writeln!(
            f,
            "write its remittance advice (payout worker): {:.3?}",
            self.remittance
        )?;
        writeln!(
            f,
            "parse statement ({} lines): {:.3?}",
            self.statement_lines, self.parse
        )?;
        write!(
            f,
            "import and match statement ({} debits matched to payouts, {} credits to {} bills: \
             {} confirmed callbacks, {} paid bills): {:.3?}",
            self.matched,
            self.credits_confirmed + self.credits_paid,
            self.bills,
            self.credits_confirmed,
            self.credits_paid,
            self.import_and_match
        )
    }
}

const SEED_CHUNK: usize = 5_000;

/// Seeds an empty, migrated database and measures. `merchants` and `orders` set the size.
pub async fn run(
    db: &DatabaseConnection,
    merchants: usize,
    orders: usize,
) -> anyhow::Result<BenchReport> {
    let month_start = Utc
        .with_ymd_and_hms(2026, 2, 28, 17, 0, 0)
        .single()
        .context("start")?;
    let now = month_start + chrono::Duration::days(31);
    let started = Instant::now();
    let ids = seed_merchants(db, merchants).await?;
    seed_orders(db, &ids, orders, month_start).await?;
    let seed = started.elapsed();
    if std::env::var("PEKEN_BENCH_SEED_ONLY").is_ok_and(|v| v == "1") {
        return Ok(BenchReport {
            merchants,
            orders,
            seed,
            build: Duration::ZERO,
            items: 0,
            approve: Duration::ZERO,
            remittance: Duration::ZERO,
            statement_lines: 0,
            parse: Duration::ZERO,
            import_and_match: Duration::ZERO,
            matched: 0,
            bills: 0,
            credits_confirmed: 0,
            credits_paid: 0,
        });
    }

    let started = Instant::now();
    let batch = batches::build(db, now, "bench-maker", now, None)
        .await
        .and_then(peken_kernel::idempotency::Outcome::done)
        .map_err(|e| anyhow::anyhow!("build: {e:?}"))?;
    let build = started.elapsed();

    let started = Instant::now();
    let approved = batches::approve(db, &batch.batch.id, "bench-checker", now, None)
        .await
        .and_then(peken_kernel::idempotency::Outcome::done)
        .map_err(|e| anyhow::anyhow!("approve: {e:?}"))?;
    let approve = started.elapsed();
    let started = Instant::now();
    batches::send_due_remittances(db, now)
        .await
        .map_err(|e| anyhow::anyhow!("remittance: {e:?}"))?;
    let remittance = started.elapsed();

    // Half of the statement pays shops, half is buyers' money for bills: half of those bills
    // were paid by the provider's callback already (the credit confirms it), half are still
    // pending (the credit pays them).
    let bills = seed_bills(db, &ids, STATEMENT_LINES / 2, now).await?;
    for (id, _, amount) in bills.iter().step_by(2) {
        peken_order::payment::receive_on(
            db,
            &peken_order::payment::Notice {
                payment_id: id.clone(),
                provider_reference: format!("bench-{id}"),
                amount: peken_kernel::Rupiah::new(*amount),
                paid_at: now,
            },
            now,
        )
        .await
        .map_err(|e| anyhow::anyhow!("callback: {e:?}"))?;
    }
    let today = wib_date(now);
    let mut text = String::from("value_date,description,debit,credit,balance\n");
    for (_, va, amount) in &bills {
        let _ = writeln!(text, "{today},SETORAN VA {va} PEMBELI,,{amount}.00,");
    }
    for item in approved.items.iter().take(STATEMENT_LINES - bills.len()) {
        let _ = writeln!(
            text,
            "{today},TRF BIFAST PEKEN {} {},{}.00,,",
            item.reference,
            item.account_name,
            item.amount.get()
        );
    }
    let started = Instant::now();
    let parsed = reconcile::parse(reconcile::Format::Csv, &text, Some("bench".into()))
        .map_err(|e| anyhow::anyhow!("parse: {e:?}"))?;
    let parse = started.elapsed();
    let started = Instant::now();
    let imported = reconcile::import(db, &parsed, "bench-maker", now, None)
        .await
        .and_then(peken_kernel::idempotency::Outcome::done)
        .map_err(|e| anyhow::anyhow!("import: {e:?}"))?;
    let import_and_match = started.elapsed();

    Ok(BenchReport {
        merchants,
        orders,
        seed,
        build,
        items: batch.items.len(),
        approve,
        remittance,
        statement_lines: parsed.lines.len(),
        parse,
        import_and_match,
        matched: imported.matched,
        bills: bills.len(),
        credits_confirmed: imported.credits_confirmed,
        credits_paid: imported.credits_paid,
    })
}

/// Lines of the bank statement the benchmark imports.
const STATEMENT_LINES: usize = 5_000;

/// Pending VA bills, each with one order waiting for payment at one of the merchants; returns
/// (payment id, VA number, amount).
async fn seed_bills(
    db: &DatabaseConnection,
    merchants: &[String],
    count: usize,
    now: DateTime<Utc>,
) -> anyhow::Result<Vec<(String, String, i64)>> {
    let bills: Vec<(String, String, i64)> = (0..count)
        .map(|n| {
            (
                uuid::Uuid::now_v7().to_string(),
                format!("88810{n:012}"),
                25_000 + (n as i64 % 40) * 1_000,
            )
        })
        .collect();
    let created = now - chrono::Duration::hours(1);
    let txn = db.begin().await?;
    for (c, chunk) in bills.chunks(500).enumerate() {
        let mut values: Vec<Value> = Vec::new();
        for (id, va, amount) in chunk {
            values.extend([
                id.clone().into(),
                format!("bench-checkout-{id}").into(),
                (*amount).into(),
                va.clone().into(),
                (now + chrono::Duration::hours(1)).into(),
                created.into(),
            ]);
        }
        sql::exec(
            &txn,
            format!(
                "INSERT INTO payments (id, checkout_id, buyer_id, method, amount, status, \
                 va_number, expires_at, proof_status, created_at, updated_at) \
                 SELECT v.column1, v.column2, 'bench-buyer', 'va', v.column3, 'pending', \
                 v.column4, v.column5, 'none', v.column6, v.column6 FROM (VALUES {}) AS v",
                sql::values_rows(chunk.len(), 6, 1)
            ),
            values,
        )
        .await?;
        let mut values: Vec<Value> = Vec::new();
        for (n, (id, _, amount)) in chunk.iter().enumerate() {
            let merchant = &merchants[(c * 500 + n) % merchants.len()];
            values.extend([
                format!("bench-order-{id}").into(),
                format!("bench-checkout-{id}").into(),
                id.clone().into(),
                merchant.clone().into(),
                (*amount).into(),
                created.into(),
            ]);
        }
        sql::exec(
            &txn,
            format!(
                "INSERT INTO orders (id, checkout_id, payment_id, buyer_id, buyer_role, \
                 merchant_id, status, total_amount, fulfilment_method, created_at, updated_at) \
                 SELECT v.column1, v.column2, v.column3, 'bench-buyer', 'public', v.column4, \
                 'awaiting_payment', v.column5, 'pickup', v.column6, v.column6 \
                 FROM (VALUES {}) AS v",
                sql::values_rows(chunk.len(), 6, 1)
            ),
            values,
        )
        .await?;
    }
    txn.commit().await?;
    Ok(bills)
}

async fn seed_merchants(db: &DatabaseConnection, count: usize) -> anyhow::Result<Vec<String>> {
    let ids: Vec<String> = (0..count)
        .map(|n| format!("bench-merchant-{n:05}"))
        .collect();
    let now = Utc::now();
    for (chunk_no, chunk) in ids.chunks(sql::CHUNK_ROWS).enumerate() {
        let mut values: Vec<Value> = Vec::with_capacity(chunk.len() * 6);
        for (n, id) in chunk.iter().enumerate() {
            let serial = chunk_no * sql::CHUNK_ROWS + n;
            values.extend([
                id.clone().into(),
                format!("Toko Bench {serial}").into(),
                format!("95{serial:011}").into(),
                format!("88{serial:08}").into(),
                format!("PEMILIK {serial}").into(),
                now.into(),
            ]);
        }
        let rows: Vec<String> = (0..chunk.len())
            .map(|r| {
                let b = r * 6;
                format!(
                    "(${}, ${}, 'toko_kelontong', ${}, '3578010101900001', FALSE, \
                     '35.78.01.1001', '35.78.01', 'Jl. Bench', '008', ${}, ${}, 'active', \
                     'nobody', ${}, ${})",
                    b + 1,
                    b + 2,
                    b + 3,
                    b + 4,
                    b + 5,
                    b + 6,
                    b + 6
                )
            })
            .collect();
        sql::exec(
            db,
            format!(
                "INSERT INTO merchants (id, name, kind, nib, owner_nik, mbr, kelurahan_code, \
                 kecamatan_code, address, bank_code, account_number, account_name, status, \
                 owner_user_id, created_at, updated_at) VALUES {}",
                rows.join(", ")
            ),
            values,
        )
        .await?;
    }
    Ok(ids)
}

/// Pays and completes `orders` orders spread over the merchants and the month, in chunks: one
/// payment per chunk (its total), one completion per order.
async fn seed_orders(
    db: &DatabaseConnection,
    merchants: &[String],
    orders: usize,
    month_start: DateTime<Utc>,
) -> anyhow::Result<()> {
    let spread = 30 * 24 * 3600 / orders.max(1) as i64;
    let mut next = 0;
    while next < orders {
        let end = (next + SEED_CHUNK).min(orders);
        let mut txns = Vec::with_capacity(end - next + 1);
        let mut total = 0_i64;
        for n in next..end {
            let gross = 20_000 + (n as i64 * 7_919) % 180_000;
            total += gross;
            let merchant = &merchants[n % merchants.len()];
            let at = month_start + chrono::Duration::seconds(spread * n as i64);
            txns.push(NewTransaction {
                key: format!("order:bench-{n}:completed"),
                kind: TxnKind::OrderCompleted,
                occurred_at: at,
                memo: None,
                entries: vec![
                    (Account::BuyerFundsHeld, gross),
                    (Account::MerchantPayable(merchant.clone()), -gross),
                ],
                refs: Refs {
                    order_id: Some(format!("bench-{n}")),
                    merchant_id: Some(merchant.clone()),
                    amount: gross,
                    turnover_amount: gross,
                    receipt_at: Some(at),
                    ..Refs::default()
                },
            });
        }
        let payment = NewTransaction {
            key: format!("payment:bench-{next}:confirmed"),
            kind: TxnKind::PaymentConfirmed,
            occurred_at: month_start,
            memo: None,
            entries: vec![
                (Account::Collection, total),
                (Account::BuyerFundsHeld, -total),
            ],
            refs: Refs {
                amount: total,
                ..Refs::default()
            },
        };
        txns.insert(0, payment);
        let txn = db.begin().await?;
        post_many(&txn, txns)
            .await
            .map_err(|e| anyhow::anyhow!("seed: {e}"))?;
        txn.commit().await?;
        next = end;
    }
    Ok(())
}
