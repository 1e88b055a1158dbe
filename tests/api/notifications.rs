//! The inbox and push: every mail of an event to a user writes their inbox entry and a push
//! message per device in the event's transaction; the push worker sends them to a stand-in for
//! FCM (which checks the requests' shape and bearer token) with retries, Retry-After, forgetting
//! unregistered devices, and never twice, even with two workers racing.

use std::collections::HashSet;

use chrono::Duration as Span;
use peken_mail::push::Fcm;
use peken_mail::push::worker::{Drained, drain};
use peken_mail::{Mail, Template, enqueue};
use peken_tests::fcm::{Answer, FcmServer};
use peken_tests::{Options, TestApp, User, spawn_app, spawn_app_with};
use sea_orm::{ConnectionTrait, Statement, TransactionTrait};
use serde_json::{Value, json};

use crate::fixtures::merchants::count;
use crate::fixtures::orders::{any_commodity, paid_order, shop};

async fn app_with_fcm(fcm: &FcmServer, extra: &[(&str, &str)]) -> TestApp {
    let mut vars = fcm.vars();
    vars.extend(
        extra
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    spawn_app_with(Options {
        vars,
        ..Options::default()
    })
    .await
}

fn sender(app: &TestApp) -> Fcm {
    let s = &app.state.settings;
    Fcm::from_key_file(
        s.push_credentials.as_deref().unwrap(),
        s.push_project_id.clone(),
        &s.push_fcm_url,
        &s.push_token_url,
    )
    .unwrap()
}

fn shipped(order: &str, user: &User) -> Mail {
    Mail {
        to: format!("{}@inbox.test", user.id),
        to_name: Some("Ani".to_owned()),
        user_id: Some(user.id.clone()),
        template: Template::OrderShipped {
            order_id: order.to_owned(),
            buyer_name: "Ani".to_owned(),
            merchant_name: "Toko Bu Sri".to_owned(),
            method: "delivery".to_owned(),
        },
        dedupe_key: format!("order:{order}:shipped"),
    }
}

async fn enqueue_committed(app: &TestApp, mail: Mail) {
    let txn = app.state.db.begin().await.unwrap();
    enqueue(&txn, mail, app.state.now()).await.unwrap();
    txn.commit().await.unwrap();
}

/// Registers a device; 201 for a token never seen, 200 for one registered before.
async fn add_device(app: &TestApp, user: &User, token: &str) -> String {
    let reply = app
        .post(
            "/api/v1/me/devices",
            Some(&user.token),
            &json!({"platform": "android", "token": token}),
        )
        .await;
    assert!(matches!(reply.status.as_u16(), 200 | 201), "{}", reply.text);
    reply.body["id"].as_str().unwrap().to_owned()
}

async fn register_status(app: &TestApp, user: &User, platform: &str, token: &str) -> u16 {
    app.post(
        "/api/v1/me/devices",
        Some(&user.token),
        &json!({"platform": platform, "token": token}),
    )
    .await
    .status
    .as_u16()
}

fn token(name: &str) -> String {
    format!("{name}:APA91b{}", "x".repeat(140))
}

async fn inbox(app: &TestApp, user: &User, query: &str) -> Value {
    app.get(
        &format!("/api/v1/me/notifications{query}"),
        Some(&user.token),
    )
    .await
    .expect(200)
    .body
}

#[tokio::test]
async fn an_event_writes_an_inbox_entry_and_a_push_per_device_and_a_rolled_back_one_nothing() {
    let app = spawn_app().await;
    let ani = app.public_buyer("35.78.03.1001").await;
    add_device(&app, &ani, &token("phone")).await;
    add_device(&app, &ani, &token("tablet")).await;

    enqueue_committed(&app, shipped("ORD-1", &ani)).await;
    // The same event again (a replayed callback): nothing more.
    enqueue_committed(&app, shipped("ORD-1", &ani)).await;
    // Rolled back, or dropped without a commit: nothing at all.
    let txn = app.state.db.begin().await.unwrap();
    enqueue(&txn, shipped("ORD-2", &ani), app.state.now())
        .await
        .unwrap();
    txn.rollback().await.unwrap();
    {
        let txn = app.state.db.begin().await.unwrap();
        enqueue(&txn, shipped("ORD-3", &ani), app.state.now())
            .await
            .unwrap();
    }

    let page = inbox(&app, &ani, "").await;
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{page}");
    assert_eq!(page["unread_count"], 1);
    let entry = &items[0];
    assert_eq!(entry["kind"], "order_shipped");
    assert_eq!(entry["title"], "Pesanan dikirim");
    assert_eq!(
        entry["body"],
        "Pesanan ORD-1 dari Toko Bu Sri sedang dikirim."
    );
    assert_eq!(entry["target"], json!({"order_id": "ORD-1"}));
    assert!(entry["read_at"].is_null());
    assert_eq!(count(&app, "push_outbox", "status = 'pending'").await, 2);
    assert_eq!(
        count(
            &app,
            "notifications",
            "dedupe_key LIKE '%ORD-2%' OR dedupe_key LIKE '%ORD-3%'"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &app,
            "push_outbox",
            "dedupe_key LIKE '%ORD-2%' OR dedupe_key LIKE '%ORD-3%'"
        )
        .await,
        0
    );
    // The mail went out as before.
    assert_eq!(
        count(&app, "mail_outbox", "dedupe_key = 'order:ORD-1:shipped'").await,
        1
    );
}

#[tokio::test]
async fn a_paid_order_reaches_the_buyers_and_the_shops_inbox() {
    let app = spawn_app().await;
    let opd = app.create_opd("INBOX").await;
    let (asn, _) = app.asn(&opd, "staf", "35.78.03.1002").await;
    let own = shop(&app, "toko_kelontong", "35.78.03.1001").await;
    let commodity = any_commodity(&app, None, None).await;
    let listing = own.list(&app, &commodity, 10_000, 100).await;
    let (order, _, _) = paid_order(&app, &asn, &listing, 2).await;

    let buyer = inbox(&app, &asn, "").await;
    let paid: Vec<&Value> = buyer["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["kind"] == "order_paid")
        .collect();
    assert_eq!(paid.len(), 1, "{buyer}");
    assert_eq!(paid[0]["target"]["order_id"], order.as_str());
    assert!(paid[0]["body"].as_str().unwrap().contains(&order));
    let shop_inbox = inbox(&app, &own.owner, "").await;
    assert!(
        shop_inbox["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["kind"] == "merchant_new_order" && n["target"]["order_id"] == order.as_str()),
        "{shop_inbox}"
    );
    // Neither sees the other's entries.
    assert!(
        !buyer["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["kind"] == "merchant_new_order")
    );
}

#[tokio::test]
async fn the_inbox_pages_newest_first_counts_unread_and_marks_read() {
    let app = spawn_app().await;
    let ani = app.public_buyer("35.78.03.1001").await;
    let budi = app.public_buyer("35.78.03.1001").await;
    for n in 1..=3 {
        enqueue_committed(&app, shipped(&format!("ORD-{n}"), &ani)).await;
        app.clock.advance(Span::seconds(1));
    }

    let first = inbox(&app, &ani, "?limit=2").await;
    let ids: Vec<&str> = first["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["target"]["order_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["ORD-3", "ORD-2"], "newest first");
    assert_eq!(first["unread_count"], 3);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = inbox(&app, &ani, &format!("?limit=2&cursor={cursor}")).await;
    assert_eq!(second["items"].as_array().unwrap().len(), 1);
    assert_eq!(second["items"][0]["target"]["order_id"], "ORD-1");
    assert!(second["next_cursor"].is_null());

    let newest = first["items"][0]["id"].as_str().unwrap();
    // Another user's entry is 404, and stays unread.
    app.post(
        &format!("/api/v1/me/notifications/{newest}/read"),
        Some(&budi.token),
        &json!({}),
    )
    .await
    .expect_problem(404, "not_found");
    assert_eq!(inbox(&app, &budi, "").await["items"], json!([]));
    let read = app
        .post(
            &format!("/api/v1/me/notifications/{newest}/read"),
            Some(&ani.token),
            &json!({}),
        )
        .await
        .expect(200);
    let read_at = read.body["read_at"].clone();
    assert!(read_at.is_string());
    app.clock.advance(Span::minutes(5));
    // Reading again keeps the first time.
    let again = app
        .post(
            &format!("/api/v1/me/notifications/{newest}/read"),
            Some(&ani.token),
            &json!({}),
        )
        .await
        .expect(200);
    assert_eq!(again.body["read_at"], read_at);

    let unread = inbox(&app, &ani, "?unread=true").await;
    assert_eq!(unread["unread_count"], 2);
    let unread_ids: Vec<&str> = unread["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["target"]["order_id"].as_str().unwrap())
        .collect();
    assert_eq!(unread_ids, ["ORD-2", "ORD-1"]);

    let all = app
        .post(
            "/api/v1/me/notifications/read-all",
            Some(&ani.token),
            &json!({}),
        )
        .await
        .expect(200);
    assert_eq!(all.body, json!({"marked": 2, "unread_count": 0}));
    assert_eq!(inbox(&app, &ani, "?unread=true").await["items"], json!([]));
    assert_eq!(
        inbox(&app, &ani, "").await["items"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    app.get("/api/v1/me/notifications?limit=0", Some(&ani.token))
        .await
        .expect(422);
    app.get("/api/v1/me/notifications?cursor=zzz", Some(&ani.token))
        .await
        .expect(422);
}

#[tokio::test]
async fn devices_are_upserted_by_token_moved_between_users_and_validated() {
    let app = spawn_app().await;
    let ani = app.public_buyer("35.78.03.1001").await;
    let budi = app.public_buyer("35.78.03.1001").await;
    let phone = token("phone");
    assert_eq!(register_status(&app, &ani, "android", &phone).await, 201);
    // Registered again: the same device, not a second one.
    assert_eq!(register_status(&app, &ani, "android", &phone).await, 200);
    let id = add_device(&app, &ani, &phone).await;
    let list = app
        .get("/api/v1/me/devices", Some(&ani.token))
        .await
        .expect(200);
    let items = list.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1);
    assert_eq!(items[0]["platform"], "android");
    assert_eq!(items[0]["token_end"], "xxxxxx");
    assert!(!list.text.contains("APA91b"), "the token is not shown back");

    // Another user deleting it: 404, and it stays.
    app.delete(&format!("/api/v1/me/devices/{id}"), Some(&budi.token))
        .await
        .expect_problem(404, "not_found");
    // The phone changes hands: the token moves to Budi.
    assert_eq!(add_device(&app, &budi, &phone).await, id);
    let ani_list = app
        .get("/api/v1/me/devices", Some(&ani.token))
        .await
        .expect(200);
    assert_eq!(ani_list.body["items"], json!([]));
    assert_eq!(count(&app, "push_devices", "1 = 1").await, 1);
    // A push for Ani written now goes nowhere (her devices are gone) …
    enqueue_committed(&app, shipped("ORD-9", &ani)).await;
    assert_eq!(count(&app, "push_outbox", "1 = 1").await, 0);
    app.delete(&format!("/api/v1/me/devices/{id}"), Some(&ani.token))
        .await
        .expect_problem(404, "not_found");
    app.delete(&format!("/api/v1/me/devices/{id}"), Some(&budi.token))
        .await
        .expect(204);
    assert_eq!(count(&app, "push_devices", "1 = 1").await, 0);

    for (body, field, code) in [
        (
            json!({"platform": "android", "token": "t".repeat(5000)}),
            "token",
            "device_token_too_long",
        ),
        (
            json!({"platform": "android", "token": "short"}),
            "token",
            "invalid_device_token",
        ),
        (
            json!({"platform": "android", "token": format!("{} x", "a".repeat(40))}),
            "token",
            "invalid_device_token",
        ),
        (
            json!({"platform": "symbian", "token": token("x")}),
            "platform",
            "invalid_platform",
        ),
        (
            json!({"platform": "", "token": token("x")}),
            "platform",
            "invalid_platform",
        ),
    ] {
        let reply = app
            .post("/api/v1/me/devices", Some(&ani.token), &body)
            .await
            .expect_problem(422, "validation_failed");
        assert_eq!(
            reply.field_codes(),
            vec![(field.to_owned(), code.to_owned())],
            "{body}"
        );
    }
    // A NUL byte (which PostgreSQL would refuse) is stopped before the handler.
    app.post(
        "/api/v1/me/devices",
        Some(&ani.token),
        &json!({"platform": "android", "token": format!("{}\u{0}x", "a".repeat(40))}),
    )
    .await
    .expect_problem(422, "control_character");
    app.post(
        "/api/v1/me/devices",
        Some(&ani.token),
        &json!({"platform": "ios"}),
    )
    .await
    .expect_problem(422, "invalid_body");
    assert_eq!(count(&app, "push_devices", "1 = 1").await, 0);
}

#[tokio::test]
async fn a_user_keeps_at_most_twenty_devices() {
    let app = spawn_app().await;
    let ani = app.public_buyer("35.78.03.1001").await;
    let first = add_device(&app, &ani, &token("d0")).await;
    for n in 1..=20 {
        app.clock.advance(Span::seconds(1));
        add_device(&app, &ani, &token(&format!("d{n}"))).await;
    }
    let list = app
        .get("/api/v1/me/devices", Some(&ani.token))
        .await
        .expect(200);
    let items = list.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 20);
    assert!(
        items.iter().all(|d| d["id"] != first.as_str()),
        "the oldest is forgotten"
    );
}

#[tokio::test]
async fn the_worker_sends_over_fcm_and_forgets_an_unregistered_device() {
    let fcm = FcmServer::start().await;
    let app = app_with_fcm(&fcm, &[]).await;
    let sender = sender(&app);
    let ani = app.public_buyer("35.78.03.1001").await;
    let good = token("good");
    let gone = token("gone");
    add_device(&app, &ani, &good).await;
    let gone_id = add_device(&app, &ani, &gone).await;
    fcm.unregister(&gone);

    enqueue_committed(&app, shipped("ORD-1", &ani)).await;
    let done = drain(&app.state, &sender, None).await.unwrap();
    assert_eq!(
        done,
        Drained {
            sent: 1,
            dropped: 1,
            ..Drained::default()
        }
    );
    assert!(fcm.malformed().is_empty(), "{:?}", fcm.malformed());
    let accepted = fcm.accepted();
    assert_eq!(accepted.len(), 1);
    let m = &accepted[0].message["message"];
    assert_eq!(m["token"], good.as_str());
    assert_eq!(m["notification"]["title"], "Pesanan dikirim");
    assert_eq!(
        m["notification"]["body"],
        "Pesanan ORD-1 dari Toko Bu Sri sedang dikirim."
    );
    let entry = &inbox(&app, &ani, "").await["items"][0];
    assert_eq!(m["data"]["notification_id"], entry["id"]);
    assert_eq!(m["data"]["kind"], "order_shipped");
    assert_eq!(m["data"]["order_id"], "ORD-1");
    let sent_id: String =
        one_string(&app, "SELECT id FROM push_outbox WHERE status = 'sent'").await;
    assert_eq!(
        m["data"]["message_id"],
        sent_id.as_str(),
        "the row's stable id"
    );

    // The unregistered device is forgotten and its row ended.
    let devices = app
        .get("/api/v1/me/devices", Some(&ani.token))
        .await
        .expect(200);
    assert!(
        devices.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["id"] != gone_id.as_str())
    );
    assert_eq!(
        count(
            &app,
            "push_outbox",
            "status = 'dropped' AND last_error LIKE '%UNREGISTERED%'"
        )
        .await,
        1
    );

    // Nothing twice; the access token is reused.
    assert_eq!(
        drain(&app.state, &sender, None).await.unwrap(),
        Drained::default()
    );
    enqueue_committed(&app, shipped("ORD-2", &ani)).await;
    assert_eq!(drain(&app.state, &sender, None).await.unwrap().sent, 1);
    assert_eq!(fcm.accepted().len(), 2);
    assert_eq!(fcm.tokens_granted(), 1, "the access token is cached");
    let metrics = app.state.metrics.render();
    assert!(
        metrics.contains(r#"peken_events_total{event="push",outcome="sent"} 2"#),
        "{metrics}"
    );
}

async fn one_string(app: &TestApp, sql: &str) -> String {
    let db = &app.state.db;
    db.query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap()
        .try_get_by_index::<String>(0)
        .unwrap()
}

#[tokio::test]
async fn a_500_is_retried_with_backoff_and_a_429_waits_for_its_retry_after() {
    let fcm = FcmServer::start().await;
    let app = app_with_fcm(&fcm, &[]).await;
    let sender = sender(&app);
    let ani = app.public_buyer("35.78.03.1001").await;
    add_device(&app, &ani, &token("phone")).await;

    fcm.script([Answer::Status {
        status: 500,
        retry_after: None,
        error_code: "INTERNAL",
    }]);
    enqueue_committed(&app, shipped("ORD-1", &ani)).await;
    assert_eq!(drain(&app.state, &sender, None).await.unwrap().retried, 1);
    // Not due before the backoff (a minute) has passed.
    assert_eq!(
        drain(&app.state, &sender, None).await.unwrap(),
        Drained::default()
    );
    app.clock.advance(Span::seconds(61));
    assert_eq!(drain(&app.state, &sender, None).await.unwrap().sent, 1);
    assert_eq!(fcm.accepted().len(), 1);
    assert_eq!(fcm.attempts(), 2);

    fcm.script([Answer::Status {
        status: 429,
        retry_after: Some(600),
        error_code: "QUOTA_EXCEEDED",
    }]);
    enqueue_committed(&app, shipped("ORD-2", &ani)).await;
    assert_eq!(drain(&app.state, &sender, None).await.unwrap().retried, 1);
    // The backoff alone would allow a retry after a minute; the service asked for ten.
    app.clock.advance(Span::minutes(5));
    assert_eq!(
        drain(&app.state, &sender, None).await.unwrap(),
        Drained::default()
    );
    app.clock.advance(Span::minutes(5) + Span::seconds(1));
    assert_eq!(drain(&app.state, &sender, None).await.unwrap().sent, 1);
    assert_eq!(fcm.accepted().len(), 2);
    assert!(fcm.malformed().is_empty(), "{:?}", fcm.malformed());
}

#[tokio::test]
async fn a_message_failing_every_attempt_ends_failed() {
    let fcm = FcmServer::start().await;
    let app = app_with_fcm(&fcm, &[("PEKEN_PUSH_MAX_ATTEMPTS", "2")]).await;
    let sender = sender(&app);
    let ani = app.public_buyer("35.78.03.1001").await;
    add_device(&app, &ani, &token("phone")).await;
    let unavailable = Answer::Status {
        status: 503,
        retry_after: None,
        error_code: "UNAVAILABLE",
    };
    fcm.script([unavailable.clone(), unavailable]);
    enqueue_committed(&app, shipped("ORD-1", &ani)).await;
    assert_eq!(drain(&app.state, &sender, None).await.unwrap().retried, 1);
    app.clock.advance(Span::minutes(2));
    assert_eq!(drain(&app.state, &sender, None).await.unwrap().failed, 1);
    app.clock.advance(Span::hours(2));
    assert_eq!(
        drain(&app.state, &sender, None).await.unwrap(),
        Drained::default()
    );
    assert_eq!(
        count(&app, "push_outbox", "status = 'failed' AND attempts = 2").await,
        1
    );
    assert!(fcm.accepted().is_empty());
}

#[tokio::test]
async fn no_push_goes_to_a_disabled_account_or_after_a_day() {
    let fcm = FcmServer::start().await;
    let app = app_with_fcm(&fcm, &[]).await;
    let sender = sender(&app);
    let ani = app.public_buyer("35.78.03.1001").await;
    let budi = app.public_buyer("35.78.03.1001").await;
    add_device(&app, &ani, &token("ani")).await;
    add_device(&app, &budi, &token("budi")).await;
    enqueue_committed(&app, shipped("ORD-1", &ani)).await;
    // Ani's account is closed after the event: her devices go with it.
    let txn = app.state.db.begin().await.unwrap();
    peken_identity::people::deactivate(&txn, &ani.id, app.state.now())
        .await
        .unwrap();
    txn.commit().await.unwrap();
    assert_eq!(
        count(&app, "push_devices", &format!("user_id = '{}'", ani.id)).await,
        0
    );
    // Written while push was down: too old once a day has passed.
    enqueue_committed(&app, shipped("ORD-2", &budi)).await;
    app.clock.advance(Span::hours(25));
    let done = drain(&app.state, &sender, None).await.unwrap();
    assert_eq!(done.dropped, 2, "{done:?}");
    assert_eq!(done.sent, 0);
    assert_eq!(fcm.attempts(), 0);
}

#[tokio::test]
async fn two_workers_racing_send_each_message_once() {
    let fcm = FcmServer::start().await;
    let app = app_with_fcm(&fcm, &[]).await;
    let (one, two) = (sender(&app), sender(&app));
    let mut users = Vec::new();
    for u in 0..3 {
        let user = app.public_buyer("35.78.03.1001").await;
        for d in 0..4 {
            add_device(&app, &user, &token(&format!("u{u}d{d}"))).await;
        }
        users.push(user);
    }
    for n in 0..10 {
        for user in &users {
            enqueue_committed(&app, shipped(&format!("ORD-{n}-{}", user.id), user)).await;
        }
    }
    let rows = count(&app, "push_outbox", "status = 'pending'").await;
    assert_eq!(rows, 120);
    let (a, b) = tokio::join!(drain(&app.state, &one, None), drain(&app.state, &two, None));
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.sent + b.sent, 120, "{a:?} {b:?}");
    let accepted = fcm.accepted();
    assert_eq!(accepted.len(), 120);
    let ids: HashSet<String> = accepted
        .iter()
        .map(|m| {
            m.message["message"]["data"]["message_id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    assert_eq!(ids.len(), 120, "no message sent twice");
    assert_eq!(count(&app, "push_outbox", "status = 'sent'").await, 120);
    if peken_tests::on_postgres() {
        assert!(
            a.sent > 0 && b.sent > 0,
            "both workers took part: {a:?} {b:?}"
        );
    }
}

#[test]
fn push_is_off_without_a_service_account() {
    let settings = peken_kernel::settings::Settings::from_vars(vec![(
        "PEKEN_JWT_SECRET".to_owned(),
        "test-signing-key-that-is-long-enough-0123".to_owned(),
    )])
    .unwrap();
    assert!(Fcm::from_settings(&settings).unwrap().is_none());
}
