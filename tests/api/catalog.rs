//! Commodities, category permissions, HET enforcement and repricing, takedown, browse filters,
//! fairness ordering, caching, and stock under concurrent changes.

use peken_kernel::clock::Clock;
use peken_kernel::period::Period;
use peken_tests::{TestApp, User, spawn_app};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::shops::{active_merchant, commodity, count, listing, register};

fn ids(reply: &Value) -> Vec<String> {
    reply["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Records month-to-date turnover for a merchant directly, as checkout's payment confirmation
/// does.
async fn set_turnover(app: &TestApp, merchant_id: &str, amount: i64) {
    let period = Period::of(app.clock.now()).to_string();
    let backend = app.state.db.get_database_backend();
    app.state
        .db
        .execute_raw(Statement::from_sql_and_values(
            backend,
            "INSERT INTO merchant_turnover (merchant_id, period, gross_amount, order_count) \
             VALUES ($1, $2, $3, 1)",
            [merchant_id.into(), period.into(), amount.into()],
        ))
        .await
        .unwrap();
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
    assert_eq!(ids(&browse().await.expect(200).body), [listing_id.clone()]);

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
    assert_eq!(ids(&above.body), [listing_id.clone()]);
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
    assert_eq!(ids(&own.body), [listing_id.clone()]);
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
}

/// Three merchants in two kecamatan, one pending, with listings of three commodities.
struct City {
    admin: User,
    rungkut: String,
    rungkut_owner: User,
    gubeng: String,
    gubeng_owner: User,
    koperasi: String,
    beras: String,
    gula: String,
    minyak: String,
}

async fn city(app: &TestApp) -> City {
    let admin = app.admin().await;
    // 35.78.03 is one kecamatan, 35.78.05 another.
    let (rungkut, rungkut_owner) = active_merchant(
        app,
        &admin,
        "Toko Makmur",
        "toko_kelontong",
        "35.78.03.1001",
    )
    .await;
    let (gubeng, gubeng_owner) = active_merchant(
        app,
        &admin,
        "Toko Beras Jaya",
        "toko_kelontong",
        "35.78.05.1001",
    )
    .await;
    let (koperasi, koperasi_owner) =
        active_merchant(app, &admin, "Koperasi Warga", "koperasi", "35.78.03.1002").await;
    let (pending, pending_owner) =
        register(app, "Toko Baru", "toko_kelontong", "35.78.03.1001").await;
    let beras = commodity(app, &admin, "Beras Premium", "sembako", Some(14_900)).await;
    let gula = commodity(app, &admin, "Gula Pasir", "sembako", Some(17_500)).await;
    let minyak = commodity(app, &admin, "Minyak Goreng", "kebutuhan_harian", None).await;
    listing(app, &rungkut_owner, &rungkut, &beras, 14_500, 10).await;
    listing(app, &rungkut_owner, &rungkut, &gula, 17_000, 10).await;
    listing(app, &gubeng_owner, &gubeng, &gula, 16_800, 10).await;
    listing(app, &gubeng_owner, &gubeng, &minyak, 18_000, 10).await;
    listing(app, &koperasi_owner, &koperasi, &beras, 14_000, 10).await;
    // Out of stock: hidden.
    listing(app, &koperasi_owner, &koperasi, &minyak, 17_500, 0).await;
    // A pending merchant cannot list at all; make sure it shows nowhere either way.
    app.post(
        &format!("/api/v1/merchants/{pending}/listings"),
        Some(&pending_owner.token),
        &json!({"commodity_id": beras, "price": 14_000, "stock": 5}),
    )
    .await
    .expect_problem(409, "merchant_not_active");
    City {
        admin,
        rungkut,
        rungkut_owner,
        gubeng,
        gubeng_owner,
        koperasi,
        beras,
        gula,
        minyak,
    }
}

/// (merchant id, commodity id) of each item of a browse reply.
fn pairs(reply: &Value) -> Vec<(String, String)> {
    reply["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            (
                i["merchant"]["id"].as_str().unwrap().to_owned(),
                i["commodity"]["id"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn browse_filters_search_and_hides_what_cannot_be_sold() {
    let app = spawn_app().await;
    let c = city(&app).await;
    let get = |query: String| {
        let app = &app;
        async move {
            app.get(&format!("/api/v1/listings{query}"), None)
                .await
                .expect(200)
        }
    };
    let all = get(String::new()).await;
    assert_eq!(
        all.body["items"].as_array().unwrap().len(),
        5,
        "{}",
        all.text
    );
    let item = &all.body["items"][0];
    for field in ["id", "price", "available_stock"] {
        assert!(item.get(field).is_some(), "{field}");
    }
    assert!(item["merchant"]["kelurahan_code"].is_string());
    assert!(item["commodity"]["unit"].is_string());

    // Search: case-insensitive, every word must match, commodity or merchant name.
    let mut found = pairs(&get("?q=GULA".into()).await.body);
    found.sort();
    let mut expected = vec![
        (c.rungkut.clone(), c.gula.clone()),
        (c.gubeng.clone(), c.gula.clone()),
    ];
    expected.sort();
    assert_eq!(found, expected);
    assert_eq!(
        pairs(&get("?q=gula%20jaya".into()).await.body),
        [(c.gubeng.clone(), c.gula.clone())]
    );
    assert_eq!(get("?q=gula%20kopi".into()).await.body["items"], json!([]));
    // "beras" is a commodity and part of a shop's name: listings of the commodity come first.
    let beras = pairs(&get("?q=beras".into()).await.body);
    assert_eq!(beras.len(), 4, "{beras:?}");
    assert!(
        beras[..2]
            .iter()
            .all(|(_, commodity)| *commodity == c.beras)
    );
    assert!(beras[2..].iter().all(|(m, _)| *m == c.gubeng));

    let only = |reply: &Value, merchant: &str| {
        pairs(reply).iter().all(|(m, _)| m == merchant) && !pairs(reply).is_empty()
    };
    assert!(only(
        &get("?kelurahan=35.78.05.1001".into()).await.body,
        &c.gubeng
    ));
    assert!(only(
        &get(format!("?merchant_id={}", c.koperasi)).await.body,
        &c.koperasi
    ));
    let rungkut_area = pairs(&get("?kecamatan=35.78.03".into()).await.body);
    assert_eq!(rungkut_area.len(), 3);
    assert!(
        rungkut_area
            .iter()
            .all(|(m, _)| *m == c.rungkut || *m == c.koperasi)
    );
    let harian = pairs(&get("?category=kebutuhan_harian".into()).await.body);
    assert_eq!(harian, [(c.gubeng.clone(), c.minyak.clone())]);
    let by_commodity = pairs(&get(format!("?commodity_id={}", c.beras)).await.body);
    assert_eq!(by_commodity.len(), 2);

    for (query, field, code) in [
        ("?kecamatan=35.78.99", "kecamatan", "unknown_region"),
        ("?kelurahan=35.78.03", "kelurahan", "unknown_region"),
        ("?category=elektronik", "category", "unknown_category"),
    ] {
        let reply = app
            .get(&format!("/api/v1/listings{query}"), None)
            .await
            .expect_problem(422, "validation_failed");
        assert_eq!(reply.field_codes(), [(field.to_owned(), code.to_owned())]);
    }
    app.get("/api/v1/listings?cursor=garbage", None)
        .await
        .expect_problem(422, "validation_failed");

    // Switched off by its merchant: hidden; inactive commodities too.
    let gubeng_gula = get(format!("?merchant_id={}&q=gula", c.gubeng)).await.body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.patch(
        &format!("/api/v1/merchants/{}/listings/{gubeng_gula}", c.gubeng),
        Some(&c.gubeng_owner.token),
        &json!({"active": false}),
    )
    .await
    .expect(200);
    assert_eq!(
        pairs(&get("?q=gula".into()).await.body),
        [(c.rungkut.clone(), c.gula.clone())]
    );
    app.patch(
        &format!("/api/v1/admin/commodities/{}", c.gula),
        Some(&c.admin.token),
        &json!({"active": false}),
    )
    .await
    .expect(200);
    assert_eq!(get("?q=gula".into()).await.body["items"], json!([]));
    // Selling out hides a listing; a restock shows it again.
    let rungkut_beras = get(format!("?merchant_id={}&q=beras", c.rungkut))
        .await
        .body["items"][0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let moves = format!(
        "/api/v1/merchants/{}/listings/{rungkut_beras}/stock-movements",
        c.rungkut
    );
    app.post(
        &moves,
        Some(&c.rungkut_owner.token),
        &json!({"kind": "adjustment", "quantity_delta": -10}),
    )
    .await
    .expect(201);
    assert!(!ids(&get("?q=beras".into()).await.body).contains(&rungkut_beras));
    app.post(
        &moves,
        Some(&c.rungkut_owner.token),
        &json!({"kind": "restock", "quantity_delta": 3}),
    )
    .await
    .expect(201);
    let shown = get(format!("?merchant_id={}&q=beras", c.rungkut)).await;
    assert_eq!(shown.body["items"][0]["available_stock"], 3);
}

#[tokio::test]
async fn an_asn_sees_its_own_area_by_default() {
    let app = spawn_app().await;
    let c = city(&app).await;
    let opd = app.create_opd("DINKOPUMDAG").await;
    let (asn, _) = app.asn(&opd, "staf", "35.78.03.1005").await;
    let mine = app
        .get("/api/v1/listings", Some(&asn.token))
        .await
        .expect(200);
    let merchants: Vec<_> = pairs(&mine.body).into_iter().map(|(m, _)| m).collect();
    assert_eq!(merchants.len(), 3, "{}", mine.text);
    assert!(
        merchants
            .iter()
            .all(|m| *m == c.rungkut || *m == c.koperasi)
    );
    let city_wide = app
        .get("/api/v1/listings?all_areas=true", Some(&asn.token))
        .await
        .expect(200);
    assert_eq!(city_wide.body["items"].as_array().unwrap().len(), 5);
    let elsewhere = app
        .get("/api/v1/listings?kecamatan=35.78.05", Some(&asn.token))
        .await
        .expect(200);
    assert!(pairs(&elsewhere.body).iter().all(|(m, _)| *m == c.gubeng));
    // A public buyer has no default area.
    let buyer = app.public_buyer("35.78.03.1001").await;
    let public = app
        .get("/api/v1/listings", Some(&buyer.token))
        .await
        .expect(200);
    assert_eq!(public.body["items"].as_array().unwrap().len(), 5);
}

#[tokio::test]
async fn less_turnover_comes_first_capped_merchants_are_hidden_and_pages_walk_stably() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let beras = commodity(&app, &admin, "Beras Medium", "sembako", Some(13_500)).await;
    let mut merchants = Vec::new();
    for (i, turnover) in [12_000_000, 0, 29_999_999, 4_000_000, 30_000_000]
        .into_iter()
        .enumerate()
    {
        let (id, owner) = active_merchant(
            &app,
            &admin,
            &format!("Toko Nomor {i}"),
            "toko_kelontong",
            "35.78.03.1001",
        )
        .await;
        listing(&app, &owner, &id, &beras, 13_000, 5).await;
        if turnover > 0 {
            set_turnover(&app, &id, turnover).await;
        }
        merchants.push(id);
    }
    // Least turnover first; the merchant at the Rp30,000,000 cap is hidden.
    let expected: Vec<String> = [1, 3, 0, 2].iter().map(|&i| merchants[i].clone()).collect();
    let first = app.get("/api/v1/listings?q=beras", None).await.expect(200);
    let order: Vec<_> = pairs(&first.body).into_iter().map(|(m, _)| m).collect();
    assert_eq!(order, expected);

    // Walking one item a page gives the same order, nothing twice, nothing left out.
    let mut walked = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/api/v1/listings?q=beras&limit=1&cursor={c}"),
            None => "/api/v1/listings?q=beras&limit=1".to_owned(),
        };
        let page = app.get(&path, None).await.expect(200);
        walked.extend(pairs(&page.body).into_iter().map(|(m, _)| m));
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
        assert!(walked.len() <= expected.len(), "the walk does not end");
    }
    assert_eq!(walked, expected);

    // The cap is a policy: raising it shows the capped merchant again (at the end).
    app.patch(
        "/api/v1/admin/policies",
        Some(&admin.token),
        &json!({"turnover_cap_amount": 50_000_000}),
    )
    .await
    .expect(200);
    // Browse pages may be served from the cache for a few seconds after a policy change, so
    // this asks a different page size, which is a different cache entry.
    let all = app
        .get("/api/v1/listings?q=beras&limit=10", None)
        .await
        .expect(200);
    let order: Vec<_> = pairs(&all.body).into_iter().map(|(m, _)| m).collect();
    assert_eq!(order.len(), 5);
    assert_eq!(order[4], merchants[4]);
}

#[tokio::test]
async fn a_price_change_is_visible_on_the_next_read() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (id, owner) = active_merchant(
        &app,
        &admin,
        "Toko Cepat",
        "toko_kelontong",
        "35.78.03.1001",
    )
    .await;
    let tepung = commodity(&app, &admin, "Tepung Terigu", "sembako", Some(12_000)).await;
    let listing_id = listing(&app, &owner, &id, &tepung, 11_000, 8).await;
    let first = app.get("/api/v1/listings?q=tepung", None).await.expect(200);
    assert_eq!(first.body["items"][0]["price"], 11_000);
    // Cached now; the next read must still see the change at once.
    let again = app.get("/api/v1/listings?q=tepung", None).await.expect(200);
    assert_eq!(again.body, first.body);
    app.patch(
        &format!("/api/v1/merchants/{id}/listings/{listing_id}"),
        Some(&owner.token),
        &json!({"price": 10_500}),
    )
    .await
    .expect(200);
    let after = app.get("/api/v1/listings?q=tepung", None).await.expect(200);
    assert_eq!(after.body["items"][0]["price"], 10_500);
    // Stock changes and commodity changes too.
    app.post(
        &format!("/api/v1/merchants/{id}/listings/{listing_id}/stock-movements"),
        Some(&owner.token),
        &json!({"kind": "restock", "quantity_delta": 2}),
    )
    .await
    .expect(201);
    let after = app.get("/api/v1/listings?q=tepung", None).await.expect(200);
    assert_eq!(after.body["items"][0]["available_stock"], 10);
    app.patch(
        &format!("/api/v1/admin/commodities/{tepung}"),
        Some(&admin.token),
        &json!({"name": "Tepung Terigu Protein Sedang"}),
    )
    .await
    .expect(200);
    let after = app.get("/api/v1/listings?q=tepung", None).await.expect(200);
    assert_eq!(
        after.body["items"][0]["commodity"]["name"],
        "Tepung Terigu Protein Sedang"
    );
    // The renamed commodity is found by its new words.
    let found = app
        .get("/api/v1/listings?q=protein", None)
        .await
        .expect(200);
    assert_eq!(ids(&found.body), [listing_id]);
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
