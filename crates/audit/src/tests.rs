//! The chain against a real database: in-memory SQLite, or a fresh PostgreSQL database when
//! `PEKEN_TEST_DATABASE_URL` is set.

#![allow(clippy::unwrap_used, clippy::expect_used, reason = "tests")]

use chrono::{TimeZone, Utc};
use peken_kernel::scratch::{ScratchDatabase, test_database};
use peken_migrations::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, DatabaseConnection, TransactionTrait};
use serde_json::json;

use crate::*;

/// A fresh migrated database and the guard that drops it (see `test_database`).
async fn db() -> (DatabaseConnection, Option<ScratchDatabase>) {
    let (db, scratch) = test_database("audit", 30).await.unwrap();
    Migrator::up(&db, None).await.unwrap();
    (db, scratch)
}

fn actor(n: usize) -> Actor {
    Actor {
        user_id: format!("user-{n}"),
        role: "admin".to_owned(),
        request_id: Some(format!("req-{n}")),
        // Every other row carries a client's own request id, so both encodings are in the chain.
        client_request_id: n.is_multiple_of(2).then(|| format!("client-{n}")),
    }
}

async fn append(db: &DatabaseConnection, n: usize) -> i64 {
    let txn = db.begin().await.unwrap();
    let change = Change::new("merchant.verified", "merchant", &format!("m{n}"))
        .before(json!({"status": "pending"}))
        .after(json!({"status": "active", "note": "ok \"quoted\" ü"}));
    let at = Utc.with_ymd_and_hms(2026, 3, 1, 3, 0, 0).unwrap()
        + chrono::Duration::nanoseconds(123_456_789 * n as i64);
    let seq = record(&txn, actor(n), change, at).await.unwrap();
    txn.commit().await.unwrap();
    seq
}

#[tokio::test]
async fn appends_form_a_chain_that_verifies() {
    let (db, _scratch) = db().await;
    let empty = verify(&db).await.unwrap();
    assert!(empty.is_intact());
    assert_eq!(empty.rows, 0);
    for n in 1..=5 {
        assert_eq!(append(&db, n).await, n as i64);
    }
    let report = verify(&db).await.unwrap();
    assert!(report.is_intact(), "{:?}", report.breaks);
    assert_eq!(report.rows, 5);
    assert_eq!(report.head_seq, 5);
}

#[tokio::test]
async fn a_rolled_back_action_leaves_no_row_and_no_gap() {
    let (db, _scratch) = db().await;
    append(&db, 1).await;
    let txn = db.begin().await.unwrap();
    record(&txn, actor(2), Change::new("x", "y", "z"), Utc::now())
        .await
        .unwrap();
    txn.rollback().await.unwrap();
    assert_eq!(append(&db, 3).await, 2);
    assert!(verify(&db).await.unwrap().is_intact());
}

#[tokio::test]
async fn an_edited_row_is_named() {
    let (db, _scratch) = db().await;
    for n in 1..=4 {
        append(&db, n).await;
    }
    db.execute_unprepared(
        "UPDATE audit_log SET after_state = '{\"status\":\"rejected\"}' WHERE seq = 3",
    )
    .await
    .unwrap();
    let report = verify(&db).await.unwrap();
    assert_eq!(report.breaks, vec![Break::Edited { seq: 3 }]);
    assert_eq!(
        report.breaks[0].to_string(),
        "row 3: content does not match its hash"
    );
}

#[tokio::test]
async fn a_clients_request_id_is_hashed_and_an_edit_of_it_is_named() {
    let (db, _scratch) = db().await;
    for n in 1..=4 {
        append(&db, n).await;
    }
    assert!(verify(&db).await.unwrap().is_intact());
    db.execute_unprepared("UPDATE audit_log SET client_request_id = 'someone-else' WHERE seq = 2")
        .await
        .unwrap();
    db.execute_unprepared("UPDATE audit_log SET client_request_id = 'added-later' WHERE seq = 3")
        .await
        .unwrap();
    let report = verify(&db).await.unwrap();
    assert_eq!(
        report.breaks,
        vec![Break::Edited { seq: 2 }, Break::Edited { seq: 3 }]
    );
}

/// Rows written before the client's request id was kept hash as they always did: the hash of a
/// row without one is the SHA-256 of the eleven-element array.
#[test]
fn a_row_without_a_clients_request_id_hashes_as_before() {
    use sha2::{Digest, Sha256};
    let row = Row {
        seq: 7,
        occurred_at: Utc.with_ymd_and_hms(2026, 3, 1, 3, 0, 0).unwrap(),
        actor_id: "user-1".into(),
        actor_role: "admin".into(),
        action: "merchant.verified".into(),
        subject_type: "merchant".into(),
        subject_id: "m1".into(),
        before_state: None,
        after_state: Some("{}".into()),
        request_id: Some("req-1".into()),
        client_request_id: None,
        prev_hash: GENESIS.into(),
    };
    let before = format!(
        "[7,{},\"user-1\",\"admin\",\"merchant.verified\",\"merchant\",\"m1\",null,\"{{}}\",\"req-1\",\"{GENESIS}\"]",
        row.occurred_at.timestamp_micros()
    );
    assert_eq!(
        hash_row(&row),
        hex::encode(Sha256::digest(before.as_bytes()))
    );
    let with_client = Row {
        client_request_id: Some("client-1".into()),
        ..row.clone()
    };
    assert_ne!(hash_row(&with_client), hash_row(&row));
}

#[tokio::test]
async fn a_deleted_row_is_named() {
    let (db, _scratch) = db().await;
    for n in 1..=4 {
        append(&db, n).await;
    }
    db.execute_unprepared("DELETE FROM audit_log WHERE seq = 2")
        .await
        .unwrap();
    let report = verify(&db).await.unwrap();
    assert_eq!(
        report.breaks,
        vec![
            Break::Missing { from: 2, to: 2 },
            Break::Unlinked { seq: 3 }
        ]
    );
}

#[tokio::test]
async fn deleting_the_newest_rows_is_detected_by_the_head() {
    let (db, _scratch) = db().await;
    for n in 1..=4 {
        append(&db, n).await;
    }
    db.execute_unprepared("DELETE FROM audit_log WHERE seq >= 3")
        .await
        .unwrap();
    let report = verify(&db).await.unwrap();
    assert_eq!(report.breaks, vec![Break::Missing { from: 3, to: 4 }]);
}

#[tokio::test]
async fn a_rewritten_row_with_a_fresh_hash_breaks_the_next_link() {
    let (db, _scratch) = db().await;
    for n in 1..=3 {
        append(&db, n).await;
    }
    // Someone who knows the scheme rewrites row 2 and its hash; row 3 still names the old hash.
    let backend = db.get_database_backend();
    let row = db
        .query_one_raw(sea_orm::Statement::from_string(
            backend,
            "SELECT occurred_at, prev_hash FROM audit_log WHERE seq = 2",
        ))
        .await
        .unwrap()
        .unwrap();
    let forged = Row {
        seq: 2,
        occurred_at: row.try_get("", "occurred_at").unwrap(),
        actor_id: "user-2".into(),
        actor_role: "admin".into(),
        action: "merchant.verified".into(),
        subject_type: "merchant".into(),
        subject_id: "m-forged".into(),
        before_state: None,
        after_state: None,
        request_id: Some("req-2".into()),
        client_request_id: actor(2).client_request_id,
        prev_hash: row.try_get("", "prev_hash").unwrap(),
    };
    let hash = hash_row(&forged);
    db.execute_unprepared(&format!(
        "UPDATE audit_log SET subject_id = 'm-forged', before_state = NULL, after_state = NULL, \
         hash = '{hash}' WHERE seq = 2"
    ))
    .await
    .unwrap();
    let report = verify(&db).await.unwrap();
    assert_eq!(report.breaks, vec![Break::Unlinked { seq: 3 }]);
}

#[tokio::test]
async fn concurrent_appends_stay_one_chain() {
    let (db, _scratch) = db().await;
    let tasks: Vec<_> = (1..=24)
        .map(|n| {
            let db = db.clone();
            tokio::spawn(async move { append(&db, n).await })
        })
        .collect();
    let mut seqs = Vec::new();
    for task in tasks {
        seqs.push(task.await.unwrap());
    }
    seqs.sort_unstable();
    assert_eq!(seqs, (1..=24).collect::<Vec<i64>>());
    let report = verify(&db).await.unwrap();
    assert!(report.is_intact(), "{:?}", report.breaks);
    assert_eq!(report.rows, 24);
}

#[test]
fn account_numbers_keep_only_their_last_four_digits() {
    assert_eq!(mask_account("1234567890"), "******7890");
    assert_eq!(mask_account("123"), "123");
}
