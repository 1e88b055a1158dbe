//! The ledger's promises under random sequences of checkouts, payments (and replays),
//! completions, cancellations and refunds, OPD orders whose bill is paid net of the tax the
//! government buyer withholds (posted to `tax_withheld` at payment, settled by the completion,
//! reversed by a refund before it), partial acceptances (a shortfall refunded before
//! completion, which then pays the rest), payout batches, approvals, cancellations, statement
//! imports and re-imports, failures, retries and cleared holds, run in process against SQLite
//! with the real migrations and the real service functions. After every step:
//!
//! - all entries sum to zero, so does each transaction, and every stored balance is the sum of
//!   its entries;
//! - no merchant payable (nor any other guarded account) is below zero; each completed order's
//!   gross equals net + fee + tax;
//! - an amount is never in two live payouts and never paid twice, even across failed payouts
//!   and their retries: what merchants were ever owed equals what they are owed now plus what
//!   was sent to them and not returned, and every live item is exactly the movements it claimed;
//! - in transit equals the total of approved items not yet seen on a statement;
//! - an OPD order's withholding is posted once, exactly when it is paid, of the amount
//!   computed by `peken_order::opd::withholding`, and its completion's tax includes it;
//! - an order's shortfall is posted once, only before its completion, and the completion is of
//!   what is left: the shortfall and the completion together never exceed what the buyer paid,
//!   and the merchant is never credited more than the net of the goods it supplied;
//! - re-importing any statement changes nothing;
//! - the summaries the programme's reports read are what they summarise: the monthly turnover
//!   kept with each posting is the journal's, the orders paid per shop and month and the
//!   month's buyers (per kecamatan, with the roles they paid in) are the orders';
//! - bills paid by callbacks and statement credits in any order count each arrival of money
//!   once (see the block "Bills paid by callbacks and by statement credits");
//! - the money owed back for those bills is paid through refund batches (built, approved by a
//!   second user or refused to the builder, cancelled, seen on statements, failed and batched
//!   again) at most once per refund however failures and retries interleave: a refund is `paid`
//!   exactly when one refund-paid posting of its amount exists, it is in at most one live batch
//!   item, and an item in transit is exactly a refund in transit.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use std::fmt::Write as _;

use chrono::{DateTime, Duration, TimeZone, Utc};
use peken_kernel::Rupiah;
use peken_kernel::period::wib_date;
use peken_kernel::sql;
use peken_ledger::{LedgerError, read};
use peken_migrations::{Migrator, MigratorTrait};
use proptest::prelude::*;
use sea_orm::{DatabaseConnection, TransactionTrait};

use crate::{batches, holds, reconcile, refund_batches};

const MERCHANTS: usize = 3;
const MAKERS: [&str; 2] = ["treasurer-a", "treasurer-b"];

#[derive(Debug, Clone)]
enum Op {
    Checkout {
        merchant: u8,
        amount: u32,
    },
    /// An OPD order: its bill is paid net of the tax withheld (PPh 22, or final with a valid
    /// certificate) when its amount is above the threshold.
    OpdCheckout {
        merchant: u8,
        amount: u32,
        certified: bool,
    },
    Pay {
        order: u8,
        twice: bool,
    },
    Complete {
        order: u8,
        fee_bps: u16,
        tax_bps: u16,
    },
    Refund {
        order: u8,
        percent: u8,
    },
    /// A shop accepts the order with `percent` of its value short.
    Short {
        order: u8,
        percent: u8,
    },
    Build {
        by: u8,
    },
    Approve {
        same_user: bool,
    },
    Cancel,
    Statement {
        pick: u8,
        drop_reference: bool,
    },
    Reimport {
        pick: u8,
    },
    Fail {
        pick: u8,
    },
    Clear {
        pick: u8,
    },
    Advance {
        hours: u8,
    },
    // --- Bills paid by callbacks and by statement credits (see the block at the end) ---
    /// A pending bill with one awaiting order.
    Bill {
        merchant: u8,
        amount: u32,
    },
    /// The provider's callback for a bill, with one of two references (so a replay or other
    /// money).
    Callback {
        bill: u8,
        reference: u8,
    },
    /// A statement with credits for a bill (the VA or the QRIS bill number in the narrative).
    Credit {
        bill: u8,
        twice: bool,
        qris: bool,
    },
    /// A bill's time runs out: it expires if still pending.
    Expire {
        bill: u8,
    },
    /// A credit no key names, matched by two treasury users (or refused to the proposer).
    ManualCredit {
        bill: u8,
        same_user: bool,
    },
    // --- Refund batches (see the block at the end) ---
    /// A refund batch built to now by one of the two treasury users.
    RefundBuild {
        by: u8,
    },
    /// The oldest draft refund batch approved, by its builder (refused) or the other user.
    RefundApprove {
        same_user: bool,
    },
    /// The oldest draft refund batch cancelled.
    RefundCancel,
    /// A statement with a debit for some of the refund transfers ever approved (the mask picks
    /// them; failed ones included, so a returned transfer's old reference shows up too).
    RefundStatement {
        mask: u8,
    },
    /// A refund transfer in transit fails.
    RefundFail {
        pick: u8,
    },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (0..MERCHANTS as u8, 1_000_u32..3_000_000)
            .prop_map(|(merchant, amount)| Op::Checkout { merchant, amount }),
        2 => (0..MERCHANTS as u8, 1_000_000_u32..6_000_000, any::<bool>())
            .prop_map(|(merchant, amount, certified)| Op::OpdCheckout { merchant, amount, certified }),
        3 => (any::<u8>(), prop::bool::weighted(0.2)).prop_map(|(order, twice)| Op::Pay { order, twice }),
        3 => (any::<u8>(), 0_u16..300, 0_u16..100)
            .prop_map(|(order, fee_bps, tax_bps)| Op::Complete { order, fee_bps, tax_bps }),
        1 => (any::<u8>(), 1_u8..=100).prop_map(|(order, percent)| Op::Refund { order, percent }),
        2 => (any::<u8>(), 1_u8..100).prop_map(|(order, percent)| Op::Short { order, percent }),
        2 => any::<u8>().prop_map(|by| Op::Build { by }),
        2 => prop::bool::weighted(0.15).prop_map(|same_user| Op::Approve { same_user }),
        2 => Just(Op::Cancel),
        2 => (any::<u8>(), any::<bool>())
            .prop_map(|(pick, drop_reference)| Op::Statement { pick, drop_reference }),
        1 => any::<u8>().prop_map(|pick| Op::Reimport { pick }),
        1 => any::<u8>().prop_map(|pick| Op::Fail { pick }),
        1 => any::<u8>().prop_map(|pick| Op::Clear { pick }),
        1 => (1_u8..30).prop_map(|hours| Op::Advance { hours }),
        // --- Bills paid by callbacks and by statement credits ---
        2 => (0..MERCHANTS as u8, 1_000_u32..2_000_000)
            .prop_map(|(merchant, amount)| Op::Bill { merchant, amount }),
        2 => (any::<u8>(), 0_u8..3).prop_map(|(bill, reference)| Op::Callback { bill, reference }),
        2 => (any::<u8>(), prop::bool::weighted(0.25), any::<bool>())
            .prop_map(|(bill, twice, qris)| Op::Credit { bill, twice, qris }),
        1 => any::<u8>().prop_map(|bill| Op::Expire { bill }),
        1 => (any::<u8>(), prop::bool::weighted(0.2))
            .prop_map(|(bill, same_user)| Op::ManualCredit { bill, same_user }),
        // --- Refund batches ---
        2 => any::<u8>().prop_map(|by| Op::RefundBuild { by }),
        2 => prop::bool::weighted(0.15).prop_map(|same_user| Op::RefundApprove { same_user }),
        1 => Just(Op::RefundCancel),
        2 => any::<u8>().prop_map(|mask| Op::RefundStatement { mask }),
        1 => any::<u8>().prop_map(|pick| Op::RefundFail { pick }),
    ]
}

struct Order {
    id: String,
    merchant: usize,
    amount: i64,
    paid: bool,
    /// The shortfall refunded at acceptance (0 if none).
    short: i64,
    /// What an OPD withheld from its bill (0 for a buyer's order, or at or below the threshold).
    withheld: i64,
    completed: bool,
}

struct World {
    db: DatabaseConnection,
    /// The PostgreSQL database of this case when the tests run there (dropped with it).
    _scratch: Option<peken_kernel::scratch::ScratchDatabase>,
    now: DateTime<Utc>,
    merchants: Vec<(String, String)>,
    orders: Vec<Order>,
    statements: Vec<String>,
    serial: u64,
    bills: Vec<Bill>,
}

fn ledger_refusal(err: &LedgerError) -> Result<(), String> {
    match err {
        LedgerError::InsufficientBalance { .. } | LedgerError::InvalidAmount(_) => Ok(()),
        other => Err(format!("ledger error: {other:?}")),
    }
}

/// A world on in-memory SQLite, or on a fresh PostgreSQL database when
/// `PEKEN_TEST_DATABASE_URL` is set (PostgreSQL takes a purchase's steps in fewer statements).
async fn world() -> World {
    let (db, scratch) = peken_kernel::scratch::test_database("prop", 2)
        .await
        .unwrap();
    Migrator::up(&db, None).await.unwrap();
    let mut merchants = Vec::new();
    for n in 0..MERCHANTS {
        let id = format!("merchant-{n}");
        let account = format!("77{n:08}");
        sql::exec(
            &db,
            "INSERT INTO merchants (id, name, kind, nib, owner_nik, mbr, kelurahan_code, \
             kecamatan_code, address, bank_code, account_number, account_name, status, \
             owner_user_id, created_at, updated_at) VALUES ($1, $2, 'toko_kelontong', $3, \
             '3578010101900001', $4, $7, $8, 'Jl. Uji', '008', $5, 'UJI', \
             'active', 'nobody', $6, $6)",
            vec![
                id.clone().into(),
                format!("Toko {n}").into(),
                format!("9100000000{n:03}").into(),
                false.into(),
                account.clone().into(),
                Utc::now().into(),
                // Two kecamatan, so the month's buyers are counted per kecamatan apart.
                format!("35.78.0{}.1001", 1 + n % 2).into(),
                format!("35.78.0{}", 1 + n % 2).into(),
            ],
        )
        .await
        .unwrap();
        merchants.push((id, account));
    }
    // The buyer of the bills has an account to be refunded to.
    sql::exec(
        &db,
        "INSERT INTO refund_accounts (buyer_id, bank_code, account_number, account_name, \
         created_at, updated_at) VALUES ('buyer', '014', '5550001111', 'PEMBELI', $1, $1)",
        vec![Utc::now().into()],
    )
    .await
    .unwrap();
    World {
        db,
        _scratch: scratch,
        now: Utc.with_ymd_and_hms(2026, 3, 2, 1, 0, 0).unwrap(),
        merchants,
        orders: Vec::new(),
        statements: Vec::new(),
        serial: 0,
        bills: Vec::new(),
    }
}

async fn ids(db: &DatabaseConnection, sql_text: &str) -> Vec<String> {
    sql::query(db, sql_text, vec![])
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get_by_index::<String>(0).unwrap())
        .collect()
}

fn pick<T: Clone>(list: &[T], at: u8) -> Option<T> {
    (!list.is_empty()).then(|| list[usize::from(at) % list.len()].clone())
}

impl World {
    async fn apply(&mut self, op: &Op) -> Result<(), String> {
        let now = self.now;
        match *op {
            Op::Checkout { merchant, amount } => {
                self.serial += 1;
                self.orders.push(Order {
                    id: format!("order-{}", self.serial),
                    merchant: usize::from(merchant) % MERCHANTS,
                    amount: i64::from(amount),
                    paid: false,
                    short: 0,
                    withheld: 0,
                    completed: false,
                });
            }
            Op::OpdCheckout {
                merchant,
                amount,
                certified,
            } => {
                self.serial += 1;
                let withheld = peken_order::opd::withholding::compute(
                    Rupiah::new(i64::from(amount)),
                    &peken_kernel::policy::Policies::default(),
                    certified.then_some("S-1/PP55"),
                )
                .map_or(0, |w| w.amount.get());
                self.orders.push(Order {
                    id: format!("opd-order-{}", self.serial),
                    merchant: usize::from(merchant) % MERCHANTS,
                    amount: i64::from(amount),
                    paid: false,
                    short: 0,
                    withheld,
                    completed: false,
                });
            }
            Op::Pay { order, twice } => {
                let Some(i) =
                    (!self.orders.is_empty()).then(|| usize::from(order) % self.orders.len())
                else {
                    return Ok(());
                };
                let (id, amount, withheld) = (
                    self.orders[i].id.clone(),
                    self.orders[i].amount,
                    self.orders[i].withheld,
                );
                let times = if twice { 2 } else { 1 };
                for n in 0..times {
                    let txn = self.db.begin().await.unwrap();
                    // A government bill brings in the total less what was withheld.
                    let posted = peken_ledger::post_payment_confirmed(
                        &txn,
                        &id,
                        Rupiah::new(amount - withheld),
                        now,
                    )
                    .await
                    .map_err(|e| format!("{e:?}"))?;
                    if withheld > 0 {
                        let w =
                            peken_ledger::post_withholding(&txn, &id, Rupiah::new(withheld), now)
                                .await
                                .map_err(|e| format!("{e:?}"))?;
                        if w.is_new() != posted.is_new() {
                            return Err("a withholding posted apart from its payment".into());
                        }
                    }
                    txn.commit().await.unwrap();
                    if (n > 0 || self.orders[i].paid) && posted.is_new() {
                        return Err("a replayed payment posted twice".into());
                    }
                }
                self.orders[i].paid = true;
            }
            Op::Complete {
                order,
                fee_bps,
                tax_bps,
            } => {
                let Some(i) =
                    (!self.orders.is_empty()).then(|| usize::from(order) % self.orders.len())
                else {
                    return Ok(());
                };
                let o = &self.orders[i];
                if !o.paid {
                    return Ok(());
                }
                // The shop is paid for what it supplied.
                let gross = Rupiah::new(o.amount - o.short);
                let (_, fee, tax) =
                    peken_ledger::split_completed(gross, u32::from(fee_bps), u32::from(tax_bps))
                        .unwrap();
                // What the government buyer withheld is the shop's tax too.
                let tax = Rupiah::new(tax.get() + o.withheld);
                let txn = self.db.begin().await.unwrap();
                let result = peken_ledger::post_order_completed(
                    &txn,
                    &o.id,
                    &self.merchants[o.merchant].0,
                    gross,
                    fee,
                    tax,
                    now,
                )
                .await;
                match result {
                    Ok(_) => {
                        txn.commit().await.unwrap();
                        self.orders[i].completed = true;
                    }
                    Err(e) => ledger_refusal(&e)?,
                }
            }
            Op::Refund { order, percent } => {
                let Some(i) =
                    (!self.orders.is_empty()).then(|| usize::from(order) % self.orders.len())
                else {
                    return Ok(());
                };
                let o = &self.orders[i];
                if !o.paid {
                    return Ok(());
                }
                let mut amount = (o.amount * i64::from(percent) / 100).max(1);
                self.serial += 1;
                let txn = self.db.begin().await.unwrap();
                if o.withheld > 0 && !o.completed {
                    // Before completion an OPD order is refunded whole: the cash it paid back,
                    // the withholding reversed.
                    let reversed = peken_ledger::post_withholding_reversed(
                        &txn,
                        &o.id,
                        &self.merchants[o.merchant].0,
                        Rupiah::new(o.withheld),
                        now,
                    )
                    .await;
                    match reversed {
                        Ok(posted) if posted.is_new() => {
                            amount = o.amount - o.short - o.withheld;
                        }
                        Ok(_) => return Ok(()),
                        Err(e) => return ledger_refusal(&e),
                    }
                    if amount <= 0 {
                        return Ok(());
                    }
                }
                let result = peken_ledger::post_refund(
                    &txn,
                    &format!("order:{}:refund:{}", o.id, self.serial),
                    Some(&o.id),
                    Some(&self.merchants[o.merchant].0),
                    Rupiah::new(amount),
                    now,
                )
                .await;
                match result {
                    Ok(_) => txn.commit().await.unwrap(),
                    Err(e) => ledger_refusal(&e)?,
                }
            }
            Op::Short { order, percent } => {
                let Some(i) =
                    (!self.orders.is_empty()).then(|| usize::from(order) % self.orders.len())
                else {
                    return Ok(());
                };
                let o = &self.orders[i];
                if !o.paid || o.amount < 2 {
                    return Ok(());
                }
                let short = (o.amount * i64::from(percent) / 100).clamp(1, o.amount - 1);
                let txn = self.db.begin().await.unwrap();
                let result = peken_ledger::post_shortfall(
                    &txn,
                    &o.id,
                    &self.merchants[o.merchant].0,
                    Rupiah::new(short),
                    now,
                )
                .await;
                match result {
                    Ok(_) if o.completed => {
                        return Err("a shortfall was posted after the completion".into());
                    }
                    Ok(posted) if o.short != 0 => {
                        if posted.is_new() {
                            return Err("an order's shortfall was posted twice".into());
                        }
                    }
                    Ok(_) => {
                        txn.commit().await.unwrap();
                        self.orders[i].short = short;
                    }
                    Err(e) => ledger_refusal(&e)?,
                }
            }
            Op::Build { by } => {
                let maker = MAKERS[usize::from(by) % 2];
                if let Err(e) = batches::build(&self.db, now, maker, now, None).await
                    && !matches!(e.code(), "nothing_to_pay" | "draft_batch_exists")
                {
                    return Err(format!("build refused: {e:?}"));
                }
            }
            Op::Approve { same_user } => {
                let drafts = ids(
                    &self.db,
                    "SELECT id FROM payout_batches WHERE status = 'draft'",
                )
                .await;
                let Some(batch) = drafts.first() else {
                    return Ok(());
                };
                let creator = batches::find_batch(&self.db, batch)
                    .await
                    .unwrap()
                    .unwrap()
                    .created_by;
                let other = MAKERS.into_iter().find(|m| *m != creator).unwrap();
                let approver = if same_user { creator.as_str() } else { other };
                match batches::approve(&self.db, batch, approver, now, None).await {
                    Ok(_) if same_user => return Err("the creator approved its own batch".into()),
                    Ok(_) => {}
                    Err(e) if same_user && e.code() != "four_eyes_required" => {
                        return Err(format!("expected four_eyes_required, got {e:?}"));
                    }
                    Err(e) if same_user || e.code() == "insufficient_payable" => {}
                    Err(e) => return Err(format!("approval refused: {e:?}")),
                }
            }
            Op::Cancel => {
                let drafts = ids(
                    &self.db,
                    "SELECT id FROM payout_batches WHERE status = 'draft'",
                )
                .await;
                if let Some(batch) = drafts.first() {
                    batches::cancel(&self.db, batch, MAKERS[0], now)
                        .await
                        .map_err(|e| format!("{e:?}"))?;
                }
            }
            Op::Statement {
                pick: mask,
                drop_reference,
            } => {
                let items = sql::query(
                    &self.db,
                    "SELECT reference, amount, merchant_id FROM payout_items \
                     WHERE status IN ('approved', 'paid', 'failed') ORDER BY id",
                    vec![],
                )
                .await
                .unwrap();
                let today = wib_date(now);
                let mut text = String::from("value_date,description,debit,credit,balance\n");
                for (n, item) in items.iter().enumerate() {
                    if n < 8 && mask & (1 << n) == 0 {
                        continue;
                    }
                    let reference: String = item.try_get("", "reference").unwrap();
                    let amount: i64 = item.try_get("", "amount").unwrap();
                    let merchant: String = item.try_get("", "merchant_id").unwrap();
                    let account = &self
                        .merchants
                        .iter()
                        .find(|(id, _)| *id == merchant)
                        .unwrap()
                        .1;
                    let narrative = if drop_reference {
                        format!("TRF KE {account}")
                    } else {
                        format!("TRF PEKEN {reference}")
                    };
                    let _ = writeln!(text, "{today},{narrative},{amount}.00,,");
                }
                let _ = writeln!(
                    text,
                    "{today},SETORAN VA {},,{}.00,",
                    self.serial,
                    1_000 + i64::from(mask)
                );
                self.import_twice(&text, now).await?;
                self.statements.push(text);
            }
            Op::Reimport { pick: at } => {
                if let Some(text) = pick(&self.statements, at) {
                    self.import_twice(&text, now).await?;
                }
            }
            Op::Fail { pick: at } => {
                let approved = ids(
                    &self.db,
                    "SELECT id FROM payout_items WHERE status = 'approved' ORDER BY id",
                )
                .await;
                if let Some(item) = pick(&approved, at) {
                    holds::fail_item(&self.db, &item, "rekening ditutup", MAKERS[1], now, None)
                        .await
                        .map_err(|e| format!("{e:?}"))?;
                    // Reporting the same failure again changes nothing.
                    let again =
                        holds::fail_item(&self.db, &item, "lagi", MAKERS[0], now, None).await;
                    if again.is_ok() {
                        return Err("an item failed twice".into());
                    }
                }
            }
            Op::Clear { pick: at } => {
                let holds = ids(
                    &self.db,
                    "SELECT id FROM payout_holds WHERE cleared_at IS NULL ORDER BY id",
                )
                .await;
                if let Some(hold) = pick(&holds, at) {
                    holds::clear_hold(&self.db, &hold, "diperbaiki", MAKERS[0], now)
                        .await
                        .map_err(|e| format!("{e:?}"))?;
                }
            }
            Op::Advance { hours } => self.now += Duration::hours(i64::from(hours)),
            Op::Bill { .. }
            | Op::Callback { .. }
            | Op::Credit { .. }
            | Op::Expire { .. }
            | Op::ManualCredit { .. } => return self.apply_bill_op(op).await,
            Op::RefundBuild { .. }
            | Op::RefundApprove { .. }
            | Op::RefundCancel
            | Op::RefundStatement { .. }
            | Op::RefundFail { .. } => return self.apply_refund_op(op).await,
        }
        Ok(())
    }

    /// Imports a statement, then imports it again and checks the second import changed nothing.
    async fn import_twice(&self, text: &str, now: DateTime<Utc>) -> Result<(), String> {
        let parsed = reconcile::parse(reconcile::Format::Csv, text, Some("1234".into()))
            .map_err(|e| format!("{e:?}"))?;
        reconcile::import(&self.db, &parsed, MAKERS[0], now, None)
            .await
            .and_then(peken_kernel::idempotency::Outcome::done)
            .map_err(|e| format!("{e:?}"))?;
        let before = fingerprint(&self.db).await;
        let again = reconcile::import(&self.db, &parsed, MAKERS[1], now, None)
            .await
            .and_then(peken_kernel::idempotency::Outcome::done)
            .map_err(|e| format!("{e:?}"))?;
        if !again.already_imported || again.matched != 0 || again.duplicates != parsed.lines.len() {
            return Err(format!("re-import reported {again:?}"));
        }
        if fingerprint(&self.db).await != before {
            return Err("re-importing a statement changed the database".into());
        }
        Ok(())
    }
}

/// Everything a re-import could change.
async fn fingerprint(db: &DatabaseConnection) -> Vec<i64> {
    let mut out = Vec::new();
    for q in [
        "SELECT COUNT(*) FROM ledger_transactions",
        "SELECT COUNT(*) FROM ledger_entries",
        "SELECT COUNT(*) FROM bank_statements",
        "SELECT COUNT(*) FROM bank_statement_lines",
        "SELECT COUNT(*) FROM payout_matches",
        "SELECT COUNT(*) FROM payout_items WHERE status = 'paid'",
        "SELECT CAST(COALESCE(SUM(balance * balance), 0) AS BIGINT) FROM ledger_account_balances",
        "SELECT COUNT(*) FROM payment_receipts",
        "SELECT COUNT(*) FROM refunds",
        "SELECT COUNT(*) FROM payments WHERE status = 'paid'",
        "SELECT COUNT(*) FROM refund_matches",
        "SELECT COUNT(*) FROM refund_items WHERE status = 'paid'",
        "SELECT COUNT(*) FROM refunds WHERE status = 'paid'",
    ] {
        out.push(scalar(db, q).await);
    }
    out
}

async fn scalar(db: &DatabaseConnection, q: &str) -> i64 {
    sql::query_one(db, q, vec![])
        .await
        .unwrap()
        .map_or(0, |r| r.try_get_by_index::<i64>(0).unwrap())
}

/// Turnover per shop and month: `(gross, refunds, completed orders)` by `(merchant, period)`.
type MonthFigures = std::collections::BTreeMap<(String, String), (i64, i64, i64)>;

async fn month_figures(db: &DatabaseConnection, statement: &str) -> MonthFigures {
    sql::query(db, statement, vec![])
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (
                (
                    r.try_get("", "merchant_id").unwrap(),
                    r.try_get("", "period").unwrap(),
                ),
                (
                    r.try_get("", "gross").unwrap(),
                    r.try_get("", "refunds").unwrap(),
                    r.try_get("", "completed").unwrap(),
                ),
            )
        })
        .collect()
}

async fn check(db: &DatabaseConnection) -> Result<(), String> {
    let journal = read::check(db).await.unwrap();
    if !journal.is_sound() {
        return Err(format!("journal unsound: {journal:?}"));
    }
    // The monthly turnover kept with each posting is the journal's, summed afresh.
    let summed = month_figures(
        db,
        "SELECT merchant_id, period, \
         CAST(SUM(CASE WHEN turnover_amount > 0 THEN turnover_amount ELSE 0 END) AS BIGINT) AS gross, \
         CAST(SUM(CASE WHEN turnover_amount < 0 THEN -turnover_amount ELSE 0 END) AS BIGINT) AS refunds, \
         COUNT(CASE WHEN kind = 'order_completed' THEN 1 END) AS completed \
         FROM ledger_transactions WHERE turnover_amount <> 0 AND merchant_id IS NOT NULL \
         GROUP BY merchant_id, period",
    )
    .await;
    let kept = month_figures(
        db,
        "SELECT merchant_id, period, gross_amount AS gross, refunds_amount AS refunds, \
         completed_orders AS completed FROM ledger_turnover_months",
    )
    .await;
    if summed != kept {
        return Err(format!(
            "monthly turnover kept {kept:?}, the journal sums to {summed:?}"
        ));
    }
    let wrong_side = scalar(
        db,
        "SELECT (SELECT COUNT(*) FROM ledger_account_balances WHERE floor_sign * balance < 0) + \
         (SELECT COUNT(*) FROM ledger_balance_stripes WHERE floor_sign * balance < 0)",
    )
    .await;
    if wrong_side != 0 {
        return Err("an account or one of its stripes crossed its floor".into());
    }
    // Each completion: the buyer funds it consumed equal what it credited, and equal its gross.
    let bad_completions = scalar(
        db,
        "SELECT COUNT(*) FROM ledger_transactions t WHERE t.kind = 'order_completed' AND t.amount <> \
         (SELECT CAST(COALESCE(SUM(e.amount), 0) AS BIGINT) FROM ledger_entries e WHERE e.txn_id = t.id \
          AND e.account_kind = 'buyer_funds_held') OR t.kind = 'order_completed' AND t.amount <> \
         -(SELECT CAST(COALESCE(SUM(e.amount), 0) AS BIGINT) FROM ledger_entries e WHERE e.txn_id = t.id \
          AND e.account_kind IN ('merchant_payable', 'platform_fee', 'tax_withheld'))",
    )
    .await;
    if bad_completions != 0 {
        return Err("a completion whose gross is not net + fee + tax".into());
    }
    // Every live item is exactly the movements it claimed, and per merchant the live items'
    // ranges follow each other without gap or overlap from zero up to the watermark.
    let mismatched = scalar(
        db,
        "SELECT COUNT(*) FROM payout_items i WHERE i.status <> 'cancelled' AND i.amount <> \
         (SELECT CAST(COALESCE(SUM(m.amount), 0) AS BIGINT) FROM ledger_payable_movements m \
          WHERE m.merchant_id = i.merchant_id AND m.seq > i.seq_after AND m.seq <= i.seq_to)",
    )
    .await;
    if mismatched != 0 {
        return Err(format!(
            "{mismatched} items differ from the movements they claimed"
        ));
    }
    let ranges = sql::query(
        db,
        "SELECT merchant_id, seq_after, seq_to FROM payout_items WHERE status <> 'cancelled' \
         ORDER BY merchant_id, seq_after",
        vec![],
    )
    .await
    .unwrap();
    let mut reach: std::collections::HashMap<String, i64> = std::collections::HashMap::new();
    for r in &ranges {
        let merchant: String = r.try_get("", "merchant_id").unwrap();
        let after: i64 = r.try_get("", "seq_after").unwrap();
        let to: i64 = r.try_get("", "seq_to").unwrap();
        let last = reach.entry(merchant.clone()).or_insert(0);
        if after != *last || to <= after {
            return Err(format!("{merchant}: range ({after}, {to}] after {last}"));
        }
        *last = to;
    }
    for r in sql::query(
        db,
        "SELECT merchant_id, seq FROM payable_watermarks",
        vec![],
    )
    .await
    .unwrap()
    {
        let merchant: String = r.try_get("", "merchant_id").unwrap();
        let seq: i64 = r.try_get("", "seq").unwrap();
        if reach.get(&merchant).copied().unwrap_or(0) != seq {
            return Err(format!(
                "{merchant}: watermark {seq}, items reach {:?}",
                reach.get(&merchant)
            ));
        }
    }
    // Never paid twice: per merchant, everything ever owed (excluding money a failed payout
    // returned) equals what is owed now plus what was sent and not returned.
    let unpaid_twice = scalar(
        db,
        "SELECT COUNT(*) FROM ledger_accounts a WHERE a.kind = 'merchant_payable' AND \
         (SELECT CAST(COALESCE(SUM(m.amount), 0) AS BIGINT) FROM ledger_payable_movements m \
          WHERE m.merchant_id = a.merchant_id AND m.kind <> 'payout_failed') <> \
         -a.balance + (SELECT CAST(COALESCE(SUM(i.amount), 0) AS BIGINT) FROM payout_items i \
          WHERE i.merchant_id = a.merchant_id AND i.status IN ('approved', 'paid'))",
    )
    .await;
    if unpaid_twice != 0 {
        return Err("money owed and money sent do not add up: something was paid twice".into());
    }
    let in_transit = -read::balance_of(db, "payout_in_transit").await.unwrap();
    let approved = scalar(
        db,
        "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM payout_items WHERE status = 'approved'",
    )
    .await;
    if in_transit != approved {
        return Err(format!(
            "in transit {in_transit} but approved items total {approved}"
        ));
    }
    let paid = scalar(
        db,
        "SELECT COUNT(*) FROM payout_items WHERE status = 'paid'",
    )
    .await;
    let matches = scalar(db, "SELECT COUNT(*) FROM payout_matches").await;
    let lines = scalar(
        db,
        "SELECT COUNT(DISTINCT statement_line_id) FROM payout_matches",
    )
    .await;
    let items = scalar(
        db,
        "SELECT COUNT(DISTINCT payout_item_id) FROM payout_matches",
    )
    .await;
    if paid != matches || lines != matches || items != matches {
        return Err(format!(
            "{paid} paid items, {matches} matches, {lines} lines, {items} items"
        ));
    }
    Ok(())
}

/// The amount of the transaction with a natural key, if it was posted.
async fn posted_amount(db: &DatabaseConnection, key: &str) -> Option<i64> {
    sql::query_one(
        db,
        "SELECT amount FROM ledger_transactions WHERE natural_key = $1",
        vec![key.into()],
    )
    .await
    .unwrap()
    .map(|r| r.try_get_by_index::<i64>(0).unwrap())
}

/// Per order: the shortfall in the journal is the one the shop declared, the completion is of
/// what was left, both together are at most what was paid, and the merchant's credit is at
/// most the supplied gross.
async fn check_orders(world: &World) -> Result<(), String> {
    for o in &world.orders {
        let withheld = posted_amount(&world.db, &format!("payment:{}:withheld", o.id))
            .await
            .unwrap_or(0);
        let expected = if o.paid { o.withheld } else { 0 };
        if withheld != expected {
            return Err(format!(
                "{}: withholding posted {withheld}, expected {expected}",
                o.id
            ));
        }
        let short = posted_amount(&world.db, &format!("order:{}:short", o.id))
            .await
            .unwrap_or(0);
        if short != o.short {
            return Err(format!("{}: shortfall {short}, declared {}", o.id, o.short));
        }
        let Some(gross) = posted_amount(&world.db, &format!("order:{}:completed", o.id)).await
        else {
            continue;
        };
        if gross != o.amount - o.short || gross + short > o.amount {
            return Err(format!(
                "{}: completion {gross} with shortfall {short} of {} paid",
                o.id, o.amount
            ));
        }
        let credited = -scalar(
            &world.db,
            &format!(
                "SELECT CAST(COALESCE(SUM(e.amount), 0) AS BIGINT) FROM ledger_entries e \
                 JOIN ledger_transactions t ON t.id = e.txn_id \
                 WHERE t.natural_key = 'order:{}:completed' AND e.account_kind = 'merchant_payable'",
                o.id
            ),
        )
        .await;
        if credited > gross {
            return Err(format!(
                "{}: merchant credited {credited} for goods worth {gross}",
                o.id
            ));
        }
        let taxed = -scalar(
            &world.db,
            &format!(
                "SELECT CAST(COALESCE(SUM(e.amount), 0) AS BIGINT) FROM ledger_entries e \
                 JOIN ledger_transactions t ON t.id = e.txn_id \
                 WHERE t.natural_key = 'order:{}:completed' AND e.account_kind = 'tax_withheld'",
                o.id
            ),
        )
        .await;
        if taxed < o.withheld {
            return Err(format!(
                "{}: completion taxed {taxed}, less than the {} withheld",
                o.id, o.withheld
            ));
        }
    }
    Ok(())
}

// --- Bills paid by callbacks and by statement credits -----------------------------------------
//
// Bills are real `payments` rows with one awaiting order each; callbacks go through
// `peken_order::payment::receive_on`, credits through statement imports and approved manual
// credit matches. After every step: a credit line confirms at most one arrival and every
// matched credit line is one; each bill's money counts once (`payment:{id}:confirmed` posted
// exactly when the bill is paid; one receipt per arrival, an arrival being a callback reference
// or a credit, paired whenever one can confirm the other); refunds owed are the money received
// less the bill when it was paid.

struct Bill {
    id: String,
    va: String,
    amount: i64,
    /// Distinct callback references delivered.
    callbacks: std::collections::BTreeSet<u8>,
    /// Credit lines matched to it.
    credits: i64,
}

impl World {
    async fn apply_bill_op(&mut self, op: &Op) -> Result<(), String> {
        let now = self.now;
        let bill_at =
            |bills: &[Bill], at: u8| (!bills.is_empty()).then(|| usize::from(at) % bills.len());
        match *op {
            Op::Bill { merchant, amount } => {
                self.serial += 1;
                let id = peken_kernel::db::new_id();
                let va = format!("88810{:012}", self.serial);
                let amount = i64::from(amount);
                sql::exec(
                    &self.db,
                    "INSERT INTO payments (id, checkout_id, buyer_id, method, amount, status, \
                     va_number, expires_at, proof_status, created_at, updated_at) \
                     VALUES ($1, $2, 'buyer', 'va', $3, 'pending', $4, $5, 'none', $6, $6)",
                    vec![
                        id.clone().into(),
                        format!("checkout-{}", self.serial).into(),
                        amount.into(),
                        va.clone().into(),
                        (now + Duration::hours(2)).into(),
                        now.into(),
                    ],
                )
                .await
                .unwrap();
                sql::exec(
                    &self.db,
                    "INSERT INTO orders (id, checkout_id, payment_id, buyer_id, buyer_role, \
                     merchant_id, status, total_amount, fulfilment_method, created_at, \
                     updated_at) VALUES ($1, $2, $3, 'buyer', $7, $4, \
                     'awaiting_payment', $5, 'pickup', $6, $6)",
                    vec![
                        format!("bill-order-{}", self.serial).into(),
                        format!("checkout-{}", self.serial).into(),
                        id.clone().into(),
                        self.merchants[usize::from(merchant) % MERCHANTS]
                            .0
                            .clone()
                            .into(),
                        amount.into(),
                        now.into(),
                        // The one buyer orders as a civil servant, then as a resident.
                        if self.serial.is_multiple_of(2) {
                            "asn"
                        } else {
                            "public"
                        }
                        .into(),
                    ],
                )
                .await
                .unwrap();
                self.bills.push(Bill {
                    id,
                    va,
                    amount,
                    callbacks: std::collections::BTreeSet::new(),
                    credits: 0,
                });
            }
            Op::Callback { bill, reference } => {
                let Some(i) = bill_at(&self.bills, bill) else {
                    return Ok(());
                };
                let b = &self.bills[i];
                let notice = peken_order::payment::Notice {
                    payment_id: b.id.clone(),
                    provider_reference: format!("cb-{}-{reference}", b.id),
                    amount: Rupiah::new(b.amount),
                    paid_at: now,
                };
                let outcome = peken_order::payment::receive_on(&self.db, &notice, now)
                    .await
                    .map_err(|e| format!("callback refused: {e:?}"))?;
                let seen = !self.bills[i].callbacks.insert(reference);
                if seen != (outcome == peken_order::payment::ReceiptOutcome::Replayed) {
                    return Err(format!(
                        "callback answered {outcome:?}, seen before: {seen}"
                    ));
                }
            }
            Op::Credit { bill, twice, qris } => {
                let Some(i) = bill_at(&self.bills, bill) else {
                    return Ok(());
                };
                self.serial += 1;
                let b = &self.bills[i];
                let key = if qris {
                    b.id.chars()
                        .filter(|c| *c != '-')
                        .take(25)
                        .collect::<String>()
                        .to_uppercase()
                } else {
                    b.va.clone()
                };
                let today = wib_date(now);
                let mut text = String::from("value_date,description,debit,credit,balance\n");
                let times = if twice { 2 } else { 1 };
                for n in 0..times {
                    let _ = writeln!(
                        text,
                        "{today},SETORAN {key} NO {}-{n},,{}.00,",
                        self.serial, b.amount
                    );
                }
                self.import_twice(&text, now).await?;
                self.statements.push(text);
                self.bills[i].credits += times;
            }
            Op::Expire { bill } => {
                let Some(i) = bill_at(&self.bills, bill) else {
                    return Ok(());
                };
                let id = self.bills[i].id.clone();
                let expired = sql::exec(
                    &self.db,
                    "UPDATE payments SET status = 'expired' WHERE id = $1 AND status = 'pending'",
                    vec![id.clone().into()],
                )
                .await
                .unwrap();
                if expired == 1 {
                    sql::exec(
                        &self.db,
                        "UPDATE orders SET status = 'cancelled' WHERE payment_id = $1 \
                         AND status = 'awaiting_payment'",
                        vec![id.into()],
                    )
                    .await
                    .unwrap();
                }
            }
            Op::ManualCredit { bill, same_user } => {
                let Some(i) = bill_at(&self.bills, bill) else {
                    return Ok(());
                };
                self.serial += 1;
                let amount = self.bills[i].amount;
                let narrative = format!("SETORAN ATM NO {}", self.serial);
                let text = format!(
                    "value_date,description,debit,credit,balance\n{},{narrative},,{amount}.00,\n",
                    wib_date(now)
                );
                self.import_twice(&text, now).await?;
                self.statements.push(text);
                let line = sql::query_one(
                    &self.db,
                    "SELECT id FROM bank_statement_lines WHERE description = $1",
                    vec![narrative.into()],
                )
                .await
                .unwrap()
                .unwrap()
                .try_get_by_index::<String>(0)
                .unwrap();
                let proposal = reconcile::propose_credit(
                    &self.db,
                    &line,
                    &self.bills[i].id,
                    None,
                    MAKERS[0],
                    now,
                )
                .await
                .map_err(|e| format!("proposal refused: {e:?}"))?;
                let approver = if same_user { MAKERS[0] } else { MAKERS[1] };
                match reconcile::approve_credit_match(&self.db, &proposal.id, approver, now, None)
                    .await
                {
                    Ok(_) if same_user => return Err("the proposer approved its own match".into()),
                    Ok(_) => self.bills[i].credits += 1,
                    Err(e) if same_user && e.code() == "four_eyes_required" => {
                        reconcile::reject_credit_match(&self.db, &proposal.id, MAKERS[1], now)
                            .await
                            .map_err(|e| format!("{e:?}"))?;
                    }
                    Err(e) => return Err(format!("approval refused: {e:?}")),
                }
            }
            _ => {}
        }
        Ok(())
    }
}

/// `(period, scope, buyer) -> (asn, public)` of `buyer_months`, or the same counted afresh
/// from the orders.
type BuyerFlags = std::collections::BTreeMap<(String, String, String), (i32, i32)>;

async fn buyer_flags(db: &DatabaseConnection, statement: &str) -> BuyerFlags {
    sql::query(db, statement, vec![])
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (
                (
                    r.try_get("", "period").unwrap(),
                    r.try_get("", "scope").unwrap(),
                    r.try_get("", "buyer_id").unwrap(),
                ),
                (
                    r.try_get("", "asn").unwrap(),
                    r.try_get("", "public").unwrap(),
                ),
            )
        })
        .collect()
}

/// A count per `(merchant_id, period)`: the `n` of each row.
async fn shop_months(
    db: &DatabaseConnection,
    statement: &str,
) -> std::collections::BTreeMap<(String, String), i64> {
    sql::query(db, statement, vec![])
        .await
        .unwrap()
        .iter()
        .map(|r| {
            (
                (
                    r.try_get("", "merchant_id").unwrap(),
                    r.try_get("", "period").unwrap(),
                ),
                r.try_get("", "n").unwrap(),
            )
        })
        .collect()
}

/// What each payment keeps beside its orders for the programme's reports is what the orders
/// say: the orders paid per shop and month (`merchant_turnover`), and the month's buyers in the
/// city and per kecamatan with the roles they paid in (`buyer_months`).
async fn check_programme_counts(db: &DatabaseConnection) -> Result<(), String> {
    let counted = shop_months(
        db,
        "SELECT merchant_id, paid_period AS period, COUNT(*) AS n FROM orders \
         WHERE paid_period IS NOT NULL GROUP BY merchant_id, paid_period",
    )
    .await;
    let kept = shop_months(
        db,
        "SELECT merchant_id, period, order_count AS n FROM merchant_turnover \
         WHERE order_count <> 0",
    )
    .await;
    if counted != kept {
        return Err(format!(
            "paid orders kept per shop and month {kept:?}, the orders say {counted:?}"
        ));
    }
    let flags = "MAX(CASE WHEN o.buyer_role = 'asn' THEN 1 ELSE 0 END) AS asn, \
                 MAX(CASE WHEN o.buyer_role = 'public' THEN 1 ELSE 0 END) AS public";
    let counted = buyer_flags(
        db,
        &format!(
            "SELECT o.paid_period AS period, '*' AS scope, o.buyer_id, {flags} FROM orders o \
             WHERE o.paid_period IS NOT NULL GROUP BY o.paid_period, o.buyer_id \
             UNION ALL SELECT o.paid_period AS period, m.kecamatan_code AS scope, o.buyer_id, \
             {flags} FROM orders o JOIN merchants m ON m.id = o.merchant_id \
             WHERE o.paid_period IS NOT NULL GROUP BY o.paid_period, m.kecamatan_code, o.buyer_id"
        ),
    )
    .await;
    let kept = buyer_flags(
        db,
        "SELECT period, scope, buyer_id, asn, public FROM buyer_months",
    )
    .await;
    if counted != kept {
        return Err(format!(
            "buyers kept per month {kept:?}, the orders say {counted:?}"
        ));
    }
    Ok(())
}

async fn check_bills(world: &World) -> Result<(), String> {
    let db = &world.db;
    check_programme_counts(db).await?;
    let linked = scalar(
        db,
        "SELECT COUNT(*) FROM payment_receipts WHERE statement_line_id IS NOT NULL",
    )
    .await;
    let distinct = scalar(
        db,
        "SELECT COUNT(DISTINCT statement_line_id) FROM payment_receipts",
    )
    .await;
    let matched_credits = scalar(
        db,
        "SELECT COUNT(*) FROM bank_statement_lines WHERE direction = 'credit' AND status = 'matched'",
    )
    .await;
    if linked != distinct || linked != matched_credits {
        return Err(format!(
            "{linked} receipts with a line, {distinct} distinct lines, {matched_credits} matched credits"
        ));
    }
    for b in &world.bills {
        let status = sql::query_one(
            db,
            "SELECT status FROM payments WHERE id = $1",
            vec![b.id.clone().into()],
        )
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index::<String>(0)
        .unwrap();
        let confirmed = posted_amount(db, &format!("payment:{}:confirmed", b.id)).await;
        if (status == "paid") != confirmed.is_some() || confirmed.is_some_and(|a| a != b.amount) {
            return Err(format!(
                "{}: status {status}, confirmed posting {confirmed:?}",
                b.id
            ));
        }
        let receipts = scalar(
            db,
            &format!(
                "SELECT COUNT(*) FROM payment_receipts WHERE payment_id = '{}'",
                b.id
            ),
        )
        .await;
        let arrivals = (b.callbacks.len() as i64).max(b.credits);
        if receipts != arrivals {
            return Err(format!(
                "{}: {receipts} receipts for {} callbacks and {} credits",
                b.id,
                b.callbacks.len(),
                b.credits
            ));
        }
        let refunded = scalar(
            db,
            &format!(
                "SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) FROM refunds WHERE payment_id = '{}'",
                b.id
            ),
        )
        .await;
        let kept = if status == "paid" { b.amount } else { 0 };
        if refunded != receipts * b.amount - kept {
            return Err(format!(
                "{}: {receipts} arrivals of {}, kept {kept}, owed back {refunded}",
                b.id, b.amount
            ));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

    #[test]
    fn random_operations_keep_every_promise(ops in prop::collection::vec(op(), 1..45)) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let outcome: Result<(), String> = runtime.block_on(async {
            let mut world = world().await;
            for (step, op) in ops.iter().enumerate() {
                world.apply(op).await.map_err(|e| format!("step {step} {op:?}: {e}"))?;
                check(&world.db).await.map_err(|e| format!("after step {step} {op:?}: {e}"))?;
                check_orders(&world).await.map_err(|e| format!("after step {step} {op:?}: {e}"))?;
                check_bills(&world).await.map_err(|e| format!("after step {step} {op:?}: {e}"))?;
                check_refunds(&world.db).await.map_err(|e| format!("after step {step} {op:?}: {e}"))?;
            }
            // The migration's backfill rebuilds the same summaries from the same history.
            peken_migrations::m0027_programme_summaries::backfill(&world.db).await.unwrap();
            check(&world.db).await.map_err(|e| format!("after the backfill: {e}"))?;
            check_programme_counts(&world.db).await.map_err(|e| format!("after the backfill: {e}"))?;
            Ok(())
        });
        prop_assert!(outcome.is_ok(), "{}", outcome.unwrap_err());
    }
}

// --- Refund batches ---

impl World {
    async fn apply_refund_op(&mut self, op: &Op) -> Result<(), String> {
        let now = self.now;
        match *op {
            Op::RefundBuild { by } => {
                let maker = MAKERS[usize::from(by) % 2];
                if let Err(e) = refund_batches::build(&self.db, now, maker, now, None).await
                    && e.code() != "nothing_to_refund"
                {
                    return Err(format!("refund batch build: {e:?}"));
                }
            }
            Op::RefundApprove { same_user } => {
                let Some(row) = sql::query_one(
                    &self.db,
                    "SELECT id, created_by FROM refund_batches WHERE status = 'draft' \
                     ORDER BY created_at, id LIMIT 1",
                    vec![],
                )
                .await
                .unwrap() else {
                    return Ok(());
                };
                let id: String = row.try_get("", "id").unwrap();
                let creator: String = row.try_get("", "created_by").unwrap();
                let by = if same_user {
                    creator.clone()
                } else {
                    MAKERS.iter().find(|m| **m != creator).unwrap().to_string()
                };
                let result = refund_batches::approve(&self.db, &id, by.as_str(), now, None).await;
                match (same_user, result) {
                    (true, Ok(_)) => return Err("the builder approved its own refund batch".into()),
                    (true, Err(e)) if e.code() == "four_eyes_required" => {}
                    (false, Ok(_)) => {}
                    (_, Err(e)) => return Err(format!("refund batch approval: {e:?}")),
                }
            }
            Op::RefundCancel => {
                let drafts = ids(
                    &self.db,
                    "SELECT id FROM refund_batches WHERE status = 'draft' ORDER BY created_at, id",
                )
                .await;
                if let Some(id) = drafts.first() {
                    refund_batches::cancel(&self.db, id, MAKERS[1], now)
                        .await
                        .map_err(|e| format!("{e:?}"))?;
                }
            }
            Op::RefundStatement { mask } => {
                let items = sql::query(
                    &self.db,
                    "SELECT reference, amount FROM refund_items \
                     WHERE status IN ('approved', 'paid', 'failed') ORDER BY id",
                    vec![],
                )
                .await
                .unwrap();
                if items.is_empty() {
                    return Ok(());
                }
                let today = wib_date(now);
                self.serial += 1;
                let mut text = String::from("value_date,description,debit,credit,balance\n");
                for (n, item) in items.iter().enumerate() {
                    if n < 8 && mask & (1 << n) == 0 {
                        continue;
                    }
                    let reference: String = item.try_get("", "reference").unwrap();
                    let amount: i64 = item.try_get("", "amount").unwrap();
                    let _ = writeln!(
                        text,
                        "{today},TRF REFUND {reference} #{},{amount}.00,,",
                        self.serial
                    );
                }
                self.import_twice(&text, now).await?;
                self.statements.push(text);
            }
            Op::RefundFail { pick: at } => {
                let approved = ids(
                    &self.db,
                    "SELECT id FROM refund_items WHERE status = 'approved' ORDER BY id",
                )
                .await;
                if let Some(item) = pick(&approved, at) {
                    refund_batches::fail_item(
                        &self.db,
                        &item,
                        "rekening ditutup",
                        MAKERS[1],
                        now,
                        None,
                    )
                    .await
                    .map_err(|e| format!("{e:?}"))?;
                    let again =
                        refund_batches::fail_item(&self.db, &item, "lagi", MAKERS[0], now, None)
                            .await;
                    if again.is_ok() {
                        return Err("a refund transfer failed twice".into());
                    }
                }
            }
            _ => unreachable!("not a refund batch operation"),
        }
        Ok(())
    }
}

/// Refunds owed for bills are paid at most once, whatever batches, failures and statements did.
async fn check_refunds(db: &DatabaseConnection) -> Result<(), String> {
    // Each refund's refund-paid postings: by hand (`refund:{id}:paid`) or through a batch item
    // (`refund_item:{item}:paid`).
    let rows = sql::query(
        db,
        "SELECT r.id, r.status, r.amount, \
         (SELECT COUNT(*) FROM ledger_transactions t WHERE t.kind = 'refund_paid' AND \
           (t.natural_key = 'refund:' || r.id || ':paid' OR t.natural_key IN \
            (SELECT 'refund_item:' || i.id || ':paid' FROM refund_items i WHERE i.refund_id = r.id))) AS posted, \
         (SELECT CAST(COALESCE(SUM(t.amount), 0) AS BIGINT) FROM ledger_transactions t WHERE t.kind = 'refund_paid' AND \
           (t.natural_key = 'refund:' || r.id || ':paid' OR t.natural_key IN \
            (SELECT 'refund_item:' || i.id || ':paid' FROM refund_items i WHERE i.refund_id = r.id))) AS posted_amount, \
         (SELECT COUNT(*) FROM refund_items i WHERE i.refund_id = r.id \
           AND i.status IN ('draft', 'approved', 'paid')) AS live, \
         (SELECT COUNT(*) FROM refund_items i WHERE i.refund_id = r.id AND i.status = 'approved') AS sent, \
         (SELECT COUNT(*) FROM refund_items i WHERE i.refund_id = r.id AND i.status = 'draft') AS drafted \
         FROM refunds r ORDER BY r.id",
        vec![],
    )
    .await
    .unwrap();
    for r in &rows {
        let id: String = r.try_get("", "id").unwrap();
        let status: String = r.try_get("", "status").unwrap();
        let amount: i64 = r.try_get("", "amount").unwrap();
        let posted: i64 = r.try_get("", "posted").unwrap();
        let posted_amount: i64 = r.try_get("", "posted_amount").unwrap();
        let live: i64 = r.try_get("", "live").unwrap();
        let sent: i64 = r.try_get("", "sent").unwrap();
        let drafted: i64 = r.try_get("", "drafted").unwrap();
        let paid = status == "paid";
        if posted != i64::from(paid) || posted_amount != if paid { amount } else { 0 } {
            return Err(format!(
                "refund {id} ({status}, {amount}) has {posted} refund-paid postings of {posted_amount}"
            ));
        }
        if live > 1 {
            return Err(format!("refund {id} is in {live} live batch items"));
        }
        let expected = match status.as_str() {
            "due" => (0, 0, 0),
            "batched" => (1, 0, 1),
            "in_transit" => (1, 1, 0),
            "paid" => (1, 0, 0),
            other => return Err(format!("refund {id} has an unexpected status {other}")),
        };
        if (live, sent, drafted) != expected {
            return Err(format!(
                "refund {id} is {status} but has live/sent/drafted items {live}/{sent}/{drafted}"
            ));
        }
    }
    Ok(())
}
