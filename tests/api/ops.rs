//! Health, readiness, metrics, docs, the OpenAPI document and error shapes.

use peken_tests::{Options, spawn_app, spawn_app_with};
use serde_json::json;

#[tokio::test]
async fn health_ready_metrics_and_docs_answer() {
    let app = spawn_app().await;
    assert_eq!(app.get("/healthz", None).await.expect(200).text, "ok");
    let ready = app.get("/readyz", None).await.expect(200).text;
    let expected = if peken_tests::on_postgres() {
        "ready\nredis: ok"
    } else {
        "ready"
    };
    assert_eq!(ready, expected);
    app.get("/api/v1/regions", None).await.expect(200);
    let metrics = app.metrics().await;
    assert!(metrics.contains("peken_http_requests_total"), "{metrics}");
    assert!(metrics.contains("route=\"/api/v1/regions\""), "{metrics}");
    // The statements the process sent: a database request adds to them.
    let statements = |text: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix("peken_db_statements_total "))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or_else(|| panic!("no statement counter in {text}"))
    };
    let before = statements(&metrics);
    app.admin().await;
    assert!(statements(&app.metrics().await) > before);
    // Open in the embedded mode only; a server on PostgreSQL cannot start without a token.
    let open = app.get("/metrics", None).await;
    if peken_tests::on_postgres() {
        open.expect_problem(401, "metrics_token_required");
    } else {
        open.expect(200);
    }
    let docs = app.get("/docs/", None).await.expect(200);
    assert!(docs.text.contains("swagger"), "swagger ui served");
    let initializer = app
        .get("/docs/swagger-initializer.js", None)
        .await
        .expect(200);
    assert!(
        initializer.text.contains("/api-docs/openapi.json"),
        "the UI reads the served document: {}",
        initializer.text
    );
    let spec = app.get("/api-docs/openapi.json", None).await.expect(200);
    assert_eq!(spec.body["info"]["title"], "peken");
    assert!(spec.body["paths"]["/api/v1/auth/login"]["post"].is_object());
    // The document served is the committed one, made once and revalidated by its ETag.
    let committed: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(COMMITTED_OPENAPI).expect("the committed document"),
    )
    .expect("JSON");
    assert_eq!(spec.body, committed);
    crate::fixtures::revalidates(&app, "/api-docs/openapi.json", "max-age=300").await;
}

/// The committed OpenAPI document, which the served one and the generated one must equal.
const COMMITTED_OPENAPI: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi/openapi.json");

/// Redis is optional to this process (every use falls back in-process), so its outage must not
/// take the process out of service: every replica would leave the load balancer at once.
#[tokio::test]
async fn a_process_without_redis_stays_ready_and_says_so() {
    let app = spawn_app_with(Options {
        vars: vec![
            // Nothing listens on port 1: every Redis call fails at once.
            ("PEKEN_REDIS_URL".into(), "redis://127.0.0.1:1/".into()),
            ("PEKEN_REDIS_PREFIX".into(), "test:unreachable:".into()),
        ],
        ..Options::default()
    })
    .await;
    let ready = app.get("/readyz", None).await.expect(200).text;
    assert_eq!(ready, "ready\nredis: unavailable");
    app.get("/api/v1/commodities", None).await.expect(200);
}

#[tokio::test]
async fn a_metrics_token_keeps_metrics_to_those_who_bear_it() {
    let token = "scrape-token-0123456789";
    let app = spawn_app_with(Options {
        vars: vec![("PEKEN_METRICS_TOKEN".into(), token.into())],
        ..Options::default()
    })
    .await;
    app.get("/metrics", None)
        .await
        .expect_problem(401, "metrics_token_required");
    app.get("/metrics", Some("scrape-token-0123456780"))
        .await
        .expect_problem(401, "metrics_token_required");
    let metrics = app.get("/metrics", Some(token)).await.expect(200).text;
    assert!(metrics.contains("peken_http_requests_total"), "{metrics}");
    // Health and readiness stay open for the orchestrator.
    app.get("/healthz", None).await.expect(200);
    app.get("/readyz", None).await.expect(200);
}

#[tokio::test]
async fn the_committed_openapi_document_is_current() {
    let generated = peken_server::routes::openapi_json();
    let path = COMMITTED_OPENAPI;
    if std::env::var("PEKEN_UPDATE_OPENAPI").is_ok() {
        std::fs::write(path, format!("{generated}\n")).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed.trim_end() == generated.trim_end(),
        "openapi/openapi.json is stale: run `PEKEN_UPDATE_OPENAPI=1 cargo test -p peken-tests \
         --test api ops::the_committed_openapi_document_is_current` and commit the result"
    );
}

/// What client generators need of the document: unique operation ids, every response
/// described, every secured operation saying it may answer 401 and 403, and `limit` as the
/// server takes it.
#[test]
fn the_openapi_document_is_complete_for_client_generators() {
    let doc = serde_json::to_value(peken_server::routes::openapi()).unwrap();
    let mut ids = std::collections::BTreeMap::<String, Vec<String>>::new();
    let mut problems = Vec::new();
    let mut secured = 0;
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let at = format!("{} {path}", method.to_uppercase());
            let id = op["operationId"].as_str().unwrap_or_default().to_owned();
            ids.entry(id).or_default().push(at.clone());
            let responses = op["responses"].as_object().unwrap();
            for (status, response) in responses {
                if response["description"]
                    .as_str()
                    .unwrap_or_default()
                    .is_empty()
                {
                    problems.push(format!("{at}: {status} has no description"));
                }
            }
            if op["security"].as_array().is_some_and(|s| !s.is_empty()) {
                secured += 1;
                for status in ["401", "403"] {
                    if !responses.contains_key(status) {
                        problems.push(format!("{at}: secured, but no {status}"));
                    }
                }
            }
            for p in op["parameters"].as_array().into_iter().flatten() {
                if p["name"] == "limit"
                    && (p["schema"]["minimum"] != 1 || p["schema"]["maximum"] != 200)
                {
                    problems.push(format!("{at}: limit is not 1 to 200: {}", p["schema"]));
                }
            }
        }
    }
    // A 201 of a collection whose items have their own GET says where the new item is.
    let paths = doc["paths"].as_object().unwrap();
    for (path, item) in paths {
        let Some(created) = item["post"]["responses"].get("201") else {
            continue;
        };
        let has_item = paths.iter().any(|(p, i)| {
            p.strip_prefix(path.as_str())
                .and_then(|rest| rest.strip_prefix("/{"))
                .is_some_and(|rest| !rest.contains('/'))
                && i.get("get").is_some()
        });
        if has_item && created["headers"].get("Location").is_none() {
            problems.push(format!("POST {path}: 201 without Location"));
        }
    }
    for (id, ops) in &ids {
        if id.is_empty() || ops.len() > 1 {
            problems.push(format!("operationId {id:?} names {ops:?}"));
        }
    }
    assert!(secured > 70, "{secured} secured operations");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[tokio::test]
async fn created_resources_say_where_they_are() {
    let app = crate::fixtures::payouts::app_at(crate::fixtures::payouts::utc(2026, 3, 4, 3)).await;
    let shop = crate::fixtures::orders::shop(&app, "toko_kelontong", "35.78.03.1001").await;
    let commodity = crate::fixtures::orders::any_commodity(&app, None, None).await;
    let listed = app
        .post(
            &format!("/api/v1/merchants/{}/listings", shop.id),
            Some(&shop.owner.token),
            &json!({"commodity_id": commodity, "price": 12_000, "stock": 5}),
        )
        .await
        .expect(201);
    let location = listed.headers["location"].to_str().unwrap().to_owned();
    let seen = app
        .get(&location, Some(&shop.owner.token))
        .await
        .expect(200);
    assert_eq!(seen.body["id"], listed.body["id"]);

    let (maker, _) = crate::fixtures::payouts::treasurers(&app).await;
    crate::fixtures::payouts::owed(
        &app,
        "loc1",
        &shop.id,
        10_000,
        crate::fixtures::payouts::utc(2026, 3, 2, 2),
    )
    .await;
    let body = json!({"cutoff": "2026-03-02T17:00:00Z"});
    let create = || {
        app.send(
            reqwest::Method::POST,
            "/api/v1/treasury/payout-batches",
            Some(&maker.token),
            Some(&body),
            &[("Idempotency-Key", "loc-batch")],
        )
    };
    let batch = create().await.expect(201);
    let location = batch.headers["location"].to_str().unwrap().to_owned();
    assert_eq!(
        location,
        format!(
            "/api/v1/treasury/payout-batches/{}",
            batch.body["id"].as_str().unwrap()
        )
    );
    app.get(&location, Some(&maker.token)).await.expect(200);
    let replayed = create().await.expect(201);
    assert_eq!(replayed.headers["location"].to_str().unwrap(), location);
}

#[tokio::test]
async fn bad_requests_get_problem_json_never_500() {
    let app = spawn_app().await;
    let r = app
        .send(
            reqwest::Method::POST,
            "/api/v1/auth/login",
            None,
            None,
            &[("content-type", "application/json")],
        )
        .await;
    assert_eq!(r.status.as_u16(), 400, "{}", r.text);
    let r = app
        .post_raw("/api/v1/auth/login", None, "application/json", "{not json")
        .await;
    r.expect_problem(400, "malformed_json");
    let r = app
        .post_raw("/api/v1/auth/login", None, "text/plain", "hello")
        .await;
    r.expect_problem(415, "unsupported_media_type");
    let r = app
        .post("/api/v1/auth/login", None, &json!({"login": 5}))
        .await;
    r.expect_problem(422, "invalid_body");
    let huge = "x".repeat(2 * 1024 * 1024);
    let r = app
        .post(
            "/api/v1/auth/login",
            None,
            &json!({"login": huge, "password": "p"}),
        )
        .await;
    r.expect_problem(413, "payload_too_large");
    app.get("/api/v1/no-such-route", None)
        .await
        .expect_problem(404, "not_found");
    app.get("/api/v1/regions?level=planet", None)
        .await
        .expect_problem(400, "invalid_query");
}

#[tokio::test]
async fn regions_come_from_the_official_table() {
    let app = spawn_app().await;
    let kec = app
        .get("/api/v1/regions?level=kecamatan", None)
        .await
        .expect(200);
    assert_eq!(kec.body["items"].as_array().unwrap().len(), 31);
    let kel = app
        .get("/api/v1/regions?level=kelurahan", None)
        .await
        .expect(200);
    assert_eq!(kel.body["items"].as_array().unwrap().len(), 153);
    let rungkut = app
        .get("/api/v1/regions?level=kelurahan&parent=35.78.03", None)
        .await
        .expect(200);
    let names: Vec<_> = rungkut.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["name"].as_str().unwrap().to_owned())
        .collect();
    assert!(names.contains(&"Kalirungkut".to_owned()), "{names:?}");
    assert!(
        rungkut.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|r| r["parent_code"] == "35.78.03")
    );
}
