//! `/me/addresses` and checkout with `address_id`.

use peken_tests::{on_postgres, spawn_app};
use serde_json::{Value, json};

use crate::fixtures::orders::{buyer, checkout, shop_with_listing};

fn address(label: &str) -> Value {
    json!({
        "label": label, "recipient": "Bu Sri", "phone": "0812-3456-7890",
        "kelurahan_code": "35.78.03.1002", "street": "Jl. Rungkut Asri 5, RT 02/RW 03",
        "notes": "pagar hijau", "latitude": -7.3216, "longitude": 112.7681,
    })
}

#[tokio::test]
async fn a_buyer_keeps_addresses_with_exactly_one_default() {
    let app = spawn_app().await;
    let me = buyer(&app).await;
    let t = Some(me.token.as_str());

    let home = app
        .post("/api/v1/me/addresses", t, &address("Rumah"))
        .await
        .expect(201);
    assert_eq!(
        home.body["is_default"], true,
        "the first address is the default"
    );
    assert_eq!(home.body["phone"], "+6281234567890", "stored in E.164 form");
    assert_eq!(home.body["kecamatan_code"], "35.78.03");
    assert!(!home.body["kelurahan_name"].as_str().unwrap().is_empty());
    let home_id = home.body["id"].as_str().unwrap().to_owned();
    assert_eq!(
        home.headers["location"],
        format!("/api/v1/me/addresses/{home_id}").as_str()
    );

    let mut office = address("Kantor");
    office["is_default"] = json!(true);
    let office = app
        .post("/api/v1/me/addresses", t, &office)
        .await
        .expect(201);
    let office_id = office.body["id"].as_str().unwrap().to_owned();
    let list = app.get("/api/v1/me/addresses", t).await.expect(200);
    let defaults: Vec<&str> = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["is_default"] == true)
        .map(|a| a["id"].as_str().unwrap())
        .collect();
    assert_eq!(
        defaults,
        vec![office_id.as_str()],
        "the new default took it from the old one"
    );
    assert_eq!(
        list.body[0]["id"],
        office_id.as_str(),
        "the default comes first"
    );

    // PATCH: the phone is normalised, notes and coordinates can be cleared, default moves back.
    let patched = app
        .patch(
            &format!("/api/v1/me/addresses/{home_id}"),
            t,
            &json!({"phone": "62 31 567 8901", "notes": null, "latitude": null, "longitude": null,
                    "is_default": true}),
        )
        .await
        .expect(200);
    assert_eq!(patched.body["phone"], "+62315678901");
    assert!(patched.body.get("notes").is_none());
    assert!(patched.body.get("latitude").is_none());
    assert_eq!(patched.body["is_default"], true);
    let office_now = app
        .get(&format!("/api/v1/me/addresses/{office_id}"), t)
        .await
        .expect(200);
    assert_eq!(office_now.body["is_default"], false);

    // Deleting the default hands it to the other address.
    app.delete(&format!("/api/v1/me/addresses/{home_id}"), t)
        .await
        .expect(204);
    let office_now = app
        .get(&format!("/api/v1/me/addresses/{office_id}"), t)
        .await
        .expect(200);
    assert_eq!(office_now.body["is_default"], true);
    app.get(&format!("/api/v1/me/addresses/{home_id}"), t)
        .await
        .expect_problem(404, "not_found");

    // Another buyer sees none of it.
    let other = buyer(&app).await;
    let o = Some(other.token.as_str());
    app.get(&format!("/api/v1/me/addresses/{office_id}"), o)
        .await
        .expect_problem(404, "not_found");
    app.patch(
        &format!("/api/v1/me/addresses/{office_id}"),
        o,
        &json!({"label": "x"}),
    )
    .await
    .expect_problem(404, "not_found");
    app.delete(&format!("/api/v1/me/addresses/{office_id}"), o)
        .await
        .expect_problem(404, "not_found");
    let theirs = app.get("/api/v1/me/addresses", o).await.expect(200);
    assert_eq!(theirs.body, json!([]));
}

#[tokio::test]
async fn bad_addresses_are_refused_with_stable_codes() {
    let app = spawn_app().await;
    let me = buyer(&app).await;
    let t = Some(me.token.as_str());
    let cases: Vec<(Value, &str, &str)> = vec![
        (
            json!({"kelurahan_code": "35.15.01.2001"}),
            "kelurahan_code",
            "kelurahan_outside_city",
        ),
        (
            json!({"kelurahan_code": "35.78.99.1999"}),
            "kelurahan_code",
            "unknown_region",
        ),
        (
            json!({"kelurahan_code": "Rungkut"}),
            "kelurahan_code",
            "unknown_region",
        ),
        (
            json!({"phone": "+1 415 555 0100"}),
            "phone",
            "invalid_phone",
        ),
        (json!({"phone": "0812"}), "phone", "invalid_phone"),
        (
            json!({"latitude": 48.85, "longitude": 2.35}),
            "latitude",
            "coordinates_off_map",
        ),
        (
            json!({"latitude": 112.76, "longitude": -7.32}),
            "latitude",
            "coordinates_off_map",
        ),
        (
            json!({"latitude": -7.32, "longitude": null}),
            "longitude",
            "coordinates_incomplete",
        ),
        (json!({"label": "x".repeat(41)}), "label", "too_long"),
        (json!({"street": "   "}), "street", "required"),
    ];
    for (change, field, code) in cases {
        let mut body = address("Rumah");
        for (k, v) in change.as_object().unwrap() {
            body[k] = v.clone();
        }
        let reply = app
            .post("/api/v1/me/addresses", t, &body)
            .await
            .expect_problem(422, "validation_failed");
        assert!(
            reply
                .field_codes()
                .contains(&(field.to_owned(), code.to_owned())),
            "{change}: {:?}",
            reply.field_codes()
        );
    }
    // A NUL byte (which PostgreSQL would refuse to store) is refused before it reaches the table.
    let mut body = address("Rumah");
    body["street"] = json!("Jl. Uji\u{0}5");
    app.post("/api/v1/me/addresses", t, &body)
        .await
        .expect_problem(422, "control_character");
    // Coordinates on PATCH must come in pairs too.
    let created = app
        .post("/api/v1/me/addresses", t, &address("Rumah"))
        .await
        .expect(201);
    let id = created.body["id"].as_str().unwrap();
    let reply = app
        .patch(
            &format!("/api/v1/me/addresses/{id}"),
            t,
            &json!({"latitude": null}),
        )
        .await
        .expect_problem(422, "validation_failed");
    assert!(
        reply
            .field_codes()
            .iter()
            .any(|(_, c)| c == "coordinates_incomplete")
    );
    let count = app.get("/api/v1/me/addresses", t).await.expect(200);
    assert_eq!(
        count.body.as_array().unwrap().len(),
        1,
        "nothing half-written"
    );
    // A merchant has no address book.
    let (shop, _) = shop_with_listing(&app, 1_000, 1).await;
    app.get("/api/v1/me/addresses", Some(&shop.owner.token))
        .await
        .expect_problem(403, "forbidden");
}

#[tokio::test]
async fn twenty_addresses_at_most_and_one_default_under_concurrent_creation() {
    let app = spawn_app().await;
    let me = buyer(&app).await;
    // Eight first addresses at once: every one sees "no address yet" only if the owner's row
    // does not serialise them.
    let requests = (0..8).map(|i| {
        let app = &app;
        let token = me.token.clone();
        async move {
            app.post(
                "/api/v1/me/addresses",
                Some(&token),
                &address(&format!("A{i}")),
            )
            .await
            .status
            .as_u16()
        }
    });
    let statuses = futures_util::future::join_all(requests).await;
    assert!(statuses.iter().all(|s| *s == 201), "{statuses:?}");
    let list = app
        .get("/api/v1/me/addresses", Some(&me.token))
        .await
        .expect(200);
    let defaults = list
        .body
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["is_default"] == true)
        .count();
    assert_eq!(
        defaults,
        1,
        "exactly one default (postgres: {})",
        on_postgres()
    );
    for i in 8..20 {
        app.post(
            "/api/v1/me/addresses",
            Some(&me.token),
            &address(&format!("A{i}")),
        )
        .await
        .expect(201);
    }
    app.post("/api/v1/me/addresses", Some(&me.token), &address("A20"))
        .await
        .expect_problem(409, "too_many_addresses");
}

#[tokio::test]
async fn checkout_copies_the_address_into_the_order_and_the_shop_sees_who_to_deliver_to() {
    let app = spawn_app().await;
    let (shop, listing) = shop_with_listing(&app, 12_000, 10).await;
    let me = buyer(&app).await;
    let t = Some(me.token.as_str());
    app.patch("/api/v1/me", t, &json!({"phone": "0813 1111 2222"}))
        .await
        .expect(200);
    let home = app
        .post("/api/v1/me/addresses", t, &address("Rumah"))
        .await
        .expect(201);
    let home_id = home.body["id"].as_str().unwrap().to_owned();

    let body = |address_id: &str| {
        json!({
            "items": [{"listing_id": listing, "quantity": 2}],
            "fulfilment": {"method": "delivery", "address_id": address_id},
            "payment_method": "va",
        })
    };
    let placed = checkout(&app, &me, "addr-1", &body(&home_id))
        .await
        .expect(201);
    let order_id = placed.body["orders"][0]["id"].as_str().unwrap().to_owned();

    // Editing the address later does not move the order.
    app.patch(
        &format!("/api/v1/me/addresses/{home_id}"),
        t,
        &json!({"street": "Jl. Lain 9"}),
    )
    .await
    .expect(200);
    let mine = app
        .get(&format!("/api/v1/orders/{order_id}"), t)
        .await
        .expect(200);
    let delivery = &mine.body["fulfilment"]["delivery_address"];
    assert_eq!(delivery["address_id"], home_id.as_str());
    assert_eq!(delivery["street"], "Jl. Rungkut Asri 5, RT 02/RW 03");
    assert_eq!(delivery["recipient"], "Bu Sri");
    assert_eq!(delivery["phone"], "+6281234567890");
    assert!(
        mine.body["fulfilment"]["address"]
            .as_str()
            .unwrap()
            .starts_with("Jl. Rungkut Asri 5")
    );
    // The buyer sees how to reach the shop.
    assert_eq!(mine.body["merchant"]["address"], "Jl. Uji No. 1");
    assert_eq!(mine.body["merchant"]["id"], shop.id.as_str());
    assert!(
        mine.body.get("buyer").is_none(),
        "a buyer's own view needs no buyer face"
    );

    // The shop sees who to deliver to: name, phone and the address, never a NIK.
    let theirs = app
        .get(
            &format!("/api/v1/orders/{order_id}"),
            Some(&shop.owner.token),
        )
        .await
        .expect(200);
    assert_eq!(theirs.body["buyer"]["name"], "Test ASN");
    assert_eq!(theirs.body["buyer"]["phone"], "+6281311112222");
    assert_eq!(
        theirs.body["fulfilment"]["delivery_address"]["recipient"],
        "Bu Sri"
    );
    assert!(!theirs.text.contains("nik"), "{}", theirs.text);
    let list = app
        .get("/api/v1/orders", Some(&shop.owner.token))
        .await
        .expect(200);
    assert_eq!(list.body["items"][0]["buyer"]["phone"], "+6281311112222");

    // An unknown address, or another buyer's, is refused and nothing is reserved.
    let other = buyer(&app).await;
    let theirs_addr = app
        .post(
            "/api/v1/me/addresses",
            Some(&other.token),
            &address("Rumah"),
        )
        .await
        .expect(201);
    for (key, id) in [
        ("addr-2", "no-such-address"),
        ("addr-3", theirs_addr.body["id"].as_str().unwrap()),
    ] {
        checkout(&app, &me, key, &body(id))
            .await
            .expect_problem(422, "unknown_address");
    }
    assert_eq!(crate::fixtures::orders::stock_of(&app, &listing).await, 8);
    // Delivery needs an address; both forms at once are ambiguous.
    let none = json!({"items": [{"listing_id": listing, "quantity": 1}],
                      "fulfilment": {"method": "delivery"}, "payment_method": "va"});
    let reply = checkout(&app, &me, "addr-4", &none)
        .await
        .expect_problem(422, "validation_failed");
    assert!(
        reply
            .field_codes()
            .iter()
            .any(|(_, c)| c == "address_required")
    );
    let both = json!({"items": [{"listing_id": listing, "quantity": 1}],
                      "fulfilment": {"method": "delivery", "address": "Jl. X", "address_id": home_id},
                      "payment_method": "va"});
    let reply = checkout(&app, &me, "addr-5", &both)
        .await
        .expect_problem(422, "validation_failed");
    assert!(
        reply
            .field_codes()
            .iter()
            .any(|(_, c)| c == "address_ambiguous")
    );
}
