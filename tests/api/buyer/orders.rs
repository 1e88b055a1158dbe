//! Order lists by date, the timeline, and "buy again".

use chrono::Duration;
use peken_tests::spawn_app;
use serde_json::json;

use crate::fixtures::orders::{buyer, cart, checkout, paid_order, refreshed, shop_with_listing};

#[tokio::test]
async fn orders_filter_by_wib_day_and_the_timeline_is_the_orders_own() {
    let app = spawn_app().await;
    let (_shop, listing) = shop_with_listing(&app, 10_000, 50).await;
    let me = buyer(&app).await;
    let first = checkout(&app, &me, "day-1", &cart(&[(&listing, 1)]))
        .await
        .expect(201);
    let first_id = first.body["orders"][0]["id"].as_str().unwrap().to_owned();
    // The WIB day of the checkout (not of its bill's expiry, which late in the evening falls
    // on the next day).
    let day_one = peken_kernel::period::wib_date(peken_kernel::clock::Clock::now(&app.clock));
    app.clock.advance(Duration::days(2));
    let me = refreshed(&app, &me).await;
    let second = checkout(&app, &me, "day-3", &cart(&[(&listing, 1)]))
        .await
        .expect(201);
    let second_id = second.body["orders"][0]["id"].as_str().unwrap().to_owned();
    let t = Some(me.token.as_str());

    let ids = |reply: &peken_tests::Reply| -> Vec<String> {
        reply.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["id"].as_str().unwrap().to_owned())
            .collect()
    };
    let all = app.get("/api/v1/orders", t).await.expect(200);
    assert_eq!(ids(&all).len(), 2);
    let only_first = app
        .get(&format!("/api/v1/orders?from={day_one}&to={day_one}"), t)
        .await
        .expect(200);
    assert_eq!(ids(&only_first), vec![first_id.clone()]);
    let later = day_one + Duration::days(1);
    let only_second = app
        .get(&format!("/api/v1/orders?from={later}"), t)
        .await
        .expect(200);
    assert_eq!(ids(&only_second), vec![second_id.clone()]);
    let before = app
        .get(&format!("/api/v1/orders?to={later}&status=cancelled"), t)
        .await
        .expect(200);
    assert!(ids(&before).iter().all(|id| id == &first_id));
    app.get(&format!("/api/v1/orders?from={later}&to={day_one}"), t)
        .await
        .expect_problem(422, "validation_failed");
    app.get("/api/v1/orders?from=yesterday", t)
        .await
        .expect_problem(400, "invalid_query");

    let events = app
        .get(&format!("/api/v1/orders/{first_id}/events"), t)
        .await
        .expect(200);
    let statuses: Vec<&str> = events
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["to_status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses.first(), Some(&"awaiting_payment"));
    let other = buyer(&app).await;
    app.get(
        &format!("/api/v1/orders/{first_id}/events"),
        Some(&other.token),
    )
    .await
    .expect_problem(404, "not_found");
}

#[tokio::test]
async fn reorder_proposes_the_lines_at_todays_price_and_stock() {
    let app = spawn_app().await;
    let (shop, beras) = shop_with_listing(&app, 14_000, 20).await;
    let gula_c = crate::fixtures::orders::any_commodity(&app, None, None).await;
    let gula = shop.list(&app, &gula_c, 17_000, 10).await;
    let me = buyer(&app).await;
    let (order_id, _, _) = paid_order(&app, &me, &beras, 3).await;

    let same = app
        .post(
            &format!("/api/v1/orders/{order_id}/reorder"),
            Some(&me.token),
            &json!({}),
        )
        .await
        .expect(200);
    assert_eq!(same.body["unchanged"], true, "{}", same.text);
    assert_eq!(
        same.body["items"],
        json!([{"listing_id": beras, "quantity": 3}])
    );
    assert_eq!(same.body["total"], 42_000);

    // The shop raises the price and sells most of the stock; a second order's line goes off sale.
    let (second, _, _) = paid_order(&app, &me, &gula, 2).await;
    let owner = Some(shop.owner.token.as_str());
    app.patch(
        &format!("/api/v1/merchants/{}/listings/{beras}", shop.id),
        owner,
        &json!({"price": 15_000}),
    )
    .await
    .expect(200);
    app.post(
        &format!(
            "/api/v1/merchants/{}/listings/{beras}/stock-movements",
            shop.id
        ),
        owner,
        &json!({"kind": "adjustment", "quantity_delta": -15, "note": "rusak"}),
    )
    .await
    .expect(201);
    let changed = app
        .post(
            &format!("/api/v1/orders/{order_id}/reorder"),
            Some(&me.token),
            &json!({}),
        )
        .await
        .expect(200);
    let line = &changed.body["lines"][0];
    assert_eq!(line["ordered_quantity"], 3);
    assert_eq!(line["quantity"], 2, "only two left");
    assert_eq!(line["previous_price"], 14_000);
    assert_eq!(line["listing"]["price"], 15_000);
    assert_eq!(
        line["flags"],
        json!(["insufficient_stock", "price_changed"])
    );
    assert_eq!(changed.body["total"], 30_000);
    assert_eq!(changed.body["unchanged"], false);

    app.patch(
        &format!("/api/v1/merchants/{}/listings/{gula}", shop.id),
        owner,
        &json!({"active": false}),
    )
    .await
    .expect(200);
    let off = app
        .post(
            &format!("/api/v1/orders/{second}/reorder"),
            Some(&me.token),
            &json!({}),
        )
        .await
        .expect(200);
    assert_eq!(off.body["lines"][0]["quantity"], 0);
    assert_eq!(off.body["lines"][0]["flags"], json!(["inactive"]));
    assert_eq!(off.body["items"], json!([]));

    // Someone else's order is not there; a shop cannot "buy again".
    let other = buyer(&app).await;
    app.post(
        &format!("/api/v1/orders/{order_id}/reorder"),
        Some(&other.token),
        &json!({}),
    )
    .await
    .expect_problem(404, "not_found");
    app.post(
        &format!("/api/v1/orders/{order_id}/reorder"),
        owner,
        &json!({}),
    )
    .await
    .expect_problem(403, "forbidden");
}
