//! The audit log over HTTP: admin, treasury and merchant actions that change money, stock,
//! status or policy leave a chained row with who, what, before, after, when and the request id;
//! an edited or deleted row is found by `peken_audit::verify`.

use peken_audit::Break;
use peken_tests::{TestApp, spawn_app};
use reqwest::Method;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::fixtures::orders::{Shop, any_commodity, shop};

/// One row of the audit log, as the tests look at it.
#[derive(Debug)]
struct AuditRow {
    seq: i64,
    actor_id: String,
    actor_role: String,
    action: String,
    subject_id: String,
    before: Value,
    after: Value,
    request_id: Option<String>,
    client_request_id: Option<String>,
}

async fn audit_rows(app: &TestApp) -> Vec<AuditRow> {
    let db = &app.state.db;
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT seq, actor_id, actor_role, action, subject_id, before_state, after_state, \
             request_id, client_request_id FROM audit_log ORDER BY seq",
        ))
        .await
        .unwrap();
    rows.iter()
        .map(|r| {
            let json = |col: &str| {
                r.try_get::<Option<String>>("", col)
                    .unwrap()
                    .map_or(Value::Null, |t| serde_json::from_str(&t).unwrap())
            };
            AuditRow {
                seq: r.try_get("", "seq").unwrap(),
                actor_id: r.try_get("", "actor_id").unwrap(),
                actor_role: r.try_get("", "actor_role").unwrap(),
                action: r.try_get("", "action").unwrap(),
                subject_id: r.try_get("", "subject_id").unwrap(),
                before: json("before_state"),
                after: json("after_state"),
                request_id: r.try_get("", "request_id").unwrap(),
                client_request_id: r.try_get("", "client_request_id").unwrap(),
            }
        })
        .collect()
}

/// A listing of 3 units that its owner then restocks three times by `delta`; returns the shop
/// and the listing's id.
async fn restocked_listing(app: &TestApp, delta: i64) -> (Shop, String) {
    let shop = shop(app, "toko_kelontong", "35.78.03.1001").await;
    let commodity_id = any_commodity(app, None, None).await;
    let listing_id = shop.list(app, &commodity_id, 10_000, 3).await;
    let path = format!(
        "/api/v1/merchants/{}/listings/{listing_id}/stock-movements",
        shop.id
    );
    for _ in 0..3 {
        app.post(
            &path,
            Some(&shop.owner.token),
            &json!({"kind": "restock", "quantity_delta": delta}),
        )
        .await
        .expect(201);
    }
    (shop, listing_id)
}

fn find<'a>(rows: &'a [AuditRow], action: &str) -> &'a AuditRow {
    rows.iter()
        .find(|r| r.action == action)
        .unwrap_or_else(|| panic!("no {action} row in {rows:#?}"))
}

#[tokio::test]
async fn admin_and_merchant_actions_are_recorded_with_who_what_and_the_request() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let shop = shop(&app, "toko_kelontong", "35.78.03.1001").await;
    let commodity_id = any_commodity(&app, Some(15_000), None).await;
    let listing_id = shop.list(&app, &commodity_id, 14_000, 10).await;

    // A stock change with a request id the client chose: the audit row names the request by the
    // server's own id (the one it answered with) and keeps the client's beside it.
    let reply = app
        .send(
            Method::POST,
            &format!(
                "/api/v1/merchants/{}/listings/{listing_id}/stock-movements",
                shop.id
            ),
            Some(&shop.owner.token),
            Some(&json!({"kind": "restock", "quantity_delta": 5, "note": "kiriman pagi"})),
            &[("x-request-id", "audit-test-request-0001")],
        )
        .await
        .expect(201);
    assert_eq!(reply.body["stock"], 15);
    let server_request_id = reply.headers["x-request-id"].to_str().unwrap().to_owned();
    assert_ne!(server_request_id, "audit-test-request-0001");
    app.patch(
        &format!("/api/v1/merchants/{}/listings/{listing_id}", shop.id),
        Some(&shop.owner.token),
        &json!({"price": 13_500}),
    )
    .await
    .expect(200);
    app.patch(
        &format!("/api/v1/admin/commodities/{commodity_id}"),
        Some(&admin.token),
        &json!({"het_price": 13_000}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/admin/listings/{listing_id}/takedown"),
        Some(&admin.token),
        &json!({"reason": "foto menyesatkan"}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/admin/merchants/{}/suspension", shop.id),
        Some(&admin.token),
        &json!({"reason": "audit"}),
    )
    .await
    .expect(200);
    app.send(
        Method::DELETE,
        &format!("/api/v1/admin/merchants/{}/suspension", shop.id),
        Some(&admin.token),
        None,
        &[],
    )
    .await
    .expect(200);
    app.patch(
        "/api/v1/admin/policies",
        Some(&admin.token),
        &json!({"turnover_cap_amount": 25_000_000}),
    )
    .await
    .expect(200);
    app.put(
        &format!("/api/v1/merchants/{}/bank-account", shop.id),
        Some(&shop.owner.token),
        &json!({"bank_code": "009", "account_number": "9876543210", "account_name": "PEMILIK UJI"}),
    )
    .await
    .expect(200);

    let rows = audit_rows(&app).await;
    let seqs: Vec<i64> = rows.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, (1..=rows.len() as i64).collect::<Vec<_>>());

    let approved = find(&rows, "merchant.approved");
    assert_eq!(approved.actor_id, admin.id);
    assert_eq!(approved.actor_role, "admin");
    assert_eq!(approved.subject_id, shop.id);
    assert_eq!(approved.before["status"], "pending");
    assert_eq!(approved.after["status"], "active");
    assert!(approved.request_id.is_some(), "every HTTP action has an id");

    let stock = rows
        .iter()
        .find(|r| r.action == "listing.stock_changed")
        .unwrap();
    assert_eq!(stock.actor_id, shop.owner.id);
    assert_eq!(stock.actor_role, "merchant");
    assert_eq!(stock.subject_id, listing_id);
    assert_eq!(stock.before["stock"], 10);
    assert_eq!(stock.after["stock"], 15);
    assert_eq!(stock.after["note"], "kiriman pagi");
    assert_eq!(
        stock.request_id.as_deref(),
        Some(server_request_id.as_str())
    );
    assert_eq!(
        stock.client_request_id.as_deref(),
        Some("audit-test-request-0001")
    );
    assert_eq!(approved.client_request_id, None, "no client id was sent");

    let created = find(&rows, "listing.created");
    assert_eq!(created.after["stock"], 10);
    assert_eq!(created.after["price"], 14_000);
    let repriced = find(&rows, "listing.changed");
    assert_eq!(repriced.before["price"], 14_000);
    assert_eq!(repriced.after["price"], 13_500);
    let het = find(&rows, "commodity.changed");
    assert_eq!(het.before["het_price"], 15_000);
    assert_eq!(het.after["het_price"], 13_000);
    assert_eq!(
        find(&rows, "listing.taken_down").after["reason"],
        "foto menyesatkan"
    );
    assert_eq!(find(&rows, "merchant.suspended").before["status"], "active");
    assert_eq!(
        find(&rows, "merchant.reinstated").before["status"],
        "suspended"
    );
    let policies = find(&rows, "policies.changed");
    assert_eq!(policies.before["turnover_cap_amount"], 30_000_000);
    assert_eq!(policies.after["turnover_cap_amount"], 25_000_000);
    let bank = find(&rows, "merchant.bank_account_changed");
    assert_eq!(bank.after["account_number"], "******3210");
    assert!(
        !bank.before["account_number"]
            .as_str()
            .unwrap()
            .starts_with("12"),
        "account numbers are kept masked"
    );

    let report = peken_audit::verify(&app.state.db).await.unwrap();
    assert!(report.is_intact(), "{:?}", report.breaks);
    assert_eq!(report.rows, rows.len() as u64);
}

#[tokio::test]
async fn a_refused_action_leaves_no_audit_row() {
    let app = spawn_app().await;
    let shop = shop(&app, "toko_kelontong", "35.78.03.1001").await;
    let commodity_id = any_commodity(&app, None, None).await;
    let listing_id = shop.list(&app, &commodity_id, 10_000, 3).await;
    let before = audit_rows(&app).await.len();
    app.post(
        &format!(
            "/api/v1/merchants/{}/listings/{listing_id}/stock-movements",
            shop.id
        ),
        Some(&shop.owner.token),
        &json!({"kind": "adjustment", "quantity_delta": -4}),
    )
    .await
    .expect_problem(409, "out_of_stock");
    assert_eq!(audit_rows(&app).await.len(), before);
}

#[tokio::test]
async fn concurrent_stock_changes_stay_one_chain() {
    let app = spawn_app().await;
    let shop = shop(&app, "toko_kelontong", "35.78.03.1001").await;
    let commodity_id = any_commodity(&app, None, None).await;
    let listing_id = shop.list(&app, &commodity_id, 10_000, 0).await;
    let path = format!(
        "/api/v1/merchants/{}/listings/{listing_id}/stock-movements",
        shop.id
    );
    let body = json!({"kind": "restock", "quantity_delta": 1});
    let replies = futures_util::future::join_all(
        (0..30).map(|_| app.post(&path, Some(&shop.owner.token), &body)),
    )
    .await;
    assert!(replies.iter().all(|r| r.status.as_u16() == 201));
    let rows = audit_rows(&app).await;
    let mut stocks: Vec<i64> = rows
        .iter()
        .filter(|r| r.action == "listing.stock_changed")
        .map(|r| r.after["stock"].as_i64().unwrap())
        .collect();
    stocks.sort_unstable();
    assert_eq!(stocks, (1..=30).collect::<Vec<_>>());
    let report = peken_audit::verify(&app.state.db).await.unwrap();
    assert!(report.is_intact(), "{:?}", report.breaks);
}

#[tokio::test]
async fn verify_names_an_edited_and_a_deleted_row() {
    let app = spawn_app().await;
    restocked_listing(&app, 2).await;
    let rows = audit_rows(&app).await;
    let last = rows.last().unwrap().seq;
    let edited = last - 1;
    let db = &app.state.db;
    db.execute_unprepared(&format!(
        "UPDATE audit_log SET after_state = '{{\"stock\":999}}' WHERE seq = {edited}"
    ))
    .await
    .unwrap();
    let report = peken_audit::verify(db).await.unwrap();
    assert_eq!(report.breaks, vec![Break::Edited { seq: edited }]);

    db.execute_unprepared(&format!("DELETE FROM audit_log WHERE seq = {}", last - 2))
        .await
        .unwrap();
    let report = peken_audit::verify(db).await.unwrap();
    assert!(report.breaks.contains(&Break::Missing {
        from: last - 2,
        to: last - 2
    }));
    assert!(report.breaks.contains(&Break::Unlinked { seq: last - 1 }));
}

#[tokio::test]
async fn order_steps_of_shops_and_admins_and_treasury_decisions_are_recorded() {
    use crate::fixtures::orders::{buyer, cart, checkout, paid_order, shop_with_listing};
    let app = spawn_app().await;
    let admin = app.admin().await;
    let treasury = app.staff("treasury", None).await;
    let (shop, beras) = shop_with_listing(&app, 10_000, 20).await;
    let buyer = buyer(&app).await;

    // The shop accepts one order and rejects another (a refund); the buyer's own cancel of a
    // third is not an audited action.
    let (accepted, _, _) = paid_order(&app, &buyer, &beras, 1).await;
    let (rejected, _, amount) = paid_order(&app, &buyer, &beras, 2).await;
    let (cancelled, _, _) = paid_order(&app, &buyer, &beras, 1).await;
    let order_path = |id: &str, step: &str| format!("/api/v1/orders/{id}/{step}");
    app.post(
        &order_path(&accepted, "accept"),
        Some(&shop.owner.token),
        &json!({}),
    )
    .await
    .expect(200);
    app.post(
        &order_path(&rejected, "reject"),
        Some(&shop.owner.token),
        &json!({"reason": "stok rusak"}),
    )
    .await
    .expect(200);
    app.post(
        &order_path(&cancelled, "cancel"),
        Some(&buyer.token),
        &json!({}),
    )
    .await
    .expect(200);

    // Treasury approves a manual transfer proof and pays a refund back.
    let unpaid = checkout(&app, &buyer, "audit-proof", &cart(&[(&beras, 1)]))
        .await
        .expect(201);
    let payment_id = unpaid.body["payment"]["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/payments/{payment_id}/proof"),
        Some(&buyer.token),
        &json!({"transfer_reference": "TRF-AUDIT-1", "paid_at": chrono::Utc::now()}),
    )
    .await
    .expect(200);
    let second = app.staff("treasury", None).await;
    for approver in [&treasury, &second] {
        app.post(
            &format!("/api/v1/treasury/payments/{payment_id}/verification"),
            Some(&approver.token),
            &json!({"decision": "approve"}),
        )
        .await
        .expect(200);
    }
    let due = app
        .get("/api/v1/treasury/refunds?status=due", Some(&treasury.token))
        .await
        .expect(200);
    let refund = due.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["amount"] == amount)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post(
        &format!("/api/v1/treasury/refunds/{refund}/payment"),
        Some(&treasury.token),
        &json!({"reference": "TRF-REFUND-AUDIT"}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/treasury/refunds/{refund}/payment/approval"),
        Some(&second.token),
        &json!({}),
    )
    .await
    .expect(200);
    app.put(
        "/api/v1/admin/mandate-policies",
        Some(&admin.token),
        &json!({"position_class": "camat", "min_amount": 2_000_000, "effective_from": "2026-01"}),
    )
    .await
    .expect(200);

    let rows = audit_rows(&app).await;
    let accept = find(&rows, "order.accepted");
    assert_eq!(
        (accept.subject_id.as_str(), accept.actor_id.as_str()),
        (accepted.as_str(), shop.owner.id.as_str())
    );
    assert_eq!(accept.before["status"], "paid");
    assert_eq!(accept.after["status"], "accepted");
    let reject = find(&rows, "order.rejected");
    assert_eq!(reject.after["reason"], "stok rusak");
    assert!(
        rows.iter().all(|r| r.action != "order.cancelled"),
        "buyers' own steps are not in the audit log"
    );
    let proposal = find(&rows, "payment.proof_approval_proposed");
    assert_eq!(proposal.actor_id, treasury.id);
    assert_eq!(proposal.after["status"], "pending");
    assert_eq!(proposal.after["proof_status"], "approval_proposed");
    let proof = find(&rows, "payment.proof_approved");
    assert_eq!(proof.actor_role, "treasury");
    assert_eq!(proof.actor_id, second.id);
    assert_eq!(proof.before["status"], "pending");
    assert_eq!(proof.after["status"], "paid");
    assert_eq!(proof.after["transfer_reference"], "TRF-AUDIT-1");
    let proposed = find(&rows, "refund.payment_proposed");
    assert_eq!(proposed.actor_id, treasury.id);
    assert_eq!(proposed.after["reference"], "TRF-REFUND-AUDIT");
    let paid = find(&rows, "refund.paid");
    assert_eq!(paid.after["amount"], amount);
    assert_eq!(paid.actor_id, second.id);
    assert_eq!(paid.after["proposed_by"], treasury.id.as_str());
    let policy = find(&rows, "mandate_policy.set");
    assert_eq!(policy.subject_id, "camat@2026-01");
    assert_eq!(policy.before["min_amount"], Value::Null);
    assert_eq!(policy.after["min_amount"], 2_000_000);
    assert!(
        peken_audit::verify(&app.state.db)
            .await
            .unwrap()
            .is_intact()
    );
}

#[tokio::test]
async fn treasury_payout_and_reconciliation_steps_are_recorded() {
    use crate::fixtures::payouts::{
        app_at, csv_statement, item_of, merchant, owed, paid_batch, treasurers, utc,
    };
    let app = app_at(utc(2026, 3, 4, 3)).await;
    let (maker, checker) = treasurers(&app).await;
    let (m1, _) = merchant(&app, "toko_kelontong", "35.78.03.1001", None).await;
    let (m2, _) = merchant(&app, "toko_kelontong", "35.78.03.1001", None).await;
    owed(&app, "audit-o1", &m1, 120_000, utc(2026, 3, 2, 2)).await;
    owed(&app, "audit-o2", &m2, 64_000, utc(2026, 3, 2, 2)).await;
    let batch = paid_batch(&app, &maker, &checker, utc(2026, 3, 3, 0)).await;
    let failed_item = item_of(&batch, &m1)["id"].as_str().unwrap().to_owned();
    let matched_item = item_of(&batch, &m2)["id"].as_str().unwrap().to_owned();
    app.post(
        &format!("/api/v1/treasury/payout-items/{failed_item}/failure"),
        Some(&maker.token),
        &json!({"reason": "rekening ditutup"}),
    )
    .await
    .expect(200);
    let holds = app
        .get("/api/v1/treasury/payout-holds", Some(&maker.token))
        .await
        .expect(200);
    let hold = holds.body[0]["id"].as_str().unwrap().to_owned();
    app.post(
        &format!("/api/v1/treasury/payout-holds/{hold}/clearance"),
        Some(&checker.token),
        &json!({"note": "rekening baru"}),
    )
    .await
    .expect(200);
    // The returned money goes into a new draft, which is cancelled.
    let draft = app
        .post(
            "/api/v1/treasury/payout-batches",
            Some(&maker.token),
            &json!({"cutoff": utc(2026, 3, 4, 3).to_rfc3339()}),
        )
        .await
        .expect(201);
    let draft_id = draft.body["id"].as_str().unwrap().to_owned();
    app.post(
        &format!("/api/v1/treasury/payout-batches/{draft_id}/cancellation"),
        Some(&checker.token),
        &json!({}),
    )
    .await
    .expect(200);
    // A statement line without the reference, matched by hand with four eyes.
    app.post_raw(
        "/api/v1/treasury/bank-statements",
        Some(&maker.token),
        "text/csv",
        &csv_statement(&[("2026-03-04", "TRANSFER KELUAR", 64_000, 0)]),
    )
    .await
    .expect(201);
    let exceptions = app
        .get(
            "/api/v1/treasury/reconciliation/exceptions",
            Some(&maker.token),
        )
        .await
        .expect(200);
    let line = exceptions.body["unmatched_lines"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let proposal = app
        .post(
            "/api/v1/treasury/reconciliation/matches",
            Some(&maker.token),
            &json!({"statement_line_id": line, "payout_item_id": matched_item}),
        )
        .await
        .expect(201);
    let proposal_id = proposal.body["id"].as_str().unwrap().to_owned();
    app.post(
        &format!("/api/v1/treasury/reconciliation/matches/{proposal_id}/approval"),
        Some(&checker.token),
        &json!({}),
    )
    .await
    .expect(200);
    app.post(
        "/api/v1/treasury/daily-closes",
        Some(&checker.token),
        &json!({"date": "2026-03-04"}),
    )
    .await
    .expect(201);

    let all = audit_rows(&app).await;
    // The two treasury users were made by the admin: grants of powers, recorded first.
    let grants: Vec<&AuditRow> = all
        .iter()
        .filter(|r| r.action == "user.staff_created")
        .collect();
    assert_eq!(grants.len(), 2);
    assert!(
        grants
            .iter()
            .all(|g| g.after["role"] == "treasury" && g.actor_role == "admin")
    );
    let rows: Vec<&AuditRow> = all
        .iter()
        .filter(|r| r.action != "user.staff_created")
        .collect();
    let actions: Vec<&str> = rows.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "payout_batch.created",
            "payout_batch.approved",
            "payout_item.failed",
            "payout_hold.cleared",
            "payout_batch.created",
            "payout_batch.cancelled",
            "bank_statement.imported",
            "reconciliation_match.proposed",
            "reconciliation_match.approved",
            "daily_close.recorded",
        ]
    );
    assert!(rows.iter().all(|r| r.actor_role == "treasury"));
    let created = rows[0];
    assert_eq!(created.actor_id, maker.id);
    assert_eq!(created.after["total_amount"], 184_000);
    let approved = rows[1];
    assert_eq!(approved.actor_id, checker.id);
    assert_eq!(approved.subject_id, batch["id"].as_str().unwrap());
    assert_eq!(approved.before["status"], "draft");
    assert_eq!(approved.after["status"], "approved");
    let failed = rows[2];
    assert_eq!(failed.subject_id, failed_item);
    assert_eq!(failed.after["amount"], 120_000);
    assert_eq!(failed.after["reason"], "rekening ditutup");
    assert_eq!(rows[3].subject_id, hold);
    assert_eq!(rows[5].subject_id, draft_id);
    assert_eq!(rows[6].after["matched"], 0);
    assert_eq!(rows[8].after["payout_item_id"], matched_item.as_str());
    assert!(rows.iter().all(|r| r.request_id.is_some()));
    assert!(
        peken_audit::verify(&app.state.db)
            .await
            .unwrap()
            .is_intact()
    );
}

#[tokio::test]
async fn admins_and_treasury_read_the_log_newest_first_and_by_subject() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let treasury = app.staff("treasury", None).await;
    let (shop, listing_id) = restocked_listing(&app, 1).await;
    let query =
        format!("/api/v1/admin/audit-log?subject_type=listing&subject_id={listing_id}&limit=2");
    let first = app.get(&query, Some(&treasury.token)).await.expect(200);
    let items = first.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["action"], "listing.stock_changed");
    assert_eq!(items[0]["after"]["stock"], 6);
    assert_eq!(items[1]["after"]["stock"], 5);
    assert!(items[0]["seq"].as_i64() > items[1]["seq"].as_i64());
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let second = app
        .get(&format!("{query}&cursor={cursor}"), Some(&admin.token))
        .await
        .expect(200);
    let rest: Vec<&str> = second.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["action"].as_str().unwrap())
        .collect();
    assert_eq!(rest, ["listing.stock_changed", "listing.created"]);
    assert!(second.body["next_cursor"].is_null());
    app.get("/api/v1/admin/audit-log", Some(&shop.owner.token))
        .await
        .expect_problem(403, "forbidden");
}
