//! Public registration that tells nobody whether a NIK or an e-mail address is registered: the
//! same answer to every well-formed form, one mail to the address it names, an account only
//! once the mailed code comes back, and a NIK its owner can reclaim through an admin.

use peken_tests::{PASSWORD, TestApp, next_nik, spawn_app};
use serde_json::{Value, json};

fn form(nik: &str, email: &str) -> Value {
    json!({
        "nik": nik, "name": "Sri Wahyuni", "email": email, "phone": "081234567890",
        "password": PASSWORD, "kelurahan_code": "35.78.01.1001",
    })
}

async fn users_with_nik(app: &TestApp, nik: &str) -> i64 {
    use sea_orm::{ConnectionTrait, Statement};
    let backend = app.state.db.get_database_backend();
    app.state
        .db
        .query_one_raw(Statement::from_sql_and_values(
            backend,
            "SELECT COUNT(*) AS n FROM users WHERE nik = $1",
            [nik.into()],
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap()
}

async fn login_status(app: &TestApp, login: &str) -> u16 {
    app.post(
        "/api/v1/auth/login",
        None,
        &json!({ "login": login, "password": PASSWORD }),
    )
    .await
    .status
    .as_u16()
}

#[tokio::test]
async fn the_answer_is_the_same_whatever_is_registered_and_only_the_mail_differs() {
    let app = spawn_app().await;
    let nik = next_nik();
    app.register(&form(&nik, "sri@warga.test"))
        .await
        .expect(201);

    // A new person, the same address again, the same NIK with another address.
    let fresh = app
        .post(
            "/api/v1/auth/register",
            None,
            &form(&next_nik(), "baru@warga.test"),
        )
        .await
        .expect(202);
    let same_email = app
        .post(
            "/api/v1/auth/register",
            None,
            &form(&next_nik(), "sri@warga.test"),
        )
        .await
        .expect(202);
    let same_nik = app
        .post(
            "/api/v1/auth/register",
            None,
            &form(&nik, "penyerobot@warga.test"),
        )
        .await
        .expect(202);
    assert_eq!(fresh.body, same_email.body);
    assert_eq!(fresh.body, same_nik.body);
    assert_eq!(fresh.text, same_nik.text);

    // What each address receives: a code for the new person; a note for the owner of the
    // address; the way to reclaim the NIK for whoever typed it, with the NIK masked.
    assert!(
        app.mailed_code("registration_confirm", "baru@warga.test")
            .await
            .is_some()
    );
    let owner_note = app
        .mails("registration_email_taken", "sri@warga.test")
        .await;
    assert_eq!(owner_note.len(), 1);
    assert!(
        owner_note[0].contains("Halo Sri Wahyuni"),
        "{}",
        owner_note[0]
    );
    assert!(
        app.mailed_code("registration_confirm", "penyerobot@warga.test")
            .await
            .is_none()
    );
    let nik_note = app
        .mails("registration_nik_taken", "penyerobot@warga.test")
        .await;
    assert_eq!(nik_note.len(), 1);
    assert!(nik_note[0].contains("Dinas Koperasi"), "{}", nik_note[0]);
    assert!(nik_note[0].contains(&format!("{}********{}", &nik[..4], &nik[12..])));
    assert!(!nik_note[0].contains(&nik));
    assert_eq!(users_with_nik(&app, &nik).await, 1);
}

#[tokio::test]
async fn the_account_exists_only_once_the_mailed_code_comes_back() {
    let app = spawn_app().await;
    let nik = next_nik();
    app.post("/api/v1/auth/register", None, &form(&nik, "ani@warga.test"))
        .await
        .expect(202);
    assert_eq!(users_with_nik(&app, &nik).await, 0);
    assert_eq!(login_status(&app, &nik).await, 401);
    let code = app
        .mailed_code("registration_confirm", "ani@warga.test")
        .await
        .unwrap();
    let created = app
        .post(
            "/api/v1/auth/register/confirm",
            None,
            &json!({ "token": code }),
        )
        .await
        .expect(201);
    assert_eq!(created.body["role"], "public");
    assert_eq!(created.headers["location"], "/api/v1/me");
    assert_eq!(login_status(&app, &nik).await, 200);
    // The code works once; a made-up one never.
    app.post(
        "/api/v1/auth/register/confirm",
        None,
        &json!({ "token": code }),
    )
    .await
    .expect_problem(400, "invalid_registration_token");
    app.post(
        "/api/v1/auth/register/confirm",
        None,
        &json!({ "token": "x".repeat(43) }),
    )
    .await
    .expect_problem(400, "invalid_registration_token");

    // A code expires after a day.
    let late = next_nik();
    app.post(
        "/api/v1/auth/register",
        None,
        &form(&late, "lambat@warga.test"),
    )
    .await
    .expect(202);
    let code = app
        .mailed_code("registration_confirm", "lambat@warga.test")
        .await
        .unwrap();
    app.clock
        .advance(chrono::Duration::hours(24) + chrono::Duration::minutes(1));
    app.post(
        "/api/v1/auth/register/confirm",
        None,
        &json!({ "token": code }),
    )
    .await
    .expect_problem(400, "invalid_registration_token");
    assert_eq!(users_with_nik(&app, &late).await, 0);
}

#[tokio::test]
async fn an_unconfirmed_registration_blocks_nobody() {
    let app = spawn_app().await;
    let nik = next_nik();
    // Someone registers another person's NIK with their own address and never confirms.
    app.post(
        "/api/v1/auth/register",
        None,
        &form(&nik, "iseng@warga.test"),
    )
    .await
    .expect(202);
    let squatter_code = app
        .mailed_code("registration_confirm", "iseng@warga.test")
        .await
        .unwrap();
    // The owner registers and confirms as if nothing happened.
    app.register(&form(&nik, "pemilik@warga.test"))
        .await
        .expect(201);
    // The other registration is gone with the owner's confirmation.
    app.post(
        "/api/v1/auth/register/confirm",
        None,
        &json!({ "token": squatter_code }),
    )
    .await
    .expect_problem(400, "invalid_registration_token");
    assert_eq!(users_with_nik(&app, &nik).await, 1);
}

#[tokio::test]
async fn an_admin_gives_a_squatted_nik_back_to_its_owner() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let nik = next_nik();
    // Someone registered the NIK with their own, working address.
    app.register(&form(&nik, "penyerobot@warga.test"))
        .await
        .expect(201);
    let squatter = app.login(&nik, PASSWORD).await;
    // The owner learns by mail that the NIK is taken, and goes to the office with the KTP.
    app.post(
        "/api/v1/auth/register",
        None,
        &form(&nik, "pemilik@warga.test"),
    )
    .await
    .expect(202);
    assert_eq!(
        app.mails("registration_nik_taken", "pemilik@warga.test")
            .await
            .len(),
        1
    );
    let closed = app
        .post(
            "/api/v1/admin/nik-reclaims",
            Some(&admin.token),
            &json!({ "nik": nik, "reason": "KTP asli diperiksa di loket, pemilik tidak pernah mendaftar" }),
        )
        .await
        .expect(200);
    assert_eq!(closed.body["id"], squatter.id.as_str());
    assert!(closed.body.get("nik_masked").is_none(), "{}", closed.text);

    // The squatter's account is closed: no login, no session.
    assert_eq!(login_status(&app, &nik).await, 401);
    app.get("/api/v1/me", Some(&squatter.token))
        .await
        .expect_problem(401, "invalid_token");
    app.post(
        "/api/v1/auth/refresh",
        None,
        &json!({ "refresh_token": squatter.refresh }),
    )
    .await
    .expect_problem(401, "invalid_refresh_token");
    let told = app.mails("nik_reclaimed", "penyerobot@warga.test").await;
    assert_eq!(told.len(), 1);
    assert!(!told[0].contains(&nik));
    let audit = app
        .get(
            &format!(
                "/api/v1/admin/audit-log?subject_type=user&subject_id={}",
                squatter.id
            ),
            Some(&admin.token),
        )
        .await
        .expect(200);
    assert_eq!(
        audit.body["items"][0]["action"], "user.nik_reclaimed",
        "{}",
        audit.text
    );
    assert!(audit.text.contains("KTP asli diperiksa"), "{}", audit.text);
    assert!(!audit.text.contains(&nik), "{}", audit.text);

    // The owner registers with the NIK and logs in with it.
    app.register(&form(&nik, "pemilik@warga.test"))
        .await
        .expect(201);
    assert_eq!(login_status(&app, &nik).await, 200);

    // A NIK nobody holds, and a malformed one.
    app.post(
        "/api/v1/admin/nik-reclaims",
        Some(&admin.token),
        &json!({ "nik": next_nik(), "reason": "uji" }),
    )
    .await
    .expect_problem(404, "not_found");
    app.post(
        "/api/v1/admin/nik-reclaims",
        Some(&admin.token),
        &json!({ "nik": "123", "reason": "uji" }),
    )
    .await
    .expect_problem(422, "validation_failed");
}

#[tokio::test]
async fn control_characters_in_registration_confirmation_and_reclaim_are_422() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let mut nul_name = form(&next_nik(), "nul@warga.test");
    nul_name["name"] = json!("Sri\u{0}Wahyuni");
    let mut nul_email = form(&next_nik(), "nul@warga.test");
    nul_email["email"] = json!("nul\u{0}@warga.test");
    for (path, token, body) in [
        ("/api/v1/auth/register", None, nul_name),
        ("/api/v1/auth/register", None, nul_email),
        (
            "/api/v1/auth/register/confirm",
            None,
            json!({ "token": format!("{}\u{0}", "x".repeat(42)) }),
        ),
        (
            "/api/v1/admin/nik-reclaims",
            Some(admin.token.as_str()),
            json!({ "nik": next_nik(), "reason": "KTP\u{0}" }),
        ),
    ] {
        app.post(path, token, &body)
            .await
            .expect_problem(422, "control_character");
    }
    // Nothing was registered or mailed.
    assert!(
        app.mails("registration_confirm", "nul@warga.test")
            .await
            .is_empty()
    );
    // An oversized code is refused before it is looked up.
    app.post(
        "/api/v1/auth/register/confirm",
        None,
        &json!({ "token": "x".repeat(10_000) }),
    )
    .await
    .expect_problem(400, "invalid_registration_token");
}
