//! Admin creation of staff, OPDs and ASN; public registration; `/me`; role enforcement.

use peken_tests::{PASSWORD, next_nik, spawn_app};
use serde_json::json;

#[tokio::test]
async fn each_role_logs_in_and_is_refused_on_another_roles_route() {
    let app = spawn_app().await;
    let opd = app.create_opd("DINKES").await;
    let admin = app.admin().await;
    let treasury = app.staff("treasury", None).await;
    let opd_admin = app.staff("opd_admin", Some(&opd)).await;
    let (asn, nip) = app.asn(&opd, "staf", "35.78.03.1001").await;
    let public = app.public_buyer("35.78.01.1001").await;

    let me = app.get("/api/v1/me", Some(&asn.token)).await.expect(200);
    assert_eq!(me.body["role"], "asn");
    assert_eq!(me.body["nip"], nip);
    assert_eq!(me.body["opd_id"], opd);
    let me = app
        .get("/api/v1/me", Some(&opd_admin.token))
        .await
        .expect(200);
    assert_eq!(me.body["role"], "opd_admin");
    let me = app.get("/api/v1/me", Some(&public.token)).await.expect(200);
    assert_eq!(me.body["role"], "public");
    let masked = me.body["nik_masked"].as_str().unwrap();
    assert!(
        masked.starts_with("3578") && masked.contains("********"),
        "{masked}"
    );
    assert!(!me.text.contains(&masked.replace('*', "")[..]) || masked.len() == 16);

    for who in [&treasury, &opd_admin, &asn, &public] {
        app.post(
            "/api/v1/admin/opds",
            Some(&who.token),
            &json!({"code": "X", "name": "X"}),
        )
        .await
        .expect_problem(403, "forbidden");
    }
    app.post(
        "/api/v1/admin/opds",
        None,
        &json!({"code": "X", "name": "X"}),
    )
    .await
    .expect_problem(401, "unauthenticated");
    app.post(
        "/api/v1/admin/opds",
        Some(&admin.token),
        &json!({"code": "X", "name": "X"}),
    )
    .await
    .expect(201);
}

#[tokio::test]
async fn asn_creation_validates_every_field_and_writes_nothing_when_bad() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let r = app
        .post(
            "/api/v1/admin/asn",
            Some(&admin.token),
            &json!({
                "nip": "199013452015011001", "name": "", "email": "nope", "password": "short",
                "opd_id": "missing", "position_class": "Camat!", "domicile_kelurahan_code": "35.78.99.1001",
            }),
        )
        .await
        .expect_problem(422, "validation_failed");
    let fields: Vec<String> = r.field_codes().into_iter().map(|(f, _)| f).collect();
    for f in [
        "nip",
        "name",
        "email",
        "password",
        "position_class",
        "opd_id",
        "domicile_kelurahan_code",
    ] {
        assert!(fields.contains(&f.to_owned()), "{f} missing in {fields:?}");
    }
    assert!(
        r.field_codes()
            .contains(&("nip".into(), "invalid_nip".into()))
    );
    let users = sea_orm::ConnectionTrait::query_one_raw(
        &app.state.db,
        sea_orm::Statement::from_string(
            app.state.db.get_database_backend(),
            "SELECT COUNT(*) AS n FROM users",
        ),
    )
    .await
    .unwrap()
    .unwrap()
    .try_get::<i64>("", "n")
    .unwrap();
    assert_eq!(users, 1, "only the bootstrap admin exists");
}

#[tokio::test]
async fn duplicates_are_conflicts() {
    let app = spawn_app().await;
    let opd = app.create_opd("DISPENDIK").await;
    let admin = app.admin().await;
    app.post(
        "/api/v1/admin/opds",
        Some(&admin.token),
        &json!({"code": "dispendik", "name": "Again"}),
    )
    .await
    .expect_problem(409, "opd_code_taken");
    let (_, nip) = app.asn(&opd, "guru", "35.78.02.1001").await;
    app.post(
        "/api/v1/admin/asn",
        Some(&admin.token),
        &json!({"nip": nip, "name": "Twin", "email": "twin@test.local", "password": PASSWORD,
                "opd_id": opd, "position_class": "guru", "domicile_kelurahan_code": "35.78.02.1001"}),
    )
    .await
    .expect_problem(409, "nip_taken");
    let nik = next_nik();
    let body = json!({"nik": nik, "name": "Warga", "email": "warga@test.local", "phone": "081234567890",
                      "password": PASSWORD, "kelurahan_code": "35.78.01.1001"});
    app.register(&body).await.expect(201);
    // A second registration of the NIK is accepted like any other and creates nothing; its
    // mail says the NIK is taken (`registration.rs` has the rest).
    let mut again = body.clone();
    again["email"] = json!("other@test.local");
    app.post("/api/v1/auth/register", None, &again)
        .await
        .expect(202);
    assert_eq!(
        app.mails("registration_nik_taken", "other@test.local")
            .await
            .len(),
        1
    );
    assert_eq!(
        app.mails("registration_confirm", "other@test.local")
            .await
            .len(),
        0
    );
}

#[tokio::test]
async fn registration_rejects_bad_nik_and_unknown_kelurahan() {
    let app = spawn_app().await;
    let r = app
        .post(
            "/api/v1/auth/register",
            None,
            &json!({"nik": "3578011302900000", "name": "X", "email": "x@test.local", "phone": "0812345678",
                    "password": PASSWORD, "kelurahan_code": "35.78.01.1999"}),
        )
        .await
        .expect_problem(422, "validation_failed");
    let codes = r.field_codes();
    assert!(
        codes.contains(&("nik".into(), "invalid_nik".into())),
        "{codes:?}"
    );
    assert!(
        codes.contains(&("kelurahan_code".into(), "unknown_region".into())),
        "{codes:?}"
    );
    assert!(
        !r.text.contains("3578011302900000"),
        "the NIK is never echoed"
    );
}

#[tokio::test]
async fn opd_admin_needs_an_existing_opd() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let r = app
        .post(
            "/api/v1/admin/users",
            Some(&admin.token),
            &json!({"role": "opd_admin", "email": "o@test.local", "password": PASSWORD, "name": "O"}),
        )
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(
        r.field_codes(),
        vec![("opd_id".to_owned(), "required".to_owned())]
    );
}
