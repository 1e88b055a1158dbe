//! Run-time policies: admins change them, treasury reads them, others may not.

use peken_tests::spawn_app;
use serde_json::json;

#[tokio::test]
async fn admins_change_policies_and_bad_values_change_nothing() {
    let app = spawn_app().await;
    let admin = app.admin().await;
    let treasury = app.staff("treasury", None).await;
    let before = app
        .get("/api/v1/admin/policies", Some(&treasury.token))
        .await
        .expect(200);
    assert_eq!(before.body["turnover_cap_amount"], 30_000_000);
    assert_eq!(before.body["pph22_collection_enabled"], false);

    let after = app
        .patch(
            "/api/v1/admin/policies",
            Some(&admin.token),
            &json!({"platform_fee_bps": 150, "turnover_cap_amount": 25_000_000}),
        )
        .await
        .expect(200);
    assert_eq!(after.body["platform_fee_bps"], 150);
    assert_eq!(after.body["turnover_cap_amount"], 25_000_000);

    let bad = app
        .patch(
            "/api/v1/admin/policies",
            Some(&admin.token),
            &json!({"platform_fee_bps": 20_000, "no_such": 1}),
        )
        .await
        .expect_problem(422, "validation_failed");
    assert_eq!(
        bad.field_codes(),
        vec![("no_such".to_owned(), "unknown_policy".to_owned())]
    );
    app.patch(
        "/api/v1/admin/policies",
        Some(&admin.token),
        &json!({"platform_fee_bps": 20_000}),
    )
    .await
    .expect_problem(422, "validation_failed");
    app.patch(
        "/api/v1/admin/policies",
        Some(&admin.token),
        &json!({"reservation_minutes": "soon"}),
    )
    .await
    .expect_problem(422, "invalid_policy");
    let now = app
        .get("/api/v1/admin/policies", Some(&admin.token))
        .await
        .expect(200);
    assert_eq!(
        now.body["platform_fee_bps"], 150,
        "refused changes wrote nothing"
    );

    app.patch(
        "/api/v1/admin/policies",
        Some(&treasury.token),
        &json!({"platform_fee_bps": 0}),
    )
    .await
    .expect_problem(403, "forbidden");
}
