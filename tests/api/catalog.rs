//! Commodities, category permissions, HET enforcement and repricing, takedown, and stock under
//! concurrent changes.

use peken_tests::spawn_app;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::fixtures::merchants::{active_merchant, commodity, count, listing};

pub(crate) fn ids(reply: &Value) -> Vec<String> {
    reply["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn admins_manage_commodities_and_everyone_reads_them() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let buyer = app.public_buyer("35.78.01.1001").await;
    let before = app.get("/api/v1/commodities", None).await.expect(200);
    assert_eq!(before.body["items"], json!([]));

    let created = app
        .post(
            "/api/v1/admin/commodities",
            Some(&admin.token),
            &json!({"name": "Minyak Goreng Kemasan", "category": "sembako", "unit": "liter",
                    "het_price": 15_700, "max_qty_per_buyer_per_day": 2}),
        )
        .await
        .expect(201);
    let id = created.body["id"].as_str().unwrap().to_owned();
    assert_eq!(created.body["het_price"], 15_700);
    assert_eq!(created.body["max_qty_per_buyer_per_day"], 2);
    // The cached list shows the new commodity on the next read.
    let listed = app.get("/api/v1/commodities", None).await.expect(200);
    assert_eq!(listed.body["items"][0]["id"], id);
    assert_eq!(listed.body["items"][0]["unit"], "liter");

    app.post(
        "/api/v1/admin/commodities",
        Some(&buyer.token),
        &json!({"name": "X", "category": "sembako", "unit": "kg"}),
    )
    .await
    .expect_problem(403, "forbidden");
    app.post(
        "/api/v1/admin/commodities",
        Some(&admin.token),
        &json!({"name": "Minyak Goreng Kemasan", "category": "sembako", "unit": "liter"}),
    )
    .await
    .expect_problem(409, "commodity_exists");
    let bad = app
        .post(
            "/api/v1/admin/commodities",
            Some(&admin.token),
            &json!({"name": "Garam", "category": "bumbu", "unit": "", "het_price": 1000.5,
                    "max_qty_per_buyer_per_day": 0}),
        )
        .await
        .expect_problem(422, "validation_failed");
    let mut codes = bad.field_codes();
    codes.sort();
    assert_eq!(
        codes,
        [
            ("het_price", "amount_has_fraction"),
            ("max_qty_per_buyer_per_day", "out_of_range"),
            ("unit", "required"),
        ]
        .map(|(f, c)| (f.to_owned(), c.to_owned()))
    );
    app.post(
        "/api/v1/admin/commodities",
        Some(&admin.token),
        &json!({"name": "Garam", "category": "bumbu", "unit": "kg"}),
    )
    .await
    .expect_problem(422, "validation_failed");
    assert_eq!(count(&app, "commodities", "1 = 1").await, 1);

    // `null` removes the ceiling and the limit; an absent field is left alone.
    let patched = app
        .patch(
            &format!("/api/v1/admin/commodities/{id}"),
            Some(&admin.token),
            &json!({"het_price": null, "unit": "pouch 1 L"}),
        )
        .await
        .expect(200);
    assert!(patched.body.get("het_price").is_none(), "{}", patched.text);
    assert_eq!(patched.body["max_qty_per_buyer_per_day"], 2);
    assert_eq!(patched.body["unit"], "pouch 1 L");
    let listed = app.get("/api/v1/commodities", None).await.expect(200);
    assert_eq!(listed.body["items"][0]["unit"], "pouch 1 L");
    app.patch(
        "/api/v1/admin/commodities/nope",
        Some(&admin.token),
        &json!({"unit": "kg"}),
    )
    .await
    .expect_problem(404, "not_found");

    // Withdrawn commodities leave the public list but not the admin's.
    app.patch(
        &format!("/api/v1/admin/commodities/{id}"),
        Some(&admin.token),
        &json!({"active": false}),
    )
    .await
    .expect(200);
    let listed = app.get("/api/v1/commodities", None).await.expect(200);
    assert_eq!(listed.body["items"], json!([]));
    let all = app
        .get("/api/v1/admin/commodities", Some(&admin.token))
        .await
        .expect(200);
    assert_eq!(all.body["items"][0]["active"], false);
}

#[tokio::test]
async fn category_permissions_decide_what_each_kind_may_list() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let categories = app.get("/api/v1/categories", None).await.expect(200);
    let sembako = categories.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "sembako")
        .unwrap()
        .clone();
    assert_eq!(
        sembako["merchant_kinds"],
        json!(["koperasi", "toko_kelontong"])
    );

    let (umkm, owner) =
        active_merchant(&app, &admin, "Dapur Bu Sri", "umkm", "35.78.04.1001").await;
    let beras = commodity(&app, &admin, "Beras Medium", "sembako", Some(13_500)).await;
    let kue = commodity(&app, &admin, "Kue Lapis", "kuliner", None).await;
    let path = format!("/api/v1/merchants/{umkm}/listings");
    app.post(
        &path,
        Some(&owner.token),
        &json!({"commodity_id": beras, "price": 13_000, "stock": 5}),
    )
    .await
    .expect_problem(422, "category_not_allowed");
    let kue_listing = listing(&app, &owner, &umkm, &kue, 25_000, 5).await;

    let reply = app
        .put(
            "/api/v1/admin/category-permissions",
            Some(&admin.token),
            &json!({"merchant_kind": "umkm", "categories": ["sembako", "kebutuhan_harian"]}),
        )
        .await
        .expect(200);
    assert_eq!(
        reply.body["categories"],
        json!(["kebutuhan_harian", "sembako"])
    );
    listing(&app, &owner, &umkm, &beras, 13_000, 5).await;
    // The kuliner listing is no longer allowed: hidden, and its merchant sees why.
    let browse = app
        .get(&format!("/api/v1/listings?merchant_id={umkm}"), None)
        .await
        .expect(200);
    assert!(!ids(&browse.body).contains(&kue_listing), "{}", browse.text);
    let own = app
        .get(
            &format!("/api/v1/merchants/{umkm}/listings/{kue_listing}"),
            Some(&owner.token),
        )
        .await
        .expect(200);
    assert_eq!(own.body["sellable"], false);
    assert_eq!(own.body["unsellable_reason"], "category_not_allowed");

    let bad = app
        .put(
            "/api/v1/admin/category-permissions",
            Some(&admin.token),
            &json!({"merchant_kind": "warung", "categories": ["sembako"]}),
        )
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(bad.field_codes()[0].1, "unknown_merchant_kind");
    let bad = app
        .put(
            "/api/v1/admin/category-permissions",
            Some(&admin.token),
            &json!({"merchant_kind": "umkm", "categories": ["sembako", "elektronik"]}),
        )
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(
        bad.field_codes(),
        [("categories[1]".to_owned(), "unknown_category".to_owned())]
    );
    // The refused change changed nothing.
    assert_eq!(
        count(&app, "category_permissions", "merchant_kind = 'umkm'").await,
        2
    );
}

#[tokio::test]
async fn het_is_enforced_and_a_lowered_het_stops_listings_until_repriced() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (id, owner) =
        active_merchant(&app, &admin, "Toko Adil", "toko_kelontong", "35.78.05.1001").await;
    let gula = commodity(&app, &admin, "Gula Pasir", "sembako", Some(17_500)).await;
    let path = format!("/api/v1/merchants/{id}/listings");
    app.post(
        &path,
        Some(&owner.token),
        &json!({"commodity_id": gula, "price": 17_501, "stock": 5}),
    )
    .await
    .expect_problem(422, "price_above_het");
    let listing_id = listing(&app, &owner, &id, &gula, 17_500, 5).await;
    let browse = || app.get("/api/v1/listings?q=gula", None);
    assert_eq!(
        ids(&browse().await.expect(200).body),
        std::slice::from_ref(&listing_id)
    );

    let lowered = app
        .patch(
            &format!("/api/v1/admin/commodities/{gula}"),
            Some(&admin.token),
            &json!({"het_price": 16_000}),
        )
        .await
        .expect(200);
    assert_eq!(lowered.body["listings_above_het"], 1);
    assert_eq!(browse().await.expect(200).body["items"], json!([]));
    let above = app
        .get(&format!("{path}?state=above_het"), Some(&owner.token))
        .await
        .expect(200);
    assert_eq!(ids(&above.body), std::slice::from_ref(&listing_id));
    assert_eq!(above.body["items"][0]["sellable"], false);
    assert_eq!(
        above.body["items"][0]["unsellable_reason"],
        "price_above_het"
    );
    assert_eq!(above.body["items"][0]["commodity"]["het_price"], 16_000);

    let listing_path = format!("{path}/{listing_id}");
    app.patch(&listing_path, Some(&owner.token), &json!({"price": 16_500}))
        .await
        .expect_problem(422, "price_above_het");
    let repriced = app
        .patch(&listing_path, Some(&owner.token), &json!({"price": 15_900}))
        .await
        .expect(200);
    assert_eq!(repriced.body["sellable"], true);
    let shown = browse().await.expect(200);
    assert_eq!(ids(&shown.body), [listing_id]);
    assert_eq!(shown.body["items"][0]["price"], 15_900);
    let above = app
        .get(&format!("{path}?state=above_het"), Some(&owner.token))
        .await
        .expect(200);
    assert_eq!(above.body["items"], json!([]));
}

#[tokio::test]
async fn an_admin_takes_a_listing_down_with_a_kept_reason() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (id, owner) = active_merchant(
        &app,
        &admin,
        "Toko Nakal",
        "toko_kelontong",
        "35.78.05.1002",
    )
    .await;
    let telur = commodity(&app, &admin, "Telur Ayam Ras", "sembako", None).await;
    let listing_id = listing(&app, &owner, &id, &telur, 2_100, 30).await;
    let takedown = format!("/api/v1/admin/listings/{listing_id}/takedown");
    app.post(&takedown, Some(&owner.token), &json!({"reason": "x"}))
        .await
        .expect_problem(403, "forbidden");
    app.post(&takedown, Some(&admin.token), &json!({"reason": ""}))
        .await
        .expect_problem(422, "validation_failed");
    app.post(
        "/api/v1/admin/listings/nope/takedown",
        Some(&admin.token),
        &json!({"reason": "x"}),
    )
    .await
    .expect_problem(404, "not_found");
    let done = app
        .post(
            &takedown,
            Some(&admin.token),
            &json!({"reason": "foto tidak sesuai barang"}),
        )
        .await
        .expect(200);
    assert_eq!(done.body["unsellable_reason"], "taken_down");
    app.post(&takedown, Some(&admin.token), &json!({"reason": "lagi"}))
        .await
        .expect_problem(409, "already_taken_down");

    let browse = app.get("/api/v1/listings?q=telur", None).await.expect(200);
    assert_eq!(browse.body["items"], json!([]));
    let own = app
        .get(
            &format!("/api/v1/merchants/{id}/listings?state=taken_down"),
            Some(&owner.token),
        )
        .await
        .expect(200);
    assert_eq!(ids(&own.body), std::slice::from_ref(&listing_id));
    assert_eq!(
        own.body["items"][0]["takedown"]["reason"],
        "foto tidak sesuai barang"
    );
    // Repricing or switching it back on does not undo a takedown.
    app.patch(
        &format!("/api/v1/merchants/{id}/listings/{listing_id}"),
        Some(&owner.token),
        &json!({"price": 2_000, "active": true}),
    )
    .await
    .expect(200);
    let browse = app.get("/api/v1/listings?q=telur", None).await.expect(200);
    assert_eq!(browse.body["items"], json!([]));

    // Only an admin lifts it; then it sells again, and lifting twice is a conflict.
    app.delete(&takedown, Some(&owner.token))
        .await
        .expect_problem(403, "forbidden");
    let restored = app.delete(&takedown, Some(&admin.token)).await.expect(200);
    assert!(
        restored.body["unsellable_reason"].is_null(),
        "{}",
        restored.text
    );
    let browse = app.get("/api/v1/listings?q=telur", None).await.expect(200);
    assert_eq!(ids(&browse.body), std::slice::from_ref(&listing_id));
    app.delete(&takedown, Some(&admin.token))
        .await
        .expect_problem(409, "not_taken_down");
}

#[tokio::test]
async fn fifty_concurrent_stock_changes_keep_stock_equal_to_the_sum_of_movements() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (id, owner) = active_merchant(
        &app,
        &admin,
        "Toko Ramai",
        "toko_kelontong",
        "35.78.03.1001",
    )
    .await;
    let beras = commodity(&app, &admin, "Beras Medium", "sembako", Some(13_500)).await;
    let listing_id = listing(&app, &owner, &id, &beras, 13_000, 20).await;
    let path = format!("/api/v1/merchants/{id}/listings/{listing_id}/stock-movements");
    // 25 restocks of 2 and 25 removals of 5: 20 + 50 - 125 would be negative, so some removals
    // must be refused, and which ones depends on the interleaving.
    let requests = (0..50).map(|i| {
        let body = if i % 2 == 0 {
            json!({"kind": "restock", "quantity_delta": 2})
        } else {
            json!({"kind": "adjustment", "quantity_delta": -5})
        };
        let app = &app;
        let path = &path;
        let token = owner.token.clone();
        async move { (i, app.post(path, Some(&token), &body).await) }
    });
    let replies = futures_util::future::join_all(requests).await;
    let mut restocks = 0;
    let mut removals = 0;
    for (i, reply) in replies {
        match reply.status.as_u16() {
            201 if i % 2 == 0 => restocks += 1,
            201 => removals += 1,
            409 => {
                assert_eq!(reply.code(), "out_of_stock");
                assert_eq!(i % 2, 1, "a restock never fails");
            }
            other => panic!("unexpected {other}: {}", reply.text),
        }
    }
    assert_eq!(restocks, 25);
    assert!(removals > 0 && removals < 25, "{removals}");

    let backend = app.state.db.get_database_backend();
    let row = app
        .state
        .db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            "SELECT l.stock, (SELECT CAST(SUM(quantity_delta) AS BIGINT) FROM stock_movements \
             WHERE listing_id = l.id), (SELECT COUNT(*) FROM stock_movements \
             WHERE listing_id = l.id), (SELECT MIN(stock_after) FROM stock_movements \
             WHERE listing_id = l.id) FROM listings l WHERE l.id = $1",
            [listing_id.as_str().into()],
        ))
        .await
        .unwrap()
        .unwrap();
    let stock: i64 = row.try_get_by_index(0).unwrap();
    let sum: i64 = row.try_get_by_index(1).unwrap();
    let movements: i64 = row.try_get_by_index(2).unwrap();
    let lowest: i64 = row.try_get_by_index(3).unwrap();
    assert_eq!(stock, sum);
    assert_eq!(stock, 20 + 2 * restocks - 5 * removals);
    assert_eq!(movements, 1 + restocks + removals);
    assert!(lowest >= 0);
    // The history endpoint shows every movement.
    let history = app
        .get(&format!("{path}?limit=200"), Some(&owner.token))
        .await
        .expect(200);
    let deltas: i64 = history.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["quantity_delta"].as_i64().unwrap())
        .sum();
    assert_eq!(
        history.body["items"].as_array().unwrap().len() as i64,
        movements
    );
    assert_eq!(deltas, stock);
}
