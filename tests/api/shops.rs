//! Helpers shared by the merchant and catalog tests: registering merchants, commodities and
//! listings through the API.

use std::sync::atomic::{AtomicU64, Ordering};

use peken_tests::{PASSWORD, TestApp, User, next_nik};
use serde_json::{Value, json};

static NIB: AtomicU64 = AtomicU64::new(1);

/// A unique, well-formed 13-digit NIB.
pub fn next_nib() -> String {
    let n = NIB.fetch_add(1, Ordering::Relaxed);
    let salt = u64::from(std::process::id() % 1000);
    format!("9{salt:03}{n:09}")
}

/// A valid registration body; tests change fields of it.
pub fn registration(name: &str, kind: &str, kelurahan: &str) -> Value {
    let nib = next_nib();
    json!({
        "name": name,
        "kind": kind,
        "nib": nib,
        "owner_nik": next_nik(),
        "npwp": "01.234.567.8-901.000",
        "mbr": false,
        "kelurahan_code": kelurahan,
        "address": "Jl. Rungkut Madya 12",
        "bank": {"bank_code": "114", "account_number": "0011223344", "account_name": name},
        "owner": {
            "name": format!("Pemilik {name}"),
            "email": format!("owner-{nib}@toko.test"),
            "phone": "081234567890",
            "password": PASSWORD,
        },
    })
}

/// Registers a merchant (pending) and logs its owner in.
pub async fn register(app: &TestApp, name: &str, kind: &str, kelurahan: &str) -> (String, User) {
    let body = registration(name, kind, kelurahan);
    let reply = app.post("/api/v1/merchants", None, &body).await.expect(201);
    assert_eq!(reply.body["status"], "pending");
    let id = reply.body["id"].as_str().unwrap().to_owned();
    let owner = app
        .login(body["owner"]["email"].as_str().unwrap(), PASSWORD)
        .await;
    (id, owner)
}

pub async fn approve(app: &TestApp, admin: &User, merchant_id: &str) {
    let reply = app
        .post(
            &format!("/api/v1/admin/merchants/{merchant_id}/verification"),
            Some(&admin.token),
            &json!({"decision": "approve"}),
        )
        .await
        .expect(200);
    assert_eq!(reply.body["status"], "active");
}

/// Registers and approves a merchant; returns its id and its owner, logged in.
pub async fn active_merchant(
    app: &TestApp,
    admin: &User,
    name: &str,
    kind: &str,
    kelurahan: &str,
) -> (String, User) {
    let (id, owner) = register(app, name, kind, kelurahan).await;
    approve(app, admin, &id).await;
    (id, owner)
}

/// Creates a commodity and returns its id.
pub async fn commodity(
    app: &TestApp,
    admin: &User,
    name: &str,
    category: &str,
    het: Option<i64>,
) -> String {
    let reply = app
        .post(
            "/api/v1/admin/commodities",
            Some(&admin.token),
            &json!({"name": name, "category": category, "unit": "kg", "het_price": het}),
        )
        .await
        .expect(201);
    reply.body["id"].as_str().unwrap().to_owned()
}

/// Lists a commodity and returns the listing id.
pub async fn listing(
    app: &TestApp,
    owner: &User,
    merchant_id: &str,
    commodity_id: &str,
    price: i64,
    stock: i64,
) -> String {
    let reply = app
        .post(
            &format!("/api/v1/merchants/{merchant_id}/listings"),
            Some(&owner.token),
            &json!({"commodity_id": commodity_id, "price": price, "stock": stock}),
        )
        .await
        .expect(201);
    reply.body["id"].as_str().unwrap().to_owned()
}

/// Counts the rows of a table matching a condition, straight from the database.
pub async fn count(app: &TestApp, table: &str, condition: &str) -> i64 {
    use sea_orm::{ConnectionTrait, Statement};
    let backend = app.state.db.get_database_backend();
    let row = app
        .state
        .db
        .query_one_raw(Statement::from_string(
            backend,
            format!("SELECT COUNT(*) FROM {table} WHERE {condition}"),
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}
