//! Products a merchant owns: creation, moderation (new products and changes of approved ones),
//! listings that sell them, browse and search by their own words, and the bad input that must
//! leave nothing behind.

use peken_tests::{TestApp, User, spawn_app};
use serde_json::{Value, json};

use crate::fixtures::merchants::count;
use crate::fixtures::orders::{Shop, any_commodity, buyer, cart, checkout, shop, unique};

async fn create(app: &TestApp, s: &Shop, body: &Value) -> peken_tests::Reply {
    app.post(
        &format!("/api/v1/merchants/{}/products", s.id),
        Some(&s.owner.token),
        body,
    )
    .await
}

async fn product(app: &TestApp, s: &Shop, body: &Value) -> String {
    let reply = create(app, s, body).await.expect(201);
    assert_eq!(reply.body["status"], "pending");
    reply.body["id"].as_str().unwrap().to_owned()
}

async fn moderate(app: &TestApp, admin: &User, id: &str, body: &Value) -> peken_tests::Reply {
    app.post(
        &format!("/api/v1/admin/products/{id}/moderation"),
        Some(&admin.token),
        body,
    )
    .await
}

async fn list_product(app: &TestApp, s: &Shop, product_id: &str, price: i64) -> peken_tests::Reply {
    app.post(
        &format!("/api/v1/merchants/{}/listings", s.id),
        Some(&s.owner.token),
        &json!({"product_id": product_id, "price": price, "stock": 20}),
    )
    .await
}

/// The names browse shows for a search.
async fn browse_names(app: &TestApp, query: &str) -> Vec<String> {
    let reply = app
        .get(&format!("/api/v1/listings?{query}"), None)
        .await
        .expect(200);
    reply.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["product"]["name"].as_str().unwrap().to_owned())
        .collect()
}

/// Browse answers from a read model refreshed on every listings change; the page cache keeps
/// a page a few seconds, so each search here uses words no earlier search used.
#[tokio::test]
async fn a_umkm_sells_its_own_product_once_an_admin_approves_it() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let s = shop(&app, "umkm", "35.78.03.1001").await;
    let id = product(
        &app,
        &s,
        &json!({"name": "Kerupuk Udang Sidoarjo", "description": "Renyah, tanpa pengawet",
                "category": "kuliner", "unit": "bungkus", "net_weight_g": 250,
                "barcode": "8992761111113"}),
    )
    .await;
    let listing = list_product(&app, &s, &id, 18_000).await.expect(201);
    assert_eq!(listing.body["product"]["name"], "Kerupuk Udang Sidoarjo");
    assert_eq!(listing.body["sellable"], false);
    assert_eq!(listing.body["unsellable_reason"], "product_not_approved");
    assert!(listing.body.get("commodity").is_none());
    let listing_id = listing.body["id"].as_str().unwrap().to_owned();
    assert!(browse_names(&app, "q=kerupuk").await.is_empty());
    app.get(&format!("/api/v1/listings/{listing_id}"), None)
        .await
        .expect_problem(404, "not_found");

    // The queue shows it; a buyer cannot see the queue.
    let queue = app
        .get("/api/v1/admin/products?status=pending", Some(&admin.token))
        .await
        .expect(200);
    assert!(
        queue.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["id"] == id)
    );
    app.get("/api/v1/admin/products", Some(&s.owner.token))
        .await
        .expect_problem(403, "forbidden");

    let approved = moderate(&app, &admin, &id, &json!({"decision": "approve"}))
        .await
        .expect(200);
    assert_eq!(approved.body["status"], "approved");
    moderate(&app, &admin, &id, &json!({"decision": "approve"}))
        .await
        .expect_problem(409, "nothing_to_moderate");
    // Found by its own name and by a word of its description.
    assert_eq!(
        browse_names(&app, "q=udang").await,
        ["Kerupuk Udang Sidoarjo"]
    );
    assert_eq!(
        browse_names(&app, "q=renyah").await,
        ["Kerupuk Udang Sidoarjo"]
    );
    let item = app
        .get("/api/v1/listings?q=sidoarjo", None)
        .await
        .expect(200);
    let first = &item.body["items"][0];
    assert_eq!(first["product"]["net_weight_g"], 250);
    assert_eq!(first["product"]["category"], "kuliner");
    assert!(
        first["merchant"]["name"]
            .as_str()
            .unwrap()
            .starts_with("Toko Uji")
    );

    // It can be bought: the order line keeps the product's name and id.
    let buyer = buyer(&app).await;
    let bought = checkout(
        &app,
        &buyer,
        &format!("k-{}", unique()),
        &cart(&[(&listing_id, 2)]),
    )
    .await
    .expect(201);
    let line = &bought.body["orders"][0]["items"][0];
    assert_eq!(line["name"], "Kerupuk Udang Sidoarjo");
    assert_eq!(line["product_id"], id);
    assert!(line.get("commodity_id").is_none());
    let order_id = bought.body["orders"][0]["id"].as_str().unwrap();
    let order = app
        .get(&format!("/api/v1/orders/{order_id}"), Some(&buyer.token))
        .await
        .expect(200);
    assert_eq!(order.body["merchant"]["id"], s.id.as_str());
    assert_eq!(order.body["items"][0]["product_id"], id);
}

#[tokio::test]
async fn a_change_waits_while_the_approved_version_keeps_selling() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let s = shop(&app, "umkm", "35.78.03.1001").await;
    let id = product(
        &app,
        &s,
        &json!({"name": "Batik Tulis Kenjeran", "category": "kerajinan", "unit": "lembar"}),
    )
    .await;
    moderate(&app, &admin, &id, &json!({"decision": "approve"}))
        .await
        .expect(200);
    list_product(&app, &s, &id, 350_000).await.expect(201);
    assert_eq!(
        browse_names(&app, "q=kenjeran").await,
        ["Batik Tulis Kenjeran"]
    );

    let changed = app
        .patch(
            &format!("/api/v1/merchants/{}/products/{id}", s.id),
            Some(&s.owner.token),
            &json!({"name": "Batik Tulis Kenjeran Biru"}),
        )
        .await
        .expect(200);
    assert_eq!(changed.body["status"], "approved");
    assert_eq!(changed.body["name"], "Batik Tulis Kenjeran");
    assert_eq!(changed.body["pending_change"]["status"], "pending");
    assert_eq!(
        changed.body["pending_change"]["fields"]["name"],
        "Batik Tulis Kenjeran Biru"
    );
    // Still sold under the approved name.
    assert_eq!(
        browse_names(&app, "q=batik+tulis").await,
        ["Batik Tulis Kenjeran"]
    );

    let refused = moderate(
        &app,
        &admin,
        &id,
        &json!({"decision": "reject", "reason": "Foto dan nama tidak cocok"}),
    )
    .await
    .expect(200);
    assert_eq!(refused.body["status"], "approved");
    assert_eq!(refused.body["pending_change"]["status"], "rejected");
    assert_eq!(
        refused.body["pending_change"]["reason"],
        "Foto dan nama tidak cocok"
    );
    assert_eq!(
        browse_names(&app, "q=tulis").await,
        ["Batik Tulis Kenjeran"]
    );

    // The merchant tries again; this time the change is approved and sells.
    app.patch(
        &format!("/api/v1/merchants/{}/products/{id}", s.id),
        Some(&s.owner.token),
        &json!({"name": "Batik Tulis Kenjeran Biru", "description": "Pewarna alami"}),
    )
    .await
    .expect(200);
    let pending = app
        .get("/api/v1/admin/products?status=pending", Some(&admin.token))
        .await
        .expect(200);
    assert!(
        pending.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["id"] == id)
    );
    let approved = moderate(&app, &admin, &id, &json!({"decision": "approve"}))
        .await
        .expect(200);
    assert_eq!(approved.body["name"], "Batik Tulis Kenjeran Biru");
    assert!(approved.body.get("pending_change").is_none());
    assert_eq!(
        browse_names(&app, "q=biru").await,
        ["Batik Tulis Kenjeran Biru"]
    );
    assert_eq!(
        browse_names(&app, "q=pewarna").await,
        ["Batik Tulis Kenjeran Biru"]
    );
}

#[tokio::test]
async fn a_rejected_product_cannot_be_put_on_sale() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let s = shop(&app, "umkm", "35.78.03.1001").await;
    let id = product(
        &app,
        &s,
        &json!({"name": "Sambal Bawang", "category": "kuliner", "unit": "botol",
                "net_volume_ml": 150}),
    )
    .await;
    let listing = list_product(&app, &s, &id, 25_000).await.expect(201);
    let listing_id = listing.body["id"].as_str().unwrap();
    moderate(&app, &admin, &id, &json!({"decision": "reject"}))
        .await
        .expect_problem(422, "validation_failed");
    let rejected = moderate(
        &app,
        &admin,
        &id,
        &json!({"decision": "reject", "reason": "Izin PIRT belum ada"}),
    )
    .await
    .expect(200);
    assert_eq!(rejected.body["status"], "rejected");
    let seen = app
        .get(
            &format!("/api/v1/merchants/{}/products/{id}", s.id),
            Some(&s.owner.token),
        )
        .await
        .expect(200);
    assert_eq!(seen.body["rejection_reason"], "Izin PIRT belum ada");

    app.patch(
        &format!("/api/v1/merchants/{}/listings/{listing_id}", s.id),
        Some(&s.owner.token),
        &json!({"active": true}),
    )
    .await
    .expect_problem(409, "product_rejected");
    let listings_before = count(&app, "listings", &format!("merchant_id = '{}'", s.id)).await;
    let second = product(
        &app,
        &s,
        &json!({"name": "Sambal Ijo", "category": "kuliner", "unit": "botol"}),
    )
    .await;
    moderate(
        &app,
        &admin,
        &second,
        &json!({"decision": "reject", "reason": "Duplikat"}),
    )
    .await
    .expect(200);
    list_product(&app, &s, &second, 20_000)
        .await
        .expect_problem(409, "product_rejected");
    assert_eq!(
        count(&app, "listings", &format!("merchant_id = '{}'", s.id)).await,
        listings_before
    );
    // A change makes it wait for moderation again.
    let fixed = app
        .patch(
            &format!("/api/v1/merchants/{}/products/{id}", s.id),
            Some(&s.owner.token),
            &json!({"description": "PIRT 2063578010123-28"}),
        )
        .await
        .expect(200);
    assert_eq!(fixed.body["status"], "pending");
    assert!(fixed.body.get("rejection_reason").is_none());
}

#[tokio::test]
async fn bad_products_are_refused_and_nothing_is_stored() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let kelontong = shop(&app, "toko_kelontong", "35.78.03.1001").await;
    let other = shop(&app, "umkm", "35.78.03.1001").await;
    let rice = any_commodity(&app, Some(13_500), None).await;
    let before = count(&app, "products", "1 = 1").await;

    // A category the shop's kind may not sell.
    create(
        &app,
        &kelontong,
        &json!({"name": "Batik Cap", "category": "kerajinan", "unit": "lembar"}),
    )
    .await
    .expect_problem(422, "category_not_allowed");
    // A staple must name its commodity.
    let staple = create(
        &app,
        &kelontong,
        &json!({"name": "Beras Pandan Wangi", "category": "sembako", "unit": "kg"}),
    )
    .await
    .expect(422);
    assert_eq!(
        staple.field_codes(),
        [("commodity_id".to_owned(), "commodity_required".to_owned())]
    );
    // A commodity of another category than the one named.
    let mismatch = create(
        &app,
        &kelontong,
        &json!({"name": "Beras Pandan Wangi", "category": "kebutuhan_harian",
                "commodity_id": rice}),
    )
    .await
    .expect(422);
    assert_eq!(mismatch.field_codes()[0].1, "category_mismatch");
    // Form errors, all at once.
    let form = create(
        &app,
        &kelontong,
        &json!({"name": " ", "category": "sembako", "commodity_id": rice, "barcode": "8992761111112",
                "net_weight_g": 500, "net_volume_ml": 500, "description": "x".repeat(2_001)}),
    )
    .await
    .expect(422);
    let codes: Vec<String> = form.field_codes().into_iter().map(|(_, c)| c).collect();
    for code in [
        "required",
        "invalid_barcode",
        "net_quantity_conflict",
        "too_long",
    ] {
        assert!(codes.iter().any(|c| c == code), "{code} in {codes:?}");
    }
    // A NUL byte is refused before it reaches a database that would refuse it.
    let nul = create(
        &app,
        &other,
        &json!({"name": "Kue\u{0}Lapis", "category": "kuliner", "unit": "kotak"}),
    )
    .await;
    assert!(matches!(nul.status.as_u16(), 400 | 422), "{}", nul.status);
    assert_eq!(count(&app, "products", "1 = 1").await, before);

    // A staple with its commodity; priced above its HET it cannot be listed.
    let beras = product(
        &app,
        &kelontong,
        &json!({"name": "Beras Pandan Wangi 5 kg", "commodity_id": rice, "net_weight_g": 5_000}),
    )
    .await;
    moderate(&app, &admin, &beras, &json!({"decision": "approve"}))
        .await
        .expect(200);
    list_product(&app, &kelontong, &beras, 13_501)
        .await
        .expect_problem(422, "price_above_het");
    let listed = list_product(&app, &kelontong, &beras, 13_500)
        .await
        .expect(201);
    assert_eq!(listed.body["commodity"]["id"], rice.as_str());
    assert_eq!(listed.body["commodity"]["het_price"], 13_500);
    assert_eq!(listed.body["sellable"], true);
    list_product(&app, &kelontong, &beras, 13_000)
        .await
        .expect_problem(409, "listing_exists");

    // Another merchant's product: not found, not listable, not changeable.
    app.get(
        &format!("/api/v1/merchants/{}/products/{beras}", other.id),
        Some(&other.owner.token),
    )
    .await
    .expect_problem(404, "not_found");
    let foreign = list_product(&app, &other, &beras, 13_000).await.expect(422);
    assert_eq!(foreign.field_codes()[0].1, "unknown_product");
    app.patch(
        &format!("/api/v1/merchants/{}/products/{beras}", other.id),
        Some(&other.owner.token),
        &json!({"name": "Punyaku"}),
    )
    .await
    .expect_problem(404, "not_found");
    app.patch(
        &format!("/api/v1/merchants/{}/products/{beras}", kelontong.id),
        Some(&other.owner.token),
        &json!({"name": "Punyaku"}),
    )
    .await
    .expect_problem(404, "not_found");
    let kept = app
        .get(
            &format!("/api/v1/merchants/{}/products/{beras}", kelontong.id),
            Some(&kelontong.owner.token),
        )
        .await
        .expect(200);
    assert_eq!(kept.body["name"], "Beras Pandan Wangi 5 kg");
    assert!(kept.body.get("pending_change").is_none());
}

#[tokio::test]
async fn listing_a_commodity_still_works_and_makes_an_approved_product() {
    let app = spawn_app().await;
    let s = shop(&app, "toko_kelontong", "35.78.03.1001").await;
    let sugar = any_commodity(&app, Some(17_500), Some(4)).await;
    let listing = app
        .post(
            &format!("/api/v1/merchants/{}/listings", s.id),
            Some(&s.owner.token),
            &json!({"commodity_id": sugar, "price": 17_000, "stock": 10}),
        )
        .await
        .expect(201);
    assert_eq!(listing.body["sellable"], true);
    assert_eq!(listing.body["product"]["status"], "approved");
    assert_eq!(listing.body["commodity"]["max_qty_per_buyer_per_day"], 4);
    let product_id = listing.body["product"]["id"].as_str().unwrap();
    let products = app
        .get(
            &format!("/api/v1/merchants/{}/products", s.id),
            Some(&s.owner.token),
        )
        .await
        .expect(200);
    assert_eq!(products.body["items"][0]["id"], product_id);
    assert_eq!(products.body["items"][0]["commodity_id"], sugar.as_str());
    // Both ways of naming what is sold at once is refused.
    let both = app
        .post(
            &format!("/api/v1/merchants/{}/listings", s.id),
            Some(&s.owner.token),
            &json!({"commodity_id": sugar, "product_id": product_id, "price": 17_000, "stock": 1}),
        )
        .await
        .expect(422);
    assert_eq!(both.field_codes()[0].1, "product_or_commodity");
}
