//! Login, refresh rotation and reuse detection, logout, lockout, rate limits, roles.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use peken_tests::{ADMIN_EMAIL, Options, PASSWORD, spawn_app, spawn_app_with};
use serde_json::json;

#[tokio::test]
async fn refresh_rotates_and_reuse_revokes_the_family() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let first = app
        .post(
            "/api/v1/auth/refresh",
            None,
            &json!({"refresh_token": admin.refresh}),
        )
        .await
        .expect(200);
    assert_eq!(first.body["token_type"], "Bearer");
    let second_refresh = first.body["refresh_token"].as_str().unwrap().to_owned();
    let second_access = first.body["access_token"].as_str().unwrap().to_owned();
    assert_ne!(second_refresh, admin.refresh);
    app.get("/api/v1/me", Some(&second_access))
        .await
        .expect(200);

    // The spent token comes back: someone copied it. The whole family ends.
    app.post(
        "/api/v1/auth/refresh",
        None,
        &json!({"refresh_token": admin.refresh}),
    )
    .await
    .expect_problem(401, "refresh_token_reused");
    app.post(
        "/api/v1/auth/refresh",
        None,
        &json!({"refresh_token": second_refresh}),
    )
    .await
    .expect_problem(401, "invalid_refresh_token");
    app.get("/api/v1/me", Some(&second_access))
        .await
        .expect_problem(401, "invalid_token");
    // A fresh login is unaffected.
    let again = app.admin().await;
    app.get("/api/v1/me", Some(&again.token)).await.expect(200);
}

#[tokio::test]
async fn concurrent_refreshes_of_one_token_yield_one_winner() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let body = json!({"refresh_token": admin.refresh});
    let attempts = (0..8).map(|_| app.post("/api/v1/auth/refresh", None, &body));
    let replies = futures_util::future::join_all(attempts).await;
    let ok = replies.iter().filter(|r| r.status.as_u16() == 200).count();
    assert_eq!(ok, 1, "exactly one refresh may win");
}

#[tokio::test]
async fn logout_ends_the_session() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.post("/api/v1/auth/logout", Some(&admin.token), &json!({}))
        .await
        .expect(204);
    app.get("/api/v1/me", Some(&admin.token))
        .await
        .expect_problem(401, "invalid_token");
    app.post(
        "/api/v1/auth/refresh",
        None,
        &json!({"refresh_token": admin.refresh}),
    )
    .await
    .expect_problem(401, "invalid_refresh_token");
}

#[tokio::test]
async fn wrong_password_unknown_user_and_locked_account_look_the_same() {
    let app = spawn_app_with(Options {
        vars: vec![("PEKEN_LOGIN_MAX_FAILURES".into(), "3".into())],
        ..Options::default()
    })
    .await;
    let unknown = app
        .post(
            "/api/v1/auth/login",
            None,
            &json!({"login": "nobody@test.local", "password": PASSWORD}),
        )
        .await
        .expect_problem(401, "invalid_credentials");
    for _ in 0..3 {
        let wrong = app
            .post(
                "/api/v1/auth/login",
                None,
                &json!({"login": ADMIN_EMAIL, "password": "wrong-password"}),
            )
            .await
            .expect_problem(401, "invalid_credentials");
        assert_eq!(wrong.body["detail"], unknown.body["detail"]);
    }
    // Now locked: even the right password is refused, with the same answer.
    let locked = app
        .post(
            "/api/v1/auth/login",
            None,
            &json!({"login": ADMIN_EMAIL, "password": PASSWORD}),
        )
        .await
        .expect_problem(401, "invalid_credentials");
    assert_eq!(locked.body, unknown.body);
    // After the lockout period the right password works again.
    app.clock.advance(chrono::Duration::minutes(16));
    app.admin().await;
}

#[tokio::test]
async fn login_is_rate_limited_per_client() {
    let app = spawn_app_with(Options {
        vars: vec![("PEKEN_LOGIN_IP_PER_MINUTE".into(), "5".into())],
        ..Options::default()
    })
    .await;
    let mut limited = 0;
    for i in 0..8 {
        let r = app
            .post(
                "/api/v1/auth/login",
                None,
                &json!({"login": format!("u{i}@test.local"), "password": "x"}),
            )
            .await;
        if r.status.as_u16() == 429 {
            assert_eq!(r.code(), "too_many_requests");
            assert!(r.headers.get("retry-after").is_some());
            limited += 1;
        }
    }
    assert_eq!(limited, 3, "attempts beyond 5 a minute are refused");
}

/// Each registration costs a password hash: a flood from one address, or from everyone, is
/// refused before any hashing, buyers and merchants counted together.
#[tokio::test]
async fn registration_and_refresh_are_rate_limited() {
    let app = spawn_app_with(Options {
        vars: vec![
            ("PEKEN_REGISTRATION_IP_PER_MINUTE".into(), "3".into()),
            ("PEKEN_REFRESH_IP_PER_MINUTE".into(), "4".into()),
        ],
        ..Options::default()
    })
    .await;
    let mut statuses = Vec::new();
    for i in 0..3 {
        let r = app
            .post(
                "/api/v1/auth/register",
                None,
                &json!({
                    "nik": peken_tests::next_nik(),
                    "name": format!("Warga {i}"),
                    "email": format!("warga{i}@limit.test"),
                    "phone": "081234567890",
                    "password": PASSWORD,
                    "kelurahan_code": "35.78.01.1001",
                }),
            )
            .await;
        statuses.push(r.status.as_u16());
    }
    // The merchant form counts in the same bucket: the 4th registration of any kind is refused.
    let body =
        crate::fixtures::merchants::registration("Toko Limit", "toko_kelontong", "35.78.01.1001");
    let merchant = app.post("/api/v1/merchants", None, &body).await;
    statuses.push(merchant.status.as_u16());
    assert_eq!(statuses, [202, 202, 202, 429], "{}", merchant.text);
    assert_eq!(merchant.code(), "too_many_requests");
    assert!(merchant.headers.get("retry-after").is_some());

    let mut refreshes = Vec::new();
    for _ in 0..5 {
        let r = app
            .post(
                "/api/v1/auth/refresh",
                None,
                &json!({"refresh_token": "not-a-token"}),
            )
            .await;
        refreshes.push(r.status.as_u16());
    }
    assert_eq!(refreshes, [401, 401, 401, 401, 429]);
}

#[tokio::test]
async fn tampered_expired_and_foreign_tokens_are_refused() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mut parts: Vec<String> = admin.token.split('.').map(str::to_owned).collect();
    // Swap the payload's role: the signature no longer matches.
    let payload = String::from_utf8(B64.decode(&parts[1]).unwrap()).unwrap();
    let tampered = payload.replace("\"admin\"", "\"treasury\"");
    assert_ne!(payload, tampered);
    parts[1] = B64.encode(tampered);
    let forged = parts.join(".");
    app.get("/api/v1/me", Some(&forged))
        .await
        .expect_problem(401, "invalid_token");
    app.get("/api/v1/me", Some("not-a-token"))
        .await
        .expect_problem(401, "invalid_token");
    app.get("/api/v1/me", None)
        .await
        .expect_problem(401, "unauthenticated");
    // Past its lifetime the token is refused.
    app.clock.advance(chrono::Duration::hours(1));
    app.get("/api/v1/me", Some(&admin.token))
        .await
        .expect_problem(401, "invalid_token");
}
