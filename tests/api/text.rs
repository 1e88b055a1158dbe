//! Control characters in client text: a NUL or another control character anywhere a client
//! writes text (query, path, JSON string, header, uploaded CSV and MT940 cells, roster lines) is
//! a 422 `control_character` on both databases, never a 5xx (PostgreSQL refuses NUL in text).

use reqwest::Method;
use serde_json::json;

use peken_tests::spawn_app;

#[tokio::test]
async fn control_characters_in_queries_paths_and_headers_are_422() {
    let app = spawn_app().await;
    for path in [
        "/api/v1/commodities?category=%00",
        "/api/v1/commodities?category=beras%1B",
        "/api/v1/listings?q=gula%C2%85",
        "/api/v1/merchants/%00/listings",
        "/api/v1/merchants/abc%7Fdef",
    ] {
        let r = app.get(path, None).await;
        r.expect_problem(422, "control_character");
    }
    // The same request without the control character is answered.
    app.get("/api/v1/commodities?category=beras", None)
        .await
        .expect(200);
    let buyer = app.public_buyer("35.78.01.1001").await;
    let r = app
        .send(
            Method::POST,
            "/api/v1/checkout",
            Some(&buyer.token),
            Some(&json!({"items": []})),
            &[("idempotency-key", "key\twith-a-tab")],
        )
        .await;
    let r = r.expect_problem(422, "control_character");
    assert!(r.text.contains("header idempotency-key"), "{}", r.text);
}

#[tokio::test]
async fn control_characters_in_json_strings_are_422_and_line_breaks_are_not() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    for name in ["Dinas\u{0}Kesehatan", "Dinas\u{1b}[2J", "Dinas\u{85}"] {
        app.post(
            "/api/v1/admin/opds",
            Some(&admin.token),
            &json!({"code": "DINKES", "name": name}),
        )
        .await
        .expect_problem(422, "control_character");
    }
    app.post(
        "/api/v1/auth/password-reset",
        None,
        &json!({"login": "warga\u{0}@peken.local"}),
    )
    .await
    .expect_problem(422, "control_character");
    // An escaped backslash before `u0000` is text, not a NUL.
    app.post(
        "/api/v1/admin/opds",
        Some(&admin.token),
        &json!({"code": "DINKES", "name": "Dinas \\u0000 Kesehatan"}),
    )
    .await
    .expect(201);
}

#[tokio::test]
async fn control_characters_in_uploaded_files_are_422_with_their_line() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let treasury = app.staff("treasury", None).await;
    let statement = "value_date,description,debit,credit,balance\n\
                     2026-03-02,TRF PKN0000000000,1000.00,,\n\
                     2026-03-02,TRF \u{0}X,1000.00,,\n";
    let r = app
        .post_raw(
            "/api/v1/treasury/bank-statements",
            Some(&treasury.token),
            "text/csv",
            statement,
        )
        .await;
    let r = r.expect_problem(422, "control_character");
    assert!(r.text.contains("body line 3"), "{}", r.text);
    let mt940 = ":20:STMT1\n:25:1234567890\n:28C:1/1\n:60F:C260302IDR1000,00\n\
                 :61:2603020302D1000,00NTRFNONREF\n:86:PKN\u{0}\n:62F:C260302IDR0,00\n";
    app.post_raw(
        "/api/v1/treasury/bank-statements",
        Some(&treasury.token),
        "application/x-mt940",
        mt940,
    )
    .await
    .expect_problem(422, "control_character");
    let _opd = app.create_opd("DINKES").await;
    let roster = "nip,name,email,opd_code,position_class,domicile_kelurahan_code,work_kelurahan_code\n\
                  198503142010011001,Budi\u{0},budi@asn.test,DINKES,staf,35.78.03.1002,\n";
    let r = app
        .post_raw(
            "/api/v1/admin/asn/import",
            Some(&admin.token),
            "text/csv",
            roster,
        )
        .await;
    let r = r.expect_problem(422, "control_character");
    assert!(r.text.contains("body line 2"), "{}", r.text);
}
