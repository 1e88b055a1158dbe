//! `PATCH /me`, the e-mail change and `POST /me/password`.

use peken_tests::{PASSWORD, code_in, spawn_app};
use serde_json::json;

use crate::fixtures::orders::buyer;

#[tokio::test]
async fn name_and_phone_change_at_once_and_bad_values_are_refused() {
    let app = spawn_app().await;
    let me = buyer(&app).await;
    let t = Some(me.token.as_str());
    let changed = app
        .patch(
            "/api/v1/me",
            t,
            &json!({"name": "Sri Wahyuni", "phone": "0857 1234 5678"}),
        )
        .await
        .expect(200);
    assert_eq!(changed.body["name"], "Sri Wahyuni");
    assert_eq!(changed.body["phone"], "+6285712345678");
    assert!(changed.body.get("pending_email").is_none());
    let me_now = app.get("/api/v1/me", t).await.expect(200);
    assert_eq!(me_now.body["phone"], "+6285712345678");

    let reply = app
        .patch(
            "/api/v1/me",
            t,
            &json!({"name": " ", "phone": "+44 20 7946 0958", "email": "not-mail"}),
        )
        .await
        .expect_problem(422, "validation_failed");
    let codes = reply.field_codes();
    for expected in [
        ("name", "required"),
        ("phone", "invalid_phone"),
        ("email", "invalid_email"),
    ] {
        assert!(
            codes.contains(&(expected.0.to_owned(), expected.1.to_owned())),
            "{codes:?}"
        );
    }
    app.patch("/api/v1/me", t, &json!({"name": "Sri\u{0}"}))
        .await
        .expect_problem(422, "control_character");
    let cleared = app
        .patch("/api/v1/me", t, &json!({"phone": null}))
        .await
        .expect(200);
    assert!(cleared.body.get("phone").is_none());
    assert_eq!(
        cleared.body["name"], "Sri Wahyuni",
        "a failed change wrote nothing"
    );
}

#[tokio::test]
async fn an_email_change_waits_for_the_code_sent_to_the_new_address() {
    let app = spawn_app().await;
    let me = buyer(&app).await;
    let t = Some(me.token.as_str());
    let old = app.get("/api/v1/me", t).await.expect(200).body["email"]
        .as_str()
        .unwrap()
        .to_owned();

    let asked = app
        .patch("/api/v1/me", t, &json!({"email": "Sri.Baru@Example.ID"}))
        .await
        .expect(200);
    assert_eq!(asked.body["pending_email"], "sri.baru@example.id");
    assert_eq!(
        asked.body["email"],
        old.as_str(),
        "unchanged until confirmed"
    );
    let code = app
        .mailed_code("email_change", "sri.baru@example.id")
        .await
        .expect("a code mailed");

    app.post("/api/v1/me/email/confirm", t, &json!({"code": "wrong"}))
        .await
        .expect_problem(400, "invalid_email_change_code");
    // The code is the user's own: another user cannot spend it.
    let other = buyer(&app).await;
    app.post(
        "/api/v1/me/email/confirm",
        Some(&other.token),
        &json!({"code": code}),
    )
    .await
    .expect_problem(400, "invalid_email_change_code");
    let confirmed = app
        .post("/api/v1/me/email/confirm", t, &json!({"code": code}))
        .await
        .expect(200);
    assert_eq!(confirmed.body["email"], "sri.baru@example.id");
    let told = app.mails("email_changed", &old).await;
    assert_eq!(told.len(), 1);
    assert!(told[0].contains("sri.baru@example.id"));
    app.post("/api/v1/me/email/confirm", t, &json!({"code": code}))
        .await
        .expect_problem(400, "invalid_email_change_code");
    app.login("sri.baru@example.id", PASSWORD).await;

    // An address another user has is refused at once.
    app.patch(
        "/api/v1/me",
        Some(&other.token),
        &json!({"email": "sri.baru@example.id"}),
    )
    .await
    .expect_problem(409, "email_taken");
    // A second request replaces the first code.
    app.patch("/api/v1/me", t, &json!({"email": "satu@example.id"}))
        .await
        .expect(200);
    let first = app
        .mailed_code("email_change", "satu@example.id")
        .await
        .unwrap();
    app.patch("/api/v1/me", t, &json!({"email": "dua@example.id"}))
        .await
        .expect(200);
    app.post("/api/v1/me/email/confirm", t, &json!({"code": first}))
        .await
        .expect_problem(400, "invalid_email_change_code");
    let mail = app
        .mails("email_change", "dua@example.id")
        .await
        .pop()
        .unwrap();
    let second = code_in(&mail).unwrap();
    app.post("/api/v1/me/email/confirm", t, &json!({"code": second}))
        .await
        .expect(200);
}

#[tokio::test]
async fn a_password_change_needs_the_current_one_and_ends_other_sessions() {
    let app = spawn_app().await;
    let opd = app.create_opd("OPDPW").await;
    let (phone, nip) = app.asn(&opd, "staf", "35.78.03.1002").await;
    let laptop = app.login(&nip, PASSWORD).await;

    app.post(
        "/api/v1/me/password",
        Some(&phone.token),
        &json!({"current_password": "not-the-password", "new_password": "kata-sandi-baru-123"}),
    )
    .await
    .expect_problem(422, "validation_failed");
    let wrong = app
        .post(
            "/api/v1/me/password",
            Some(&phone.token),
            &json!({"current_password": "still-not-it", "new_password": "kata-sandi-baru-123"}),
        )
        .await;
    assert_eq!(
        wrong.field_codes(),
        vec![("current_password".to_owned(), "wrong_password".to_owned())]
    );
    app.post(
        "/api/v1/me/password",
        Some(&phone.token),
        &json!({"current_password": PASSWORD, "new_password": "pendek"}),
    )
    .await
    .expect_problem(422, "validation_failed");
    app.get("/api/v1/me", Some(&laptop.token)).await.expect(200);

    app.post(
        "/api/v1/me/password",
        Some(&phone.token),
        &json!({"current_password": PASSWORD, "new_password": "kata-sandi-baru-123"}),
    )
    .await
    .expect(204);
    app.get("/api/v1/me", Some(&phone.token)).await.expect(200);
    app.get("/api/v1/me", Some(&laptop.token)).await.expect(401);
    app.post(
        "/api/v1/auth/refresh",
        None,
        &json!({"refresh_token": laptop.refresh}),
    )
    .await
    .expect(401);
    app.post(
        "/api/v1/auth/login",
        None,
        &json!({"login": nip, "password": PASSWORD}),
    )
    .await
    .expect(401);
    app.login(&nip, "kata-sandi-baru-123").await;
}
