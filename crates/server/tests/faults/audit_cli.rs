//! `peken audit verify`, the command an operator runs: intact chain → success; a row edited or
//! deleted directly in SQL → failure naming the row.

use chrono::Utc;
use sea_orm::{ConnectionTrait, Database, TransactionTrait};
use serde_json::json;

use crate::harness::{self, base_vars, scratch};

#[tokio::test]
async fn audit_verify_names_an_edited_and_a_deleted_row() {
    let root = scratch("auditcli");
    let (database_url, _database) = harness::database(&root, "auditcli").await;
    let vars = base_vars(&database_url, &root);
    let log = root.join("cli.log");
    let (ok, out) = harness::run(&vars, &["migrate"], &log);
    assert!(ok, "{out}");

    let db = Database::connect(database_url.as_str()).await.unwrap();
    for n in 1..=5 {
        let txn = db.begin().await.unwrap();
        peken_audit::record(
            &txn,
            peken_audit::Actor {
                user_id: format!("admin-{n}"),
                role: "admin".into(),
                request_id: Some(format!("req-{n}")),
                client_request_id: None,
            },
            peken_audit::Change::new("merchant.suspended", "merchant", &format!("m{n}"))
                .before(json!({"status": "active"}))
                .after(json!({"status": "suspended", "reason": "uji"})),
            Utc::now(),
        )
        .await
        .unwrap();
        txn.commit().await.unwrap();
    }

    let (ok, out) = harness::run(&vars, &["audit", "verify"], &log);
    assert!(ok, "{out}");
    assert!(out.contains("5 rows read"), "{out}");
    assert!(out.contains("intact"), "{out}");

    db.execute_unprepared(
        "UPDATE audit_log SET after_state = '{\"status\":\"active\"}' WHERE seq = 3",
    )
    .await
    .unwrap();
    let (ok, out) = harness::run(&vars, &["audit", "verify"], &log);
    assert!(!ok, "an edited row must fail verification: {out}");
    assert!(
        out.contains("BROKEN row 3: content does not match its hash"),
        "{out}"
    );

    db.execute_unprepared("DELETE FROM audit_log WHERE seq = 4")
        .await
        .unwrap();
    let (ok, out) = harness::run(&vars, &["audit", "verify"], &log);
    assert!(!ok, "{out}");
    assert!(out.contains("BROKEN row 4: missing"), "{out}");
    assert!(out.contains("BROKEN row 3: content"), "{out}");
    assert!(
        out.contains("broken in 3 place(s)"),
        "edited 3, missing 4, and 5 no longer chained: {out}"
    );
    db.close().await.ok();
    let _ = std::fs::remove_dir_all(&root);
}
