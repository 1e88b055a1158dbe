//! Browse and search: filters, the ASN's default area, what is hidden, fairness ordering by
//! month-to-date turnover, the turnover cap, stable page walks, and cache invalidation.

use peken_kernel::clock::Clock;
use peken_kernel::period::Period;
use peken_tests::{TestApp, User, spawn_app};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::{Value, json};

use crate::catalog::ids;
use crate::fixtures::merchants::{active_merchant, commodity, listing, register};

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
