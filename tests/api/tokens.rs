//! Tokens and sessions over HTTP, beyond `auth.rs` (which covers a tampered role, expiry, reuse
//! of a refresh token and logout): `alg: none`, a foreign key, a known key id with a foreign
//! key, another algorithm, a wrong issuer, a token not yet valid; and the login limits measured
//! with the default settings, including many wrong passwords at once.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use chrono::{Duration, Utc};
use peken_kernel::auth::{JwtKeys, Role};
use peken_kernel::settings::Secret;
use peken_tests::{ADMIN_EMAIL, Options, PASSWORD, TestApp, spawn_app, spawn_app_with};
use serde_json::{Value, json};

/// The signing key the test servers use (see `tests/lib.rs`).
const SERVER_KEY: &str = "test-signing-key-that-is-long-enough-0123";

fn part(value: &Value) -> String {
    B64.encode(value.to_string())
}

fn decode(part: &str) -> Value {
    serde_json::from_slice(&B64.decode(part).unwrap()).unwrap()
}

/// An HS-family signature over `header.payload` with `key`.
fn sign(alg: &str, key: &[u8], signing_input: &str) -> String {
    use hmac::{Hmac, Mac};
    let bytes = match alg {
        "HS256" => {
            let mut mac = Hmac::<sha2::Sha256>::new_from_slice(key).unwrap();
            mac.update(signing_input.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
        "HS512" => {
            let mut mac = Hmac::<sha2::Sha512>::new_from_slice(key).unwrap();
            mac.update(signing_input.as_bytes());
            mac.finalize().into_bytes().to_vec()
        }
        other => panic!("{other}"),
    };
    B64.encode(bytes)
}

/// A token with this header and payload, signed with `key` under `alg`.
fn forge(header: &Value, payload: &Value, alg: &str, key: &[u8]) -> String {
    let input = format!("{}.{}", part(header), part(payload));
    let signature = sign(alg, key, &input);
    format!("{input}.{signature}")
}

async fn me(app: &TestApp, token: &str) -> (u16, String) {
    let reply = app.get("/api/v1/me", Some(token)).await;
    (reply.status.as_u16(), reply.code().to_owned())
}

#[tokio::test]
async fn forged_foreign_and_premature_tokens_are_refused() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mut parts = admin.token.split('.');
    let header = decode(parts.next().unwrap());
    let payload = decode(parts.next().unwrap());
    assert_eq!(me(&app, &admin.token).await.0, 200);
    let refused = (401, "invalid_token".to_owned());

    // `alg: none` with no signature, and with the real signature kept.
    let none = json!({"alg": "none", "typ": "JWT", "kid": header["kid"]});
    assert_eq!(
        me(&app, &format!("{}.{}.", part(&none), part(&payload))).await,
        refused
    );
    let real_signature = admin.token.rsplit('.').next().unwrap();
    assert_eq!(
        me(
            &app,
            &format!("{}.{}.{real_signature}", part(&none), part(&payload))
        )
        .await,
        refused
    );

    // Signed with a key the server does not know: under its own key id, and under the server's
    // key id (as if the attacker guessed it).
    let stranger = JwtKeys::new(
        &Secret::new("an-attackers-own-key-that-is-long-enough"),
        &[],
    );
    let claims = JwtKeys::claims(
        &admin.id,
        Role::Admin,
        payload["sid"].as_str().unwrap(),
        None,
        None,
        Utc::now(),
        std::time::Duration::from_secs(600),
    );
    assert_eq!(me(&app, &stranger.issue(&claims).unwrap()).await, refused);
    assert_eq!(
        me(
            &app,
            &forge(
                &header,
                &payload,
                "HS256",
                b"an-attackers-own-key-that-is-long-enough"
            )
        )
        .await,
        refused
    );

    // The right key but another algorithm, or another issuer, or no expiry.
    let hs512 = json!({"alg": "HS512", "typ": "JWT", "kid": header["kid"]});
    assert_eq!(
        me(
            &app,
            &forge(&hs512, &payload, "HS512", SERVER_KEY.as_bytes())
        )
        .await,
        refused
    );
    let mut foreign = payload.clone();
    foreign["iss"] = json!("someone-else");
    assert_eq!(
        me(
            &app,
            &forge(&header, &foreign, "HS256", SERVER_KEY.as_bytes())
        )
        .await,
        refused
    );
    let mut endless = payload.clone();
    endless.as_object_mut().unwrap().remove("exp");
    assert_eq!(
        me(
            &app,
            &forge(&header, &endless, "HS256", SERVER_KEY.as_bytes())
        )
        .await,
        refused
    );
    // The forger's control case: the same construction with the real claims is accepted, so the
    // refusals above are the checks working, not a broken forger.
    assert_eq!(
        me(
            &app,
            &forge(&header, &payload, "HS256", SERVER_KEY.as_bytes())
        )
        .await
        .0,
        200
    );

    // Not yet valid: issued for a minute from now (beyond the few seconds of leeway), then
    // accepted once that minute has come.
    let server_keys = JwtKeys::new(&Secret::new(SERVER_KEY), &[]);
    let later = JwtKeys::claims(
        &admin.id,
        Role::Admin,
        payload["sid"].as_str().unwrap(),
        None,
        None,
        Utc::now() + Duration::minutes(1),
        std::time::Duration::from_secs(600),
    );
    let premature = server_keys.issue(&later).unwrap();
    assert_eq!(me(&app, &premature).await, refused);
    app.clock.advance(Duration::minutes(2));
    assert_eq!(me(&app, &premature).await.0, 200);

    // A role the server never issued, signed with its key, is still only as good as the
    // session: a role change signed by the real key would be accepted, which is why the key is
    // a secret. Re-signing the tampered role with any other key is refused (above).
}

#[tokio::test]
async fn a_refresh_token_is_single_use_and_useless_after_logout() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    app.post("/api/v1/auth/logout", Some(&admin.token), &json!({}))
        .await
        .expect(204);
    // A stolen refresh token of an ended session cannot start a new one.
    app.post(
        "/api/v1/auth/refresh",
        None,
        &json!({"refresh_token": admin.refresh}),
    )
    .await
    .expect_problem(401, "invalid_refresh_token");
    // A made-up refresh token is refused the same way.
    app.post(
        "/api/v1/auth/refresh",
        None,
        &json!({"refresh_token": "x".repeat(43)}),
    )
    .await
    .expect_problem(401, "invalid_refresh_token");
}

/// The default limits: 30 attempts a minute per client address, 20 per account, a lock after
/// 5 wrong passwords in a row.
fn default_limits() -> Options {
    Options {
        vars: vec![
            ("PEKEN_LOGIN_IP_PER_MINUTE".into(), "30".into()),
            ("PEKEN_LOGIN_ACCOUNT_PER_MINUTE".into(), "20".into()),
            ("PEKEN_LOGIN_MAX_FAILURES".into(), "5".into()),
        ],
        ..Options::default()
    }
}

async fn attempt(app: &TestApp, login: &str, password: &str) -> u16 {
    app.post(
        "/api/v1/auth/login",
        None,
        &json!({"login": login, "password": password}),
    )
    .await
    .status
    .as_u16()
}

#[tokio::test]
async fn login_limits_measured_with_the_default_settings() {
    // Lockout: after five wrong passwords the right one is refused like a wrong one, until the
    // fifteen minutes of the lock have passed. (Each measure has its own server: the rate
    // windows are real minutes.)
    let app = spawn_app_with(default_limits()).await;
    for _ in 0..4 {
        assert_eq!(attempt(&app, ADMIN_EMAIL, "wrong-password").await, 401);
    }
    assert_eq!(
        attempt(&app, ADMIN_EMAIL, PASSWORD).await,
        200,
        "four are forgiven"
    );
    let until_locked = 5;
    for _ in 0..until_locked {
        assert_eq!(attempt(&app, ADMIN_EMAIL, "wrong-password").await, 401);
    }
    assert_eq!(attempt(&app, ADMIN_EMAIL, PASSWORD).await, 401, "locked");
    app.clock.advance(Duration::minutes(14));
    assert_eq!(
        attempt(&app, ADMIN_EMAIL, PASSWORD).await,
        401,
        "still locked"
    );
    app.clock.advance(Duration::minutes(2));
    assert_eq!(
        attempt(&app, ADMIN_EMAIL, PASSWORD).await,
        200,
        "the lock ended"
    );

    // Per account: attempts beyond 20 in a minute are 429 before any password is checked.
    let app = spawn_app_with(default_limits()).await;
    let mut first_limited_account = None;
    for n in 1..=25 {
        if attempt(&app, ADMIN_EMAIL, "wrong-password").await == 429 {
            first_limited_account.get_or_insert(n);
        }
    }
    assert_eq!(first_limited_account, Some(21));

    // Per client address: the 31st attempt of the minute, whatever the login, is 429.
    let app = spawn_app_with(default_limits()).await;
    let mut first_limited_address = None;
    for n in 1..=35 {
        if attempt(&app, &format!("nobody{n}@test.local"), "x").await == 429 {
            first_limited_address.get_or_insert(n);
        }
    }
    assert_eq!(first_limited_address, Some(31));
    println!(
        "login limits: locked by wrong password number {until_locked} (for 15 minutes); 429 \
         from attempt {} per account and {} per address in a minute",
        first_limited_account.unwrap_or_default(),
        first_limited_address.unwrap_or_default()
    );
}

#[tokio::test]
async fn many_wrong_passwords_at_once_still_lock_the_account_at_the_limit() {
    let mut options = default_limits();
    // Room for the check after the twenty guesses within the same minute.
    options
        .vars
        .push(("PEKEN_LOGIN_ACCOUNT_PER_MINUTE".into(), "21".into()));
    let app = spawn_app_with(options).await;
    // Twenty guesses fired together (the per-account limit allows twenty a minute): at most
    // five may count before the lock, so the right password is refused afterwards.
    let guesses =
        (0..20).map(|i| attempt(&app, ADMIN_EMAIL, if i == 19 { "nope" } else { "wrong" }));
    let statuses = futures_util::future::join_all(guesses).await;
    assert!(statuses.iter().all(|s| *s == 401), "{statuses:?}");
    assert_eq!(
        attempt(&app, ADMIN_EMAIL, PASSWORD).await,
        401,
        "twenty concurrent wrong passwords must leave the account locked"
    );
}
