//! The demo city: shops an ASN can browse right away.

use peken_tests::spawn_app;

#[tokio::test]
async fn the_demo_city_has_shops_near_the_demo_asn() {
    let app = spawn_app().await;
    peken_server::seed::demo(&app.state).await.unwrap();
    // A second run finds the marker and adds nothing.
    peken_server::seed::demo(&app.state).await.unwrap();
    let password = peken_server::seed::DEMO_PASSWORD;

    let asn = app.login("198503142010011001", password).await;
    let near = app
        .get("/api/v1/listings", Some(&asn.token))
        .await
        .expect(200);
    let items = near.body["items"].as_array().unwrap();
    assert!(items.len() >= 10, "{}", near.text);
    assert!(
        items.iter().all(|i| i["merchant"]["kelurahan_code"]
            .as_str()
            .unwrap()
            .starts_with("35.78.03.")),
        "the demo ASN lives in Rungkut: {}",
        near.text
    );
    for item in items {
        if let Some(het) = item["commodity"]["het_price"].as_i64() {
            assert!(item["price"].as_i64().unwrap() <= het, "{item}");
        }
    }
    let oil = app
        .get("/api/v1/listings?q=minyakita&all_areas=true", None)
        .await
        .expect(200);
    assert_eq!(
        oil.body["items"][0]["commodity"]["max_qty_per_buyer_per_day"],
        2
    );

    let admin = app.login("admin@peken.local", password).await;
    let queue = app
        .get("/api/v1/admin/merchants?status=pending", Some(&admin.token))
        .await
        .expect(200);
    assert_eq!(queue.body["items"].as_array().unwrap().len(), 1);
    let active = app
        .get("/api/v1/admin/merchants?status=active", Some(&admin.token))
        .await
        .expect(200);
    let kinds: std::collections::BTreeSet<_> = active.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["kind"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(kinds.len(), 4, "every kind of merchant: {kinds:?}");

    let owner = app.login("toko.sumberrejeki@peken.local", password).await;
    let me = app.get("/api/v1/me", Some(&owner.token)).await.expect(200);
    let mine = app
        .get(
            &format!(
                "/api/v1/merchants/{}/listings",
                me.body["merchant_id"].as_str().unwrap()
            ),
            Some(&owner.token),
        )
        .await
        .expect(200);
    assert_eq!(mine.body["items"].as_array().unwrap().len(), 6);
}

#[tokio::test]
async fn the_demo_city_has_orders_in_every_stage_and_spend_to_report() {
    let app = spawn_app().await;
    peken_server::seed::demo(&app.state).await.unwrap();
    let password = peken_server::seed::DEMO_PASSWORD;
    let admin = app.login("admin@peken.local", password).await;
    let orders = app
        .get("/api/v1/orders?limit=200", Some(&admin.token))
        .await
        .expect(200);
    let statuses: std::collections::BTreeSet<String> = orders.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["status"].as_str().unwrap().to_owned())
        .collect();
    for status in ["awaiting_payment", "accepted", "shipped", "completed"] {
        assert!(statuses.contains(status), "{status} missing: {statuses:?}");
    }
    let report = app
        .get("/api/v1/reports/mandate-compliance", Some(&admin.token))
        .await
        .expect(200);
    assert!(report.body["totals"]["total_spent"].as_i64().unwrap() > 0);
    assert!(
        report.body["classes_without_policy"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    // The OPD's purchasing staff, one duty each, and the camat of Rungkut.
    for (login, duty) in [
        ("pemesan.dispendik@peken.local", "buyer"),
        ("ppk.dispendik@peken.local", "ppk"),
        ("penerima.dispendik@peken.local", "receiver"),
        ("bendahara.dispendik@peken.local", "treasurer"),
    ] {
        let staff = app.login(login, password).await;
        let opd_admin = app.login("opd.dispendik@peken.local", password).await;
        let list = app
            .get("/api/v1/opd/staff", Some(&opd_admin.token))
            .await
            .expect(200);
        let me = list
            .body
            .as_array()
            .unwrap()
            .iter()
            .find(|m| m["id"] == staff.id.as_str())
            .unwrap_or_else(|| panic!("{login} not in {}", list.body));
        assert_eq!(me["duties"], serde_json::json!([duty]), "{login}");
    }
    let camat = app.login("camat.rungkut@peken.local", password).await;
    let dormant = app
        .get(
            "/api/v1/programme/reports/dormant-shops",
            Some(&camat.token),
        )
        .await
        .expect(200);
    assert_eq!(dormant.body["kecamatan_code"], "35.78.03");
    let treasury = app.login("bendahara1@peken.local", password).await;
    let balances = app
        .get("/api/v1/treasury/trial-balance", Some(&treasury.token))
        .await
        .expect(200);
    assert!(
        balances.text.contains("merchant_payable"),
        "{}",
        balances.text
    );
}

#[tokio::test]
async fn every_demo_buyer_has_an_address_and_an_order_to_reorder() {
    let app = spawn_app().await;
    peken_server::seed::demo(&app.state).await.unwrap();
    let password = peken_server::seed::DEMO_PASSWORD;
    for login in [
        "198503142010011001",
        "199001012015032002",
        "197806152003121003",
        "198811202012012004",
        "199205052019031005",
        "198002282006042006",
        "197512251999031007",
        "warga@peken.local",
    ] {
        let buyer = app.login(login, password).await;
        let t = Some(buyer.token.as_str());
        let addresses = app.get("/api/v1/me/addresses", t).await.expect(200);
        assert_eq!(
            addresses.body[0]["is_default"], true,
            "{login}: {}",
            addresses.text
        );
        let orders = app.get("/api/v1/orders", t).await.expect(200);
        let first = &orders.body["items"][0];
        assert!(first.is_object(), "{login} has no order");
        let id = first["id"].as_str().unwrap();
        let again = app
            .post(
                &format!("/api/v1/orders/{id}/reorder"),
                t,
                &serde_json::json!({}),
            )
            .await
            .expect(200);
        assert!(
            !again.body["lines"].as_array().unwrap().is_empty(),
            "{login}"
        );
    }
    // Delivered orders carry the address they went to.
    let admin = app.login("admin@peken.local", password).await;
    let all = app
        .get("/api/v1/orders?limit=200", Some(&admin.token))
        .await
        .expect(200);
    assert!(
        all.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|o| o["fulfilment"]["delivery_address"]["recipient"].is_string()),
        "{}",
        all.text
    );
}
