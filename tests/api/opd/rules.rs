//! Duties and their separation, the budget line, text inputs, the certificate and racing
//! decisions.

use futures_util::future::join_all;
use peken_kernel::clock::Clock;
use peken_tests::spawn_app;
use serde_json::json;

use crate::fixtures::opd::{
    accepted_and_shipped, bill, billed_and_paid, budget, opd, opd_cart, opd_checkout, ordered,
    shop_listing,
};
use crate::fixtures::orders::stock_of;

#[tokio::test]
async fn the_opd_admin_grants_and_revokes_duties_and_each_step_checks_them() {
    let app = spawn_app().await;
    let o = opd(&app).await;
    let other = opd(&app).await;
    let buyer = o.staff(&app, &["buyer"]).await;
    let (_shop, listing) = shop_listing(&app, 10_000, 10).await;
    let order = ordered(&app, &buyer, &listing, 1).await;
    // A buyer only cannot approve, bill or sign.
    app.post(
        &format!("/api/v1/opd/orders/{order}/approval"),
        Some(&buyer.token),
        &json!({}),
    )
    .await
    .expect_problem(403, "duty_required");
    bill(&app, &buyer, &[&order])
        .await
        .expect_problem(403, "duty_required");
    // Revoking `buyer` stops the next checkout.
    let staff = app
        .get("/api/v1/opd/staff", Some(&o.admin.token))
        .await
        .expect(200);
    assert_eq!(staff.body[0]["duties"], json!(["buyer"]));
    let changed = app
        .put(
            &format!("/api/v1/opd/staff/{}/duties", buyer.id),
            Some(&o.admin.token),
            &json!({"duties": ["receiver"]}),
        )
        .await
        .expect(200);
    assert_eq!(changed.body["duties"], json!(["receiver"]));
    opd_checkout(&app, &buyer, &opd_cart(&[(&listing, 1)], &budget()))
        .await
        .expect_problem(403, "duty_required");
    app.put(
        &format!("/api/v1/opd/staff/{}/duties", buyer.id),
        Some(&o.admin.token),
        &json!({"duties": ["bendahara"]}),
    )
    .await
    .expect(422);
    // Another OPD's admin cannot touch this OPD's staff.
    app.put(
        &format!("/api/v1/opd/staff/{}/duties", buyer.id),
        Some(&other.admin.token),
        &json!({"duties": ["buyer"]}),
    )
    .await
    .expect_problem(404, "not_found");
    let audited = crate::fixtures::scalar(
        &app,
        "SELECT COUNT(*) AS n FROM audit_log WHERE action = 'opd.duties_changed'",
    )
    .await;
    assert_eq!(audited, 1);
}

#[tokio::test]
async fn whoever_ordered_may_not_approve() {
    let app = spawn_app().await;
    let o = opd(&app).await;
    let both = o.staff(&app, &["buyer", "ppk"]).await;
    let ppk = o.staff(&app, &["ppk"]).await;
    let (_shop, listing) = shop_listing(&app, 10_000, 10).await;
    let order = ordered(&app, &both, &listing, 1).await;
    for step in ["approval", "rejection"] {
        app.post(
            &format!("/api/v1/opd/orders/{order}/{step}"),
            Some(&both.token),
            &json!({"reason": "x"}),
        )
        .await
        .expect_problem(403, "orderer_cannot_approve");
    }
    app.post(
        &format!("/api/v1/opd/orders/{order}/approval"),
        Some(&ppk.token),
        &json!({}),
    )
    .await
    .expect(200);
}

#[tokio::test]
async fn whoever_paid_may_not_sign_the_bast() {
    let app = spawn_app().await;
    let o = opd(&app).await;
    o.threshold(&app, 1_000_000).await;
    let buyer = o.staff(&app, &["buyer"]).await;
    let payer = o.staff(&app, &["treasurer", "receiver"]).await;
    let receiver = o.staff(&app, &["receiver"]).await;
    let (shop, listing) = shop_listing(&app, 10_000, 10).await;
    let order = ordered(&app, &buyer, &listing, 1).await;
    billed_and_paid(&app, &payer, &order).await;
    accepted_and_shipped(&app, &shop, &order).await;
    let today = peken_kernel::period::wib_date(app.clock.now());
    app.post(
        &format!("/api/v1/opd/orders/{order}/bast"),
        Some(&payer.token),
        &json!({"receipt_date": today}),
    )
    .await
    .expect_problem(403, "payer_cannot_receive");
    app.post(
        &format!("/api/v1/opd/orders/{order}/bast"),
        Some(&receiver.token),
        &json!({"receipt_date": today.succ_opt().unwrap()}),
    )
    .await
    .expect(422);
    app.post(
        &format!("/api/v1/opd/orders/{order}/bast"),
        Some(&receiver.token),
        &json!({"receipt_date": today}),
    )
    .await
    .expect(200);
}

#[tokio::test]
async fn budget_lines_are_checked_by_pattern_and_text_inputs_refuse_control_characters() {
    let app = spawn_app().await;
    let o = opd(&app).await;
    let buyer = o.staff(&app, &["buyer"]).await;
    let (_shop, listing) = shop_listing(&app, 10_000, 10).await;
    for (sub, account, field, code) in [
        (
            "1.02.02.2.01.001",
            "5.1.02.01.01.0024",
            "budget.sub_kegiatan",
            "invalid_sub_kegiatan",
        ),
        (
            "1.02.02.2.01.000A",
            "5.1.02.01.01.0024",
            "budget.sub_kegiatan",
            "invalid_sub_kegiatan",
        ),
        (
            "1.02.02.2.01.0001",
            "4.1.02.01.01.0024",
            "budget.account_code",
            "invalid_account_code",
        ),
        (
            "1.02.02.2.01.0001",
            "5.1.2.01.01.0024",
            "budget.account_code",
            "invalid_account_code",
        ),
    ] {
        let body = opd_cart(
            &[(&listing, 1)],
            &json!({"sub_kegiatan": sub, "account_code": account, "purpose": "Rapat"}),
        );
        let r = opd_checkout(&app, &buyer, &body).await.expect(422);
        assert!(
            r.field_codes()
                .contains(&(field.to_owned(), code.to_owned())),
            "{sub} {account}: {:?}",
            r.field_codes()
        );
    }
    // NUL and other control characters, on both databases.
    for purpose in ["Rapat\u{0}", "Rapat\u{1b}[31m"] {
        let body = opd_cart(
            &[(&listing, 1)],
            &json!({"sub_kegiatan": "1.02.02.2.01.0001", "account_code": "5.1.02.01.01.0024",
                    "purpose": purpose}),
        );
        opd_checkout(&app, &buyer, &body)
            .await
            .expect_problem(422, "control_character");
    }
    let order = ordered(&app, &buyer, &listing, 1).await;
    let ppk = o.staff(&app, &["ppk"]).await;
    app.post(
        &format!("/api/v1/opd/orders/{order}/rejection"),
        Some(&ppk.token),
        &json!({"reason": "tidak\u{0}"}),
    )
    .await
    .expect_problem(422, "control_character");
    app.post(
        "/api/v1/opd/staff",
        Some(&o.admin.token),
        &json!({"name": "Staf\u{7}", "email": "x@pemkot.test", "password": "correct-horse-battery"}),
    )
    .await
    .expect_problem(422, "control_character");
    assert_eq!(stock_of(&app, &listing).await, 9, "nothing half-written");
}

#[tokio::test]
async fn the_final_tax_needs_a_verified_certificate_valid_on_the_bill_day() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let o = opd(&app).await;
    o.threshold(&app, 100_000_000).await;
    let staff = o.staff(&app, &["buyer", "treasurer"]).await;
    // 2,000,100 × 0.5% = 10,000.5 → 10,001; × 1.5% = 30,001.5 → 30,002.
    let (shop, listing) = shop_listing(&app, 2_000_100, 20).await;
    let today = peken_kernel::period::wib_date(app.clock.now());
    let certificate = |from: chrono::NaiveDate, until: chrono::NaiveDate| json!({"number": "S-123/PP55/WPJ.11/2026", "valid_from": from, "valid_until": until});
    let put = |body: serde_json::Value| {
        let app = &app;
        let token = shop.owner.token.clone();
        let id = shop.id.clone();
        async move {
            app.put(
                &format!("/api/v1/merchants/{id}/tax-certificate"),
                Some(&token),
                &body,
            )
            .await
            .expect(200)
        }
    };
    let verify = |verified: bool| {
        let app = &app;
        let token = admin.token.clone();
        let id = shop.id.clone();
        async move {
            app.post(
                &format!("/api/v1/admin/merchants/{id}/tax-certificate/verification"),
                Some(&token),
                &json!({"verified": verified}),
            )
            .await
            .expect(200)
        }
    };
    let withheld = |kind: &'static str, amount: i64| {
        let app = &app;
        let staff = &staff;
        let listing = listing.clone();
        async move {
            let order = ordered(app, staff, &listing, 1).await;
            let b = bill(app, staff, &[&order]).await.expect(201).body;
            assert_eq!(b["orders"][0]["withholding_kind"], kind);
            assert_eq!(b["withheld_amount"], amount);
        }
    };
    // No certificate: PPh 22.
    withheld("pph22", 30_002).await;
    // Recorded but not verified: still PPh 22.
    put(certificate(today, today + chrono::Duration::days(365))).await;
    withheld("pph22", 30_002).await;
    // Verified and valid today: final.
    verify(true).await;
    withheld("pph_final", 10_001).await;
    // Cleared: PPh 22 again.
    verify(false).await;
    withheld("pph22", 30_002).await;
    // Verified but expired yesterday: PPh 22.
    put(certificate(
        today - chrono::Duration::days(365),
        today - chrono::Duration::days(1),
    ))
    .await;
    verify(true).await;
    withheld("pph22", 30_002).await;
    // Another shop cannot record this shop's certificate.
    let (other, _) = shop_listing(&app, 1_000, 1).await;
    app.put(
        &format!("/api/v1/merchants/{}/tax-certificate", shop.id),
        Some(&other.owner.token),
        &certificate(today, today),
    )
    .await
    .expect_problem(404, "not_found");
}

#[tokio::test]
async fn two_ppk_decisions_racing_on_one_order_have_one_winner() {
    let app = spawn_app().await;
    let o = opd(&app).await;
    let buyer = o.staff(&app, &["buyer"]).await;
    let ppks = [o.staff(&app, &["ppk"]).await, o.staff(&app, &["ppk"]).await];
    let (_shop, listing) = shop_listing(&app, 10_000, 100).await;
    for round in 0..6 {
        let order = ordered(&app, &buyer, &listing, 1).await;
        let attempts = (0..4).map(|i| {
            let app = &app;
            let order = order.clone();
            let token = ppks[i % 2].token.clone();
            // Rounds alternate two approvals with an approval and a rejection.
            let reject = round % 2 == 1 && i % 2 == 1;
            async move {
                if reject {
                    app.post(
                        &format!("/api/v1/opd/orders/{order}/rejection"),
                        Some(&token),
                        &json!({"reason": "dibatalkan"}),
                    )
                    .await
                } else {
                    app.post(
                        &format!("/api/v1/opd/orders/{order}/approval"),
                        Some(&token),
                        &json!({}),
                    )
                    .await
                }
            }
        });
        let replies = join_all(attempts).await;
        let won = replies.iter().filter(|r| r.status.as_u16() == 200).count();
        assert_eq!(won, 1, "round {round}: exactly one decision wins");
        for r in replies.iter().filter(|r| r.status.as_u16() != 200) {
            assert!(
                matches!(r.status.as_u16(), 409 | 503),
                "round {round}: {} {}",
                r.status,
                r.code()
            );
        }
    }
    let events = crate::fixtures::scalar(
        &app,
        "SELECT COUNT(*) AS n FROM order_events WHERE from_status = 'awaiting_approval'",
    )
    .await;
    assert_eq!(events, 6, "one decision per order");
    let expected_stock = 100 - 6
        + crate::fixtures::scalar(
            &app,
            "SELECT COUNT(*) AS n FROM orders WHERE status = 'cancelled'",
        )
        .await;
    assert_eq!(stock_of(&app, &listing).await, expected_stock);
}
