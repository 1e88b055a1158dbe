//! Merchant registration, verification, suspension, staff rights, listings and stock
//! movements.

use peken_tests::{PASSWORD, spawn_app};
use serde_json::json;

use crate::fixtures::merchants::{
    active_merchant, approve, commodity, count, listing, register, registration,
};

#[tokio::test]
async fn a_merchant_registers_is_verified_and_then_lists() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let beras = commodity(&app, &admin, "Beras Medium", "sembako", Some(13_500)).await;
    let body = registration("Toko Berkah", "toko_kelontong", "35.78.05.1001");
    let created = app.post("/api/v1/merchants", None, &body).await.expect(201);
    assert_eq!(created.body["status"], "pending");
    assert_eq!(created.body["kecamatan_code"], "35.78.05");
    let id = created.body["id"].as_str().unwrap().to_owned();
    let nik = body["owner_nik"].as_str().unwrap();
    assert!(!created.text.contains(nik), "the NIK leaves only masked");
    assert_eq!(created.body["npwp"], "0012345678901000", "NPWP normalised");

    // The owner can log in at once; the token carries the merchant.
    let owner = app
        .login(body["owner"]["email"].as_str().unwrap(), PASSWORD)
        .await;
    let me = app.get("/api/v1/me", Some(&owner.token)).await.expect(200);
    assert_eq!(me.body["role"], "merchant");
    assert_eq!(me.body["merchant_id"], id);

    // Pending merchants cannot list and are invisible to the public.
    app.post(
        &format!("/api/v1/merchants/{id}/listings"),
        Some(&owner.token),
        &json!({"commodity_id": beras, "price": 13_000, "stock": 10}),
    )
    .await
    .expect_problem(409, "merchant_not_active");
    app.get(&format!("/api/v1/merchants/{id}"), None)
        .await
        .expect_problem(404, "not_found");

    // The admin's queue holds it.
    let queue = app
        .get("/api/v1/admin/merchants?status=pending", Some(&admin.token))
        .await
        .expect(200);
    let ids: Vec<_> = queue.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [id.as_str()]);
    app.get("/api/v1/admin/merchants", Some(&owner.token))
        .await
        .expect_problem(403, "forbidden");

    approve(&app, &admin, &id).await;
    app.post(
        &format!("/api/v1/admin/merchants/{id}/verification"),
        Some(&admin.token),
        &json!({"decision": "reject", "reason": "late"}),
    )
    .await
    .expect_problem(409, "merchant_not_pending");

    // Public profile: no bank, tax or owner fields.
    let public = app
        .get(&format!("/api/v1/merchants/{id}"), None)
        .await
        .expect(200);
    assert_eq!(public.body["status"], "active");
    for hidden in ["bank", "npwp", "owner_nik_masked", "nib", "mbr"] {
        assert!(
            public.body.get(hidden).is_none(),
            "{hidden}: {}",
            public.text
        );
    }
    // Owner, admin and treasury see them, the NIK masked.
    let treasury = app.staff("treasury", None).await;
    for who in [&owner, &admin, &treasury] {
        let full = app
            .get(&format!("/api/v1/merchants/{id}"), Some(&who.token))
            .await
            .expect(200);
        assert_eq!(full.body["bank"]["account_number"], "0011223344");
        assert_eq!(full.body["nib"], body["nib"]);
        let masked = full.body["owner_nik_masked"].as_str().unwrap();
        assert_eq!(masked, format!("{}********{}", &nik[..4], &nik[12..]));
        assert!(!full.text.contains(nik));
    }

    let listed = app
        .post(
            &format!("/api/v1/merchants/{id}/listings"),
            Some(&owner.token),
            &json!({"commodity_id": beras, "price": 13_000, "stock": 10}),
        )
        .await
        .expect(201);
    assert_eq!(listed.body["stock"], 10);
    assert_eq!(listed.body["sellable"], true);
}

#[tokio::test]
async fn registration_refuses_each_bad_identifier_and_writes_nothing() {
    let app = spawn_app().await;
    let mut body = registration("Toko Salah", "warung", "35.78.99.1999");
    body["nib"] = json!("12345");
    body["owner_nik"] = json!("3578014113900001");
    body["npwp"] = json!("12.345");
    body["bank"]["bank_code"] = json!("BCA");
    body["bank"]["account_number"] = json!("12");
    body["owner"]["email"] = json!("not-an-email");
    let reply = app
        .post("/api/v1/merchants", None, &body)
        .await
        .expect_problem(422, "validation_failed");
    let mut codes = reply.field_codes();
    codes.sort();
    assert_eq!(
        codes,
        [
            ("bank.account_number", "invalid_account_number"),
            ("bank.bank_code", "invalid_bank_code"),
            ("kelurahan_code", "unknown_region"),
            ("kind", "unknown_merchant_kind"),
            ("nib", "invalid_nib"),
            ("npwp", "invalid_npwp"),
            ("owner.email", "invalid_email"),
            ("owner_nik", "invalid_nik"),
        ]
        .map(|(f, c)| (f.to_owned(), c.to_owned()))
    );

    // Each on its own, too: a single bad field is enough to refuse.
    for (field, value, code) in [
        ("kelurahan_code", json!("35.78.05"), "unknown_region"),
        ("kelurahan_code", json!("35.78.05.1999"), "unknown_region"),
        ("nib", json!("12345678901234"), "invalid_nib"),
        ("owner_nik", json!("357801410190000"), "invalid_nik"),
        ("npwp", json!("1234567890123456789"), "invalid_npwp"),
    ] {
        let mut body = registration("Toko Satu", "umkm", "35.78.05.1001");
        body[field] = value;
        let reply = app
            .post("/api/v1/merchants", None, &body)
            .await
            .expect_problem(422, "validation_failed");
        assert_eq!(
            reply.field_codes(),
            [(field.to_owned(), code.to_owned())],
            "{}",
            reply.text
        );
    }
    assert_eq!(count(&app, "merchants", "1 = 1").await, 0);
    assert_eq!(count(&app, "users", "role = 'merchant'").await, 0);

    // One merchant per NIB; one user per e-mail. A refused registration leaves no user behind.
    let first = registration("Toko Pertama", "koperasi", "35.78.05.1001");
    app.post("/api/v1/merchants", None, &first)
        .await
        .expect(201);
    let mut same_nib = registration("Toko Kedua", "koperasi", "35.78.05.1002");
    same_nib["nib"] = first["nib"].clone();
    app.post("/api/v1/merchants", None, &same_nib)
        .await
        .expect_problem(409, "nib_taken");
    let mut same_email = registration("Toko Ketiga", "koperasi", "35.78.05.1002");
    same_email["owner"]["email"] = first["owner"]["email"].clone();
    app.post("/api/v1/merchants", None, &same_email)
        .await
        .expect_problem(409, "email_taken");
    assert_eq!(count(&app, "merchants", "1 = 1").await, 1);
    assert_eq!(count(&app, "users", "role = 'merchant'").await, 1);
    let fifteen_digit_npwp = {
        let mut b = registration("Toko Lama", "umkm", "35.78.05.1003");
        b["npwp"] = json!("012345678901000");
        b
    };
    let created = app
        .post("/api/v1/merchants", None, &fifteen_digit_npwp)
        .await
        .expect(201);
    assert_eq!(created.body["npwp"], "0012345678901000");
}

#[tokio::test]
async fn rejection_needs_a_reason_and_suspension_hides_until_reinstated() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (rejected, rejected_owner) = register(&app, "Toko Ragu", "umkm", "35.78.01.1001").await;
    let path = format!("/api/v1/admin/merchants/{rejected}/verification");
    let reply = app
        .post(&path, Some(&admin.token), &json!({"decision": "reject"}))
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(reply.field_codes()[0].1, "required");
    let reply = app
        .post(
            &path,
            Some(&admin.token),
            &json!({"decision": "reject", "reason": "NIB tidak sesuai nama usaha"}),
        )
        .await
        .expect(200);
    assert_eq!(reply.body["status"], "rejected");
    let own = app
        .get(
            &format!("/api/v1/merchants/{rejected}"),
            Some(&rejected_owner.token),
        )
        .await
        .expect(200);
    assert_eq!(own.body["status_reason"], "NIB tidak sesuai nama usaha");
    // The owner is told, once, with the reason.
    let mails = outbox_for(&app, &format!("merchant:{rejected}:verification:%")).await;
    assert_eq!(mails.len(), 1, "{mails:?}");
    assert!(
        mails[0].contains("NIB tidak sesuai nama usaha"),
        "{}",
        mails[0]
    );
    app.post(
        &path,
        Some(&admin.token),
        &json!({"decision": "reject", "reason": "again"}),
    )
    .await
    .expect_problem(409, "merchant_not_pending");
    assert_eq!(
        outbox_for(&app, &format!("merchant:{rejected}:verification:%"))
            .await
            .len(),
        1
    );

    let (id, owner) =
        active_merchant(&app, &admin, "Toko Jaya", "toko_kelontong", "35.78.01.1001").await;
    let gula = commodity(&app, &admin, "Gula Pasir", "sembako", Some(17_500)).await;
    let listing_id = listing(&app, &owner, &id, &gula, 17_000, 5).await;
    let browse = || app.get("/api/v1/listings?q=gula", None);
    assert_eq!(
        browse().await.expect(200).body["items"][0]["id"],
        listing_id
    );

    let suspension = format!("/api/v1/admin/merchants/{id}/suspension");
    app.post(&suspension, Some(&admin.token), &json!({"reason": " "}))
        .await
        .expect_problem(422, "validation_failed");
    let reply = app
        .post(
            &suspension,
            Some(&admin.token),
            &json!({"reason": "harga tidak wajar"}),
        )
        .await
        .expect(200);
    assert_eq!(reply.body["status"], "suspended");
    assert_eq!(browse().await.expect(200).body["items"], json!([]));
    app.post(&suspension, Some(&admin.token), &json!({"reason": "again"}))
        .await
        .expect_problem(409, "merchant_not_active");
    app.get(&format!("/api/v1/merchants/{id}"), None)
        .await
        .expect_problem(404, "not_found");
    // A suspended merchant's owner still sees why.
    let own = app
        .get(&format!("/api/v1/merchants/{id}"), Some(&owner.token))
        .await
        .expect(200);
    assert_eq!(own.body["status_reason"], "harga tidak wajar");

    let reply = app
        .send(
            reqwest::Method::DELETE,
            &suspension,
            Some(&admin.token),
            None,
            &[],
        )
        .await
        .expect(200);
    assert_eq!(reply.body["status"], "active");
    assert_eq!(
        browse().await.expect(200).body["items"][0]["id"],
        listing_id
    );
    app.send(
        reqwest::Method::DELETE,
        &suspension,
        Some(&admin.token),
        None,
        &[],
    )
    .await
    .expect_problem(409, "merchant_not_suspended");
}

#[tokio::test]
async fn staff_manage_stock_but_not_bank_details() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (id, owner) = active_merchant(
        &app,
        &admin,
        "Toko Sejahtera",
        "toko_kelontong",
        "35.78.02.1001",
    )
    .await;
    let minyak = commodity(&app, &admin, "Minyak Goreng", "sembako", Some(15_700)).await;
    let telur = commodity(&app, &admin, "Telur Ayam", "sembako", None).await;
    let listing_id = listing(&app, &owner, &id, &minyak, 15_500, 10).await;

    let staff_body = json!({
        "name": "Karyawan Satu", "email": "staf@toko.test", "phone": "081298765432",
        "password": PASSWORD,
    });
    let staff_path = format!("/api/v1/merchants/{id}/staff");
    let created = app
        .post(&staff_path, Some(&owner.token), &staff_body)
        .await
        .expect(201);
    assert_eq!(created.body["merchant_role"], "staff");
    let staff = app.login("staf@toko.test", PASSWORD).await;

    // Staff change stock, list and reprice.
    let adjusted = app
        .post(
            &format!("/api/v1/merchants/{id}/listings/{listing_id}/stock-movements"),
            Some(&staff.token),
            &json!({"kind": "restock", "quantity_delta": 5, "note": "kiriman distributor"}),
        )
        .await
        .expect(201);
    assert_eq!(adjusted.body["stock"], 15);
    listing(&app, &staff, &id, &telur, 2_000, 100).await;
    app.patch(
        &format!("/api/v1/merchants/{id}/listings/{listing_id}"),
        Some(&staff.token),
        &json!({"price": 15_000}),
    )
    .await
    .expect(200);

    // Staff neither see nor change the bank account, nor add staff.
    let seen = app
        .get(&format!("/api/v1/merchants/{id}"), Some(&staff.token))
        .await
        .expect(200);
    assert!(seen.body.get("bank").is_none(), "{}", seen.text);
    assert!(seen.body.get("owner_nik_masked").is_none(), "{}", seen.text);
    let new_bank = json!({"bank_code": "014", "account_number": "5550001111", "account_name": "Toko Sejahtera"});
    let bank_path = format!("/api/v1/merchants/{id}/bank-account");
    app.put(&bank_path, Some(&staff.token), &new_bank)
        .await
        .expect_problem(403, "owner_only");
    app.post(
        &staff_path,
        Some(&staff.token),
        &json!({"name": "X", "email": "x@toko.test", "phone": "081298765433", "password": PASSWORD}),
    )
    .await
    .expect_problem(403, "owner_only");
    let changed = app
        .put(&bank_path, Some(&owner.token), &new_bank)
        .await
        .expect(200);
    assert_eq!(changed.body["bank"]["bank_code"], "014");

    // The owner and admins see who works there, owner first; staff may not.
    let people = app.get(&staff_path, Some(&owner.token)).await.expect(200);
    let roles: Vec<(&str, bool)> = people
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["merchant_role"].as_str().unwrap(),
                p["active"].as_bool().unwrap(),
            )
        })
        .collect();
    assert_eq!(roles, [("owner", true), ("staff", true)]);
    assert_eq!(people.body[1]["email"], "staf@toko.test");
    let admin_view = app.get(&staff_path, Some(&admin.token)).await.expect(200);
    assert_eq!(admin_view.body, people.body);
    app.get(&staff_path, Some(&staff.token))
        .await
        .expect_problem(403, "owner_only");
    let staff_id = people.body[1]["id"].as_str().unwrap().to_owned();
    let owner_id = people.body[0]["id"].as_str().unwrap().to_owned();
    app.delete(&format!("{staff_path}/{owner_id}"), Some(&owner.token))
        .await
        .expect_problem(409, "owner_not_removable");
    app.delete(&format!("{staff_path}/{staff_id}"), Some(&staff.token))
        .await
        .expect_problem(403, "owner_only");

    // The movement history says who did what.
    let history = app
        .get(
            &format!("/api/v1/merchants/{id}/listings/{listing_id}/stock-movements"),
            Some(&owner.token),
        )
        .await
        .expect(200);
    let items = history.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(items[0]["kind"], "restock");
    assert_eq!(items[0]["actor_id"], staff.id);
    assert_eq!(items[0]["note"], "kiriman distributor");
    assert_eq!(items[0]["stock_after"], 15);
    assert_eq!(items[1]["actor_id"], owner.id);
    assert_eq!(items[1]["quantity_delta"], 10);

    // Removed staff are locked out at once, sessions included; their history stays.
    app.delete(&format!("{staff_path}/{staff_id}"), Some(&owner.token))
        .await
        .expect(204);
    app.get(&format!("/api/v1/merchants/{id}"), Some(&staff.token))
        .await
        .expect(401);
    let login = app
        .post(
            "/api/v1/auth/login",
            None,
            &json!({"login": "staf@toko.test", "password": PASSWORD}),
        )
        .await;
    assert_eq!(login.status.as_u16(), 401, "{}", login.text);
    app.delete(&format!("{staff_path}/{staff_id}"), Some(&owner.token))
        .await
        .expect(204);
    let people = app.get(&staff_path, Some(&owner.token)).await.expect(200);
    assert_eq!(people.body[1]["active"], false);
}

#[tokio::test]
async fn another_merchants_shop_is_not_found_and_roles_are_enforced() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (mine, me) =
        active_merchant(&app, &admin, "Toko Saya", "toko_kelontong", "35.78.02.1001").await;
    let (theirs, them) =
        active_merchant(&app, &admin, "Toko Dia", "toko_kelontong", "35.78.02.1002").await;
    let beras = commodity(&app, &admin, "Beras Premium", "sembako", Some(14_900)).await;
    let their_listing = listing(&app, &them, &theirs, &beras, 14_500, 3).await;
    let listings_before = count(&app, "listings", "1 = 1").await;

    app.post(
        &format!("/api/v1/merchants/{theirs}/listings"),
        Some(&me.token),
        &json!({"commodity_id": beras, "price": 14_000, "stock": 1}),
    )
    .await
    .expect_problem(404, "not_found");
    for path in [
        format!("/api/v1/merchants/{theirs}/listings/{their_listing}"),
        format!("/api/v1/merchants/{mine}/listings/{their_listing}"),
        format!("/api/v1/merchants/{theirs}/listings/{their_listing}/stock-movements"),
        format!("/api/v1/merchants/{theirs}/listings"),
    ] {
        app.get(&path, Some(&me.token))
            .await
            .expect_problem(404, "not_found");
    }
    app.patch(
        &format!("/api/v1/merchants/{mine}/listings/{their_listing}"),
        Some(&me.token),
        &json!({"price": 1}),
    )
    .await
    .expect_problem(404, "not_found");
    app.post(
        &format!("/api/v1/merchants/{mine}/listings/{their_listing}/stock-movements"),
        Some(&me.token),
        &json!({"kind": "adjustment", "quantity_delta": -3}),
    )
    .await
    .expect_problem(404, "not_found");
    assert_eq!(count(&app, "listings", "1 = 1").await, listings_before);
    assert_eq!(
        count(
            &app,
            "stock_movements",
            &format!("listing_id = '{their_listing}'")
        )
        .await,
        1
    );

    // Buyers may not touch merchant routes; admins may read them.
    let buyer = app.public_buyer("35.78.02.1001").await;
    app.get(
        &format!("/api/v1/merchants/{theirs}/listings"),
        Some(&buyer.token),
    )
    .await
    .expect_problem(403, "forbidden");
    app.post(
        &format!("/api/v1/merchants/{theirs}/listings"),
        Some(&admin.token),
        &json!({"commodity_id": beras, "price": 14_000, "stock": 1}),
    )
    .await
    .expect_problem(403, "forbidden");
    let seen = app
        .get(
            &format!("/api/v1/merchants/{theirs}/listings/{their_listing}/stock-movements"),
            Some(&admin.token),
        )
        .await
        .expect(200);
    assert_eq!(seen.body["items"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn listing_and_stock_input_is_checked_and_nothing_is_written() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (id, owner) = active_merchant(
        &app,
        &admin,
        "Toko Teliti",
        "toko_kelontong",
        "35.78.03.1001",
    )
    .await;
    let (umkm, umkm_owner) =
        active_merchant(&app, &admin, "Batik Rungkut", "umkm", "35.78.03.1002").await;
    let tepung = commodity(&app, &admin, "Tepung Terigu", "sembako", Some(12_000)).await;
    let path = format!("/api/v1/merchants/{id}/listings");

    for (price, code) in [
        (json!(0), "amount_not_positive"),
        (json!(-500), "amount_not_positive"),
        (json!(1000.5), "amount_has_fraction"),
        (json!("11000"), "invalid_amount"),
    ] {
        let reply = app
            .post(
                &path,
                Some(&owner.token),
                &json!({"commodity_id": tepung, "price": price, "stock": 1}),
            )
            .await
            .expect_problem(422, "validation_failed");
        assert_eq!(reply.field_codes(), [("price".to_owned(), code.to_owned())]);
    }
    let reply = app
        .post(
            &path,
            Some(&owner.token),
            &json!({"commodity_id": tepung, "price": 11_000, "stock": -1}),
        )
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(
        reply.field_codes(),
        [("stock".to_owned(), "out_of_range".to_owned())]
    );
    let reply = app
        .post(
            &path,
            Some(&owner.token),
            &json!({"commodity_id": "nope", "price": 11_000, "stock": 1}),
        )
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(reply.field_codes()[0].1, "unknown_commodity");
    let reply = app
        .post(
            &path,
            Some(&owner.token),
            &json!({"commodity_id": tepung, "price": 12_001, "stock": 1}),
        )
        .await
        .expect_problem(422, "price_above_het");
    assert_eq!(reply.body["context"]["het_price"], 12_000);
    // UMKM may not list sembako by default.
    app.post(
        &format!("/api/v1/merchants/{umkm}/listings"),
        Some(&umkm_owner.token),
        &json!({"commodity_id": tepung, "price": 11_000, "stock": 1}),
    )
    .await
    .expect_problem(422, "category_not_allowed");
    assert_eq!(count(&app, "listings", "1 = 1").await, 0);
    assert_eq!(count(&app, "stock_movements", "1 = 1").await, 0);

    let listing_id = listing(&app, &owner, &id, &tepung, 11_000, 4).await;
    app.post(
        &path,
        Some(&owner.token),
        &json!({"commodity_id": tepung, "price": 11_500, "stock": 1}),
    )
    .await
    .expect_problem(409, "listing_exists");

    let moves = format!("/api/v1/merchants/{id}/listings/{listing_id}/stock-movements");
    let reply = app
        .post(
            &moves,
            Some(&owner.token),
            &json!({"kind": "adjustment", "quantity_delta": -5, "note": "hilang"}),
        )
        .await
        .expect_problem(409, "out_of_stock");
    assert_eq!(reply.body["context"]["available"], 4);
    assert_eq!(reply.body["context"]["listing_id"], listing_id);
    for (body, field, code) in [
        (
            json!({"kind": "restock", "quantity_delta": -1}),
            "quantity_delta",
            "out_of_range",
        ),
        (
            json!({"kind": "adjustment", "quantity_delta": 0}),
            "quantity_delta",
            "out_of_range",
        ),
        (
            json!({"kind": "adjustment", "quantity_delta": 1.5}),
            "quantity_delta",
            "not_an_integer",
        ),
        (
            json!({"kind": "sale", "quantity_delta": 1}),
            "kind",
            "invalid_kind",
        ),
    ] {
        let reply = app
            .post(&moves, Some(&owner.token), &body)
            .await
            .expect_problem(422, "validation_failed");
        assert!(
            reply
                .field_codes()
                .contains(&(field.to_owned(), code.to_owned())),
            "{body}: {}",
            reply.text
        );
    }
    assert_eq!(count(&app, "stock_movements", "1 = 1").await, 1);
    let adjusted = app
        .post(
            &moves,
            Some(&owner.token),
            &json!({"kind": "adjustment", "quantity_delta": -4, "note": "rusak"}),
        )
        .await
        .expect(201);
    assert_eq!(adjusted.body["stock"], 0);
    let detail = app
        .get(
            &format!("/api/v1/merchants/{id}/listings?state=out_of_stock"),
            Some(&owner.token),
        )
        .await
        .expect(200);
    assert_eq!(detail.body["items"][0]["id"], listing_id);
}

/// The plain-text bodies of outbox messages whose dedupe key matches a LIKE pattern.
async fn outbox_for(app: &peken_tests::TestApp, pattern: &str) -> Vec<String> {
    use sea_orm::ConnectionTrait;
    let backend = app.state.db.get_database_backend();
    let rows = app
        .state
        .db
        .query_all_raw(sea_orm::Statement::from_sql_and_values(
            backend,
            "SELECT body_text FROM mail_outbox WHERE dedupe_key LIKE $1 ORDER BY created_at",
            [pattern.into()],
        ))
        .await
        .unwrap();
    rows.iter()
        .map(|r| r.try_get::<String>("", "body_text").unwrap())
        .collect()
}

#[tokio::test]
async fn the_owner_sets_the_shops_profile_for_buyers() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let (id, owner) = active_merchant(&app, &admin, "Toko Profil", "umkm", "35.78.05.1001").await;
    let before = app
        .get(&format!("/api/v1/merchants/{id}"), None)
        .await
        .expect(200);
    assert_eq!(before.body["pickup"], true);
    assert!(before.body.get("delivery").is_none());

    let changed = app
        .patch(
            &format!("/api/v1/merchants/{id}"),
            Some(&owner.token),
            &json!({"phone": "0812-3456-7890", "description": "Kue basah setiap pagi",
                    "opening_hours": [{"day": 1, "opens": "06:00", "closes": "14:00"},
                                      {"day": 6, "opens": "06:00", "closes": "11:30"}],
                    "delivery": {"radius_m": 3000, "fee": 5000}, "pickup": false}),
        )
        .await
        .expect(200);
    assert_eq!(changed.body["phone"], "081234567890");
    // Anyone sees the profile.
    let public = app
        .get(&format!("/api/v1/merchants/{id}"), None)
        .await
        .expect(200);
    assert_eq!(public.body["description"], "Kue basah setiap pagi");
    assert_eq!(public.body["opening_hours"][1]["closes"], "11:30");
    assert_eq!(
        public.body["delivery"],
        json!({"radius_m": 3000, "fee": 5000})
    );
    assert_eq!(public.body["pickup"], false);

    // Bad fields: nothing changes.
    let bad = app
        .patch(
            &format!("/api/v1/merchants/{id}"),
            Some(&owner.token),
            &json!({"phone": "12", "opening_hours": [{"day": 8, "opens": "10:00", "closes": "09:00"}],
                    "delivery": {"radius_m": 10, "fee": -1}, "description": ""}),
        )
        .await
        .expect(422);
    let mut codes: Vec<String> = bad.field_codes().into_iter().map(|(_, c)| c).collect();
    codes.sort();
    assert_eq!(
        codes,
        [
            "invalid_delivery",
            "invalid_hours",
            "invalid_phone",
            "required"
        ]
    );
    // `null` clears; staff may not change the profile; another shop's owner gets 404.
    let cleared = app
        .patch(
            &format!("/api/v1/merchants/{id}"),
            Some(&owner.token),
            &json!({"delivery": null, "phone": null}),
        )
        .await
        .expect(200);
    assert!(cleared.body.get("delivery").is_none());
    assert!(cleared.body.get("phone").is_none());
    assert_eq!(cleared.body["description"], "Kue basah setiap pagi");
    let staff_email = format!("staf{}@toko.test", uuid::Uuid::new_v4().simple());
    app.post(
        &format!("/api/v1/merchants/{id}/staff"),
        Some(&owner.token),
        &json!({"name": "Staf", "email": staff_email, "phone": "081234567890", "password": PASSWORD}),
    )
    .await
    .expect(201);
    let staff = app.login(&staff_email, PASSWORD).await;
    app.patch(
        &format!("/api/v1/merchants/{id}"),
        Some(&staff.token),
        &json!({"pickup": true}),
    )
    .await
    .expect_problem(403, "owner_only");
    let (_, stranger) = active_merchant(&app, &admin, "Toko Lain", "umkm", "35.78.05.1001").await;
    app.patch(
        &format!("/api/v1/merchants/{id}"),
        Some(&stranger.token),
        &json!({"pickup": true}),
    )
    .await
    .expect_problem(404, "not_found");
}
