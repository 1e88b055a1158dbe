//! Limits and privacy: body size limits, the request time limit (a client that stops sending
//! its body), pagination caps; NIKs and bank account numbers only ever masked in responses, and
//! in full only to the owner, admins and treasury.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use peken_tests::{Options, TestApp, next_nik, spawn_app, spawn_app_with};
use serde_json::json;

use crate::fixtures::orders::{buyer, paid_order, shop_with_listing};

#[tokio::test]
async fn oversized_bodies_are_refused_with_413() {
    let app = spawn_app_with(Options {
        vars: vec![
            ("PEKEN_MAX_BODY_BYTES".into(), "4096".into()),
            ("PEKEN_MAX_UPLOAD_BYTES".into(), "8192".into()),
        ],
        ..Options::default()
    })
    .await;
    let admin = app.admin().await;
    let treasury = app.staff("treasury", None).await;
    let big = "x".repeat(5_000);
    app.post(
        "/api/v1/auth/login",
        None,
        &json!({"login": big, "password": "x"}),
    )
    .await
    .expect_problem(413, "payload_too_large");
    app.post(
        "/api/v1/admin/opds",
        Some(&admin.token),
        &json!({"code": "BIG", "name": big}),
    )
    .await
    .expect_problem(413, "payload_too_large");
    // Uploads have their own, larger limit.
    let mut statement = String::from("value_date,description,debit,credit,balance\n");
    while statement.len() < 9_000 {
        statement.push_str("2026-03-02,TRF,1000,,\n");
    }
    let reply = app
        .post_raw(
            "/api/v1/treasury/bank-statements",
            Some(&treasury.token),
            "text/csv",
            &statement,
        )
        .await;
    assert_eq!(reply.status.as_u16(), 413, "{}", reply.text);
    // Just under the limit is read.
    app.post(
        "/api/v1/admin/opds",
        Some(&admin.token),
        &json!({"code": "SMALL", "name": "x".repeat(100)}),
    )
    .await
    .expect(201);
}

#[tokio::test]
async fn a_client_that_stops_sending_is_cut_off_at_the_time_limit() {
    let app = spawn_app_with(Options {
        vars: vec![("PEKEN_REQUEST_TIMEOUT_SECONDS".into(), "1".into())],
        ..Options::default()
    })
    .await;
    let address = app.base.trim_start_matches("http://").to_owned();
    let started = Instant::now();
    let response = tokio::task::spawn_blocking(move || {
        let mut stream = TcpStream::connect(address).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        // Headers promise 100 bytes of body; one arrives, then nothing.
        stream
            .write_all(
                b"POST /api/v1/auth/login HTTP/1.1\r\nHost: peken\r\n\
                  Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{",
            )
            .unwrap();
        let mut response = Vec::new();
        let _ = stream.read_to_end(&mut response);
        String::from_utf8_lossy(&response).into_owned()
    })
    .await
    .unwrap();
    let waited = started.elapsed();
    assert!(response.starts_with("HTTP/1.1 503"), "{response}");
    assert!(response.contains("request_timeout"), "{response}");
    assert!(
        waited < Duration::from_secs(5),
        "answered after {waited:?} for a 1 s limit"
    );
}

#[tokio::test]
async fn lists_are_capped_at_200_items() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    for path in [
        "/api/v1/listings?limit=201",
        "/api/v1/admin/merchants?limit=201",
        "/api/v1/orders?limit=1000",
        "/api/v1/admin/outbox?limit=201",
        "/api/v1/listings?limit=0",
        "/api/v1/listings?limit=-1",
    ] {
        let reply = app.get(path, Some(&admin.token)).await;
        assert!(
            matches!(reply.status.as_u16(), 400 | 422),
            "{path}: {} {}",
            reply.status,
            reply.text
        );
    }
    for path in [
        "/api/v1/listings?limit=200",
        "/api/v1/admin/merchants?limit=200",
    ] {
        app.get(path, Some(&admin.token)).await.expect(200);
    }
}

/// Every body a caller sees in a tour of the API, joined, for searching.
async fn tour(app: &TestApp, token: Option<&str>, paths: &[String]) -> String {
    let mut seen = String::new();
    for path in paths {
        let reply = app.get(path, token).await;
        seen.push_str(&reply.text);
        seen.push('\n');
    }
    seen
}

#[tokio::test]
async fn nik_and_bank_accounts_are_shown_only_to_who_may_see_them() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let treasury = app.staff("treasury", None).await;
    let (shop, listing) = shop_with_listing(&app, 10_000, 20).await;
    let (other, _) = shop_with_listing(&app, 10_000, 20).await;
    let asn = buyer(&app).await;
    let (order, payment, _) = paid_order(&app, &asn, &listing, 1).await;

    // A public buyer with a known NIK.
    let nik = next_nik();
    app.register(
        &json!({"nik": nik, "name": "Warga", "email": "warga.privasi@privacy.test",
                         "phone": "081234567890", "password": peken_tests::PASSWORD,
                         "kelurahan_code": "35.78.03.1002"}),
    )
    .await
    .expect(201);
    let public = app.login(&nik, peken_tests::PASSWORD).await;
    let me = app.get("/api/v1/me", Some(&public.token)).await.expect(200);
    assert_eq!(
        me.body["nik_masked"],
        format!("{}********{}", &nik[..4], &nik[12..])
    );
    assert!(
        !me.text.contains(&nik),
        "not even its owner gets it back in full"
    );
    // Registering the same NIK again does not echo it.
    let again = app
        .post(
            "/api/v1/auth/register",
            None,
            &json!({"nik": nik, "name": "Warga", "email": "lain@privacy.test",
                    "phone": "081234567890", "password": peken_tests::PASSWORD,
                    "kelurahan_code": "35.78.03.1002"}),
        )
        .await;
    assert_eq!(again.status, 202, "{}", again.text);
    assert!(!again.text.contains(&nik), "{}", again.text);
    // Nor does the mail it causes: it shows the NIK masked.
    let mailed = app
        .mails("registration_nik_taken", "lain@privacy.test")
        .await;
    assert_eq!(mailed.len(), 1);
    assert!(!mailed[0].contains(&nik), "{}", mailed[0]);

    // The shop's owner NIK and account as stored.
    let stored = |column: &'static str| {
        let app = &app;
        let id = shop.id.clone();
        async move {
            use sea_orm::ConnectionTrait;
            let db = &app.state.db;
            db.query_one_raw(sea_orm::Statement::from_string(
                db.get_database_backend(),
                format!("SELECT {column} AS v FROM merchants WHERE id = '{id}'"),
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get::<String>("", "v")
            .unwrap()
        }
    };
    let owner_nik = stored("owner_nik").await;
    let account = stored("account_number").await;

    let paths = vec![
        format!("/api/v1/merchants/{}", shop.id),
        format!("/api/v1/orders/{order}"),
        format!("/api/v1/payments/{payment}"),
        "/api/v1/orders".to_owned(),
        "/api/v1/listings?all_areas=true".to_owned(),
        format!("/api/v1/merchants/{}/listings", shop.id),
        "/api/v1/me".to_owned(),
    ];
    // Nobody but the owner, admins and treasury sees the account; nobody sees a NIK in full.
    for (who, token) in [
        ("anonymous", None),
        ("the buyer", Some(asn.token.as_str())),
        ("another buyer", Some(public.token.as_str())),
        ("another merchant", Some(other.owner.token.as_str())),
    ] {
        let seen = tour(&app, token, &paths).await;
        assert!(!seen.contains(&owner_nik), "{who} saw the owner's NIK");
        assert!(!seen.contains(&nik), "{who} saw a buyer's NIK");
        assert!(!seen.contains(&account), "{who} saw the bank account");
    }
    for (who, token) in [
        ("the owner", &shop.owner.token),
        ("an admin", &admin.token),
        ("treasury", &treasury.token),
    ] {
        let seen = tour(&app, Some(token), &paths).await;
        assert!(
            !seen.contains(&owner_nik),
            "{who} saw the owner's NIK in full"
        );
        assert!(!seen.contains(&nik), "{who} saw a buyer's NIK");
        let profile = app
            .get(&format!("/api/v1/merchants/{}", shop.id), Some(token))
            .await
            .expect(200);
        assert_eq!(
            profile.body["bank"]["account_number"], account,
            "{who} sees the account"
        );
        assert_eq!(
            profile.body["owner_nik_masked"],
            format!("{}********{}", &owner_nik[..4], &owner_nik[12..])
        );
    }
}
