//! The OPD flow end to end: the threshold, approval, the bill net of withholding, the BAST and
//! the shop's payable; expiry; another OPD's orders.

use peken_kernel::clock::Clock;
use peken_tests::spawn_app;
use serde_json::json;

use crate::fixtures::opd::{
    accepted_and_shipped, bill, billed_and_paid, budget, opd, opd_cart, opd_checkout, ordered,
    shop_listing,
};
use crate::fixtures::orders::{movements_sum, refreshed, stock_of};

#[tokio::test]
async fn below_the_threshold_skips_approval_above_it_waits() {
    let app = spawn_app().await;
    let o = opd(&app).await;
    o.threshold(&app, 100_000).await;
    let buyer = o.staff(&app, &["buyer"]).await;
    let (_shop, listing) = shop_listing(&app, 50_000, 10).await;
    // Exactly the threshold: no approval.
    let at = opd_checkout(&app, &buyer, &opd_cart(&[(&listing, 2)], &budget()))
        .await
        .expect(201);
    assert_eq!(at.body["orders"][0]["status"], "awaiting_payment");
    assert!(at.body.get("payment").is_none(), "no bill at checkout");
    // One unit more: above it.
    let above = opd_checkout(&app, &buyer, &opd_cart(&[(&listing, 3)], &budget()))
        .await
        .expect(201);
    assert_eq!(above.body["orders"][0]["status"], "awaiting_approval");
    let id = above.body["orders"][0]["id"].as_str().unwrap();
    let view = app
        .get(&format!("/api/v1/opd/orders/{id}"), Some(&o.admin.token))
        .await
        .expect(200);
    assert_eq!(view.body["purchase"]["approval_required"], true);
    assert_eq!(view.body["purchase"]["ordered_by"], buyer.id.as_str());
    assert_eq!(
        view.body["purchase"]["budget"]["account_code"],
        "5.1.02.01.01.0024"
    );
    assert_eq!(
        stock_of(&app, &listing).await,
        5,
        "both carts hold their stock"
    );
}

#[tokio::test]
async fn a_rejection_needs_a_reason_and_releases_the_stock() {
    let app = spawn_app().await;
    let o = opd(&app).await;
    let buyer = o.staff(&app, &["buyer"]).await;
    let ppk = o.staff(&app, &["ppk"]).await;
    let (_shop, listing) = shop_listing(&app, 10_000, 10).await;
    let order = ordered(&app, &buyer, &listing, 4).await;
    assert_eq!(stock_of(&app, &listing).await, 6);
    app.post(
        &format!("/api/v1/opd/orders/{order}/rejection"),
        Some(&ppk.token),
        &json!({"reason": "  "}),
    )
    .await
    .expect(422);
    let r = app
        .post(
            &format!("/api/v1/opd/orders/{order}/rejection"),
            Some(&ppk.token),
            &json!({"reason": "Anggaran belum tersedia"}),
        )
        .await
        .expect(200);
    assert_eq!(r.body["order"]["status"], "cancelled");
    assert_eq!(r.body["purchase"]["rejected_by"], ppk.id.as_str());
    assert_eq!(
        r.body["purchase"]["rejection_reason"],
        "Anggaran belum tersedia"
    );
    assert_eq!(stock_of(&app, &listing).await, 10);
    assert_eq!(movements_sum(&app, &listing).await, 10);
    // Decided once.
    app.post(
        &format!("/api/v1/opd/orders/{order}/approval"),
        Some(&ppk.token),
        &json!({}),
    )
    .await
    .expect_problem(409, "invalid_transition");
}

#[tokio::test]
async fn an_order_nobody_approves_expires_and_returns_its_stock() {
    let app = spawn_app().await;
    let o = opd(&app).await;
    let buyer = o.staff(&app, &["buyer"]).await;
    let (_shop, listing) = shop_listing(&app, 10_000, 10).await;
    let order = ordered(&app, &buyer, &listing, 3).await;
    peken_order::workers::run_once(&app.state).await.unwrap();
    assert_eq!(stock_of(&app, &listing).await, 7, "not due yet");
    // Five working days and a weekend later at most: ten calendar days are past any due time.
    app.clock.advance(chrono::Duration::days(10));
    peken_order::workers::run_once(&app.state).await.unwrap();
    let admin = refreshed(&app, &o.admin).await;
    let view = app
        .get(&format!("/api/v1/opd/orders/{order}"), Some(&admin.token))
        .await
        .expect(200);
    assert_eq!(view.body["order"]["status"], "cancelled");
    assert_eq!(stock_of(&app, &listing).await, 10);
    assert_eq!(movements_sum(&app, &listing).await, 10);
}

#[tokio::test]
async fn approved_billed_net_of_pph22_and_completed_by_the_bast() {
    let app = spawn_app().await;
    let o = opd(&app).await;
    let buyer = o.staff(&app, &["buyer"]).await;
    let ppk = o.staff(&app, &["ppk"]).await;
    let treasurer = o.staff(&app, &["treasurer"]).await;
    let receiver = o.staff(&app, &["receiver"]).await;
    // 3 × 1,000,050 = 3,000,150; PPh 22 1.5% = 45,002.25 → 45,002.
    let (shop, listing) = shop_listing(&app, 1_000_050, 10).await;
    let order = ordered(&app, &buyer, &listing, 3).await;
    // Not approved yet: not billable.
    bill(&app, &treasurer, &[&order])
        .await
        .expect_problem(409, "orders_not_billable");
    let approved = app
        .post(
            &format!("/api/v1/opd/orders/{order}/approval"),
            Some(&ppk.token),
            &json!({}),
        )
        .await
        .expect(200);
    assert_eq!(approved.body["order"]["status"], "awaiting_payment");
    assert_eq!(approved.body["purchase"]["approved_by"], ppk.id.as_str());
    let bill_body = billed_and_paid(&app, &treasurer, &order).await;
    assert_eq!(bill_body["total_amount"], 3_000_150);
    assert_eq!(bill_body["withheld_amount"], 45_002);
    assert_eq!(bill_body["payment"]["amount"], 3_000_150 - 45_002);
    assert_eq!(bill_body["orders"][0]["withholding_kind"], "pph22");
    // Billed once.
    bill(&app, &treasurer, &[&order])
        .await
        .expect_problem(409, "orders_not_billable");
    accepted_and_shipped(&app, &shop, &order).await;
    // Shipped OPD orders wait for their BAST: the confirmation window does not complete them.
    app.clock.advance(chrono::Duration::days(4));
    peken_order::workers::run_once(&app.state).await.unwrap();
    let receiver = refreshed(&app, &receiver).await;
    let owner = refreshed(&app, &shop.owner).await;
    let waiting = app
        .get(
            "/api/v1/opd/orders?awaiting_bast=true",
            Some(&receiver.token),
        )
        .await
        .expect(200);
    assert_eq!(waiting.body["items"][0]["id"], order.as_str());
    let today = peken_kernel::period::wib_date(app.clock.now());
    let done = app
        .post(
            &format!("/api/v1/opd/orders/{order}/bast"),
            Some(&receiver.token),
            &json!({"receipt_date": today, "note": "Barang lengkap"}),
        )
        .await
        .expect(200);
    assert_eq!(done.body["order"]["status"], "completed");
    assert_eq!(
        done.body["purchase"]["bast_signed_by"],
        receiver.id.as_str()
    );
    assert_eq!(done.body["purchase"]["billed_by"], treasurer.id.as_str());
    assert_eq!(done.body["withholding"]["amount"], 45_002);
    let payable =
        peken_ledger::read::balance_of(&app.state.db, &format!("merchant_payable:{}", shop.id))
            .await
            .unwrap();
    assert_eq!(
        payable.abs(),
        3_000_150 - 45_002,
        "the shop is owed the total less the withholding"
    );
    let tax = peken_ledger::read::balance_of(&app.state.db, "tax_withheld")
        .await
        .unwrap();
    assert_eq!(tax, 0, "withheld at payment, settled at completion");
    let funds = peken_ledger::read::balance_of(&app.state.db, "buyer_funds_held")
        .await
        .unwrap();
    assert_eq!(funds, 0);
    assert!(
        peken_ledger::read::check(&app.state.db)
            .await
            .unwrap()
            .is_sound()
    );
    // The shop sees the order marked as the OPD's purchase.
    let shop_view = app
        .get(&format!("/api/v1/orders/{order}"), Some(&owner.token))
        .await
        .expect(200);
    assert_eq!(shop_view.body["opd_purchase"]["opd_id"], o.id.as_str());
}

#[tokio::test]
async fn a_rejected_paid_order_gives_back_what_was_paid_and_reverses_the_withholding() {
    let app = spawn_app().await;
    let o = opd(&app).await;
    o.threshold(&app, 10_000_000).await;
    let staff = o.staff(&app, &["buyer", "treasurer"]).await;
    let (shop, listing) = shop_listing(&app, 2_500_000, 5).await;
    let order = ordered(&app, &staff, &listing, 1).await;
    let bill_body = billed_and_paid(&app, &staff, &order).await;
    // 2,500,000 × 1.5% = 37,500.
    assert_eq!(bill_body["withheld_amount"], 37_500);
    app.post(
        &format!("/api/v1/orders/{order}/reject"),
        Some(&shop.owner.token),
        &json!({"reason": "stok rusak"}),
    )
    .await
    .expect(200);
    let refund = crate::fixtures::scalar(
        &app,
        &format!("SELECT amount AS n FROM refunds WHERE order_id = '{order}'"),
    )
    .await;
    assert_eq!(refund, 2_500_000 - 37_500);
    for account in ["tax_withheld", "buyer_funds_held"] {
        assert_eq!(
            peken_ledger::read::balance_of(&app.state.db, account)
                .await
                .unwrap(),
            0,
            "{account}"
        );
    }
    assert!(
        peken_ledger::read::check(&app.state.db)
            .await
            .unwrap()
            .is_sound()
    );
}

#[tokio::test]
async fn another_opds_orders_are_not_found() {
    let app = spawn_app().await;
    let mine = opd(&app).await;
    let theirs = opd(&app).await;
    let buyer = mine.staff(&app, &["buyer"]).await;
    let stranger = theirs
        .staff(&app, &["buyer", "ppk", "receiver", "treasurer"])
        .await;
    let (_shop, listing) = shop_listing(&app, 10_000, 10).await;
    let order = ordered(&app, &buyer, &listing, 1).await;
    for (method, path) in [
        ("GET", format!("/api/v1/opd/orders/{order}")),
        ("POST", format!("/api/v1/opd/orders/{order}/approval")),
    ] {
        let r = if method == "GET" {
            app.get(&path, Some(&theirs.admin.token)).await
        } else {
            app.post(&path, Some(&stranger.token), &json!({})).await
        };
        r.expect_problem(404, "not_found");
    }
    bill(&app, &stranger, &[&order])
        .await
        .expect_problem(404, "not_found");
    let list = app
        .get("/api/v1/opd/orders", Some(&theirs.admin.token))
        .await
        .expect(200);
    assert_eq!(list.body["items"].as_array().unwrap().len(), 0);
    let own = app
        .get("/api/v1/opd/orders", Some(&mine.admin.token))
        .await
        .expect(200);
    assert_eq!(own.body["items"][0]["id"], order.as_str());
}

#[tokio::test]
async fn a_bill_left_unpaid_expires_and_leaves_no_slip() {
    let app = spawn_app().await;
    let o = opd(&app).await;
    o.threshold(&app, 100_000_000).await;
    let staff = o.staff(&app, &["buyer", "treasurer"]).await;
    let (_shop, listing) = shop_listing(&app, 2_500_000, 5).await;
    let order = ordered(&app, &staff, &listing, 1).await;
    let b = bill(&app, &staff, &[&order]).await.expect(201).body;
    assert_eq!(b["withheld_amount"], 37_500);
    assert_eq!(stock_of(&app, &listing).await, 4);
    app.clock.advance(chrono::Duration::days(15));
    peken_order::workers::run_once(&app.state).await.unwrap();
    let admin = refreshed(&app, &o.admin).await;
    let view = app
        .get(&format!("/api/v1/opd/orders/{order}"), Some(&admin.token))
        .await
        .expect(200);
    assert_eq!(view.body["order"]["status"], "cancelled");
    assert!(view.body.get("withholding").is_none());
    assert_eq!(stock_of(&app, &listing).await, 5);
    assert_eq!(
        crate::fixtures::scalar(&app, "SELECT COUNT(*) AS n FROM tax_withholdings").await,
        0
    );
}
