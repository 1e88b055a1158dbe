//! Naik kelas on the shop's profile: a shop may register without an NIB but sells only once
//! the cooperatives office has checked it (hidden from browsing, refused at checkout until
//! then); its halal, PIRT, trademark and capital band; the mentoring it received. Text inputs
//! are checked on PostgreSQL as on SQLite.

use serde_json::json;

use crate::fixtures::merchants::{approve, next_nib, registration};
use crate::fixtures::orders::{any_commodity, buyer, cart, checkout, shop};
use peken_tests::PASSWORD;

#[tokio::test]
async fn a_shop_without_a_checked_nib_cannot_sell_until_the_office_checks_it() {
    let app = peken_tests::spawn_app().await;
    let admin = app.admin().await;

    // Registered without an NIB: allowed, and `none`.
    let mut body = registration("Toko Belum NIB", "toko_kelontong", "35.78.03.1001");
    body.as_object_mut().unwrap().remove("nib");
    let created = app.post("/api/v1/merchants", None, &body).await.expect(201);
    assert_eq!(created.body["nib_status"], "none");
    assert!(created.body.get("nib").is_none());
    let new_id = created.body["id"].as_str().unwrap().to_owned();
    approve(&app, &admin, &new_id).await;
    let nib_path = format!("/api/v1/admin/merchants/{new_id}/nib");
    // Checked needs a number; an unknown status is refused; a malformed NIB too.
    let reply = app
        .put(&nib_path, Some(&admin.token), &json!({"status": "checked"}))
        .await
        .expect_problem(422, "validation_failed");
    assert!(
        reply
            .field_codes()
            .contains(&("nib".into(), "required".into()))
    );
    let reply = app
        .put(&nib_path, Some(&admin.token), &json!({"status": "done"}))
        .await
        .expect_problem(422, "validation_failed");
    assert!(
        reply
            .field_codes()
            .contains(&("status".into(), "invalid_nib_status".into()))
    );
    app.put(
        &nib_path,
        Some(&admin.token),
        &json!({"status": "checked", "nib": "12345"}),
    )
    .await
    .expect_problem(422, "validation_failed");
    let helped = app
        .put(
            &nib_path,
            Some(&admin.token),
            &json!({"status": "in_progress"}),
        )
        .await
        .expect(200);
    assert_eq!(helped.body["nib_status"], "in_progress");
    let owner = app
        .login(body["owner"]["email"].as_str().unwrap(), PASSWORD)
        .await;
    let commodity = any_commodity(&app, None, None).await;
    let listing =
        crate::fixtures::merchants::listing(&app, &owner, &new_id, &commodity, 9_000, 10).await;
    let detail = app
        .get(
            &format!("/api/v1/merchants/{new_id}/listings/{listing}"),
            Some(&owner.token),
        )
        .await
        .expect(200);
    assert_eq!(detail.body["sellable"], false);
    assert_eq!(detail.body["unsellable_reason"], "nib_not_checked");

    let buyer = buyer(&app).await;
    let search = "/api/v1/listings?all_areas=true&limit=100";
    let listed = |body: &serde_json::Value| {
        body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|i| i["id"] == listing.as_str())
    };
    let page = app.get(search, Some(&buyer.token)).await.expect(200);
    assert!(!listed(&page.body), "hidden while the NIB is not checked");
    checkout(&app, &buyer, "nib-1", &cart(&[(&listing, 1)]))
        .await
        .expect_problem(409, "nib_not_checked");

    // Another shop's NIB is taken.
    let other = shop(&app, "toko_kelontong", "35.78.03.1001").await;
    let taken: String = app
        .get(
            &format!("/api/v1/merchants/{}", other.id),
            Some(&admin.token),
        )
        .await
        .expect(200)
        .body["nib"]
        .as_str()
        .unwrap()
        .to_owned();
    app.put(
        &nib_path,
        Some(&admin.token),
        &json!({"status": "checked", "nib": taken}),
    )
    .await
    .expect_problem(409, "nib_taken");

    // Checked: on sale.
    let nib = next_nib();
    let checked = app
        .put(
            &nib_path,
            Some(&admin.token),
            &json!({"status": "checked", "nib": nib}),
        )
        .await
        .expect(200);
    assert_eq!(checked.body["nib_status"], "checked");
    assert_eq!(checked.body["nib"], nib.as_str());
    // With an NIB a shop does not go back to none.
    app.put(&nib_path, Some(&admin.token), &json!({"status": "none"}))
        .await
        .expect_problem(422, "validation_failed");
    let page = app.get(search, Some(&buyer.token)).await.expect(200);
    assert!(listed(&page.body), "on sale once checked");
    checkout(&app, &buyer, "nib-2", &cart(&[(&listing, 1)]))
        .await
        .expect(201);
    // Everyone sees where a shop stands; only its people see the number.
    let public = app
        .get(&format!("/api/v1/merchants/{new_id}"), None)
        .await
        .expect(200);
    assert_eq!(public.body["nib_status"], "checked");
    assert!(public.body.get("nib").is_none());
}

#[tokio::test]
async fn credentials_and_mentoring_are_kept_on_the_profile() {
    let app = peken_tests::spawn_app().await;
    let admin = app.admin().await;
    let own = shop(&app, "umkm", "35.78.03.1001").await;
    let other = shop(&app, "umkm", "35.78.01.1001").await;
    let camat = app.camat("35.78.03").await;
    let path = format!("/api/v1/merchants/{}/credentials", own.id);

    let set = app
        .put(
            &path,
            Some(&own.owner.token),
            &json!({"halal_number": " ID35110000123450122 ", "pirt_number": "2063578010123-26",
                    "trademark_name": "Kripik Bu Sri", "trademark_number": "IDM000123456",
                    "capital_band": "mikro"}),
        )
        .await
        .expect(200);
    assert_eq!(set.body["halal_number"], "ID35110000123450122");
    assert_eq!(set.body["capital_band"], "mikro");
    let public = app
        .get(&format!("/api/v1/merchants/{}", own.id), None)
        .await
        .expect(200);
    assert_eq!(public.body["trademark_name"], "Kripik Bu Sri");
    assert!(public.body.get("capital_band").is_none());
    let reply = app
        .put(
            &path,
            Some(&own.owner.token),
            &json!({"capital_band": "besar"}),
        )
        .await
        .expect_problem(422, "validation_failed");
    assert!(
        reply
            .field_codes()
            .contains(&("capital_band".into(), "invalid_capital_band".into()))
    );
    app.put(
        &path,
        Some(&own.owner.token),
        &json!({"trademark_name": "x".repeat(121)}),
    )
    .await
    .expect_problem(422, "validation_failed");
    // Another shop's owner: 404; a camat changes nothing: 403.
    app.put(&path, Some(&other.owner.token), &json!({}))
        .await
        .expect_problem(404, "not_found");
    app.put(&path, Some(&camat.token), &json!({}))
        .await
        .expect_problem(403, "forbidden");
    // Control characters and NUL never reach the database, on either.
    for bad in ["Kripik\u{0}", "Kripik\u{1b}[31m", "Kripik\u{9f}"] {
        app.put(
            &path,
            Some(&own.owner.token),
            &json!({"trademark_name": bad}),
        )
        .await
        .expect_problem(422, "control_character");
        app.post(
            &format!("/api/v1/admin/merchants/{}/mentoring", own.id),
            Some(&admin.token),
            &json!({"held_on": "2026-01-05", "mentor": "Dinkopumdag", "topic": bad}),
        )
        .await
        .expect_problem(422, "control_character");
    }
    // The set is replaced whole: absent fields are cleared.
    let cleared = app
        .put(&path, Some(&admin.token), &json!({"halal_number": "ID1"}))
        .await
        .expect(200);
    assert_eq!(cleared.body["halal_number"], "ID1");
    assert!(cleared.body.get("trademark_name").is_none());

    let mentoring = format!("/api/v1/admin/merchants/{}/mentoring", own.id);
    for (date, topic) in [
        ("2026-02-10", "Pemasaran daring"),
        ("2026-01-05", "Pengurusan NIB"),
    ] {
        let entry = app
            .post(
                &mentoring,
                Some(&admin.token),
                &json!({"held_on": date, "mentor": "Dinkopumdag", "topic": topic}),
            )
            .await
            .expect(201);
        assert_eq!(entry.body["held_on"], date);
    }
    app.post(
        &mentoring,
        Some(&admin.token),
        &json!({"held_on": "2026-02-30", "mentor": "Dinkopumdag", "topic": "x"}),
    )
    .await
    .expect_problem(422, "validation_failed");
    app.post(
        "/api/v1/admin/merchants/01a00000-0000-7000-8000-000000000000/mentoring",
        Some(&admin.token),
        &json!({"held_on": "2026-02-10", "mentor": "Dinkopumdag", "topic": "x"}),
    )
    .await
    .expect_problem(404, "not_found");
    let list = format!("/api/v1/merchants/{}/mentoring", own.id);
    for reader in [&own.owner.token, &admin.token, &camat.token] {
        let sessions = app.get(&list, Some(reader)).await.expect(200);
        let topics: Vec<&str> = sessions
            .body
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["topic"].as_str().unwrap())
            .collect();
        assert_eq!(topics, vec!["Pengurusan NIB", "Pemasaran daring"]);
    }
    app.get(&list, Some(&other.owner.token))
        .await
        .expect_problem(404, "not_found");
    // The camat of another kecamatan's shop: 404.
    app.get(
        &format!("/api/v1/merchants/{}/mentoring", other.id),
        Some(&camat.token),
    )
    .await
    .expect_problem(404, "not_found");
}
