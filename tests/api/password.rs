//! Forgotten passwords and the activation of imported ASN: a code by mail, used once, within
//! its lifetime; the same answer whether or not an account exists; rate limits.

use std::fmt::Write as _;

use chrono::Duration as Span;
use futures_util::future::join_all;
use peken_mail::worker::drain_once;
use peken_tests::smtp::SmtpServer;
use peken_tests::{Options, PASSWORD, TestApp, spawn_app, spawn_app_with};
use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;

use crate::fixtures::import_roster;

const NEW_PASSWORD: &str = "a-brand-new-secret-42";
const ROSTER_HEADER: &str =
    "nip,name,email,opd_code,position_class,domicile_kelurahan_code,work_kelurahan_code\n";

/// The code in a reset or activation mail.
fn code_in(text: &str) -> String {
    peken_tests::code_in(text).unwrap_or_else(|| panic!("no code in {text}"))
}

/// Runs a query returning one text column and returns its values.
async fn strings(app: &TestApp, sql: &str, values: Vec<sea_orm::Value>) -> Vec<String> {
    let backend = app.state.db.get_database_backend();
    app.state
        .db
        .query_all_raw(Statement::from_sql_and_values(backend, sql, values))
        .await
        .unwrap()
        .iter()
        .map(|r| r.try_get_by_index::<String>(0).unwrap())
        .collect()
}

async fn ask_reset(app: &TestApp, login: &str) -> peken_tests::Reply {
    app.post(
        "/api/v1/auth/password-reset",
        None,
        &json!({ "login": login }),
    )
    .await
}

async fn confirm(app: &TestApp, token: &str, password: &str) -> peken_tests::Reply {
    app.post(
        "/api/v1/auth/password-reset/confirm",
        None,
        &json!({ "token": token, "password": password }),
    )
    .await
}

async fn login_status(app: &TestApp, login: &str, password: &str) -> u16 {
    app.post(
        "/api/v1/auth/login",
        None,
        &json!({ "login": login, "password": password }),
    )
    .await
    .status
    .as_u16()
}

/// A public buyer with an e-mail address; returns its NIK, e-mail and a live session.
async fn buyer(app: &TestApp) -> (String, String, peken_tests::User) {
    let nik = peken_tests::next_nik();
    let email = format!("{nik}@warga.test");
    app.register(&json!({
        "nik": nik, "name": "Ani Lestari", "email": email, "phone": "081234567890",
        "password": PASSWORD, "kelurahan_code": "35.78.01.1001",
    }))
    .await
    .expect(201);
    let user = app.login(&nik, PASSWORD).await;
    (nik, email, user)
}

#[tokio::test]
async fn a_reset_by_mail_sets_the_password_ends_sessions_and_lifts_a_lockout() {
    let smtp = SmtpServer::start().await;
    let app = spawn_app_with(Options {
        vars: vec![("PEKEN_SMTP_URL".into(), smtp.url())],
        ..Options::default()
    })
    .await;
    let (nik, email, session) = buyer(&app).await;
    // The registration's confirmation mail goes first.
    assert_eq!(drain_once(&app.state).await.unwrap(), 1);
    // Someone guesses until the account locks.
    for _ in 0..5 {
        assert_eq!(login_status(&app, &nik, "wrong-password-1").await, 401);
    }
    assert_eq!(login_status(&app, &nik, PASSWORD).await, 401, "locked");

    let r = ask_reset(&app, &email).await.expect(202);
    assert_eq!(r.body["status"], "accepted");
    assert_eq!(drain_once(&app.state).await.unwrap(), 1);
    let got = smtp.messages();
    assert_eq!(got.len(), 2);
    assert_eq!(got[0].subject(), "Konfirmasi pendaftaran akun Peken");
    let got = &got[1..];
    assert_eq!(got[0].rcpt_to, vec![email.clone()]);
    assert_eq!(got[0].subject(), "Atur ulang kata sandi Peken");
    let text = got[0].text();
    assert!(text.contains("Halo Ani Lestari,"), "{text}");
    assert!(text.contains("WIB"), "{text}");
    let code = code_in(&text);
    // Only the digest is stored.
    let stored = strings(&app, "SELECT token_hash FROM password_tokens", vec![]).await;
    assert_eq!(stored.len(), 1);
    assert_ne!(stored[0], code);

    confirm(&app, &code, NEW_PASSWORD).await.expect(204);
    // The lockout is lifted, the old password is gone, the new one works.
    assert_eq!(login_status(&app, &nik, PASSWORD).await, 401);
    assert_eq!(login_status(&app, &nik, NEW_PASSWORD).await, 200);
    // The sessions from before the reset are over: refresh and access tokens alike.
    app.post(
        "/api/v1/auth/refresh",
        None,
        &json!({ "refresh_token": session.refresh }),
    )
    .await
    .expect_problem(401, "invalid_refresh_token");
    app.get("/api/v1/me", Some(&session.token))
        .await
        .expect_problem(401, "invalid_token");
    // The code worked once.
    confirm(&app, &code, "yet-another-password-7")
        .await
        .expect_problem(400, "invalid_reset_token");
    assert_eq!(login_status(&app, &nik, NEW_PASSWORD).await, 200);
}

#[tokio::test]
async fn a_code_sent_many_times_at_once_sets_one_password() {
    let app = spawn_app().await;
    let (nik, email, _) = buyer(&app).await;
    ask_reset(&app, &email).await.expect(202);
    let code = code_in(&app.mails("password_reset", &email).await[0]);
    let passwords: Vec<String> = (0..6).map(|i| format!("concurrent-password-{i}")).collect();
    let replies = join_all(passwords.iter().map(|p| confirm(&app, &code, p))).await;
    let winners: Vec<&String> = replies
        .iter()
        .zip(&passwords)
        .filter(|(r, _)| r.status.as_u16() == 204)
        .map(|(_, p)| p)
        .collect();
    assert_eq!(winners.len(), 1, "exactly one confirmation wins");
    for r in replies.iter().filter(|r| r.status.as_u16() != 204) {
        assert_eq!(r.status.as_u16(), 400, "{}", r.text);
        assert_eq!(r.code(), "invalid_reset_token");
    }
    // The winner first: five wrong passwords afterwards lock the account.
    assert_eq!(login_status(&app, &nik, winners[0]).await, 200);
    for p in passwords.iter().filter(|p| *p != winners[0]) {
        assert_eq!(login_status(&app, &nik, p).await, 401);
    }
}

#[tokio::test]
async fn a_code_expires_and_a_newer_one_supersedes_it() {
    let app = spawn_app().await;
    let (nik, email, _) = buyer(&app).await;
    ask_reset(&app, &email).await.expect(202);
    let first = code_in(&app.mails("password_reset", &email).await[0]);
    app.clock.advance(Span::hours(2) + Span::minutes(1));
    confirm(&app, &first, NEW_PASSWORD)
        .await
        .expect_problem(400, "invalid_reset_token");

    // Two fresh codes: using one retires the other.
    ask_reset(&app, &email).await.expect(202);
    ask_reset(&app, &email).await.expect(202);
    let texts = app.mails("password_reset", &email).await;
    assert_eq!(texts.len(), 3);
    let (second, third) = (code_in(&texts[1]), code_in(&texts[2]));
    assert_ne!(second, third);
    app.clock.advance(Span::minutes(119));
    confirm(&app, &third, NEW_PASSWORD).await.expect(204);
    confirm(&app, &second, "another-password-99")
        .await
        .expect_problem(400, "invalid_reset_token");
    assert_eq!(login_status(&app, &nik, NEW_PASSWORD).await, 200);

    // Garbage, an empty code and a weak password are refused with stable codes.
    confirm(&app, "not-a-code", NEW_PASSWORD)
        .await
        .expect_problem(400, "invalid_reset_token");
    confirm(&app, "", NEW_PASSWORD)
        .await
        .expect_problem(400, "invalid_reset_token");
    let weak = confirm(&app, &second, "short")
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(
        weak.field_codes(),
        [("password".to_owned(), "weak_password".to_owned())]
    );
}

#[tokio::test]
async fn the_answer_does_not_tell_whether_an_account_exists() {
    let app = spawn_app().await;
    let (nik, email, _) = buyer(&app).await;
    let known = ask_reset(&app, &email).await.expect(202);
    for login in [
        "nobody@warga.test".to_owned(),
        peken_tests::next_nik(),
        peken_tests::next_nip(),
        "not a login at all".to_owned(),
        "x".repeat(300),
        nik.clone(),
    ] {
        let r = ask_reset(&app, &login).await.expect(202);
        assert_eq!(r.text, known.text, "same body for {login}");
    }
    let queued = strings(
        &app,
        "SELECT recipient FROM mail_outbox WHERE template = 'password_reset'",
        vec![],
    )
    .await;
    assert_eq!(
        queued,
        [email.clone(), email],
        "mail only to the real account, by e-mail or NIK"
    );
}

/// `/metrics` must not undo the uniform answer: a reset for an account and for nobody count the
/// same, and logins against a locked account count like any other failure.
#[tokio::test]
async fn metrics_do_not_tell_whether_an_account_exists_or_is_locked() {
    let app = spawn_app().await;
    let (nik, email, _) = buyer(&app).await;
    ask_reset(&app, &email).await.expect(202);
    ask_reset(&app, "nobody@warga.test").await.expect(202);
    for _ in 0..5 {
        assert_eq!(login_status(&app, &nik, "wrong-password-1").await, 401);
    }
    assert_eq!(login_status(&app, &nik, PASSWORD).await, 401, "locked");
    assert_eq!(login_status(&app, "nobody@warga.test", PASSWORD).await, 401);
    let metrics = app.metrics().await;
    let events: Vec<&str> = metrics
        .lines()
        .filter(|l| {
            l.starts_with("peken_events_total{event=\"password_reset\"")
                || l.starts_with("peken_events_total{event=\"login\"")
        })
        .collect();
    assert!(
        events.contains(&r#"peken_events_total{event="password_reset",outcome="accepted"} 2"#),
        "{events:?}"
    );
    assert!(
        events.contains(&r#"peken_events_total{event="login",outcome="failed"} 7"#),
        "{events:?}"
    );
    for leak in ["no_account", "mailed", "locked"] {
        assert!(!metrics.contains(leak), "{leak} in {events:?}");
    }
}

#[tokio::test]
async fn reset_requests_are_rate_limited_per_account_and_per_client() {
    let app = spawn_app().await;
    let (_, email, _) = buyer(&app).await;
    // Five an hour per login, whether or not the account exists.
    for login in [email.as_str(), "ghost@warga.test"] {
        for _ in 0..5 {
            ask_reset(&app, login).await.expect(202);
        }
        let r = ask_reset(&app, login)
            .await
            .expect_problem(429, "too_many_requests");
        assert!(r.headers.get("retry-after").is_some());
    }
    assert_eq!(app.mails("password_reset", &email).await.len(), 5);

    let app = spawn_app_with(Options {
        vars: vec![("PEKEN_LOGIN_IP_PER_MINUTE".into(), "3".into())],
        ..Options::default()
    })
    .await;
    let app = &app;
    let statuses: Vec<u16> = join_all((0..5).map(|i| async move {
        ask_reset(app, &format!("u{i}@warga.test"))
            .await
            .status
            .as_u16()
    }))
    .await;
    assert_eq!(statuses.iter().filter(|s| **s == 202).count(), 3);
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 2);
}

#[tokio::test]
async fn an_imported_asn_activates_with_the_mailed_code_and_logs_in() {
    let app = spawn_app().await;
    app.create_opd("DINKES").await;
    let admin = app.admin().await;
    let (known, known_nip) = app
        .asn(&app.create_opd("DISPENDIK").await, "staf", "35.78.03.1001")
        .await;
    let (nip_a, nip_b) = (peken_tests::next_nip(), peken_tests::next_nip());
    let roster = format!(
        "{ROSTER_HEADER}\
         {nip_a},Budi Santoso,budi@sby.test,DINKES,staf,35.78.03.1001,\n\
         {nip_b},Siti Rahayu,siti@sby.test,DINKES,staf,35.78.03.1002,\n\
         {known_nip},Test ASN,{known_nip}@asn.test,DINKES,staf,35.78.03.1001,\n"
    );
    let r = import_roster(&app, &admin.token, &roster).await;
    assert_eq!(
        (r.body["created"].as_u64(), r.body["updated"].as_u64()),
        (Some(2), Some(1))
    );

    // One activation mail per new ASN, keyed by the user; none for the known one.
    let keys = strings(
        &app,
        "SELECT m.dedupe_key FROM mail_outbox m WHERE m.template = 'account_activation' ORDER BY m.recipient",
        vec![],
    )
    .await;
    let ids = strings(
        &app,
        "SELECT id FROM users WHERE email IN ('budi@sby.test', 'siti@sby.test') ORDER BY email",
        vec![],
    )
    .await;
    assert_eq!(
        keys,
        ids.iter()
            .map(|id| format!("activation:{id}"))
            .collect::<Vec<_>>()
    );
    assert!(!ids.contains(&known.id));

    // Before activation nobody can log in as the imported ASN.
    assert_eq!(login_status(&app, &nip_a, "!").await, 401);
    let text = &app.mails("account_activation", "budi@sby.test").await[0];
    assert!(text.contains("Halo Budi Santoso,"), "{text}");
    assert!(text.contains(&nip_a), "{text}");
    confirm(&app, &code_in(text), NEW_PASSWORD)
        .await
        .expect(204);
    assert_eq!(login_status(&app, &nip_a, NEW_PASSWORD).await, 200);
    let me = app.login(&nip_a, NEW_PASSWORD).await;
    assert_eq!(me.id, ids[0]);

    // The same roster again mails nobody; an activation code lasts a week.
    import_roster(&app, &admin.token, &roster).await;
    let count = strings(
        &app,
        "SELECT dedupe_key FROM mail_outbox WHERE template = 'account_activation'",
        vec![],
    )
    .await
    .len();
    assert_eq!(count, 2);
    let siti = code_in(&app.mails("account_activation", "siti@sby.test").await[0]);
    app.clock.advance(Span::days(7) + Span::minutes(1));
    confirm(&app, &siti, NEW_PASSWORD)
        .await
        .expect_problem(400, "invalid_reset_token");
    // She asks for a reset with her NIP instead, and gets in.
    ask_reset(&app, &nip_b).await.expect(202);
    let reset = code_in(&app.mails("password_reset", "siti@sby.test").await[0]);
    confirm(&app, &reset, NEW_PASSWORD).await.expect(204);
    assert_eq!(login_status(&app, &nip_b, NEW_PASSWORD).await, 200);
}

#[tokio::test]
async fn a_city_sized_roster_imports_in_one_request_and_invites_everyone() {
    const PEOPLE: usize = 20_000;
    // The suite runs many servers at once on shared cores; the import must not meet the
    // request timeout because of its neighbours.
    let app = spawn_app_with(Options {
        vars: vec![("PEKEN_REQUEST_TIMEOUT_SECONDS".into(), "120".into())],
        ..Options::default()
    })
    .await;
    app.create_opd("DINKES").await;
    let admin = app.admin().await;
    let first_birthday = chrono::NaiveDate::from_ymd_opt(1980, 1, 1).unwrap();
    let mut roster = ROSTER_HEADER.to_owned();
    for i in 0..PEOPLE {
        // 999 sequence numbers per birthday keep every NIP valid and distinct.
        let born = first_birthday + Span::days(i64::try_from(i / 999).unwrap());
        let seq = i % 999 + 1;
        writeln!(
            roster,
            "{}2010011{seq:03},ASN {i},asn{i}@sby.test,DINKES,staf,35.78.03.1001,",
            born.format("%Y%m%d")
        )
        .unwrap();
    }
    let started = std::time::Instant::now();
    let r = import_roster(&app, &admin.token, &roster).await;
    let took = started.elapsed();
    assert_eq!(
        r.body["created"].as_u64(),
        Some(PEOPLE as u64),
        "{}",
        r.body["rejected"]
    );
    let count = |sql: &'static str| {
        let app = &app;
        async move { strings(app, sql, vec![]).await[0].clone() }
    };
    let expected = PEOPLE.to_string();
    assert_eq!(
        count(
            "SELECT CAST(COUNT(*) AS TEXT) FROM mail_outbox WHERE template = 'account_activation'"
        )
        .await,
        expected
    );
    assert_eq!(
        count("SELECT CAST(COUNT(DISTINCT token_hash) AS TEXT) FROM password_tokens WHERE purpose = 'activation'").await,
        expected
    );
    println!("imported and invited {PEOPLE} ASN in {took:?}");
}
