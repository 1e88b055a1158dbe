//! `GET /mandate/me/suggestion`: a basket that reaches the month's minimum.

use peken_kernel::clock::Clock;
use peken_tests::spawn_app;
use serde_json::{Value, json};

use crate::fixtures::orders::{any_commodity, buyer, paid_order, shop};

#[tokio::test]
async fn the_basket_covers_the_remaining_minimum_preferring_past_buys_and_quieter_shops() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let period = app.clock.now().format("%Y-%m").to_string();
    app.put(
        "/api/v1/admin/mandate-policies",
        Some(&admin.token),
        &json!({"position_class": "staf", "min_amount": 100_000, "effective_from": period}),
    )
    .await
    .expect(200);

    // Two shops in the buyer's kecamatan (Rungkut) and a cheaper one elsewhere.
    let busy = shop(&app, "toko_kelontong", "35.78.03.1001").await;
    let quiet = shop(&app, "toko_kelontong", "35.78.03.1003").await;
    let far = shop(&app, "toko_kelontong", "35.78.04.1001").await;
    let beras = busy
        .list(&app, &any_commodity(&app, None, None).await, 14_000, 4)
        .await;
    let gula = busy
        .list(&app, &any_commodity(&app, None, None).await, 10_000, 50)
        .await;
    let minyak = quiet
        .list(&app, &any_commodity(&app, None, Some(2)).await, 15_000, 50)
        .await;
    let murah = far
        .list(&app, &any_commodity(&app, None, None).await, 1_000, 500)
        .await;

    let me = buyer(&app).await;
    let before = app
        .get("/api/v1/mandate/me/suggestion", Some(&me.token))
        .await
        .expect(200);
    assert_eq!(before.body["remaining_amount"], 100_000);
    // Bought before: one kilo of beras at the busy shop (14,000 spent, 86,000 to go).
    paid_order(&app, &me, &beras, 1).await;

    let s = app
        .get("/api/v1/mandate/me/suggestion", Some(&me.token))
        .await
        .expect(200);
    assert_eq!(s.body["spent_amount"], 14_000);
    assert_eq!(s.body["remaining_amount"], 86_000);
    let lines: Vec<(String, i64, String)> = s.body["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                l["listing"]["listing_id"].as_str().unwrap().to_owned(),
                l["quantity"].as_i64().unwrap(),
                l["reason"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(
        lines,
        vec![
            // What was bought before first, as much as is left (3 of 4).
            (beras.clone(), 3, "bought_before".to_owned()),
            // Then the shop with less turnover this month, within the daily limit of 2.
            (minyak.clone(), 2, "staple".to_owned()),
            // Then the rest, rounded up to whole units.
            (gula.clone(), 2, "staple".to_owned()),
        ],
        "{}",
        s.text
    );
    assert_eq!(s.body["total"], 3 * 14_000 + 2 * 15_000 + 2 * 10_000);
    assert_eq!(s.body["covers_remaining"], true);
    assert!(
        !s.text.contains(&murah),
        "a shop outside the buyer's kecamatan is not offered"
    );
    let items: Vec<Value> = s.body["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 3);

    // The basket checks out as proposed.
    let placed = crate::fixtures::orders::checkout(
        &app,
        &me,
        "suggested",
        &json!({"items": items, "fulfilment": {"method": "pickup"}, "payment_method": "va"}),
    )
    .await
    .expect(201);
    assert_eq!(placed.body["payment"]["amount"], 92_000);

    // A public buyer has no mandate: the route is for civil servants.
    let public = app.public_buyer("35.78.03.1002").await;
    app.get("/api/v1/mandate/me/suggestion", Some(&public.token))
        .await
        .expect_problem(403, "forbidden");
}

#[tokio::test]
async fn nothing_is_suggested_once_the_minimum_is_reached() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let period = app.clock.now().format("%Y-%m").to_string();
    app.put(
        "/api/v1/admin/mandate-policies",
        Some(&admin.token),
        &json!({"position_class": "staf", "min_amount": 20_000, "effective_from": period}),
    )
    .await
    .expect(200);
    let s = shop(&app, "toko_kelontong", "35.78.03.1001").await;
    let beras = s
        .list(&app, &any_commodity(&app, None, None).await, 14_000, 10)
        .await;
    let me = buyer(&app).await;
    paid_order(&app, &me, &beras, 2).await;
    let done = app
        .get("/api/v1/mandate/me/suggestion", Some(&me.token))
        .await
        .expect(200);
    assert_eq!(done.body["remaining_amount"], 0);
    assert_eq!(done.body["lines"], json!([]));
    assert_eq!(done.body["covers_remaining"], true);
}
