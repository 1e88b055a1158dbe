//! What one buyer may hold without paying, and how transfer proofs are bounded: a limit of
//! unpaid checkouts and reserved units per buyer, proofs only before the bill expires, a proof
//! wait that ends, and two treasury users to mark a bill paid by a proof.

use chrono::Duration;
use futures_util::future::join_all;
use peken_tests::{Options, TestApp, spawn_app_with};
use serde_json::json;

use crate::fixtures::orders::{
    buyer, cart, checkout, movements_sum, refreshed, shop_with_listing, stock_of,
};

async fn app_with_limits(unpaid: u32, units: u32) -> TestApp {
    spawn_app_with(Options {
        vars: vec![
            (
                "PEKEN_UNPAID_CHECKOUTS_PER_BUYER".into(),
                unpaid.to_string(),
            ),
            ("PEKEN_RESERVED_UNITS_PER_BUYER".into(), units.to_string()),
            ("PEKEN_PAYMENT_PROOF_WAIT_SECONDS".into(), "86400".into()),
        ],
        ..Options::default()
    })
    .await
}

fn proof_body() -> serde_json::Value {
    json!({"transfer_reference": "TRF-4455", "paid_at": chrono::Utc::now() - Duration::hours(1)})
}

#[tokio::test]
async fn one_buyer_cannot_keep_a_listing_from_others_past_the_reservation_window() {
    let app = app_with_limits(2, 4).await;
    let (_shop, beras) = shop_with_listing(&app, 10_000, 6).await;
    let hoarder = buyer(&app).await;
    let other = buyer(&app).await;
    checkout(&app, &hoarder, "h1", &cart(&[(&beras, 2)]))
        .await
        .expect(201);
    // More units than the buyer may hold: refused, nothing reserved.
    checkout(&app, &hoarder, "h2", &cart(&[(&beras, 3)]))
        .await
        .expect_problem(409, "too_many_reserved_units");
    let held = checkout(&app, &hoarder, "h3", &cart(&[(&beras, 2)]))
        .await
        .expect(201);
    // A third open bill: refused, though the units would fit.
    checkout(&app, &hoarder, "h4", &cart(&[(&beras, 1)]))
        .await
        .expect_problem(409, "too_many_unpaid_checkouts");
    assert_eq!(stock_of(&app, &beras).await, 2, "the rest stays for others");
    checkout(&app, &other, "o1", &cart(&[(&beras, 2)]))
        .await
        .expect(201);

    // A proof for the second bill keeps it past the reservation window, until the proof wait.
    let held_payment = held.body["payment"]["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/payments/{held_payment}/proof"),
        Some(&hoarder.token),
        &proof_body(),
    )
    .await
    .expect(200);
    app.clock.advance(Duration::minutes(121));
    let hoarder = refreshed(&app, &hoarder).await;
    peken_order::workers::run_once(&app.state).await.unwrap();
    assert_eq!(
        stock_of(&app, &beras).await,
        4,
        "the unpaid bills gave their units back after the reservation window"
    );
    // The proof waited its day: no treasury decision, so the bill expires too.
    app.clock.advance(Duration::hours(21));
    peken_order::workers::run_once(&app.state).await.unwrap();
    assert_eq!(
        stock_of(&app, &beras).await,
        4,
        "the proof wait has not ended"
    );
    app.clock.advance(Duration::hours(2));
    let hoarder = refreshed(&app, &hoarder).await;
    peken_order::workers::run_once(&app.state).await.unwrap();
    assert_eq!(stock_of(&app, &beras).await, 6);
    assert_eq!(movements_sum(&app, &beras).await, 6);
    let bill = app
        .get(
            &format!("/api/v1/payments/{held_payment}"),
            Some(&hoarder.token),
        )
        .await
        .expect(200);
    assert_eq!(bill.body["status"], "expired");
    // A proof after expiry is refused; so is a new proof for a bill past its time.
    app.post(
        &format!("/api/v1/payments/{held_payment}/proof"),
        Some(&hoarder.token),
        &proof_body(),
    )
    .await
    .expect_problem(409, "payment_not_pending");
}

#[tokio::test]
async fn a_proof_is_taken_only_before_the_bill_expires() {
    let app = app_with_limits(5, 100).await;
    let (_shop, beras) = shop_with_listing(&app, 10_000, 5).await;
    let buyer = buyer(&app).await;
    let bill = checkout(&app, &buyer, "late", &cart(&[(&beras, 1)]))
        .await
        .expect(201);
    let payment_id = bill.body["payment"]["id"].as_str().unwrap();
    // Past its time, before any worker expired it.
    app.clock.advance(Duration::minutes(121));
    let buyer = refreshed(&app, &buyer).await;
    app.post(
        &format!("/api/v1/payments/{payment_id}/proof"),
        Some(&buyer.token),
        &proof_body(),
    )
    .await
    .expect_problem(409, "payment_expired");
    assert_eq!(peken_order::workers::run_once(&app.state).await.unwrap(), 1);
    assert_eq!(stock_of(&app, &beras).await, 5);
}

#[tokio::test]
async fn one_buyers_simultaneous_checkouts_stop_at_the_limit() {
    let app = app_with_limits(3, 1_000).await;
    let (_shop, beras) = shop_with_listing(&app, 10_000, 50).await;
    let buyer = buyer(&app).await;
    let body = cart(&[(&beras, 1)]);
    let attempts = (0..12).map(|i| {
        let (app, buyer, body) = (&app, &buyer, &body);
        async move { checkout(app, buyer, &format!("rush-{i}"), body).await }
    });
    let replies = join_all(attempts).await;
    let placed = replies.iter().filter(|r| r.status.as_u16() == 201).count();
    let refused = replies
        .iter()
        .filter(|r| r.status.as_u16() == 409 && r.code() == "too_many_unpaid_checkouts")
        .count();
    assert_eq!((placed, refused), (3, 9));
    assert_eq!(stock_of(&app, &beras).await, 47);
}

#[tokio::test]
async fn a_transfer_proof_marks_the_bill_paid_only_with_a_second_treasury_user() {
    let app = app_with_limits(5, 100).await;
    let (_shop, beras) = shop_with_listing(&app, 10_000, 5).await;
    let buyer = buyer(&app).await;
    let first = app.staff("treasury", None).await;
    let second = app.staff("treasury", None).await;
    let bill = checkout(&app, &buyer, "p1", &cart(&[(&beras, 2)]))
        .await
        .expect(201);
    let payment_id = bill.body["payment"]["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/payments/{payment_id}/proof"),
        Some(&buyer.token),
        &proof_body(),
    )
    .await
    .expect(200);
    let path = format!("/api/v1/treasury/payments/{payment_id}/verification");
    let approve = json!({"decision": "approve"});
    let proposed = app
        .post(&path, Some(&first.token), &approve)
        .await
        .expect(200);
    assert_eq!(proposed.body["outcome"], "approval_proposed");
    assert_eq!(proposed.body["payment"]["status"], "pending");
    assert_eq!(proposed.body["payment"]["proof_proposed_by"], first.id);
    // The same user approving again does not make two pairs of eyes.
    app.post(&path, Some(&first.token), &approve)
        .await
        .expect_problem(403, "four_eyes_required");
    let paid = app
        .get(
            &format!("/api/v1/payments/{payment_id}"),
            Some(&buyer.token),
        )
        .await
        .expect(200);
    assert_eq!(
        paid.body["status"], "pending",
        "one user alone marks nothing paid"
    );
    let done = app
        .post(&path, Some(&second.token), &approve)
        .await
        .expect(200);
    assert_eq!(done.body["outcome"], "applied");
    assert_eq!(done.body["payment"]["status"], "paid");

    // A proposal may still be rejected by either; then nothing is paid.
    let other = checkout(&app, &buyer, "p2", &cart(&[(&beras, 1)]))
        .await
        .expect(201);
    let other_id = other.body["payment"]["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/payments/{other_id}/proof"),
        Some(&buyer.token),
        &json!({"transfer_reference": "TRF-4456", "paid_at": chrono::Utc::now()}),
    )
    .await
    .expect(200);
    let other_path = format!("/api/v1/treasury/payments/{other_id}/verification");
    app.post(&other_path, Some(&first.token), &approve)
        .await
        .expect(200);
    let rejected = app
        .post(
            &other_path,
            Some(&second.token),
            &json!({"decision": "reject"}),
        )
        .await
        .expect(200);
    assert_eq!(rejected.body["payment"]["proof_status"], "rejected");
    assert_eq!(rejected.body["payment"]["status"], "pending");
    app.post(&other_path, Some(&first.token), &approve)
        .await
        .expect_problem(409, "no_proof_to_verify");
}
