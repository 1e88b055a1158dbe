//! What the shop is told without asking: its stock falling to the threshold it set (once per
//! fall, however many sales follow, found by the low-stock worker), a lowered HET that stops its
//! listings, a takedown and its lifting, and the moderation of its products. Each reaches the
//! shop's people by mail and in their inbox.

use peken_tests::{PASSWORD, TestApp, User, spawn_app};
use serde_json::{Value, json};

use crate::fixtures::merchants::count;
use crate::fixtures::orders::{any_commodity, buyer, paid_order, shop, stock_of, unique};

/// Runs the low-stock worker once, as `peken serve` does every interval.
async fn low_stock_pass(app: &TestApp) -> usize {
    peken_merchant::alerts::low_stock_pass(&app.state)
        .await
        .unwrap()
}

/// The entries of one kind in a user's inbox, newest first.
async fn inbox(app: &TestApp, user: &User, kind: &str) -> Vec<Value> {
    let reply = app
        .get("/api/v1/me/notifications?limit=200", Some(&user.token))
        .await
        .expect(200);
    reply.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == kind)
        .cloned()
        .collect()
}

/// The e-mail address a user signs in with.
async fn email_of(app: &TestApp, user: &User) -> String {
    let me = app.get("/api/v1/me", Some(&user.token)).await.expect(200);
    me.body["email"].as_str().unwrap().to_owned()
}

async fn set_threshold(
    app: &TestApp,
    owner: &User,
    merchant: &str,
    listing: &str,
    threshold: &Value,
) -> peken_tests::Reply {
    app.patch(
        &format!("/api/v1/merchants/{merchant}/listings/{listing}"),
        Some(&owner.token),
        &json!({ "low_stock_threshold": threshold }),
    )
    .await
}

#[tokio::test]
async fn low_stock_alerts_once_per_fall_and_again_after_a_restock() {
    let app = spawn_app().await;
    let s = shop(&app, "toko_kelontong", "35.78.03.1001").await;
    let quiet = shop(&app, "toko_kelontong", "35.78.03.1001").await;
    let c = any_commodity(&app, None, None).await;
    let listing = s.list(&app, &c, 10_000, 10).await;
    let unwatched = quiet.list(&app, &c, 10_000, 3).await;
    let shown = set_threshold(&app, &s.owner, &s.id, &listing, &json!(5))
        .await
        .expect(200);
    assert_eq!(shown.body["low_stock_threshold"], 5);
    assert_eq!(shown.body["low_stock"], false);
    let ani = buyer(&app).await;
    let to = email_of(&app, &s.owner).await;

    // Above the threshold: nothing to say.
    paid_order(&app, &ani, &listing, 4).await;
    assert_eq!(low_stock_pass(&app).await, 0);
    // 6 → 5: the fall. A sale from the unwatched listing empties it and tells nobody.
    paid_order(&app, &ani, &listing, 1).await;
    paid_order(&app, &ani, &unwatched, 3).await;
    assert_eq!(stock_of(&app, &listing).await, 5);
    assert_eq!(stock_of(&app, &unwatched).await, 0);
    assert_eq!(low_stock_pass(&app).await, 1);
    let mails = app.mails("low_stock", &to).await;
    assert_eq!(mails.len(), 1);
    assert!(mails[0].contains("sisa 5 kg (batas 5)"), "{}", mails[0]);
    let entries = inbox(&app, &s.owner, "low_stock").await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["target"]["listing_id"], listing.as_str());
    assert_eq!(entries[0]["title"], "Stok menipis");
    let seen = app
        .get(
            &format!("/api/v1/merchants/{}/listings/{listing}", s.id),
            Some(&s.owner.token),
        )
        .await
        .expect(200);
    assert_eq!(seen.body["low_stock"], true);

    // Two more sales below the threshold, two more passes: still one message.
    paid_order(&app, &ani, &listing, 1).await;
    assert_eq!(low_stock_pass(&app).await, 0);
    paid_order(&app, &ani, &listing, 2).await;
    assert_eq!(low_stock_pass(&app).await, 0);
    assert_eq!(app.mails("low_stock", &to).await.len(), 1);
    assert_eq!(inbox(&app, &s.owner, "low_stock").await.len(), 1);

    // A restock above the threshold, then a new fall: a second message, with the new count.
    app.post(
        &format!(
            "/api/v1/merchants/{}/listings/{listing}/stock-movements",
            s.id
        ),
        Some(&s.owner.token),
        &json!({"kind": "restock", "quantity_delta": 10}),
    )
    .await
    .expect(201);
    assert_eq!(stock_of(&app, &listing).await, 12);
    assert_eq!(low_stock_pass(&app).await, 0);
    paid_order(&app, &ani, &listing, 8).await;
    assert_eq!(low_stock_pass(&app).await, 1);
    let mails = app.mails("low_stock", &to).await;
    assert_eq!(mails.len(), 2);
    assert!(mails[1].contains("sisa 4 kg"), "{}", mails[1]);
    assert_eq!(inbox(&app, &s.owner, "low_stock").await.len(), 2);

    // The shop without a threshold heard nothing.
    let quiet_to = email_of(&app, &quiet.owner).await;
    assert!(app.mails("low_stock", &quiet_to).await.is_empty());
    assert!(inbox(&app, &quiet.owner, "low_stock").await.is_empty());
    assert_eq!(
        count(&app, "mail_outbox", "template = 'low_stock'").await,
        2
    );
}

#[tokio::test]
async fn stock_coming_back_through_an_order_ends_the_fall_at_the_next_pass() {
    // Stock that comes back without the merchant (a rejected order releases its units) is seen
    // by the worker: the pass that finds it above the threshold clears the mark.
    let app = spawn_app().await;
    let s = shop(&app, "toko_kelontong", "35.78.03.1001").await;
    let c = any_commodity(&app, None, None).await;
    let listing = s.list(&app, &c, 10_000, 6).await;
    set_threshold(&app, &s.owner, &s.id, &listing, &json!(5))
        .await
        .expect(200);
    // Set at creation this time, already crossed: the first pass alerts it with the other.
    let created = app
        .post(
            &format!("/api/v1/merchants/{}/listings", s.id),
            Some(&s.owner.token),
            &json!({"commodity_id": any_commodity(&app, None, None).await, "price": 5_000,
                    "stock": 1, "low_stock_threshold": 2}),
        )
        .await
        .expect(201);
    assert_eq!(created.body["low_stock_threshold"], 2);
    assert_eq!(created.body["low_stock"], true);
    let ani = buyer(&app).await;
    let (order, _, _) = paid_order(&app, &ani, &listing, 2).await;
    // Two listings of one shop: one message naming both.
    assert_eq!(low_stock_pass(&app).await, 2);
    let to = email_of(&app, &s.owner).await;
    assert_eq!(app.mails("low_stock", &to).await.len(), 1);
    let entry = &inbox(&app, &s.owner, "low_stock").await[0];
    assert_eq!(entry["target"]["merchant_id"], s.id.as_str());
    assert!(entry["target"].get("listing_id").is_none(), "{entry}");

    app.post(
        &format!("/api/v1/orders/{order}/reject"),
        Some(&s.owner.token),
        &json!({"reason": "stok rusak"}),
    )
    .await
    .expect(200);
    assert_eq!(stock_of(&app, &listing).await, 6);
    assert_eq!(low_stock_pass(&app).await, 0);
    assert_eq!(
        count(
            &app,
            "listings",
            &format!("id = '{listing}' AND low_stock_alerted_at IS NULL")
        )
        .await,
        1,
        "the pass cleared the mark"
    );
    paid_order(&app, &ani, &listing, 1).await;
    assert_eq!(low_stock_pass(&app).await, 1);
    assert_eq!(app.mails("low_stock", &to).await.len(), 2);

    // Switched off: the mark goes and nothing more is said.
    set_threshold(&app, &s.owner, &s.id, &listing, &Value::Null)
        .await
        .expect(200);
    paid_order(&app, &ani, &listing, 5).await;
    assert_eq!(low_stock_pass(&app).await, 0);
    assert_eq!(app.mails("low_stock", &to).await.len(), 2);
}

#[tokio::test]
async fn workers_running_at_once_alert_a_fall_once() {
    // Every server runs the worker: passes that meet on the same listings (on PostgreSQL each
    // skips what another holds) alert each listing once between them.
    let app = spawn_app().await;
    let s = shop(&app, "toko_kelontong", "35.78.03.1001").await;
    let mut listings = Vec::new();
    for _ in 0..6 {
        let c = any_commodity(&app, None, None).await;
        let l = s.list(&app, &c, 10_000, 2).await;
        set_threshold(&app, &s.owner, &s.id, &l, &json!(2))
            .await
            .expect(200);
        listings.push(l);
    }
    let (a, b, c) = tokio::join!(
        low_stock_pass(&app),
        low_stock_pass(&app),
        low_stock_pass(&app)
    );
    assert_eq!(a + b + c, listings.len());
    assert_eq!(low_stock_pass(&app).await, 0);
    let to = email_of(&app, &s.owner).await;
    let mails = app.mails("low_stock", &to).await;
    let named: usize = mails.iter().map(|m| m.matches("(batas 2)").count()).sum();
    assert_eq!(named, listings.len(), "{mails:?}");
    assert_eq!(
        count(&app, "listings", "low_stock_alerted_at IS NOT NULL").await,
        6
    );
}

#[tokio::test]
async fn the_threshold_is_checked_and_another_shops_listing_is_not_found() {
    let app = spawn_app().await;
    let s = shop(&app, "toko_kelontong", "35.78.03.1001").await;
    let other = shop(&app, "toko_kelontong", "35.78.03.1001").await;
    let c = any_commodity(&app, None, None).await;
    let listing = s.list(&app, &c, 10_000, 10).await;

    let reply = set_threshold(&app, &s.owner, &s.id, &listing, &json!(-1))
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(
        reply.field_codes(),
        [("low_stock_threshold".to_owned(), "out_of_range".to_owned())]
    );
    let reply = set_threshold(&app, &s.owner, &s.id, &listing, &json!(2.5))
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(reply.field_codes()[0].1, "not_an_integer");
    let reply = app
        .post(
            &format!("/api/v1/merchants/{}/listings", s.id),
            Some(&s.owner.token),
            &json!({"commodity_id": any_commodity(&app, None, None).await, "price": 5_000,
                    "stock": 1, "low_stock_threshold": -3}),
        )
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(reply.field_codes()[0].0, "low_stock_threshold");

    // Another shop's listing, through its own merchant path or the listing's: 404.
    set_threshold(&app, &other.owner, &other.id, &listing, &json!(3))
        .await
        .expect_problem(404, "not_found");
    set_threshold(&app, &other.owner, &s.id, &listing, &json!(3))
        .await
        .expect_problem(404, "not_found");
    let seen = app
        .get(
            &format!("/api/v1/merchants/{}/listings/{listing}", s.id),
            Some(&s.owner.token),
        )
        .await
        .expect(200);
    assert_eq!(seen.body["low_stock_threshold"], Value::Null);
    // Absent leaves it alone; a price change keeps it.
    set_threshold(&app, &s.owner, &s.id, &listing, &json!(4))
        .await
        .expect(200);
    let repriced = app
        .patch(
            &format!("/api/v1/merchants/{}/listings/{listing}", s.id),
            Some(&s.owner.token),
            &json!({"price": 9_000}),
        )
        .await
        .expect(200);
    assert_eq!(repriced.body["low_stock_threshold"], 4);
}

#[tokio::test]
async fn a_lowered_het_tells_the_shops_priced_above_it_and_no_other() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let above = shop(&app, "toko_kelontong", "35.78.03.1001").await;
    let below = shop(&app, "toko_kelontong", "35.78.03.1001").await;
    let c = any_commodity(&app, Some(15_000), None).await;
    let pricey = above.list(&app, &c, 14_500, 10).await;
    below.list(&app, &c, 12_000, 10).await;

    // Raising the HET stops nothing and tells nobody.
    app.patch(
        &format!("/api/v1/admin/commodities/{c}"),
        Some(&admin.token),
        &json!({"het_price": 16_000}),
    )
    .await
    .expect(200);
    assert_eq!(
        count(&app, "mail_outbox", "template = 'het_lowered'").await,
        0
    );

    app.patch(
        &format!("/api/v1/admin/commodities/{c}"),
        Some(&admin.token),
        &json!({"het_price": 13_000}),
    )
    .await
    .expect(200);
    let to = email_of(&app, &above.owner).await;
    let mails = app.mails("het_lowered", &to).await;
    assert_eq!(mails.len(), 1);
    assert!(mails[0].contains("menjadi Rp13.000"), "{}", mails[0]);
    assert!(
        mails[0].contains(&format!("- Listing {pricey}: Rp14.500")),
        "{}",
        mails[0]
    );
    let entries = inbox(&app, &above.owner, "het_lowered").await;
    assert_eq!(entries.len(), 1);
    assert_eq!(entries[0]["target"]["commodity_id"], c.as_str());
    assert_eq!(entries[0]["target"]["listing_id"], pricey.as_str());
    assert!(
        entries[0]["body"].as_str().unwrap().contains("Rp14.500"),
        "{}",
        entries[0]
    );

    let below_to = email_of(&app, &below.owner).await;
    assert!(app.mails("het_lowered", &below_to).await.is_empty());
    assert!(inbox(&app, &below.owner, "het_lowered").await.is_empty());
    assert_eq!(
        count(&app, "mail_outbox", "template = 'het_lowered'").await,
        1
    );
}

#[tokio::test]
async fn takedown_restore_and_moderation_reach_the_shops_inbox_with_the_reason() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let s = shop(&app, "toko_kelontong", "35.78.03.1001").await;
    let c = any_commodity(&app, None, None).await;
    let listing = s.list(&app, &c, 10_000, 10).await;
    let reason = format!("Foto tidak sesuai barang {}", unique());
    // Staff manage listings too: they hear of it; a removed one does not.
    let mut staff = Vec::new();
    for name in ["kasir", "gudang"] {
        let email = format!("{name}{}@toko.test", unique());
        let created = app
            .post(
                &format!("/api/v1/merchants/{}/staff", s.id),
                Some(&s.owner.token),
                &json!({"name": name, "email": email, "phone": "081298765432",
                        "password": PASSWORD}),
            )
            .await
            .expect(201);
        let id = created.body["id"].as_str().unwrap().to_owned();
        staff.push((id, email));
    }
    let kasir = app.login(&staff[0].1, PASSWORD).await;
    app.delete(
        &format!("/api/v1/merchants/{}/staff/{}", s.id, staff[1].0),
        Some(&s.owner.token),
    )
    .await
    .expect(204);

    app.post(
        &format!("/api/v1/admin/listings/{listing}/takedown"),
        Some(&admin.token),
        &json!({ "reason": reason }),
    )
    .await
    .expect(200);
    let down = inbox(&app, &s.owner, "listing_taken_down").await;
    assert_eq!(down.len(), 1);
    assert!(
        down[0]["body"].as_str().unwrap().contains(&reason),
        "{}",
        down[0]
    );
    assert_eq!(down[0]["target"]["listing_id"], listing.as_str());
    assert_eq!(inbox(&app, &kasir, "listing_taken_down").await.len(), 1);
    assert_eq!(app.mails("listing_taken_down", &staff[0].1).await.len(), 1);
    assert!(
        app.mails("listing_taken_down", &staff[1].1)
            .await
            .is_empty()
    );
    let to = email_of(&app, &s.owner).await;
    let mails = app.mails("listing_taken_down", &to).await;
    assert_eq!(mails.len(), 1);
    assert!(
        mails[0].contains(&format!("Alasan: {reason}")),
        "{}",
        mails[0]
    );
    assert!(mails[0].contains(" WIB"), "{}", mails[0]);

    app.delete(
        &format!("/api/v1/admin/listings/{listing}/takedown"),
        Some(&admin.token),
    )
    .await
    .expect(200);
    let restored = inbox(&app, &s.owner, "listing_restored").await;
    assert_eq!(restored.len(), 1);
    assert!(
        restored[0]["body"].as_str().unwrap().contains(&reason),
        "{}",
        restored[0]
    );

    // A UMKM's product of its own, rejected with a reason, changed and approved.
    let s = shop(&app, "umkm", "35.78.03.1001").await;
    let to = email_of(&app, &s.owner).await;
    let product = app
        .post(
            &format!("/api/v1/merchants/{}/products", s.id),
            Some(&s.owner.token),
            &json!({"name": "Sambal Bawang Rungkut", "category": "kuliner", "unit": "botol",
                    "net_volume_ml": 150}),
        )
        .await
        .expect(201);
    let product_id = product.body["id"].as_str().unwrap().to_owned();
    app.post(
        &format!("/api/v1/admin/products/{product_id}/moderation"),
        Some(&admin.token),
        &json!({"decision": "reject", "reason": "Izin PIRT belum ada"}),
    )
    .await
    .expect(200);
    let rejected = inbox(&app, &s.owner, "product_rejected").await;
    assert_eq!(rejected.len(), 1);
    assert_eq!(rejected[0]["target"]["product_id"], product_id.as_str());
    let body = rejected[0]["body"].as_str().unwrap();
    assert!(body.contains("Izin PIRT belum ada"), "{body}");
    assert!(body.contains("Sambal Bawang Rungkut"), "{body}");
    let mails = app.mails("product_rejected", &to).await;
    assert_eq!(mails.len(), 1);
    assert!(
        mails[0].contains("Alasan: Izin PIRT belum ada"),
        "{}",
        mails[0]
    );

    app.patch(
        &format!("/api/v1/merchants/{}/products/{product_id}", s.id),
        Some(&s.owner.token),
        &json!({"description": "Dengan izin PIRT 2063578010123-28"}),
    )
    .await
    .expect(200);
    app.post(
        &format!("/api/v1/admin/products/{product_id}/moderation"),
        Some(&admin.token),
        &json!({"decision": "approve"}),
    )
    .await
    .expect(200);
    let approved = inbox(&app, &s.owner, "product_approved").await;
    assert_eq!(approved.len(), 1);
    assert!(
        approved[0]["title"]
            .as_str()
            .unwrap()
            .ends_with("disetujui"),
        "{}",
        approved[0]
    );
}
