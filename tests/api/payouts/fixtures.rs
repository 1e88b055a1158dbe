//! Merchants and payables for the treasury tests. Merchants are written straight into their
//! table and money is posted through the ledger's posting API on the server's own database, so
//! these tests do not depend on the checkout flow (which `flow.rs` drives end to end).

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use chrono::{DateTime, TimeZone, Utc};
use peken_kernel::Rupiah;
use peken_tests::{Options, TestApp, User, spawn_app_with};
use sea_orm::{ConnectionTrait, Statement, TransactionTrait};

static COUNTER: AtomicU64 = AtomicU64::new(1);

pub fn unique() -> u64 {
    COUNTER.fetch_add(1, Ordering::Relaxed) + u64::from(std::process::id()) * 1_000
}

/// A UTC instant.
pub fn utc(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
}

/// A server whose clock starts at the given instant.
pub async fn app_at(start: DateTime<Utc>) -> TestApp {
    spawn_app_with(Options {
        start: Some(start),
        ..Options::default()
    })
    .await
}

/// Two treasury users: one prepares, the other approves.
pub async fn treasurers(app: &TestApp) -> (User, User) {
    (
        app.staff("treasury", None).await,
        app.staff("treasury", None).await,
    )
}

/// A merchant row with a bank account `12xxxxxxxx`; returns (id, account number).
pub async fn merchant(
    app: &TestApp,
    kind: &str,
    kelurahan: &str,
    owner_user_id: Option<&str>,
) -> (String, String) {
    let n = unique();
    let id = uuid::Uuid::now_v7().to_string();
    let account = format!("12{:08}", n % 100_000_000);
    let kecamatan = kelurahan[..8].to_owned();
    let owner = owner_user_id.map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_owned);
    let db = &app.state.db;
    db.execute_raw(Statement::from_sql_and_values(
        db.get_database_backend(),
        "INSERT INTO merchants (id, name, kind, nib, owner_nik, mbr, kelurahan_code, \
         kecamatan_code, address, bank_code, account_number, account_name, status, \
         owner_user_id, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        [
            id.clone().into(),
            format!("Toko Uji {n}").into(),
            kind.into(),
            format!("92{:011}", n % 100_000_000_000).into(),
            format!("357801010190{:04}", n % 10_000).into(),
            false.into(),
            kelurahan.into(),
            kecamatan.into(),
            "Jl. Uji No. 1".into(),
            "008".into(),
            account.clone().into(),
            format!("PEMILIK {n}").into(),
            "active".into(),
            owner.into(),
            Utc::now().into(),
            Utc::now().into(),
        ],
    ))
    .await
    .unwrap();
    (id, account)
}

/// A paid order completed at `at`: the merchant is owed `gross` (no fee, no tax).
pub async fn owed(app: &TestApp, order: &str, merchant: &str, gross: i64, at: DateTime<Utc>) {
    let txn = app.state.db.begin().await.unwrap();
    peken_ledger::post_payment_confirmed(&txn, &format!("pay-{order}"), Rupiah::new(gross), at)
        .await
        .unwrap();
    let posted = peken_ledger::post_order_completed(
        &txn,
        order,
        merchant,
        Rupiah::new(gross),
        Rupiah::ZERO,
        Rupiah::ZERO,
        at,
    )
    .await
    .unwrap();
    assert!(posted.is_new());
    txn.commit().await.unwrap();
}

/// A refund of a completed order at `at`.
pub async fn refunded(app: &TestApp, order: &str, amount: i64, at: DateTime<Utc>) {
    let txn = app.state.db.begin().await.unwrap();
    peken_ledger::post_refund(
        &txn,
        &format!("order:{order}:refunded"),
        Some(order),
        None,
        Rupiah::new(amount),
        at,
    )
    .await
    .unwrap();
    txn.commit().await.unwrap();
}

/// The normal-side balance of an account in the trial balance (0 when absent).
pub fn normal_balance(trial: &serde_json::Value, account: &str) -> i64 {
    trial["accounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["account"] == account)
        .map_or(0, |a| a["normal_balance_amount"].as_i64().unwrap())
}

/// Asserts the trial balance is balanced and returns it.
pub async fn trial(app: &TestApp, treasury: &User) -> serde_json::Value {
    let reply = app
        .get("/api/v1/treasury/trial-balance", Some(&treasury.token))
        .await
        .expect(200);
    assert_eq!(reply.body["total_amount"], 0, "{}", reply.text);
    assert_eq!(reply.body["entries_total_amount"], 0);
    assert_eq!(reply.body["balanced"], true, "{}", reply.text);
    reply.body
}

/// Builds a batch at `cutoff` as `maker` and approves it as `checker`; returns the batch body.
pub async fn paid_batch(
    app: &TestApp,
    maker: &User,
    checker: &User,
    cutoff: DateTime<Utc>,
) -> serde_json::Value {
    let batch = app
        .post(
            "/api/v1/treasury/payout-batches",
            Some(&maker.token),
            &serde_json::json!({"cutoff": cutoff.to_rfc3339()}),
        )
        .await
        .expect(201);
    let id = batch.body["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/treasury/payout-batches/{id}/approval"),
        Some(&checker.token),
        &serde_json::json!({}),
    )
    .await
    .expect(200)
    .body
}

/// The item of a batch body paying `merchant`.
pub fn item_of<'a>(batch: &'a serde_json::Value, merchant: &str) -> &'a serde_json::Value {
    batch["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["merchant_id"] == merchant)
        .unwrap_or_else(|| panic!("no item for {merchant} in {batch}"))
}

/// A bank CSV statement from `(date, description, debit, credit)` lines.
pub fn csv_statement(lines: &[(&str, &str, i64, i64)]) -> String {
    let mut out = String::from("value_date,description,debit,credit,balance\n");
    let mut balance = 10_000_000_000_i64;
    for (date, description, debit, credit) in lines {
        balance += credit - debit;
        let cell = |v: i64| {
            if v == 0 {
                String::new()
            } else {
                format!("{v}.00")
            }
        };
        let _ = writeln!(
            out,
            "{date},\"{description}\",{},{},{balance}.00",
            cell(*debit),
            cell(*credit)
        );
    }
    out
}

/// One integer from a query with a column `n`, for checks on a table.
pub async fn scalar(app: &TestApp, sql: &str) -> i64 {
    let backend = app.state.db.get_database_backend();
    let row = app
        .state
        .db
        .query_one_raw(Statement::from_string(backend, sql.to_owned()))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

/// Moves the server's clock and returns fresh sessions for the given users, whose access tokens
/// the move may have expired.
pub async fn move_clock(app: &TestApp, to: DateTime<Utc>, users: &[&User]) -> Vec<User> {
    app.clock.set(to);
    let mut out = Vec::with_capacity(users.len());
    for user in users {
        let reply = app
            .post(
                "/api/v1/auth/refresh",
                None,
                &serde_json::json!({"refresh_token": user.refresh}),
            )
            .await
            .expect(200);
        out.push(User {
            id: user.id.clone(),
            token: reply.body["access_token"].as_str().unwrap().to_owned(),
            refresh: reply.body["refresh_token"].as_str().unwrap().to_owned(),
        });
    }
    out
}
