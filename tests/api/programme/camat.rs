//! The camat: made by an admin for one kecamatan, reads that kecamatan's reports and shops
//! only (another kecamatan's shop is 404) and changes nothing (403). Its text input is checked
//! on PostgreSQL as on SQLite.

use serde_json::json;

use super::{paid, programme_shop};
use crate::fixtures::payouts::{app_at, owed, utc};

const KEL_A: &str = "35.78.01.1001";
const KEL_B: &str = "35.78.03.1001";

#[tokio::test]
async fn a_camat_reads_its_own_kecamatan_and_changes_nothing() {
    let app = app_at(utc(2026, 4, 15, 5)).await;
    let admin = app.admin().await;
    let camat = app.camat("35.78.03").await;
    let me = app.get("/api/v1/me", Some(&camat.token)).await.expect(200);
    assert_eq!(me.body["role"], "camat");
    assert_eq!(me.body["kecamatan_code"], "35.78.03");

    let a = programme_shop(&app, "toko_kelontong", KEL_A, "active", utc(2025, 1, 3, 3)).await;
    let b = programme_shop(&app, "umkm", KEL_B, "active", utc(2025, 1, 3, 3)).await;
    let quiet_b = programme_shop(&app, "koperasi", KEL_B, "active", utc(2025, 1, 3, 3)).await;
    programme_shop(&app, "umkm", KEL_A, "active", utc(2025, 1, 3, 3)).await;
    owed(&app, "k1", &a, 500_000, utc(2026, 3, 3, 3)).await;
    owed(&app, "k2", &b, 70_000, utc(2026, 3, 4, 3)).await;
    paid(&app, &a, "w1", "asn", Some((utc(2026, 3, 2, 3), "2026-03"))).await;
    paid(
        &app,
        &a,
        "w2",
        "public",
        Some((utc(2026, 3, 2, 4), "2026-03")),
    )
    .await;
    paid(&app, &b, "w1", "asn", Some((utc(2026, 3, 3, 3), "2026-03"))).await;

    let dormant = app
        .get(
            "/api/v1/programme/reports/dormant-shops",
            Some(&camat.token),
        )
        .await
        .expect(200);
    assert_eq!(dormant.body["kecamatan_code"], "35.78.03");
    assert_eq!(dormant.body["shops"], 2);
    assert_eq!(dormant.body["without_sale"], 1);
    assert_eq!(dormant.body["items"][0]["merchant_id"], quiet_b.as_str());
    let city = app
        .get(
            "/api/v1/programme/reports/dormant-shops",
            Some(&admin.token),
        )
        .await
        .expect(200);
    assert_eq!(city.body["shops"], 4);
    assert_eq!(city.body["without_sale"], 2);

    let monthly = app
        .get(
            "/api/v1/programme/reports/monthly?from=2026-03&to=2026-03",
            Some(&camat.token),
        )
        .await
        .expect(200);
    assert_eq!(monthly.body["total"]["gross_amount"], 70_000);
    assert_eq!(monthly.body["total"]["paid_orders"], 1);
    let buyers = app
        .get(
            "/api/v1/programme/reports/buyers?from=2026-03&to=2026-03",
            Some(&camat.token),
        )
        .await
        .expect(200);
    assert_eq!(buyers.body["months"][0]["buyers"], 1);
    assert_eq!(buyers.body["months"][0]["public_buyers"], 0);
    let city_buyers = app
        .get(
            "/api/v1/programme/reports/buyers?from=2026-03&to=2026-03",
            Some(&admin.token),
        )
        .await
        .expect(200);
    assert_eq!(city_buyers.body["months"][0]["buyers"], 2);

    // Its own kecamatan's shop, not another's.
    app.get(
        &format!("/api/v1/programme/merchants/{b}/classes"),
        Some(&camat.token),
    )
    .await
    .expect(200);
    app.get(
        &format!("/api/v1/programme/merchants/{a}/classes"),
        Some(&camat.token),
    )
    .await
    .expect_problem(404, "not_found");

    // Read only: every change is 403, and so are the treasury's and the shops' reports.
    for (path, body) in [
        (
            format!("/api/v1/admin/merchants/{b}/suspension"),
            json!({"reason": "uji"}),
        ),
        ("/api/v1/admin/users".to_owned(), json!({})),
        ("/api/v1/checkout".to_owned(), json!({})),
    ] {
        app.post(&path, Some(&camat.token), &body)
            .await
            .expect_problem(403, "forbidden");
    }
    app.patch(
        &format!("/api/v1/merchants/{b}"),
        Some(&camat.token),
        &json!({}),
    )
    .await
    .expect_problem(403, "forbidden");
    app.get("/api/v1/reports/turnover", Some(&camat.token))
        .await
        .expect_problem(403, "forbidden");

    // The LKPJ workbook of a camat is its kecamatan's.
    let (status, headers, _) =
        crate::reports::raw(&app, "/api/v1/programme/reports/lkpj/2026", &camat.token).await;
    assert_eq!(status, 200);
    let disposition = headers
        .get("content-disposition")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    assert!(
        disposition.contains("lkpj-2026-35.78.03.xlsx"),
        "{disposition}"
    );
}

#[tokio::test]
async fn a_camat_needs_a_kecamatan_of_surabaya_and_only_a_camat_has_one() {
    let app = app_at(utc(2026, 4, 15, 5)).await;
    let admin = app.admin().await;
    let user = |role: &str, kecamatan: serde_json::Value| {
        json!({"role": role, "email": format!("{}@camat.test", uuid::Uuid::new_v4().simple()),
               "password": "correct-horse-battery", "name": "Camat Uji",
               "kecamatan_code": kecamatan})
    };
    for (body, field, code) in [
        (
            user("camat", serde_json::Value::Null),
            "kecamatan_code",
            "required",
        ),
        (
            user("camat", json!("35.78.99")),
            "kecamatan_code",
            "unknown_region",
        ),
        // A kelurahan is not a kecamatan.
        (
            user("camat", json!(KEL_A)),
            "kecamatan_code",
            "unknown_region",
        ),
        (
            user("camat", json!("35.78.03 ")),
            "kecamatan_code",
            "unknown_region",
        ),
        (
            user("treasury", json!("35.78.03")),
            "kecamatan_code",
            "not_allowed",
        ),
    ] {
        let reply = app
            .post("/api/v1/admin/users", Some(&admin.token), &body)
            .await
            .expect_problem(422, "validation_failed");
        assert!(
            reply
                .field_codes()
                .contains(&(field.to_owned(), code.to_owned())),
            "{body}: {}",
            reply.text
        );
    }
    // Control characters and NUL never reach the database, on either.
    for bad in ["35.78.03\u{0}", "35.78\u{7}.03", "35.78.03\u{85}"] {
        app.post(
            "/api/v1/admin/users",
            Some(&admin.token),
            &user("camat", json!(bad)),
        )
        .await
        .expect_problem(422, "control_character");
    }
    let camat = app.camat("35.78.03").await;
    for query in ["from=2026-01%00", "to=2026-0%01", "months=3%00"] {
        let path = if query.starts_with("months") {
            format!("/api/v1/programme/reports/dormant-shops?{query}")
        } else {
            format!("/api/v1/programme/reports/monthly?{query}")
        };
        app.get(&path, Some(&camat.token))
            .await
            .expect_problem(422, "control_character");
    }
    app.get(
        "/api/v1/programme/reports/monthly?from=2026-13",
        Some(&camat.token),
    )
    .await
    .expect_problem(422, "validation_failed");
}
