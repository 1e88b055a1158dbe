//! Shops, commodities, listings, carts and signed callbacks for the order tests, built through
//! the public API like a real city would build them.

use std::sync::atomic::{AtomicU64, Ordering};

use peken_tests::{PASSWORD, TestApp, User, WEBHOOK_SECRET, next_nik};
use serde_json::{Value, json};

static COUNTER: AtomicU64 = AtomicU64::new(1);

fn unique() -> u64 {
    COUNTER.fetch_add(1, Ordering::Relaxed) + u64::from(std::process::id()) * 1_000
}

/// An active shop and its logged-in owner.
pub struct Shop {
    pub id: String,
    pub owner: User,
}

pub async fn shop(app: &TestApp, kind: &str, kelurahan: &str) -> Shop {
    let n = unique();
    let email = format!("shop{n}@toko.test");
    let reply = app
        .post(
            "/api/v1/merchants",
            None,
            &json!({
                "name": format!("Toko Uji {n}"), "kind": kind, "nib": format!("91{:011}", n % 100_000_000_000),
                "owner_nik": next_nik(), "mbr": false, "kelurahan_code": kelurahan,
                "address": "Jl. Uji No. 1",
                "bank": {"bank_code": "008", "account_number": format!("12{:08}", n % 100_000_000), "account_name": "PEMILIK UJI"},
                "owner": {"name": "Pemilik Uji", "email": email, "phone": "081234567890", "password": PASSWORD},
            }),
        )
        .await
        .expect(201);
    let id = reply.body["id"].as_str().unwrap().to_owned();
    let admin = app.admin().await;
    app.post(
        &format!("/api/v1/admin/merchants/{id}/verification"),
        Some(&admin.token),
        &json!({"decision": "approve"}),
    )
    .await
    .expect(200);
    let owner = app.login(&email, PASSWORD).await;
    Shop { id, owner }
}

/// A commodity in `sembako` with an optional HET and daily limit.
pub async fn commodity(app: &TestApp, het: Option<i64>, daily_limit: Option<i64>) -> String {
    let admin = app.admin().await;
    let reply = app
        .post(
            "/api/v1/admin/commodities",
            Some(&admin.token),
            &json!({"name": format!("Beras Uji {}", unique()), "category": "sembako", "unit": "kg",
                    "het_price": het, "max_qty_per_buyer_per_day": daily_limit}),
        )
        .await
        .expect(201);
    reply.body["id"].as_str().unwrap().to_owned()
}

pub async fn listing(
    app: &TestApp,
    shop: &Shop,
    commodity_id: &str,
    price: i64,
    stock: i64,
) -> String {
    let reply = app
        .post(
            &format!("/api/v1/merchants/{}/listings", shop.id),
            Some(&shop.owner.token),
            &json!({"commodity_id": commodity_id, "price": price, "stock": stock}),
        )
        .await
        .expect(201);
    reply.body["id"].as_str().unwrap().to_owned()
}

/// A shop in Rungkut with one listing of a fresh commodity.
pub async fn shop_with_listing(app: &TestApp, price: i64, stock: i64) -> (Shop, String) {
    let s = shop(app, "toko_kelontong", "35.78.03.1001").await;
    let c = commodity(app, None, None).await;
    let l = listing(app, &s, &c, price, stock).await;
    (s, l)
}

pub fn cart(lines: &[(&str, i64)]) -> Value {
    json!({
        "items": lines.iter().map(|(id, q)| json!({"listing_id": id, "quantity": q})).collect::<Vec<_>>(),
        "fulfilment": {"method": "pickup"},
        "payment_method": "va",
    })
}

pub async fn checkout(app: &TestApp, buyer: &User, key: &str, body: &Value) -> peken_tests::Reply {
    app.send(
        reqwest::Method::POST,
        "/api/v1/checkout",
        Some(&buyer.token),
        Some(body),
        &[("Idempotency-Key", key)],
    )
    .await
}

/// Posts a provider callback signed with the test secret, paid "now" on the test clock.
pub async fn callback(
    app: &TestApp,
    payment_id: &str,
    amount: i64,
    reference: &str,
) -> peken_tests::Reply {
    use peken_kernel::clock::Clock;
    callback_at(app, payment_id, amount, reference, app.clock.now()).await
}

/// Posts a provider callback that says the buyer paid at `paid_at`.
pub async fn callback_at(
    app: &TestApp,
    payment_id: &str,
    amount: i64,
    reference: &str,
    paid_at: chrono::DateTime<chrono::Utc>,
) -> peken_tests::Reply {
    let body = json!({"payment_id": payment_id, "provider_reference": reference, "amount": amount,
                      "paid_at": paid_at.to_rfc3339()})
    .to_string();
    let signature = peken_order::http::sign(WEBHOOK_SECRET, body.as_bytes());
    let res = app
        .client
        .post(app.url("/api/v1/payments/callback"))
        .header("content-type", "application/json")
        .header("X-Peken-Signature", signature)
        .body(body)
        .send()
        .await
        .unwrap();
    TestApp::reply(res).await
}

/// Checks out one line and pays it; returns (order id, payment id, amount).
pub async fn paid_order(
    app: &TestApp,
    buyer: &User,
    listing: &str,
    quantity: i64,
) -> (String, String, i64) {
    let key = format!("k-{}", unique());
    let reply = checkout(app, buyer, &key, &cart(&[(listing, quantity)]))
        .await
        .expect(201);
    let payment_id = reply.body["payment"]["id"].as_str().unwrap().to_owned();
    let amount = reply.body["payment"]["amount"].as_i64().unwrap();
    callback(app, &payment_id, amount, &format!("ref-{}", unique()))
        .await
        .expect(200);
    (
        reply.body["orders"][0]["id"].as_str().unwrap().to_owned(),
        payment_id,
        amount,
    )
}

pub async fn stock_of(app: &TestApp, listing: &str) -> i64 {
    scalar(
        app,
        &format!("SELECT stock AS n FROM listings WHERE id = '{listing}'"),
    )
    .await
}

/// The sum of a listing's movements, which must always equal its stock.
pub async fn movements_sum(app: &TestApp, listing: &str) -> i64 {
    scalar(
        app,
        &format!("SELECT CAST(COALESCE(SUM(quantity_delta), 0) AS BIGINT) AS n FROM stock_movements WHERE listing_id = '{listing}'"),
    )
    .await
}

pub async fn scalar(app: &TestApp, sql: &str) -> i64 {
    use sea_orm::ConnectionTrait;
    let backend = app.state.db.get_database_backend();
    let row = app
        .state
        .db
        .query_one_raw(sea_orm::Statement::from_string(backend, sql.to_owned()))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

/// A buyer in Rungkut (the fixtures' shops' kecamatan).
pub async fn buyer(app: &TestApp) -> User {
    let opd = app.create_opd(&format!("OPD{}", unique())).await;
    app.asn(&opd, "staf", "35.78.03.1002").await.0
}

/// A fresh access token for a user after the test clock moved past the old one's lifetime.
pub async fn refreshed(app: &TestApp, user: &User) -> User {
    let reply = app
        .post(
            "/api/v1/auth/refresh",
            None,
            &json!({"refresh_token": user.refresh}),
        )
        .await
        .expect(200);
    User {
        id: user.id.clone(),
        token: reply.body["access_token"].as_str().unwrap().to_owned(),
        refresh: reply.body["refresh_token"].as_str().unwrap().to_owned(),
    }
}
