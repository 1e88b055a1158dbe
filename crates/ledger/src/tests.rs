//! Posting tests against an in-memory SQLite database with the real migrations.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use chrono::{DateTime, TimeZone, Utc};
use peken_kernel::Rupiah;
use peken_kernel::scratch::{ScratchDatabase, test_database};
use peken_migrations::{Migrator, MigratorTrait};
use sea_orm::{DatabaseConnection, TransactionTrait};

use crate::read;
use crate::*;

/// A fresh migrated database and the guard that drops it (see `test_database`).
pub async fn db() -> (DatabaseConnection, Option<ScratchDatabase>) {
    let (db, scratch) = test_database("ledger", 5).await.unwrap();
    Migrator::up(&db, None).await.unwrap();
    (db, scratch)
}

fn at(day: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, day, 3, 0, 0).unwrap()
}

fn rp(n: i64) -> Rupiah {
    Rupiah::new(n)
}

async fn balance(db: &DatabaseConnection, account: Account) -> i64 {
    read::balance_of(db, &account.code()).await.unwrap()
}

#[tokio::test]
async fn the_marketplace_postings_balance_and_replays_post_nothing() {
    let (db, _scratch) = db().await;
    let txn = db.begin().await.unwrap();
    let first = post_payment_confirmed(&txn, "p1", rp(100_000), at(2))
        .await
        .unwrap();
    assert!(first.is_new());
    let again = post_payment_confirmed(&txn, "p1", rp(100_000), at(2))
        .await
        .unwrap();
    assert_eq!(again, Posted::AlreadyPosted);
    let (net, fee, tax) = split_completed(rp(60_000), 100, 50).unwrap();
    post_order_completed(&txn, "o1", "m1", rp(60_000), fee, tax, at(3))
        .await
        .unwrap();
    post_refund(
        &txn,
        "order:o2:refunded",
        Some("o2"),
        Some("m2"),
        rp(40_000),
        at(3),
    )
    .await
    .unwrap();
    txn.commit().await.unwrap();

    assert_eq!(balance(&db, Account::Collection).await, 100_000);
    assert_eq!(balance(&db, Account::BuyerFundsHeld).await, 0);
    assert_eq!(
        balance(&db, Account::MerchantPayable("m1".into())).await,
        -net.get()
    );
    assert_eq!(balance(&db, Account::PlatformFee).await, -600);
    assert_eq!(balance(&db, Account::TaxWithheld).await, -300);
    assert_eq!(balance(&db, Account::RefundsPayable).await, -40_000);
    let check = read::check(&db).await.unwrap();
    assert!(check.is_sound(), "{check:?}");
    assert_eq!(check.transactions, 3);
}

#[tokio::test]
async fn an_unbalanced_or_empty_transaction_is_refused() {
    let (db, _scratch) = db().await;
    let bad = NewTransaction {
        key: "x".into(),
        kind: TxnKind::Adjustment,
        occurred_at: at(1),
        memo: None,
        entries: vec![(Account::Collection, 10), (Account::Suspense, -9)],
        refs: Refs::default(),
    };
    assert!(matches!(
        post(&db, bad.clone()).await,
        Err(LedgerError::Unbalanced { sum: 1, .. })
    ));
    let empty = NewTransaction {
        entries: vec![],
        ..bad.clone()
    };
    assert!(post(&db, empty).await.is_err());
    let zero = NewTransaction {
        entries: vec![(Account::Collection, 0)],
        ..bad
    };
    assert!(matches!(
        post(&db, zero).await,
        Err(LedgerError::ZeroEntry { .. })
    ));
    assert_eq!(read::check(&db).await.unwrap().transactions, 0);
}

#[tokio::test]
async fn a_guard_failure_writes_nothing_once_the_caller_rolls_back() {
    let (db, _scratch) = db().await;
    // Completing an order without any buyer funds held would take buyer funds below zero.
    let txn = db.begin().await.unwrap();
    let err = post_order_completed(&txn, "o1", "m1", rp(1_000), rp(0), rp(0), at(1))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, LedgerError::InsufficientBalance { account } if account == "buyer_funds_held"),
        "{err:?}"
    );
    drop(txn);
    let check = read::check(&db).await.unwrap();
    assert_eq!(check.transactions, 0);
    assert!(check.is_sound());

    // A payout larger than what is owed is refused too.
    let txn = db.begin().await.unwrap();
    post_payment_confirmed(&txn, "p1", rp(1_000), at(1))
        .await
        .unwrap();
    post_order_completed(&txn, "o1", "m1", rp(1_000), rp(0), rp(0), at(1))
        .await
        .unwrap();
    txn.commit().await.unwrap();
    let txn = db.begin().await.unwrap();
    let err = post(&txn, payout_approved("i1", "m1", 1_001, at(2)))
        .await
        .unwrap_err();
    assert!(matches!(err, LedgerError::InsufficientBalance { .. }));
    drop(txn);
    assert_eq!(
        balance(&db, Account::MerchantPayable("m1".into())).await,
        -1_000
    );
}

#[tokio::test]
async fn refunds_after_completion_come_back_from_the_merchant_in_proportion() {
    let (db, _scratch) = db().await;
    let txn = db.begin().await.unwrap();
    post_payment_confirmed(&txn, "p1", rp(10_001), at(1))
        .await
        .unwrap();
    let (_, fee, tax) = split_completed(rp(10_001), 150, 50).unwrap();
    post_order_completed(&txn, "o1", "m1", rp(10_001), fee, tax, at(2))
        .await
        .unwrap();
    post_refund(
        &txn,
        "order:o1:refund:1",
        Some("o1"),
        None,
        rp(3_333),
        at(3),
    )
    .await
    .unwrap();
    post_refund(
        &txn,
        "order:o1:refund:2",
        Some("o1"),
        None,
        rp(6_668),
        at(4),
    )
    .await
    .unwrap();
    // Nothing is left to refund.
    let err = post_refund(&txn, "order:o1:refund:3", Some("o1"), None, rp(1), at(4))
        .await
        .unwrap_err();
    assert!(matches!(err, LedgerError::InvalidAmount(_)));
    txn.commit().await.unwrap();
    // Fully refunded: the merchant, the fee and the tax are back to exactly zero.
    assert_eq!(balance(&db, Account::MerchantPayable("m1".into())).await, 0);
    assert_eq!(balance(&db, Account::PlatformFee).await, 0);
    assert_eq!(balance(&db, Account::TaxWithheld).await, 0);
    assert_eq!(balance(&db, Account::RefundsPayable).await, -10_001);
    let months = read::merchant_turnover(
        &db,
        "m1",
        "2026-03".parse().unwrap(),
        "2026-03".parse().unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(months.len(), 1);
    assert_eq!(
        (
            months[0].gross,
            months[0].refunds,
            months[0].completed_orders
        ),
        (10_001, 10_001, 1)
    );
    assert_eq!(read::year_turnover(&db, "m1", 2026).await.unwrap(), 0);
}

#[tokio::test]
async fn a_reversal_negates_once_and_turnover_follows() {
    let (db, _scratch) = db().await;
    let txn = db.begin().await.unwrap();
    post_payment_confirmed(&txn, "p1", rp(5_000), at(1))
        .await
        .unwrap();
    let Posted::New(id) = post_order_completed(&txn, "o1", "m1", rp(5_000), rp(0), rp(0), at(2))
        .await
        .unwrap()
    else {
        panic!("new")
    };
    assert!(
        reverse(&txn, &id, at(3), Some("wrong order".into()))
            .await
            .unwrap()
            .is_new()
    );
    assert_eq!(
        reverse(&txn, &id, at(3), None).await.unwrap_err().code(),
        "already_reversed"
    );
    // After the reversal the refund takes the money from buyer funds again.
    post_refund(
        &txn,
        "order:o1:refunded",
        Some("o1"),
        Some("m1"),
        rp(5_000),
        at(4),
    )
    .await
    .unwrap();
    txn.commit().await.unwrap();
    assert_eq!(balance(&db, Account::BuyerFundsHeld).await, 0);
    assert_eq!(balance(&db, Account::MerchantPayable("m1".into())).await, 0);
    assert_eq!(read::year_turnover(&db, "m1", 2026).await.unwrap(), 0);
    assert!(read::check(&db).await.unwrap().is_sound());
}

#[tokio::test]
async fn crossing_a_yearly_threshold_raises_one_alert() {
    let (db, _scratch) = db().await;
    let txn = db.begin().await.unwrap();
    post_payment_confirmed(&txn, "p1", rp(2_000_000_000), at(1))
        .await
        .unwrap();
    for (n, amount) in [(1, 400_000_000), (2, 150_000_000), (3, 10_000_000)] {
        post_order_completed(
            &txn,
            &format!("o{n}"),
            "m1",
            rp(amount),
            rp(0),
            rp(0),
            at(n),
        )
        .await
        .unwrap();
    }
    txn.commit().await.unwrap();
    let alerts = read::turnover_alerts(&db, Some("m1"), None).await.unwrap();
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0].threshold, 500_000_000);
    assert_eq!(alerts[0].turnover, 550_000_000);
    assert_eq!(alerts[0].year, 2026);
}

#[tokio::test]
async fn claims_take_each_movement_once_and_failures_come_back_once() {
    use crate::claims::{give_back, movements_in, open_claims, take};
    let (db, _scratch) = db().await;
    let txn = db.begin().await.unwrap();
    post_payment_confirmed(&txn, "p1", rp(40_000), at(1))
        .await
        .unwrap();
    post_order_completed(&txn, "o1", "m1", rp(10_000), rp(0), rp(0), at(2))
        .await
        .unwrap();
    post_order_completed(&txn, "o2", "m2", rp(20_000), rp(0), rp(0), at(2))
        .await
        .unwrap();
    // Occurred after the cut-off: it stops m1's range, and what follows waits with it.
    post_order_completed(&txn, "o3", "m1", rp(4_000), rp(0), rp(0), at(9))
        .await
        .unwrap();
    post_order_completed(&txn, "o4", "m1", rp(6_000), rp(0), rp(0), at(3))
        .await
        .unwrap();
    let claims = open_claims(&txn, at(5)).await.unwrap();
    let summary: Vec<_> = claims
        .iter()
        .map(|c| (c.merchant_id.as_str(), c.amount, c.seq_after, c.seq_to))
        .collect();
    assert_eq!(summary, [("m1", 10_000, 0, 1), ("m2", 20_000, 0, 1)]);
    assert!(take(&txn, &claims).await.unwrap());
    // The same claims cannot be taken twice.
    assert!(!take(&txn, &claims[..1]).await.unwrap());
    assert!(open_claims(&txn, at(5)).await.unwrap().is_empty());
    let moved = movements_in(&txn, &[("m1".to_owned(), 0, 1)])
        .await
        .unwrap();
    assert_eq!(moved.len(), 1);
    assert_eq!(moved[0].order_id.as_deref(), Some("o1"));

    post(&txn, payout_approved("i1", "m1", 10_000, at(5)))
        .await
        .unwrap();
    post(&txn, payout_failed("i1", "m1", 10_000, at(6), Some(at(2))))
        .await
        .unwrap();
    // Later: the rest of m1 (o3, o4 and the returned payout) in one range.
    let retry = open_claims(&txn, at(10)).await.unwrap();
    assert_eq!(retry.len(), 1);
    assert_eq!(
        (retry[0].amount, retry[0].seq_after, retry[0].seq_to),
        (20_000, 1, 4)
    );
    assert_eq!(retry[0].oldest_receipt_at, Some(at(2)));
    // The range names what each movement came from: orders, and the payout that came back.
    let retried = movements_in(&txn, &[("m1".to_owned(), 1, 4)])
        .await
        .unwrap();
    assert_eq!(retried.iter().map(|m| m.amount).sum::<i64>(), 20_000);
    let returned: Vec<_> = retried
        .iter()
        .filter(|m| m.kind == "payout_failed")
        .collect();
    assert_eq!(returned.len(), 1);
    assert_eq!(returned[0].payout_item_id.as_deref(), Some("i1"));
    assert_eq!(returned[0].order_id, None);
    assert!(take(&txn, &retry).await.unwrap());
    // A draft given back reopens exactly its range.
    assert!(give_back(&txn, &[("m1".to_owned(), 1, 4)]).await.unwrap());
    assert_eq!(open_claims(&txn, at(10)).await.unwrap(), retry);
    // m2's watermark back at zero can be taken again.
    assert!(give_back(&txn, &[("m2".to_owned(), 0, 1)]).await.unwrap());
    let again = open_claims(&txn, at(10)).await.unwrap();
    assert_eq!(again.len(), 2);
    assert!(take(&txn, &again).await.unwrap());
    assert!(!take(&txn, &again).await.unwrap());
    txn.commit().await.unwrap();
    assert!(read::check(&db).await.unwrap().is_sound());
}

/// The parts of a city-wide account: its own row and its stripes.
async fn parts(db: &DatabaseConnection, code: &str) -> (i64, Vec<i64>) {
    let own = peken_kernel::sql::query_one(
        db,
        "SELECT balance FROM ledger_accounts WHERE code = $1",
        vec![code.into()],
    )
    .await
    .unwrap()
    .unwrap()
    .try_get_by_index::<i64>(0)
    .unwrap();
    let stripes = peken_kernel::sql::query(
        db,
        "SELECT balance FROM ledger_balance_stripes WHERE code = $1 ORDER BY stripe",
        vec![code.into()],
    )
    .await
    .unwrap()
    .into_iter()
    .map(|r| r.try_get_by_index::<i64>(0).unwrap())
    .collect();
    (own, stripes)
}

#[test]
fn stripes_are_the_schemas_and_keys_spread_over_them() {
    assert_eq!(
        post::STRIPES,
        peken_migrations::m0016_ledger_stripes::STRIPES
    );
    for (code, sign) in peken_migrations::m0016_ledger_stripes::CITY_ACCOUNTS {
        let account = Account::parse(code).unwrap();
        assert!(account.is_city_wide());
        let sign = peken_migrations::m0025_opd_purchasing::FLOOR_CHANGES
            .iter()
            .find(|(changed, _)| *changed == code)
            .map_or(sign, |(_, changed)| *changed);
        assert_eq!(account.floor_sign(), sign, "{code}");
    }
    assert!(!Account::MerchantPayable("m".into()).is_city_wide());
    let used: std::collections::HashSet<i32> = (0..200)
        .map(|n| post::stripe_of(&format!("payment:p{n}:confirmed")))
        .collect();
    assert_eq!(used.len(), post::STRIPES as usize);
    assert!(used.iter().all(|s| (0..post::STRIPES).contains(s)));
    // The same key always goes to the same stripe (FNV-1a of the key's bytes).
    assert_eq!(
        post::stripe_of("payment:p1:confirmed"),
        post::stripe_of("payment:p1:confirmed")
    );
    assert_eq!(post::stripe_of(""), (0xcbf2_9ce4_8422_2325_u64 % 16) as i32);
}

#[tokio::test]
async fn payments_spread_over_stripes_and_a_short_stripe_is_rebalanced_within_the_floor() {
    let (db, _scratch) = db().await;
    let txn = db.begin().await.unwrap();
    for n in 0..40 {
        post_payment_confirmed(&txn, &format!("p{n}"), rp(1_000), at(2))
            .await
            .unwrap();
    }
    txn.commit().await.unwrap();
    let (own, stripes) = parts(&db, "buyer_funds_held").await;
    assert_eq!(own, 0);
    assert!(
        stripes.iter().filter(|b| **b != 0).count() >= 8,
        "{stripes:?}"
    );
    assert!(stripes.iter().all(|b| *b > -30_000), "{stripes:?}");
    assert_eq!(stripes.iter().sum::<i64>(), -40_000);
    assert_eq!(balance(&db, Account::Collection).await, 40_000);

    // 30,000 is more than any stripe holds, less than the account: the stripes are pooled.
    let txn = db.begin().await.unwrap();
    post_order_completed(&txn, "o1", "m1", rp(30_000), rp(0), rp(0), at(3))
        .await
        .unwrap();
    txn.commit().await.unwrap();
    let (own, stripes) = parts(&db, "buyer_funds_held").await;
    assert_eq!(own, 0);
    assert!(
        stripes.iter().all(|b| *b <= 0),
        "a stripe crossed the floor: {stripes:?}"
    );
    assert_eq!(stripes.iter().sum::<i64>(), -10_000);
    assert_eq!(balance(&db, Account::BuyerFundsHeld).await, -10_000);

    // More than the whole account is refused, and nothing of it stays after the rollback.
    let txn = db.begin().await.unwrap();
    let err = post_order_completed(&txn, "o2", "m1", rp(10_001), rp(0), rp(0), at(3))
        .await
        .unwrap_err();
    assert!(
        matches!(&err, LedgerError::InsufficientBalance { account } if account == "buyer_funds_held"),
        "{err:?}"
    );
    drop(txn);
    assert_eq!(balance(&db, Account::BuyerFundsHeld).await, -10_000);
    // Exactly the whole account is not.
    let txn = db.begin().await.unwrap();
    post_order_completed(&txn, "o2", "m1", rp(10_000), rp(0), rp(0), at(3))
        .await
        .unwrap();
    txn.commit().await.unwrap();
    assert_eq!(balance(&db, Account::BuyerFundsHeld).await, 0);
    let check = read::check(&db).await.unwrap();
    assert!(check.is_sound(), "{check:?}");
}

#[tokio::test]
async fn concurrent_payments_and_completions_keep_every_stripe_within_its_floor() {
    // 48 payments and then 48 completions of the same amounts, each in its own transaction and
    // all at once: on PostgreSQL the completions that find their stripe short rebalance while
    // others hold stripes, and the last ones drain the account to exactly zero.
    let (db, _scratch) = test_database("ledger", 24).await.unwrap();
    Migrator::up(&db, None).await.unwrap();
    let amounts: Vec<i64> = (0..48).map(|n| 1_000 + n * 37).collect();
    let mut tasks = Vec::new();
    for (n, amount) in amounts.iter().copied().enumerate() {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            let txn = db.begin().await.unwrap();
            post_payment_confirmed(&txn, &format!("p{n}"), rp(amount), at(2))
                .await
                .unwrap();
            txn.commit().await.unwrap();
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let mut tasks = Vec::new();
    for (n, amount) in amounts.iter().copied().enumerate() {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            let txn = db.begin().await.unwrap();
            post_order_completed(
                &txn,
                &format!("o{n}"),
                "m1",
                rp(amount),
                rp(0),
                rp(0),
                at(3),
            )
            .await
            .unwrap();
            txn.commit().await.unwrap();
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    let total: i64 = amounts.iter().sum();
    assert_eq!(balance(&db, Account::BuyerFundsHeld).await, 0);
    assert_eq!(balance(&db, Account::Collection).await, total);
    assert_eq!(
        balance(&db, Account::MerchantPayable("m1".into())).await,
        -total
    );
    let (own, stripes) = parts(&db, "buyer_funds_held").await;
    assert_eq!(own, 0);
    assert!(stripes.iter().all(|b| *b == 0), "{stripes:?}");
    let check = read::check(&db).await.unwrap();
    assert!(check.is_sound(), "{check:?}");
    assert_eq!(check.transactions, 96);
}

#[tokio::test]
async fn a_shortfall_is_refunded_once_before_completion_and_the_completion_is_of_the_rest() {
    let (db, _scratch) = db().await;
    let txn = db.begin().await.unwrap();
    post_payment_confirmed(&txn, "p1", rp(77_000), at(1))
        .await
        .unwrap();
    assert!(
        post_shortfall(&txn, "o1", "m1", rp(17_500), at(2))
            .await
            .unwrap()
            .is_new()
    );
    // One shortfall per order: a replay posts nothing.
    assert_eq!(
        post_shortfall(&txn, "o1", "m1", rp(17_500), at(2))
            .await
            .unwrap(),
        Posted::AlreadyPosted
    );
    let (net, fee, tax) = split_completed(rp(59_500), 150, 50).unwrap();
    post_order_completed(&txn, "o1", "m1", rp(59_500), fee, tax, at(3))
        .await
        .unwrap();
    // After completion a shortfall would pay the shop for units it never supplied.
    let err = post_shortfall(&txn, "o2", "m1", rp(0), at(3))
        .await
        .unwrap_err();
    assert!(matches!(err, LedgerError::InvalidAmount(_)), "{err:?}");
    post_payment_confirmed(&txn, "p3", rp(1_000), at(3))
        .await
        .unwrap();
    post_order_completed(&txn, "o3", "m1", rp(1_000), rp(0), rp(0), at(3))
        .await
        .unwrap();
    let err = post_shortfall(&txn, "o3", "m1", rp(500), at(4))
        .await
        .unwrap_err();
    assert!(matches!(err, LedgerError::InvalidAmount(_)), "{err:?}");
    txn.commit().await.unwrap();
    assert_eq!(balance(&db, Account::BuyerFundsHeld).await, 0);
    assert_eq!(balance(&db, Account::RefundsPayable).await, -17_500);
    assert_eq!(
        balance(&db, Account::MerchantPayable("m1".into())).await,
        -(net.get() + 1_000)
    );
    let check = read::check(&db).await.unwrap();
    assert!(check.is_sound(), "{check:?}");
}
