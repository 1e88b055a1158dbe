//! Sessions under attack: refreshes racing a logout or a password reset leave no live token, and
//! a stranger guessing a password locks only their own address out of the account.

use futures_util::future::join_all;
use peken_tests::{ADMIN_EMAIL, Options, PASSWORD, TestApp, User, spawn_app, spawn_app_with};
use reqwest::Method;
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;

/// Refreshes a session's chain of tokens until a refresh is refused (or `max` succeed); returns
/// how many succeeded and the last token it held.
async fn refresh_until_refused(app: &TestApp, first: String, max: usize) -> (usize, String) {
    let mut token = first;
    for n in 0..max {
        let reply = app
            .post(
                "/api/v1/auth/refresh",
                None,
                &json!({ "refresh_token": token }),
            )
            .await;
        if reply.status != 200 {
            assert_eq!(reply.status, 401, "{}", reply.text);
            return (n, token);
        }
        reply.body["refresh_token"]
            .as_str()
            .unwrap()
            .clone_into(&mut token);
    }
    (max, token)
}

/// Refresh tokens that are neither spent, revoked nor expired: each one a way back in.
async fn live_refresh_tokens(app: &TestApp, user_id: &str) -> i64 {
    let backend = app.state.db.get_database_backend();
    let row = app
        .state
        .db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            "SELECT COUNT(*) AS n FROM refresh_tokens \
             WHERE user_id = $1 AND spent_at IS NULL AND revoked_at IS NULL",
            [user_id.into()],
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get::<i64>("", "n").unwrap()
}

/// Each round, several sessions of one user refresh in a loop while another request ends
/// them; the loops must all stop at a refusal and no refresh token may stay usable.
async fn race(app: &TestApp, rounds: usize, end: impl AsyncFn(&TestApp, &[User])) {
    for round in 0..rounds {
        let mut sessions = Vec::new();
        for _ in 0..4 {
            sessions.push(app.login(ADMIN_EMAIL, PASSWORD).await);
        }
        let loops = join_all(
            sessions
                .iter()
                .map(|s| refresh_until_refused(app, s.refresh.clone(), 400)),
        );
        let ender = async {
            // Let the loops get going, so the end lands in the middle of a refresh.
            tokio::time::sleep(std::time::Duration::from_millis(5 + 7 * round as u64)).await;
            end(app, &sessions).await;
        };
        let (results, ()) = tokio::join!(loops, ender);
        for (refreshed, last) in results {
            assert!(
                refreshed < 400,
                "round {round}: a refresh loop outlived the end"
            );
            let reply = app
                .post(
                    "/api/v1/auth/refresh",
                    None,
                    &json!({ "refresh_token": last }),
                )
                .await;
            assert_eq!(reply.status, 401, "round {round}: {}", reply.text);
        }
        assert_eq!(
            live_refresh_tokens(app, &sessions[0].id).await,
            0,
            "round {round}: a refresh token outlived the end of its session"
        );
    }
}

#[tokio::test]
async fn refreshes_racing_a_logout_leave_no_live_token() {
    let app = spawn_app().await;
    race(&app, 8, async |app: &TestApp, sessions: &[User]| {
        let empty = json!({});
        let logouts = sessions
            .iter()
            .map(|s| app.post("/api/v1/auth/logout", Some(&s.token), &empty));
        for reply in join_all(logouts).await {
            assert_eq!(reply.status, 204, "{}", reply.text);
        }
    })
    .await;
}

#[tokio::test]
async fn refreshes_racing_a_password_reset_leave_no_live_token() {
    let app = spawn_app().await;
    // Five rounds: an account may ask for five reset codes an hour.
    race(&app, 5, async |app: &TestApp, _: &[User]| {
        app.post(
            "/api/v1/auth/password-reset",
            None,
            &json!({ "login": ADMIN_EMAIL }),
        )
        .await
        .expect(202);
        let code = app
            .mailed_code("password_reset", ADMIN_EMAIL)
            .await
            .expect("a reset mail");
        // The same password again: the reset still ends every session.
        app.post(
            "/api/v1/auth/password-reset/confirm",
            None,
            &json!({ "token": code, "password": PASSWORD }),
        )
        .await
        .expect(204);
    })
    .await;
}

async fn login_from(app: &TestApp, address: &str, password: &str) -> u16 {
    app.send(
        Method::POST,
        "/api/v1/auth/login",
        None,
        Some(&json!({ "login": ADMIN_EMAIL, "password": password })),
        &[("x-forwarded-for", address)],
    )
    .await
    .status
    .as_u16()
}

#[tokio::test]
async fn a_stranger_guessing_locks_only_their_own_address_out() {
    let app = spawn_app_with(Options {
        vars: vec![
            // The test client stands in for an ingress that names the citizen's address.
            ("PEKEN_TRUSTED_PROXIES".into(), "127.0.0.1/32".into()),
            ("PEKEN_LOGIN_MAX_FAILURES".into(), "5".into()),
        ],
        ..Options::default()
    })
    .await;
    let stranger = "203.0.113.9";
    let treasurer = "198.51.100.7";
    for _ in 0..5 {
        assert_eq!(login_from(&app, stranger, "guess").await, 401);
    }
    assert_eq!(
        login_from(&app, stranger, PASSWORD).await,
        401,
        "the guessing address is locked out, even with the right password"
    );
    assert_eq!(
        login_from(&app, treasurer, PASSWORD).await,
        200,
        "the owner's own address is not locked"
    );
    // The owner's mistakes count at the owner's address only, and a success clears them.
    for _ in 0..4 {
        assert_eq!(login_from(&app, treasurer, "typo").await, 401);
    }
    assert_eq!(login_from(&app, treasurer, PASSWORD).await, 200);
    for _ in 0..4 {
        assert_eq!(login_from(&app, treasurer, "typo").await, 401);
    }
    assert_eq!(login_from(&app, treasurer, PASSWORD).await, 200);
    // The stranger's lock ends after the lockout period.
    app.clock.advance(chrono::Duration::minutes(16));
    assert_eq!(login_from(&app, stranger, PASSWORD).await, 200);
}

#[tokio::test]
async fn a_session_is_recorded_at_login_and_ended_at_logout() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let backend = app.state.db.get_database_backend();
    let revoked = async || {
        app.state
            .db
            .query_one_raw(Statement::from_sql_and_values(
                backend,
                "SELECT revoked_at IS NOT NULL AS ended FROM sessions WHERE user_id = $1",
                [admin.id.clone().into()],
            ))
            .await
            .unwrap()
            .unwrap()
            .try_get::<bool>("", "ended")
            .unwrap()
    };
    assert!(!revoked().await);
    app.post("/api/v1/auth/logout", Some(&admin.token), &json!({}))
        .await
        .expect(204);
    assert!(revoked().await);
}
